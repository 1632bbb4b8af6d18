package micro_test

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/config"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/server"
	syncmemory "github.com/protomicro/micro/runtime/sync/memory"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/http"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// start runs a service on the memory registry reg until the test ends or
// stop is called, and returns once it is registered. Run's result arrives on
// done.
func start(t *testing.T, reg registry.Registry, opts ...micro.Option) (stop func(), done <-chan error) {
	t.Helper()
	opts = append([]micro.Option{micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet)}, opts...)
	svc, err := micro.NewService("echo", opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := streaming.RegisterEchoHandler(svc.Server(), echo.Handler{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- svc.Run(ctx) }()
	t.Cleanup(cancel)
	testutil.WaitFor(t, "the service to register", func() bool {
		_, err := reg.GetService(t.Context(), "echo")
		return err == nil
	})
	return cancel, result
}

func TestRunRegistersAndStops(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	svc, err := micro.NewService("books", micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"),
		micro.WithVersion("v2"), micro.WithServiceMetadata(map[string]string{"team": "shelf"}), micro.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := http.RegisterBooksHandler(svc.Server(), http.UnimplementedBooksHandler{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var got []*registry.Service
	testutil.WaitFor(t, "registration", func() bool {
		got, err = reg.GetService(t.Context(), "books")
		return err == nil
	})
	s := got[0]
	if s.Version != "v2" || s.Metadata["team"] != "shelf" || len(s.Nodes) != 1 || s.Nodes[0].ID != svc.ID() || s.Nodes[0].Address != svc.Address() {
		t.Errorf("registration = %+v (node %+v), want version, metadata, ID and address of the service", s, s.Nodes[0])
	}
	if len(s.Endpoints) != 8 || s.Endpoints[0].Procedure != http.BooksGetBookProcedure || len(s.Endpoints[0].HTTP) != 3 {
		t.Errorf("endpoints = %d, first %+v, want 8 with GetBook's three HTTP rules first", len(s.Endpoints), s.Endpoints[0])
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	if _, err := reg.GetService(t.Context(), "books"); err == nil {
		t.Error("the service is still registered after it stopped")
	}
	if err := svc.Run(t.Context()); err == nil {
		t.Error("a second Run succeeded, want an error")
	}
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	stop, done := start(t, reg, micro.WithTTL(300*time.Millisecond), micro.WithHeartbeat(50*time.Millisecond))
	time.Sleep(time.Second) // over three TTLs
	if _, err := reg.GetService(t.Context(), "echo"); err != nil {
		t.Errorf("after three TTLs of heartbeats: %v, want still registered", err)
	}
	stop()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

func TestDrain(t *testing.T) {
	t.Parallel()
	reg := memory.New()
	calls := &testutil.Calls{}
	stop, done := start(t, reg, micro.WithServerOptions(server.WithInterceptors(calls)))
	c := client.New(client.WithRegistry(reg))
	defer c.Close()
	echoClient := streaming.NewEchoClient("echo", c)
	ctx := t.Context()
	if _, err := echoClient.Echo(ctx, &streaming.EchoRequest{}); err != nil {
		t.Fatal(err)
	}
	slow := make(chan error, 1)
	go func() {
		_, err := echoClient.Echo(ctx, &streaming.EchoRequest{Message: "sleep:500ms"})
		slow <- err
	}()
	calls.WaitStarted(t, streaming.EchoEchoProcedure, 2)
	// Stop the service the way SIGTERM would.
	stop()
	if err := <-slow; err != nil {
		t.Errorf("a call in flight when the service stopped failed: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

func TestConfiguration(t *testing.T) {
	t.Setenv("MICRO_ADDRESS", "127.0.0.1:0")
	t.Setenv("MICRO_REGISTRY", "memory")
	for _, tt := range []struct {
		name    string
		opts    []micro.Option
		wantErr string
	}{
		{name: "bad registry", opts: []micro.Option{micro.WithArgs([]string{"--registry=zookeeper"})}, wantErr: `unknown registry "zookeeper": want one of local, mdns, etcd, memory`},
		{name: "bad sync", opts: []micro.Option{micro.WithArgs([]string{"--sync", "zookeeper"})}, wantErr: `unknown sync "zookeeper": want one of local, etcd, memory`},
		{name: "flag without value", opts: []micro.Option{micro.WithArgs([]string{"--registry_address"})}, wantErr: "flag --registry_address needs a value"},
		{name: "empty name", wantErr: "the name is empty"},
	} {
		name := "svc"
		if tt.name == "empty name" {
			name = ""
		}
		_, err := micro.NewService(name, tt.opts...)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: NewService error = %v, want one containing %q", tt.name, err, tt.wantErr)
		}
	}
	// The flag beats the environment, which beats the option.
	svc, err := micro.NewService("svc", micro.WithListenAddress("127.0.0.1:1"), micro.WithArgs([]string{"--address", "127.0.0.1:0"}), micro.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if svc.Registry().String() != "memory" {
		t.Errorf("registry = %s, want memory from MICRO_REGISTRY", svc.Registry())
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	testutil.WaitFor(t, "listening", func() bool { return svc.Address() != "" })
	if _, port, _ := net.SplitHostPort(svc.Address()); port == "1" {
		t.Errorf("listening on %s, want the --address flag's free port", svc.Address())
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestOwnFlags runs a program that parses its own flags, --address among
// them, as package flag does: NewService leaves the command line alone.
func TestOwnFlags(t *testing.T) {
	defer func(args []string) { os.Args = args }(os.Args)
	os.Args = []string{"program", "--address", "its own meaning", "--verbose"}
	flags := flag.NewFlagSet("program", flag.ContinueOnError)
	address := flags.String("address", "", "the program's own flag")
	verbose := flags.Bool("verbose", false, "another of its flags")

	svc, err := micro.NewService("svc", micro.WithRegistry(memory.New()), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet))
	if err != nil {
		t.Fatalf("NewService with the program's own flags in os.Args: %v", err)
	}
	if err := flags.Parse(os.Args[1:]); err != nil || *address != "its own meaning" || !*verbose {
		t.Errorf("the program's flags = %q, %v, %v, want its own values", *address, *verbose, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	testutil.WaitFor(t, "listening", func() bool { return svc.Address() != "" })
	if host, _, _ := net.SplitHostPort(svc.Address()); host != "127.0.0.1" {
		t.Errorf("listening on %s, want the option's 127.0.0.1:0, not the program's --address", svc.Address())
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestSync takes a lock through the service's sync, chosen by the
// environment, and finds it released once the service has stopped.
func TestSync(t *testing.T) {
	t.Setenv("MICRO_SYNC", "local")
	t.Setenv("MICRO_SYNC_ADDRESS", t.TempDir())
	svc, err := micro.NewService("svc", micro.WithRegistry(memory.New()), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Sync().String(); got != "local" {
		t.Errorf("Sync() = %s, want local from MICRO_SYNC", got)
	}
	ctx := testutil.Context(t)
	lock, err := svc.Sync().Lock(ctx, "nightly-job")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	testutil.WaitFor(t, "listening", func() bool { return svc.Address() != "" })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case <-lock.Done():
	default:
		t.Error("a lock held when the service stopped is still held, want it released with the service's sync")
	}
}

// TestConfig reads config.yaml and MICRO_CONFIG_* through the service, with
// no code but Bind, the environment winning.
func TestConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("greeting: hello\ndb:\n  host: file-host\n  password: hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MICRO_CONFIG_DB__HOST", "env-host")
	svc, err := micro.NewService("svc", micro.WithRegistry(memory.New()), micro.WithSync(syncmemory.New()), micro.WithConfigDir(dir), micro.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	type settings struct {
		Greeting string `json:"greeting"`
		DB       struct {
			Host     string `json:"host"`
			Password string `json:"password"`
		} `json:"db"`
	}
	value, err := config.Bind[settings](svc.Config())
	if err != nil {
		t.Fatal(err)
	}
	got := value.Get()
	if got.Greeting != "hello" || got.DB.Host != "env-host" || got.DB.Password != "hunter2" {
		t.Errorf("config = %+v, want the file's greeting and password and the environment's host", got)
	}
	if printed := svc.Config().String(); strings.Contains(printed, "hunter2") {
		t.Errorf("the printed config shows the password:\n%s", printed)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	testutil.WaitFor(t, "listening", func() bool { return svc.Address() != "" })
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestClientFindsServices calls one service from another's client, both with
// the registry the environment names: the client looks services up in the
// registry its service registers in.
func TestClientFindsServices(t *testing.T) {
	t.Setenv("MICRO_REGISTRY", "local")
	t.Setenv("MICRO_REGISTRY_ADDRESS", t.TempDir())
	t.Setenv("MICRO_SYNC", "memory")
	backend, err := micro.NewService("echo", micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := streaming.RegisterEchoHandler(backend.Server(), echo.Handler{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- backend.Run(ctx) }()
	caller, err := micro.NewService("caller", micro.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = caller.Close() }()
	echoClient := streaming.NewEchoClient("echo", caller.Client())
	testutil.WaitFor(t, "a call through the caller's registry to succeed", func() bool {
		res, err := echoClient.Echo(t.Context(), &streaming.EchoRequest{Message: "hi"})
		return err == nil && res.GetMessage() == "hi"
	})
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}
