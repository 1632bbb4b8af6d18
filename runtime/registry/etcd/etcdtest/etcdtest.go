// Package etcdtest starts a real etcd server for tests, from the etcd binary
// on PATH (Debian's etcd-server package, or a release download).
package etcdtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/protomicro/micro/testdata/testutil"
)

// Start runs a one-member etcd cluster on free loopback ports until the test
// ends and returns its client endpoint, "127.0.0.1:port". Without an etcd
// binary on PATH the test is skipped, or fails when MICRO_REQUIRE_TOOLS is
// set, as CI sets it.
func Start(t testing.TB) string {
	t.Helper()
	endpoint, _ := StartStoppable(t)
	return endpoint
}

// StartStoppable is [Start], and also returns a function that stops the
// server (SIGKILL), for tests of what clients do when etcd goes away. Calling
// it more than once is harmless.
func StartStoppable(t testing.TB) (endpoint string, stop func()) {
	t.Helper()
	path, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("MICRO_REQUIRE_TOOLS") != "" {
			t.Fatal("etcd not found on PATH, and MICRO_REQUIRE_TOOLS is set")
		}
		t.Skip("etcd not found on PATH; install it (apt-get install etcd-server) to run the etcd tests")
	}
	var lastErr error
	for range 3 { // a free port can be taken between finding and binding it
		endpoint, stop, err := start(t, path)
		if err == nil {
			return endpoint, stop
		}
		lastErr = err
	}
	t.Fatalf("start etcd: %v", lastErr)
	return "", nil
}

func start(t testing.TB, path string) (string, func(), error) {
	client, peer := freePort(t), freePort(t)
	clientURL, peerURL := "http://127.0.0.1:"+client, "http://127.0.0.1:"+peer
	cmd := exec.Command(path,
		"--name", "test",
		"--data-dir", t.TempDir(),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "test="+peerURL,
	)
	var output testutil.Buffer // the server's output, from two pipes
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited //nolint:errcheck // killed: the exit status says only that
		})
	}
	endpoint := "127.0.0.1:" + client
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		stop()
		return "", nil, err
	}
	defer func() { _ = c.Close() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Get(ctx, "health")
		cancel()
		if err == nil {
			break
		}
		select {
		case exitErr := <-exited:
			return "", nil, fmt.Errorf("etcd exited (%w):\n%s", exitErr, output.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("etcd did not answer within 30s: %w\n%s", err, output.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(stop)
	return endpoint, stop, nil
}

func freePort(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lis.Close() }()
	return strconv.Itoa(lis.Addr().(*net.TCPAddr).Port)
}
