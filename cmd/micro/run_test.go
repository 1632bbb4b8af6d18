package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/protomicro/micro/testdata/testutil"
)

// TestMicroRun runs micro run, the binary, on a workspace of two services laid
// out by its micro new, front calling greeter, and edits them as a
// developer would: a reply, a syntax error, a proto field. Each edit must
// show through the gateway, the broken build must leave the running version
// answering, and Ctrl-C must leave no service behind.
func TestMicroRun(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds micro and two services")
	}
	bin := filepath.Join(t.TempDir(), "micro")
	testutil.Go(t, "", nil, "build", "-o", bin, ".")
	ws := t.TempDir()
	newCtx, cancel := context.WithTimeout(t.Context(), testutil.BuildTimeout)
	defer cancel()
	for _, name := range []string{"greeter", "front"} {
		if out, err := exec.CommandContext(newCtx, bin, "new", name, "--dir", filepath.Join(ws, name)).CombinedOutput(); err != nil {
			t.Fatalf("micro new %s: %v\n%s", name, err, out)
		}
	}
	writeFrontService(newCtx, t, bin, ws)
	writeFile(t, filepath.Join(ws, "micro.yaml"), `services:
  - name: greeter
    dir: greeter
  - name: front
    dir: front
    depends: [greeter]
`)
	// Build both before the timed part, so that micro run's builds find a
	// warm cache.
	testutil.Go(t, filepath.Join(ws, "greeter"), nil, "build", "./...")
	testutil.Go(t, filepath.Join(ws, "front"), nil, "build", "./...")

	registry := t.TempDir()
	run := exec.Command(bin, "run", ws, "--address", "127.0.0.1:0", "--grace", "5s", "--registry=local", "--registry_address="+registry)
	run.Env = append(os.Environ(), "MICRO_BROKER_ADDRESS="+t.TempDir())
	var log testutil.Buffer
	run.Stdout, run.Stderr = &log, &log
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = run.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = run.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("micro run printed:\n%s", log.String())
		}
	})
	gateway := ""
	poll(t, "the gateway's address", time.Minute, exited, func() bool {
		m := regexp.MustCompile(`gateway on http://(\S+)`).FindStringSubmatch(log.String())
		if m != nil {
			gateway = "http://" + m[1]
		}
		return m != nil
	})
	greeter := func() string { return get(gateway + "/v1/hello/Ada") }
	front := func() string { return get(gateway + "/v1/front/Ada") }

	// The first builds compile the services against a warm cache, then
	// front starts once greeter serves.
	poll(t, "greeter and front to answer through the gateway", 2*time.Minute, exited, func() bool {
		return strings.Contains(greeter(), "Hello, Ada!") && strings.Contains(front(), "front relays: Hello, Ada!")
	})
	out := log.String()
	if g, f := strings.Index(out, "greeter is serving"), strings.Index(out, "started front"); g < 0 || f < g {
		t.Errorf("front started before greeter served (depends: [greeter]):\n%s", out)
	}

	handler := filepath.Join(ws, "greeter", "handler", "handler.go")
	original := readFile(t, handler)
	edit := func(from, to string) {
		t.Helper()
		text := readFile(t, handler)
		if !strings.Contains(text, from) {
			t.Fatalf("%s has no %q", handler, from)
		}
		writeFile(t, handler, strings.Replace(text, from, to, 1))
	}

	// A new reply: only greeter is rebuilt, front relays the new reply.
	frontRestarts := strings.Count(log.String(), "restarted front")
	start := time.Now()
	edit(`"Hello, %s!"`, `"Howdy, %s!"`)
	poll(t, "the edited reply", time.Minute, exited, func() bool { return strings.Contains(greeter(), "Howdy, Ada!") })
	reload := time.Since(start)
	t.Logf("reload latency (save to new reply through the gateway): %s", reload.Round(time.Millisecond))
	if reload > 10*time.Second {
		t.Logf("reload took over the 10s target: %s", reload)
	}
	poll(t, "front to relay the edited reply", 20*time.Second, exited, func() bool { return strings.Contains(front(), "front relays: Howdy, Ada!") })
	if got := strings.Count(log.String(), "restarted front"); got != frontRestarts {
		t.Errorf("editing greeter's handler restarted front, which does not import it")
	}

	// A syntax error: the compiler's error is printed, the old reply answers.
	failures := strings.Count(log.String(), "build of greeter failed")
	edit(`func (h *Handler) SayHello(`, `func (h *Handler) SayHello((`)
	poll(t, "the failed build to be reported", time.Minute, exited, func() bool {
		return strings.Count(log.String(), "build of greeter failed") > failures
	})
	if out := log.String(); !regexp.MustCompile(`greeter +\| handler/handler.go:\d+:\d+: syntax error`).MatchString(out) {
		t.Errorf("the failed build did not print the compiler's error under greeter's prefix:\n%s", out)
	}
	if got := greeter(); !strings.Contains(got, "Howdy, Ada!") {
		t.Errorf("after a failed build, greeter answered %q, want the running version's Howdy, Ada!", got)
	}

	// A proto field and the handler setting it, saved together: micro run
	// generates the code first, then builds.
	proto := filepath.Join(ws, "greeter", "proto", "greeter", "v1", "greeter.proto")
	text := readFile(t, proto)
	const message = "message SayHelloResponse {\n  string message = 1;\n"
	if !strings.Contains(text, message) {
		t.Fatalf("%s has no %q", proto, message)
	}
	writeFile(t, proto, strings.Replace(text, message, message+"  string served_by = 2;\n", 1))
	writeFile(t, handler, strings.Replace(strings.Replace(original, `"Hello, %s!"`, `"Howdy, %s!"`, 1),
		`fmt.Sprintf("Howdy, %s!", req.GetName())}`, `fmt.Sprintf("Howdy, %s!", req.GetName()), ServedBy: "micro run"}`, 1))
	poll(t, "the new field in greeter's reply", time.Minute, exited, func() bool {
		return strings.Contains(greeter(), `"servedBy":"micro run"`) || strings.Contains(greeter(), `"servedBy": "micro run"`)
	})
	if !strings.Contains(log.String(), "generating the code of greeter") {
		t.Errorf("micro run did not say it generated code after the proto changed")
	}

	// Ctrl-C: every service drained, none left, exit status 130.
	var pids []int
	for _, m := range regexp.MustCompile(`started \S+ \(pid (\d+)\)`).FindAllStringSubmatch(log.String(), -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	if len(pids) < 2 {
		t.Fatalf("micro run named %d started pids, want at least 2", len(pids))
	}
	if err := run.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("micro run did not exit within 30s of SIGINT")
	}
	if code := run.ProcessState.ExitCode(); code != 130 {
		t.Errorf("micro run exited with %d after SIGINT, want 130", code)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("service process %d is still there after micro run exited (kill 0: %v)", pid, err)
		}
	}
}

// writeFrontService turns the front project into a service that relays
// greeter's greeting: its handler calls greeter through the registry, and
// its REST route moves off greeter's.
func writeFrontService(ctx context.Context, t *testing.T, micro, ws string) {
	t.Helper()
	dir := filepath.Join(ws, "front")
	proto := filepath.Join(dir, "proto", "front", "v1", "front.proto")
	writeFile(t, proto, strings.ReplaceAll(readFile(t, proto), "/v1/hello", "/v1/front"))
	if out, err := exec.CommandContext(ctx, micro, "generate", "--dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("micro generate: %v\n%s", err, out)
	}
	if err := os.Remove(filepath.Join(dir, "handler", "handler_test.go")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "go.mod"), readFile(t, filepath.Join(dir, "go.mod"))+
		"\nrequire greeter v0.0.0\n\nreplace greeter => ../greeter\n")
	writeFile(t, filepath.Join(dir, "handler", "handler.go"), `// Package handler relays greeter's greetings.
package handler

import (
	"context"

	frontv1 "front/proto/front/v1"
	greeterv1 "greeter/proto/greeter/v1"
)

// Handler implements frontv1.FrontServiceHandler by calling greeter.
type Handler struct {
	frontv1.UnimplementedFrontServiceHandler
	greeter greeterv1.GreeterServiceClient
}

// New returns a handler calling greeter.
func New(greeter greeterv1.GreeterServiceClient) *Handler {
	return &Handler{greeter: greeter}
}

// SayHello relays greeter's greeting.
func (h *Handler) SayHello(ctx context.Context, req *frontv1.SayHelloRequest) (*frontv1.SayHelloResponse, error) {
	res, err := h.greeter.SayHello(ctx, &greeterv1.SayHelloRequest{Name: req.GetName()})
	if err != nil {
		return nil, err
	}
	return &frontv1.SayHelloResponse{Message: "front relays: " + res.GetMessage()}, nil
}
`)
	writeFile(t, filepath.Join(dir, "main.go"), `// Command front relays greeter's greetings.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/protomicro/micro/runtime/micro"

	"front/handler"
	frontv1 "front/proto/front/v1"
	greeterv1 "greeter/proto/greeter/v1"
)

func main() {
	svc, err := micro.NewService("front", micro.WithArgs(os.Args[1:]))
	if err == nil {
		greeter := greeterv1.NewGreeterServiceClient("greeter", svc.Client())
		err = frontv1.RegisterFrontServiceHandler(svc.Server(), handler.New(greeter))
	}
	if err == nil {
		err = svc.Run(context.Background())
	}
	if err != nil {
		slog.Error("front failed", "error", err)
		os.Exit(1)
	}
}
`)
}

// poll waits for cond, every 100ms, for up to timeout; it fails the test
// if micro run exits first.
func poll(t *testing.T, what string, timeout time.Duration, exited <-chan struct{}, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-exited:
			t.Fatalf("micro run exited while waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
	}
}

// get returns the body of a GET of url, or the error.
func get(url string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err.Error()
	}
	return string(body)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
