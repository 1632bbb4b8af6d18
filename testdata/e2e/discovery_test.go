package e2e

import (
	"bufio"
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/etcd/etcdtest"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/runtime/rpc"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

// The modes in which the tests below run this binary as another process.
const (
	// serviceEnv runs the echo service with micro.NewService, configured
	// only by command-line flags and the environment, as an operator would;
	// MICRO_E2E_TTL shortens its registration's TTL.
	serviceEnv = "MICRO_E2E_SERVICE"
	// callerEnv calls the echo service, found through the registry the
	// flags and environment name, MICRO_E2E_CALLS times, and prints how many
	// calls each node answered.
	callerEnv = "MICRO_E2E_CALLER"
)

// runService serves echo until SIGTERM; it prints "ready NODE" once
// registered.
func runService() error {
	opts := []micro.Option{micro.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil)))}
	if ttl, err := time.ParseDuration(os.Getenv("MICRO_E2E_TTL")); err == nil {
		opts = append(opts, micro.WithTTL(ttl))
	}
	svc, err := micro.NewService("echo", opts...)
	if err != nil {
		return err
	}
	if err := streaming.RegisterEchoHandler(svc.Server(), echo.Handler{Node: svc.ID()}); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			time.Sleep(10 * time.Millisecond)
			if services, err := svc.Registry().GetService(ctx, "echo"); err == nil {
				for _, s := range services {
					for _, n := range s.Nodes {
						if n.ID == svc.ID() {
							fmt.Printf("ready %s\n", svc.ID())
							return
						}
					}
				}
			}
		}
	}()
	return svc.Run(ctx)
}

// runCaller calls echo and prints "NODE COUNT" lines, busiest node first.
func runCaller() error {
	svc, err := micro.NewService("caller")
	if err != nil {
		return err
	}
	calls, _ := strconv.Atoi(os.Getenv("MICRO_E2E_CALLS"))
	echoClient := streaming.NewEchoClient("echo", svc.Client())
	counts := make(map[string]int)
	for range calls {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := echoClient.Echo(ctx, &streaming.EchoRequest{})
		cancel()
		if err != nil {
			return err
		}
		counts[res.GetNode()]++
	}
	nodes := make([]string, 0, len(counts))
	for node := range counts {
		nodes = append(nodes, node)
	}
	sort.Slice(nodes, func(i, j int) bool { return counts[nodes[i]] > counts[nodes[j]] })
	for _, node := range nodes {
		fmt.Printf("%s %d\n", node, counts[node])
	}
	return svc.Close()
}

// node is a service process.
type node struct {
	cmd    *exec.Cmd
	id     string
	exited chan struct{} // closed when the process has exited
	err    error         // how it exited, once exited is closed
}

// startNode starts a service process with env and args and waits until it
// is registered.
func startNode(t *testing.T, env []string, args ...string) *node {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := selfCommand(self, append(env, serviceEnv+"=1"), args...)
	cmd.Stderr = io.Discard
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &node{cmd: cmd, exited: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if id, ok := strings.CutPrefix(scanner.Text(), "ready "); ok {
				ready <- id
			}
		}
		n.err = cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
		}
	})
	select {
	case n.id = <-ready:
		return n
	case <-n.exited:
		t.Fatalf("a service process exited before registering: %v", n.err)
	case <-time.After(30 * time.Second):
		t.Fatal("a service process did not register within 30s")
	}
	return nil
}

// isolated returns the environment that gives processes a local registry
// of this test's own, with no flag: the default directory lives in TMPDIR.
func isolated(t *testing.T) (env []string, registryDir string) {
	dir := t.TempDir()
	return []string{"TMPDIR=" + dir}, filepath.Join(dir, fmt.Sprintf("micro-%d", os.Getuid()), "registry")
}

// callFrom runs the caller process and returns the nodes that answered.
func callFrom(t *testing.T, env []string, calls int, args ...string) map[string]int {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := selfCommand(self, append(env, callerEnv+"=1", fmt.Sprintf("MICRO_E2E_CALLS=%d", calls)), args...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if exit, ok := stderrors.AsType[*exec.ExitError](err); ok {
			stderr = exit.Stderr
		}
		t.Fatalf("caller process: %v\n%s", err, stderr)
	}
	counts := make(map[string]int)
	for line := range strings.Lines(string(out)) {
		id, count, _ := strings.Cut(strings.TrimSpace(line), " ")
		counts[id], _ = strconv.Atoi(count)
	}
	return counts
}

// TestLocalDiscovery starts two service processes and a client process with
// no flags: they find each other through the default local registry.
func TestLocalDiscovery(t *testing.T) {
	t.Parallel()
	env, _ := isolated(t)
	a, b := startNode(t, env), startNode(t, env)
	counts := callFrom(t, env, 20)
	if counts[a.id] == 0 || counts[b.id] == 0 || counts[a.id]+counts[b.id] != 20 {
		t.Errorf("the caller's 20 calls reached %v, want both %s and %s", counts, a.id, b.id)
	}
}

// load calls echo from goroutines until stopped and counts failures.
type load struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	calls    atomic.Int64
	failures atomic.Int64
	mu       sync.Mutex
	nodes    map[string]int
	firstErr error
}

func startLoad(t *testing.T, c streaming.EchoClient, opts ...client.CallOption) *load {
	l := &load{stop: make(chan struct{}), nodes: make(map[string]int)}
	for range 4 {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				res, err := c.Echo(ctx, &streaming.EchoRequest{}, opts...)
				cancel()
				l.calls.Add(1)
				l.mu.Lock()
				if err != nil {
					l.failures.Add(1)
					if l.firstErr == nil {
						l.firstErr = err
					}
				} else {
					l.nodes[res.GetNode()]++
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

func (l *load) served(node string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nodes[node]
}

func (l *load) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if n := l.failures.Load(); n > 0 {
		t.Errorf("%d of %d calls failed, want none; the first: %v", n, l.calls.Load(), l.firstErr)
	}
}

func localClient(t *testing.T, dir string) (streaming.EchoClient, registry.Registry) {
	t.Helper()
	reg, err := local.New(local.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(client.WithRegistry(reg))
	t.Cleanup(func() { _ = c.Close() })
	return streaming.NewEchoClient("echo", c), reg
}

// TestKillNode kills one of two nodes with SIGKILL under steady load of
// idempotent calls: no call fails, and the dead node leaves lookups within
// its TTL.
func TestKillNode(t *testing.T) {
	t.Parallel()
	env, dir := isolated(t)
	const ttl = 2 * time.Second
	env = append(env, "MICRO_E2E_TTL="+ttl.String())
	a, b := startNode(t, env), startNode(t, env)
	echoClient, reg := localClient(t, dir)
	l := startLoad(t, echoClient, client.WithIdempotency(rpc.Idempotent))
	testutil.WaitFor(t, "both nodes to take calls", func() bool { return l.served(a.id) > 0 && l.served(b.id) > 0 })

	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	before := l.calls.Load()
	testutil.WaitFor(t, "the dead node to leave the registry", func() bool { return !registered(t, reg, b.id) })
	if gone := time.Since(killed); gone > ttl+time.Second {
		t.Errorf("the killed node left lookups %v after it died, want within its TTL (%v) and a poll", gone.Round(time.Millisecond), ttl)
	}
	testutil.WaitFor(t, "calls after the kill", func() bool { return l.calls.Load() > before+100 })
	l.finish(t)
}

// TestStopNode stops one of two nodes with SIGTERM under steady load of
// calls that are not idempotent: it deregisters and drains first, so no call
// fails.
func TestStopNode(t *testing.T) {
	t.Parallel()
	env, dir := isolated(t)
	a, b := startNode(t, env), startNode(t, env)
	echoClient, reg := localClient(t, dir)
	l := startLoad(t, echoClient)
	testutil.WaitFor(t, "both nodes to take calls", func() bool { return l.served(a.id) > 0 && l.served(b.id) > 0 })

	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.exited:
		if b.err != nil {
			t.Errorf("the stopped node exited with %v, want status 0", b.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stopped node did not exit within 30s of SIGTERM")
	}
	if registered(t, reg, b.id) {
		t.Error("the stopped node is still registered after it exited")
	}
	before := l.calls.Load()
	testutil.WaitFor(t, "calls after the stop", func() bool { return l.calls.Load() > before+100 })
	l.finish(t)
}

// TestEtcdDiscovery registers three nodes through a real etcd and has a
// client in another process balance across them.
func TestEtcdDiscovery(t *testing.T) {
	t.Parallel()
	endpoint := etcdtest.Start(t)
	args := []string{"--registry=etcd", "--registry_address", endpoint}
	var nodes []*node
	for range 3 {
		nodes = append(nodes, startNode(t, nil, args...))
	}
	counts := callFrom(t, nil, 30, args...)
	for _, n := range nodes {
		// Round robin covers the nodes whose connections are up; the first
		// few calls may find only some of them up.
		if counts[n.id] < 5 {
			t.Errorf("node %s answered %d of 30 calls, want about 10: %v", n.id, counts[n.id], counts)
		}
	}
}

func registered(t *testing.T, reg registry.Registry, id string) bool {
	t.Helper()
	services, err := reg.GetService(t.Context(), "echo")
	if errors.CodeOf(err) != errors.CodeOK {
		return false
	}
	for _, s := range services {
		for _, n := range s.Nodes {
			if n.ID == id {
				return true
			}
		}
	}
	return false
}
