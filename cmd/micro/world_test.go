package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/http"
	"github.com/protomicro/micro/testdata/golden/pkgsuffix/pkgsuffixmicro"
	"github.com/protomicro/micro/testdata/golden/proto2"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

// world is a set of running services, registered in a local registry of
// their own, that the micro commands under test talk to. The services'
// types are linked into the test binary, but micro reads them only through
// server reflection, and TestBinary runs a micro built without them against
// a world of its own.
//
//   - echo: streaming.v1.Echo (testdata/echo), one node of v1.0.0 and one of v1.1.0
//   - books: http.v1.Books, with HTTP routes (testdata/golden/http)
//   - inventory: proto2.v1.Inventory, proto2 with an enum and required fields
//   - twins: streaming.v1.Echo and pkgsuffix.v1.Echo, whose method names clash
//   - sick: a plain grpc-go server without reflection, answering NOT_SERVING
//   - gone: a node registered at an address where nothing listens
type world struct {
	// dir is the registry's directory.
	dir string
	// vars are what command lines may refer to as $NAME: REGISTRY (the
	// registry's directory) and <SERVICE>_ADDRESS (its first node).
	vars map[string]string
	// replacer turns what changes from run to run (addresses, node IDs, the
	// host name) into fixed text.
	replacer *strings.Replacer

	pairs []string // for replacer
}

// newWorld starts the services of [world]; they stop when the test ends.
func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{dir: dir, vars: map[string]string{"REGISTRY": dir}}
	if host, err := os.Hostname(); err == nil {
		w.pairs = append(w.pairs, "hostname="+host, "hostname=HOSTNAME", `"hostname": "`+host+`"`, `"hostname": "HOSTNAME"`)
	}
	w.pairs = append(w.pairs, dir, "$REGISTRY")
	reg, err := local.New(local.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		name, version string
		register      func(server.Server) error
	}{
		{"echo", "v1.0.0", registerEcho},
		{"echo", "v1.1.0", registerEcho},
		{"books", "v1.0.0", func(s server.Server) error { return http.RegisterBooksHandler(s, books{}) }},
		{"inventory", "v2.0.0", func(s server.Server) error { return proto2.RegisterInventoryHandler(s, inventory{}) }},
		{"twins", "v1.0.0", func(s server.Server) error {
			if err := registerEcho(s); err != nil {
				return err
			}
			return pkgsuffixmicro.RegisterEchoHandler(s, pkgsuffixmicro.UnimplementedEchoHandler{})
		}},
	} {
		w.startService(t, reg, s.name, s.version, s.register)
	}
	w.startSick(t, reg)
	w.registerGone(t, reg)
	w.replacer = strings.NewReplacer(w.pairs...)
	return w
}

func registerEcho(s server.Server) error { return streaming.RegisterEchoHandler(s, echo.Handler{}) }

// startService runs a micro service in the registry at w.dir, and waits for
// it to be registered.
func (w *world) startService(t *testing.T, reg registry.Registry, name, version string, register func(server.Server) error) {
	t.Helper()
	svc, err := micro.NewService(name,
		micro.WithVersion(version),
		micro.WithListenAddress("127.0.0.1:0"),
		// Flags, so that no MICRO_ variable of the environment can send the
		// service elsewhere.
		micro.WithArgs([]string{"--registry=local", "--registry_address=" + w.dir}),
		micro.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := register(svc.Server()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service %s: %v", name, err)
		}
	})
	if err := waitRegistered(reg, name, svc.ID()); err != nil {
		t.Fatalf("service %s was not registered: %v", name, err)
	}
	// A node ID keeps its service's name and loses its random part.
	prefix, random, _ := strings.Cut(svc.ID(), "-")
	w.pairs = append(w.pairs, svc.ID(), prefix+"-"+strings.Repeat("x", len(random)))
	w.node(strings.ToUpper(name), svc.Address())
}

// node records the address of a node of the service called name, for
// command lines and for the replacer.
func (w *world) node(name, address string) {
	if _, ok := w.vars[name+"_ADDRESS"]; !ok {
		w.vars[name+"_ADDRESS"] = address
	}
	// The replacement keeps the port's width, so that tables keep their
	// alignment.
	if host, port, err := net.SplitHostPort(address); err == nil {
		w.pairs = append(w.pairs, address, host+":"+strings.Repeat("N", len(port)))
	}
}

func waitRegistered(reg registry.Registry, name, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		versions, _ := reg.GetService(ctx, name)
		for _, v := range versions {
			for _, n := range v.Nodes {
				if n.ID == id {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// startSick serves grpc.health.v1 alone with grpc-go, answering NOT_SERVING,
// and registers it as "sick".
func (w *world) startSick(t *testing.T, reg registry.Registry) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	h := health.NewServer()
	h.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, h)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	w.register(t, reg, "sick", "sick-1", lis.Addr().String())
}

// registerGone registers "gone" at an address where nothing listens any more.
func (w *world) registerGone(t *testing.T, reg registry.Registry) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	w.register(t, reg, "gone", "gone-1", address)
}

// register registers one node without serving it.
func (w *world) register(t *testing.T, reg registry.Registry, name, id, address string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := reg.Register(ctx, &registry.Service{Name: name, Version: "v0.0.1", Nodes: []*registry.Node{{ID: id, Address: address}}})
	if err != nil {
		t.Fatal(err)
	}
	w.node(strings.ToUpper(name), address)
}

// env is the environment the commands under test see: the world's registry.
func (w *world) env(key string) (string, bool) {
	switch key {
	case "MICRO_REGISTRY":
		return "local", true
	case "MICRO_REGISTRY_ADDRESS":
		return w.dir, true
	}
	return "", false
}

// normalize replaces what changes from run to run in out.
func (w *world) normalize(out string) string {
	out = w.replacer.Replace(out)
	// Addresses of nodes that micro chose itself, such as a connection refused.
	return loopback.ReplaceAllStringFunc(out, func(address string) string {
		_, port, _ := net.SplitHostPort(address)
		return "127.0.0.1:" + strings.Repeat("N", len(port))
	})
}

var loopback = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

// books implements some of http.v1.Books.
type books struct{ http.UnimplementedBooksHandler }

func (books) GetBook(_ context.Context, req *http.GetBookRequest) (*http.Book, error) {
	if !strings.HasPrefix(req.GetName(), "shelves/") {
		return nil, errors.Errorf(errors.CodeNotFound, "no book %q", req.GetName())
	}
	return &http.Book{Name: req.GetName(), Title: "The title of " + req.GetName()}, nil
}

func (books) CreateBook(_ context.Context, req *http.CreateBookRequest) (*http.Book, error) {
	return &http.Book{Name: req.GetParent() + "/books/1", Title: req.GetBook().GetTitle()}, nil
}

func (books) WatchBooks(_ context.Context, req *http.GetBookRequest, stream server.ServerStream[http.Book]) error {
	for i := 1; i <= 3; i++ {
		if err := stream.Send(&http.Book{Name: req.GetName() + "/books/" + strconv.Itoa(i)}); err != nil {
			return err
		}
	}
	return nil
}

// inventory implements proto2.v1.Inventory.
type inventory struct {
	proto2.UnimplementedInventoryHandler
}

func (inventory) Reserve(_ context.Context, req *proto2.ReserveRequest) (*proto2.ReserveResponse, error) {
	if req.GetQuantity() > 10 {
		return &proto2.ReserveResponse{Reserved: proto.Bool(false), Reason: proto2.ReserveResponse_REASON_OUT_OF_STOCK.Enum()}, nil
	}
	return &proto2.ReserveResponse{Reserved: proto.Bool(true)}, nil
}

// serve runs micro with args in front of w's services, in the background
// until the test ends or interrupt is called, which returns micro's exit
// status (or fails the test if micro does not return within 20 seconds).
// stderr is what micro wrote there so far.
func (w *world) serve(t *testing.T, args ...string) (stderr *testutil.Buffer, interrupt func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stderr = new(testutil.Buffer)
	status := make(chan int, 1)
	go func() {
		var stdout testutil.Buffer
		status <- run(ctx, args, w.env, strings.NewReader(""), &stdout, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if t.Failed() {
			t.Logf("micro %s, stderr:\n%s", strings.Join(args, " "), stderr.String())
		}
	})
	return stderr, func() int {
		cancel()
		select {
		case got := <-status:
			return got
		case <-time.After(20 * time.Second):
			t.Fatalf("micro %s did not return after the interrupt", strings.Join(args, " "))
			return 0
		}
	}
}
