package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/testdata/testutil"
)

// browser is one headless Chromium that every browser test reuses, each in
// a tab of its own, with the console errors and uncaught exceptions of the
// page it opens collected.
type browser struct {
	ctx context.Context
}

var (
	browserOnce sync.Once
	shared      *browser
	browserErr  error
	stopBrowser = func() {}
)

// TestMain stops the shared browser after the tests; the test binary exits
// with m.Run's status once TestMain returns.
func TestMain(m *testing.M) {
	m.Run()
	stopBrowser()
}

// openBrowser returns the shared browser, starting it the first time.
func openBrowser(t *testing.T) *browser {
	t.Helper()
	path := testutil.Tool(t, "chromium", "chromium-browser", "google-chrome")
	browserOnce.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox will not start
			chromedp.Flag("disable-gpu", true),
			chromedp.WindowSize(1280, 800),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		if err := chromedp.Do(ctx); err != nil { // starts the browser
			browserErr = err
		}
		shared = &browser{ctx: ctx}
		stopBrowser = func() { cancelCtx(); cancelAlloc() }
	})
	if browserErr != nil {
		t.Fatalf("start %s: %v", path, browserErr)
	}
	return shared
}

// tab is a page of the browser for one test.
type tab struct {
	t      *testing.T
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

// newTab opens a tab of width by height, which closes with the test, and
// saves a screenshot of it then.
func newTab(t *testing.T, width, height int64) *tab {
	t.Helper()
	b := openBrowser(t)
	ctx, cancel := chromedp.NewContext(b.ctx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	tb := &tab{t: t, ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatal(err)
	}
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			// The answers of failed calls and refused requests, which the
			// tests provoke, are logged by the browser; nothing else may be.
			provoked := m.Source == "network" && (strings.Contains(m.URL, "/rpc/") || strings.Contains(m.URL, "/validate"))
			if (m.Type == chromedp.ConsoleError || m.IsException()) && !provoked {
				tb.mu.Lock()
				tb.errors = append(tb.errors, m.String())
				tb.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(80)); err == nil {
			dir := t.ArtifactDir()
			name := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".jpg")
			if err := os.WriteFile(name, png, 0o644); err != nil {
				t.Errorf("save the screenshot: %v", err)
			} else {
				t.Logf("screenshot: %s", name)
			}
		}
		tb.mu.Lock()
		for _, e := range tb.errors {
			t.Errorf("the page logged an error: %s", e)
		}
		tb.mu.Unlock()
		cancelTimeout()
		cancel()
	})
	return tb
}

// run runs steps in the tab, each wait bounded by the tab's deadline.
func (tb *tab) run(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatal(err)
	}
}

// eval returns the value of the JavaScript expression.
func eval[T any](tb *tab, expression string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		tb.t.Fatalf("%s: %v", expression, err)
	}
	return v
}

// text returns the text of the element sel.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		tb.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// waitJS waits until the JavaScript expression cond is true.
func (tb *tab) waitJS(what, cond string) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if eval[bool](tb, cond) {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("timed out waiting for %s (%s)", what, cond)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBrowserFindCallAndStream(t *testing.T) {
	reg := memory.New()
	startEcho(t, reg)
	stopGreeter := startGreeter(t, reg)
	url := serve(t, reg)
	tb := newTab(t, 1280, 800)

	tb.run(chromedp.Navigate(url + "/"))
	tb.waitJS("both services, serving", `document.querySelectorAll('#services tbody tr').length === 2 &&
		document.querySelectorAll('#services .health-serving').length === 2`)
	tb.run(chromedp.SendKeys(chromedp.CSS("#search"), "greet"))
	tb.waitJS("the search to leave greeter alone", `document.querySelectorAll('#services tbody tr').length === 1`)
	tb.run(chromedp.Click(chromedp.CSS(`a.service-link`)))
	tb.run(chromedp.WaitVisible(chromedp.CSS(`#service[data-service="greeter"]`)))

	// The unary call: fill the form, send, read the answer.
	ep := `details[data-procedure="/unary.v1.Greeter/Hello"]`
	tb.run(chromedp.Click(chromedp.CSS(ep + " > summary")))
	tb.run(chromedp.SetValue(chromedp.CSS(ep+` textarea[name=request]`), `{"name": "Ada", "nme": 1}`),
		chromedp.Click(chromedp.CSS(ep+` button.send`)))
	tb.waitJS("the misspelt field to be refused", `document.querySelector('`+ep+` .invalid').textContent.includes('unknown field "nme"')`)
	tb.run(chromedp.SetValue(chromedp.CSS(ep+` textarea[name=request]`), `{"name": "Ada", "greeting": "<b>hi</b> "}`),
		chromedp.Click(chromedp.CSS(ep+` button.send`)))
	tb.waitJS("the answer", `document.querySelector('`+ep+` .messages li') !== null`)
	if got := tb.text(ep + ` .messages li`); !strings.Contains(got, `"message": "<b>hi</b> Hello Ada"`) {
		t.Errorf("answer = %q", got)
	}
	if got := tb.text(ep + ` .status`); !strings.HasPrefix(got, "200 OK · ") || !strings.HasSuffix(got, " ms") {
		t.Errorf("status = %q", got)
	}
	tb.run(chromedp.Click(chromedp.CSS(ep + ` button.copy-curl`)))
	if got := tb.text(ep + ` .command`); !strings.HasPrefix(got, "curl -sS -X POST '"+url+"/rpc/unary.v1.Greeter/Hello'") {
		t.Errorf("curl = %q", got)
	}
	tb.run(chromedp.Click(chromedp.CSS(ep + ` button.copy-micro`)))
	if got, want := tb.text(ep+` .command`), `micro call 'greeter' '/unary.v1.Greeter/Hello' '{"name":"Ada","greeting":"<b>hi</b> "}'`; got != want {
		t.Errorf("micro call = %q, want %q", got, want)
	}

	// A server stream, message by message, until stopped.
	tb.run(chromedp.Navigate(url + "/services/echo"))
	count := `details[data-procedure="/streaming.v1.Echo/Count"]`
	tb.run(chromedp.Click(chromedp.CSS(count+" > summary")),
		chromedp.SetValue(chromedp.CSS(count+` textarea[name=request]`), `{"n": 0, "intervalMs": 50}`),
		chromedp.Click(chromedp.CSS(count+` button.send`)))
	tb.waitJS("three messages of the stream", `document.querySelectorAll('`+count+` .messages li').length >= 3`)
	if got := tb.text(count + ` .messages li:nth-child(3)`); !strings.Contains(got, `"number": "3"`) {
		t.Errorf("third message = %q", got)
	}
	tb.run(chromedp.Click(chromedp.CSS(count + ` button.stop`)))
	tb.waitJS("the stream to stop", `document.querySelector('`+count+` .status').textContent.startsWith('stopped')`)

	// A failed call shows its code and details.
	echoEP := `details[data-procedure="/streaming.v1.Echo/Echo"]`
	tb.run(chromedp.Click(chromedp.CSS(echoEP+" > summary")),
		chromedp.SetValue(chromedp.CSS(echoEP+` textarea[name=request]`), `{"message": "details:not_found:no such user"}`),
		chromedp.Click(chromedp.CSS(echoEP+` button.send`)))
	tb.waitJS("the error", `document.querySelector('`+echoEP+` .status').textContent.startsWith('404 not_found')`)
	if got := tb.text(echoEP + ` .error-details`); !strings.Contains(got, "google.rpc.ErrorInfo") {
		t.Errorf("error details = %q", got)
	}

	// A service that stops leaves the list without a reload.
	tb.run(chromedp.Navigate(url + "/"))
	tb.waitJS("two services", `document.querySelectorAll('#services tbody tr').length === 2`)
	stopGreeter()
	tb.waitJS("greeter to leave", `document.querySelectorAll('#services tbody tr').length === 1 &&
		document.querySelector('#services tbody tr').dataset.service === 'echo'`)
}

func TestBrowserEscapesWhatServicesSend(t *testing.T) {
	reg := memory.New()
	startEcho(t, reg)
	url := serve(t, reg)
	tb := newTab(t, 1280, 800)
	tb.run(chromedp.Navigate(url + "/services/echo"))
	tb.waitJS("the node", `document.querySelector('#nodes tbody tr') !== null`)
	title, err := chromedp.Run(tb.ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	scripts := eval[int](tb, `document.querySelectorAll('main script').length`)
	if title == "pwned" || scripts != 0 {
		t.Errorf("the metadata ran as a script: title %q, %d scripts in the page", title, scripts)
	}
	if got := tb.text(`#nodes .metadata`); !strings.Contains(got, hostile) {
		t.Errorf("metadata shown = %q, want the text %q", got, hostile)
	}
}

func TestBrowserKeyboardAndPhone(t *testing.T) {
	reg := memory.New()
	startGreeter(t, reg)
	url := serve(t, reg)
	tb := newTab(t, 375, 740)
	tb.run(chromedp.Navigate(url + "/services/greeter"))
	tb.waitJS("the node", `document.querySelector('#nodes tbody tr') !== null`)
	if eval[bool](tb, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Errorf("the page is wider than a phone's 375 pixels")
	}

	// From the top of the page, Tab reaches the endpoint, Enter opens it,
	// Tab reaches the request and the Send button, and Enter sends.
	active := func() string {
		return eval[string](tb, `(() => { const e = document.activeElement; return e.tagName + '.' + (e.className || e.name || ''); })()`)
	}
	tabTo := func(want string) {
		t.Helper()
		for range 40 {
			tb.run(chromedp.KeyEvent(kb.Tab))
			if active() == want {
				return
			}
		}
		t.Fatalf("Tab never reached %s", want)
	}
	tabTo("SUMMARY.")
	tb.run(chromedp.KeyEvent(kb.Enter))
	tabTo("TEXTAREA.request")
	tabTo("BUTTON.send")
	tb.run(chromedp.KeyEvent(kb.Enter))
	tb.waitJS("the answer", `document.querySelector('.messages li') !== null`)
	if got := tb.text(`.messages li`); !strings.Contains(got, `"message": "Hello "`) {
		t.Errorf("answer = %q", got)
	}
	if eval[bool](tb, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Errorf("with the answer shown, the page is wider than a phone's 375 pixels")
	}
}
