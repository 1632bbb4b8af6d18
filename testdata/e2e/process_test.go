package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
)

// serveEnv, when set, makes the test binary serve the echo service instead
// of running tests: the tests start it as their second process.
const serveEnv = "MICRO_E2E_SERVE"

func TestMain(m *testing.M) {
	var err error
	switch {
	case os.Getenv(serveEnv) != "":
		err = serveEcho()
	case os.Getenv(serviceEnv) != "":
		err = runService()
	case os.Getenv(callerEnv) != "":
		err = runCaller()
	default:
		os.Exit(m.Run())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

// serveEcho serves the echo service on a free loopback port, printing
// "listening on ADDR" and then a line "ended PROCEDURE CODE" whenever a
// stream handler returns, until SIGTERM.
func serveEcho() error {
	var mu sync.Mutex
	srv := server.New()
	h := echo.Handler{Ended: func(procedure string, err error) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf("ended %s %s\n", procedure, errors.CodeOf(err))
	}}
	if err := streaming.RegisterEchoHandler(srv, h); err != nil {
		return err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", lis.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	return srv.Serve(lis)
}

// process is the echo server running in a second process.
type process struct {
	cmd   *exec.Cmd
	addr  string
	lines chan string // what it prints after its address
}

func startProcess(t *testing.T) *process {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := selfCommand(self, []string{serveEnv + "=1"})
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p := &process{cmd: cmd, lines: make(chan string, 100)}
	scanner := bufio.NewScanner(stdout)
	if !scanner.Scan() {
		t.Fatalf("the server process printed no address: %v", scanner.Err())
	}
	p.addr = strings.TrimPrefix(scanner.Text(), "listening on ")
	go func() {
		for scanner.Scan() {
			p.lines <- scanner.Text()
		}
		close(p.lines)
	}()
	return p
}

// selfCommand runs this test binary in one of its non-test modes, with env
// added to the environment.
func selfCommand(self string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), env...)
	if os.Getenv("GORACE") == "" {
		// A race-enabled binary otherwise sleeps a second on exit.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	return cmd
}

// expect waits for the server to print want.
func (p *process) expect(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("the server exited before printing %q", want)
			}
			if line == want {
				return
			}
		case <-timeout:
			t.Fatalf("the server did not print %q within 30s", want)
		}
	}
}

func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	p := startProcess(t)
	c := client.New(client.WithAddress(p.addr))
	defer c.Close()
	echoClient := streaming.NewEchoClient("echo", c)
	ctx := testContext(t)

	t.Run("unary", func(t *testing.T) {
		res, err := echoClient.Echo(ctx, &streaming.EchoRequest{Message: "hi", Payload: []byte{1, 2}}, client.WithHeaders("k", "v"))
		if err != nil || res.GetMessage() != "hi" || len(res.GetPayload()) != 2 || res.GetMetadata()["k"] != "v" {
			t.Errorf("Echo = %v, %v, want the message, payload and metadata back", res, err)
		}
		_, err = echoClient.Echo(ctx, &streaming.EchoRequest{Message: "error:already_exists:taken"})
		if errors.CodeOf(err) != errors.CodeAlreadyExists || err.Error() != "already_exists: taken" {
			t.Errorf("Echo of an error = %v, want already_exists: taken", err)
		}
		_, err = echoClient.Echo(ctx, &streaming.EchoRequest{Message: "sleep:1m"}, client.WithTimeout(200*time.Millisecond))
		if errors.CodeOf(err) != errors.CodeDeadlineExceeded {
			t.Errorf("Echo past its deadline = %v, want deadline_exceeded", err)
		}
	})

	t.Run("server stream canceled midway", func(t *testing.T) {
		streamCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := echoClient.Count(streamCtx, &streaming.CountRequest{IntervalMs: 5})
		if err != nil {
			t.Fatal(err)
		}
		for want := int64(1); want <= 3; want++ {
			if res, err := stream.Recv(); err != nil || res.GetNumber() != want {
				t.Fatalf("Recv = %v, %v, want %d", res, err, want)
			}
		}
		cancel()
		p.expect(t, "ended /streaming.v1.Echo/Count canceled")
	})

	t.Run("client stream half-closed", func(t *testing.T) {
		stream, err := echoClient.Sum(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for n := int64(1); n <= 100; n++ {
			if err := stream.Send(&streaming.SumRequest{Number: n}); err != nil {
				t.Fatal(err)
			}
		}
		res, err := stream.CloseAndRecv()
		if err != nil || res.GetSum() != 5050 || res.GetCount() != 100 {
			t.Errorf("CloseAndRecv = %v, %v, want 5050 from 100 numbers", res, err)
		}
		p.expect(t, "ended /streaming.v1.Echo/Sum ok")
	})

	t.Run("bidi stream half-closed", func(t *testing.T) {
		stream, err := echoClient.Chat(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{"a", "b", "c"} {
			if err := stream.Send(&streaming.ChatRequest{Text: text}); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			res, err := stream.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, res.GetText())
		}
		if strings.Join(got, ",") != "echo: a,echo: b,echo: c" {
			t.Errorf("replies after half-close = %q", got)
		}
		p.expect(t, "ended /streaming.v1.Echo/Chat ok")
	})

	t.Run("bidi stream canceled midway", func(t *testing.T) {
		streamCtx, cancel := context.WithCancel(ctx)
		stream, err := echoClient.Chat(streamCtx)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&streaming.ChatRequest{Text: "a"}); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
		cancel()
		p.expect(t, "ended /streaming.v1.Echo/Chat canceled")
	})

	t.Run("SIGTERM", func(t *testing.T) {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the server exited with %v after SIGTERM, want status 0", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the server did not exit within 30s of SIGTERM")
		}
	})
}
