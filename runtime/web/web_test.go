package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	brokermemory "github.com/protomicro/micro/runtime/broker/memory"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/web"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/events"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/golden/unary"
	"github.com/protomicro/micro/testdata/testutil"
)

var quiet = slog.New(slog.DiscardHandler)

// hostile is node metadata that would run as a script if a page wrote it as
// markup.
const hostile = `<script>document.title="pwned"</script>`

// greeter is a service like the one micro new lays out.
type greeter struct {
	unary.UnimplementedGreeterHandler
}

func (greeter) Hello(_ context.Context, req *unary.HelloRequest) (*unary.HelloResponse, error) {
	return &unary.HelloResponse{Message: req.GetGreeting() + "Hello " + req.GetName()}, nil
}

// start runs a service called name in reg, with register adding its
// handlers, until the test ends or stop is called.
func start(t testing.TB, reg registry.Registry, name string, register func(*micro.Service) error, opts ...micro.Option) (stop func()) {
	t.Helper()
	svc, err := micro.NewService(name, append([]micro.Option{micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := register(svc); err != nil {
		t.Fatal(err)
	}
	return testutil.RunService(t, reg, name, svc.Run)
}

func startEcho(t testing.TB, reg registry.Registry) (stop func()) {
	return start(t, reg, "echo", func(s *micro.Service) error { return streaming.RegisterEchoHandler(s.Server(), echo.Handler{}) },
		micro.WithVersion("1.2.0"), micro.WithServiceMetadata(map[string]string{"owner": hostile}))
}

func startGreeter(t testing.TB, reg registry.Registry) (stop func()) {
	return start(t, reg, "greeter", func(s *micro.Service) error { return unary.RegisterGreeterHandler(s.Server(), greeter{}) })
}

// serve serves a dashboard of reg on a loopback port and returns its URL.
func serve(t testing.TB, reg registry.Registry, opts ...web.Option) string {
	t.Helper()
	d, err := web.New(testutil.Context(t), reg, append([]web.Option{web.WithLogger(quiet), web.WithHealthInterval(200 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(func() {
		_ = d.Close()
		srv.Close()
	})
	return srv.URL
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	return do(t, http.MethodGet, url, "", "")
}

func do(t *testing.T, method, url, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testutil.Context(t), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Connect-Protocol-Version", "1")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(data)
}

func snapshot(t *testing.T, url string) web.Snapshot {
	t.Helper()
	code, body := get(t, url+"/api/services")
	if code != http.StatusOK {
		t.Fatalf("GET /api/services = %d %s", code, body)
	}
	var s web.Snapshot
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestServicesFollowTheRegistryAndHealth(t *testing.T) {
	reg := memory.New()
	stopEcho := startEcho(t, reg)
	url := serve(t, reg)
	startGreeter(t, reg)

	testutil.WaitFor(t, "both services, serving", func() bool {
		s := snapshot(t, url)
		return len(s.Services) == 2 && s.Services[0].Serving == 1 && s.Services[1].Serving == 1
	})
	s := snapshot(t, url)
	echoView := s.Services[0]
	if echoView.Name != "echo" || len(echoView.Versions) != 1 || echoView.Versions[0] != "1.2.0" || len(echoView.Nodes) != 1 {
		t.Fatalf("echo = %+v", echoView)
	}
	if n := echoView.Nodes[0]; n.Health != "SERVING" || n.Metadata["owner"] != hostile || n.Address == "" || n.ID == "" {
		t.Errorf("echo's node = %+v", n)
	}
	if len(echoView.Minutes) != 15 {
		t.Errorf("echo has %d minutes of counts, want 15", len(echoView.Minutes))
	}

	stopEcho()
	testutil.WaitFor(t, "echo to leave the list", func() bool {
		s := snapshot(t, url)
		return len(s.Services) == 1 && s.Services[0].Name == "greeter"
	})
}

func TestServiceDetail(t *testing.T) {
	reg := memory.New()
	startEcho(t, reg)
	url := serve(t, reg)

	code, body := get(t, url+"/api/services/echo")
	if code != http.StatusOK {
		t.Fatalf("GET /api/services/echo = %d %s", code, body)
	}
	var d web.Detail
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	if d.Unavailable != "" {
		t.Fatalf("unavailable: %s", d.Unavailable)
	}
	kinds := map[string]string{}
	for _, e := range d.Endpoints {
		kinds[e.Name] = e.Kind
		var v any
		if err := json.Unmarshal([]byte(e.Template), &v); err != nil {
			t.Errorf("%s: template %q is not JSON: %v", e.Name, e.Template, err)
		}
	}
	want := map[string]string{"Echo.Echo": "unary", "Echo.Count": "server_stream", "Echo.Sum": "client_stream", "Echo.Chat": "bidi_stream"}
	for name, kind := range want {
		if kinds[name] != kind {
			t.Errorf("endpoint %s kind = %q, want %q (all: %v)", name, kinds[name], kind, kinds)
		}
	}
	var response *web.MessageView
	for i, m := range d.Messages {
		if m.Name == "streaming.v1.EchoResponse" {
			response = &d.Messages[i]
		}
	}
	if response == nil {
		t.Fatalf("no EchoResponse among %+v", d.Messages)
	}
	types := map[string]string{}
	for _, f := range response.Fields {
		types[f.Name] = f.Type
	}
	if types["metadata"] != "map<string, string>" || types["deadlineMs"] != "int64" || types["payload"] != "bytes" {
		t.Errorf("EchoResponse fields = %v", types)
	}

	if code, _ := get(t, url+"/api/services/nosuch"); code != http.StatusNotFound {
		t.Errorf("GET /api/services/nosuch = %d, want 404", code)
	}
	code, page := get(t, url+"/services/echo")
	if code != http.StatusOK || !strings.Contains(page, `data-procedure="/streaming.v1.Echo/Count"`) || !strings.Contains(page, "map&lt;string, string&gt;") {
		t.Errorf("GET /services/echo = %d\n%s", code, page)
	}
}

func TestValidate(t *testing.T) {
	reg := memory.New()
	startEcho(t, reg)
	url := serve(t, reg)
	validate := func(procedure, body string) (int, string) {
		return do(t, http.MethodPost, url+"/api/services/echo/validate?procedure="+procedure, "application/json", body)
	}
	if code, body := validate("/streaming.v1.Echo/Echo", `{"message": "hi"}`); code != http.StatusNoContent {
		t.Errorf("valid request: %d %s", code, body)
	}
	if code, body := validate("/streaming.v1.Echo/Echo", `{"mesage": "hi"}`); code != http.StatusBadRequest || !strings.Contains(body, `unknown field \"mesage\"`) {
		t.Errorf("misspelt field: %d %s", code, body)
	}
	if code, body := validate("/streaming.v1.Echo/Sum", `[{"number": 1}, {"number": "x"}]`); code != http.StatusBadRequest || !strings.Contains(body, "message 2") {
		t.Errorf("bad second message: %d %s", code, body)
	}
	if code, body := validate("/streaming.v1.Echo/Nope", `{}`); code != http.StatusNotFound {
		t.Errorf("unknown method: %d %s", code, body)
	}
}

func TestCallThroughTheGatewayIsCharted(t *testing.T) {
	reg := memory.New()
	startEcho(t, reg)
	url := serve(t, reg, web.WithPrefix("/_web/"))

	code, body := do(t, http.MethodPost, url+"/_web/rpc/streaming.v1.Echo/Echo", "application/json", `{"message": "<script>x</script>"}`)
	if code != http.StatusOK || !strings.Contains(body, `\u003cscript\u003ex\u003c/script\u003e`) && !strings.Contains(body, "<script>x</script>") {
		t.Fatalf("Connect call = %d %s", code, body)
	}
	if code, _ := do(t, http.MethodPost, url+"/_web/rpc/streaming.v1.Echo/Echo", "application/json", `{"message": "error:not_found:gone"}`); code != http.StatusNotFound {
		t.Errorf("failing call = %d, want 404", code)
	}
	testutil.WaitFor(t, "the calls in the counts", func() bool {
		code, body := get(t, url+"/_web/api/services")
		if code != http.StatusOK {
			return false
		}
		var s web.Snapshot
		_ = json.Unmarshal([]byte(body), &s)
		if len(s.Services) != 1 {
			return false
		}
		last := s.Services[0].Minutes[len(s.Services[0].Minutes)-1]
		prev := s.Services[0].Minutes[len(s.Services[0].Minutes)-2] // the minute may turn between the calls
		return last.Calls+prev.Calls == 2 && last.Errors+prev.Errors == 1
	})
	if code, page := get(t, url+"/_web/"); code != http.StatusOK || !strings.Contains(page, `href="/_web/static/style.css"`) {
		t.Errorf("GET /_web/ = %d\n%s", code, page)
	}
}

func TestEvents(t *testing.T) {
	reg := memory.New()
	url := serve(t, reg)
	req, err := http.NewRequestWithContext(testutil.Context(t), http.MethodGet, url+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	events := make(chan web.Snapshot, 16)
	go func() {
		defer close(events)
		buf := make([]byte, 0, 64<<10)
		chunk := make([]byte, 32<<10)
		for {
			n, err := res.Body.Read(chunk)
			buf = append(buf, chunk[:n]...)
			for {
				i := strings.Index(string(buf), "\n\n")
				if i < 0 {
					break
				}
				event := string(buf[:i])
				buf = buf[i+2:]
				if data, ok := strings.CutPrefix(event, "event: services\ndata: "); ok {
					var s web.Snapshot
					if json.Unmarshal([]byte(data), &s) == nil {
						events <- s
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	next := func(what string, cond func(web.Snapshot) bool) {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case s, ok := <-events:
				if !ok {
					t.Fatalf("the stream ended before %s", what)
				}
				if cond(s) {
					return
				}
			case <-timeout:
				t.Fatalf("no event with %s", what)
			}
		}
	}
	next("no services", func(s web.Snapshot) bool { return len(s.Services) == 0 })
	stop := startGreeter(t, reg)
	next("greeter, serving", func(s web.Snapshot) bool { return len(s.Services) == 1 && s.Services[0].Serving == 1 })
	stop()
	next("greeter gone", func(s web.Snapshot) bool { return len(s.Services) == 0 })
}

// TestServiceSubscriptions checks that a service's page lists the event
// topics its registration says it consumes.
func TestServiceSubscriptions(t *testing.T) {
	reg := memory.New()
	b := brokermemory.New()
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	start(t, reg, "shipping", func(s *micro.Service) error {
		if err := unary.RegisterGreeterHandler(s.Server(), greeter{}); err != nil {
			return err
		}
		return events.SubscribeOrderCreated(s.Broker(), func(context.Context, *events.OrderCreated) error { return nil })
	}, micro.WithBroker(b))
	url := serve(t, reg)

	code, body := get(t, url+"/api/services/shipping")
	var d web.Detail
	if err := json.Unmarshal([]byte(body), &d); code != http.StatusOK || err != nil {
		t.Fatalf("GET /api/services/shipping = %d %s (%v)", code, body, err)
	}
	want := []registry.Subscription{{Topic: events.OrderCreatedTopic, Group: "shipping", Type: "events.v1.OrderCreated"}}
	if !slices.Equal(d.Service.Subscriptions, want) {
		t.Errorf("subscriptions = %+v, want %+v", d.Service.Subscriptions, want)
	}
	code, page := get(t, url+"/services/shipping")
	if code != http.StatusOK || !strings.Contains(page, "<code>orders.created</code>") || !strings.Contains(page, "<code>events.v1.OrderCreated</code>") {
		t.Errorf("GET /services/shipping = %d, without its subscription:\n%s", code, page)
	}
}
