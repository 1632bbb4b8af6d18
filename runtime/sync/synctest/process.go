//go:build unix

package synctest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/sync"
	"github.com/protomicro/micro/testdata/testutil"
)

// childEnv carries, to a child process, its job as JSON.
const childEnv = "MICRO_SYNCTEST_CHILD"

// slack is how much later than its TTL a killed holder's lock may be taken
// over: etcd finds expired leases every 500ms, and a busy machine adds some.
const slack = 1500 * time.Millisecond

// job is what one child process does.
type job struct {
	Mode    string        `json:"mode"` // "count", "hold" or "elect"
	Address string        `json:"address"`
	Key     string        `json:"key"`
	TTL     time.Duration `json:"ttl"`
	// Count: lock Key Rounds times, and each time add one to the number in
	// Counter and append the token to Log.
	Counter string `json:"counter,omitempty"`
	Log     string `json:"log,omitempty"`
	Rounds  int    `json:"rounds,omitempty"`
	// Elect: campaign as ID.
	ID string `json:"id,omitempty"`
}

// Child runs this test binary as a child process of [RunProcesses], and then
// exits, when the environment says so; otherwise it returns at once. Call it
// first in TestMain, with the constructor given to RunProcesses.
func Child(open func(address string) (sync.Sync, error)) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		return
	}
	if err := runChild(open, spec); err != nil {
		_, _ = fmt.Fprintln(os.Stderr, "synctest child:", err)
		os.Exit(1) //nolint:forbidigo // a child process of the tests: its exit status is its answer
	}
	os.Exit(0) //nolint:forbidigo // the child must not go on to run the tests

}

func runChild(open func(address string) (sync.Sync, error), spec string) error {
	var j job
	if err := json.Unmarshal([]byte(spec), &j); err != nil {
		return fmt.Errorf("%s: %w", childEnv, err)
	}
	// The parent ends its children when it ends; this bounds an orphan.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := open(j.Address)
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	switch j.Mode {
	case "count":
		for range j.Rounds {
			if err := count(ctx, s, j); err != nil {
				return err
			}
		}
		return nil
	case "hold":
		l, err := s.Lock(ctx, j.Key, sync.WithTTL(j.TTL))
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(os.Stdout, "locked %d\n", l.Token()); err != nil {
			return err
		}
	case "elect":
		l, err := s.Elect(ctx, j.Key, sync.WithID(j.ID), sync.WithTTL(j.TTL))
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(os.Stdout, "leader %d\n", l.Token()); err != nil {
			return err
		}
		go func() {
			<-l.Done()
			_, _ = fmt.Fprintln(os.Stdout, "lost") // the parent waiting for it fails if it is not printed
		}()
	default:
		return fmt.Errorf("unknown mode %q", j.Mode)
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it, or dies
	return nil
}

// count adds one to the counter under the lock and logs the lock's token.
func count(ctx context.Context, s sync.Sync, j job) error {
	l, err := s.Lock(ctx, j.Key, sync.WithTTL(j.TTL))
	if err != nil {
		return err
	}
	data, err := os.ReadFile(j.Counter)
	if errors.Is(err, os.ErrNotExist) {
		data, err = []byte("0"), nil
	}
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(string(data))
	if err != nil {
		return fmt.Errorf("counter %q: %w", data, err)
	}
	if err := os.WriteFile(j.Counter, []byte(strconv.Itoa(n+1)), 0o600); err != nil {
		return err
	}
	log, err := os.OpenFile(j.Log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(log, "%d\n", l.Token())
	if err := errors.Join(err, log.Close()); err != nil {
		return err
	}
	return l.Unlock(ctx)
}

// RunProcesses runs the tests that need several processes, each this test
// binary started again in a child mode (see [Child]): 5 processes counting
// under one lock, a lock holder and a leader killed with SIGKILL, and, with
// [WithExpiry], a leader paused with SIGSTOP. open makes a sync at address,
// in the test process and in each child; the tests are sequential, as they
// time takeovers.
func RunProcesses(t *testing.T, address string, open func(address string) (sync.Sync, error), opts ...Option) {
	t.Helper()
	cfg := newSuite(opts, 5, 200)
	p := processes{suite: cfg, address: address, open: open}
	t.Run("Counter", p.testCounter)
	t.Run("KillHolder", p.testKillHolder)
	t.Run("KillLeader", p.testKillLeader)
	if cfg.expires {
		t.Run("PauseLeader", p.testPauseLeader)
	}
}

type processes struct {
	suite
	address string
	open    func(address string) (sync.Sync, error)
}

// sync opens a sync in the test process.
func (p processes) sync(t *testing.T) sync.Sync {
	t.Helper()
	s, err := p.open(p.address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// job returns a job with the test's address, TTL and a key of its own.
func (p processes) job(t *testing.T, mode string) job {
	return job{Mode: mode, Address: p.address, Key: "synctest/" + t.Name(), TTL: p.ttl}
}

func (p processes) testCounter(t *testing.T) {
	dir := t.TempDir()
	j := p.job(t, "count")
	j.Counter, j.Log, j.Rounds = filepath.Join(dir, "counter"), filepath.Join(dir, "log"), p.rounds
	children := make([]*child, p.workers)
	for i := range children {
		children[i] = start(t, j)
	}
	for i, c := range children {
		if err := c.wait(90 * time.Second); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, c.output())
		}
	}
	data, err := os.ReadFile(j.Counter)
	if err != nil {
		t.Fatal(err)
	}
	want := p.workers * p.rounds
	if got := string(data); got != strconv.Itoa(want) {
		t.Errorf("counter = %s, want %d", got, want)
	}
	log, err := os.ReadFile(j.Log)
	if err != nil {
		t.Fatal(err)
	}
	var tokens []uint64
	for _, line := range strings.Fields(string(log)) {
		token, err := strconv.ParseUint(line, 10, 64)
		if err != nil {
			t.Fatalf("token %q: %v", line, err)
		}
		tokens = append(tokens, token)
	}
	if len(tokens) != want {
		t.Errorf("%d tokens logged, want %d", len(tokens), want)
	}
	checkIncreasing(t, tokens)
}

func (p processes) testKillHolder(t *testing.T) {
	s := p.sync(t)
	j := p.job(t, "hold")
	c := start(t, j)
	line := c.expect(t, "locked ", 30*time.Second)
	held, err := strconv.ParseUint(strings.TrimPrefix(line, "locked "), 10, 64)
	if err != nil {
		t.Fatalf("child printed %q", line)
	}
	if _, err := s.TryLock(testutil.Context(t), j.Key); !errors.Is(err, sync.ErrLocked) {
		t.Fatalf("TryLock of a key another process holds = %v, want %v", err, sync.ErrLocked)
	}
	c.signal(t, syscall.SIGKILL)
	killed := time.Now()
	ctx, cancel := context.WithTimeout(testutil.Context(t), p.ttl+10*time.Second)
	defer cancel()
	l, err := s.Lock(ctx, j.Key, sync.WithTTL(p.ttl))
	if err != nil {
		t.Fatalf("Lock after its holder was killed = %v", err)
	}
	defer func() { _ = l.Unlock(testutil.Context(t)) }()
	if took := time.Since(killed); took > p.ttl+slack {
		t.Errorf("Lock after its holder was killed took %v, want at most the TTL, %v (+%v)", took, p.ttl, slack)
	}
	if l.Token() <= held {
		t.Errorf("Token() = %d, want more than the killed holder's, %d", l.Token(), held)
	}
}

// candidates starts n children campaigning in one election and returns them
// by ID, with the ID of the one that leads.
func (p processes) candidates(t *testing.T, s sync.Sync, n int) (map[string]*child, string) {
	children := make(map[string]*child)
	j := p.job(t, "elect")
	for i := range n {
		j.ID = fmt.Sprintf("candidate-%d", i)
		children[j.ID] = start(t, j)
	}
	var first string
	testutil.WaitFor(t, "a leader among the candidates", func() bool {
		first, _ = s.Leader(testutil.Context(t), j.Key)
		return first != ""
	})
	if children[first] == nil {
		t.Fatalf("Leader() = %q, not one of the candidates", first)
	}
	children[first].expect(t, "leader ", 30*time.Second)
	return children, first
}

// takeover waits for a leader other than old and returns it, failing the
// test if that takes longer than the TTL.
func (p processes) takeover(t *testing.T, s sync.Sync, name, old string, since time.Time) string {
	t.Helper()
	for {
		id, err := s.Leader(testutil.Context(t), name)
		if err != nil && !errors.Is(err, sync.ErrNoLeader) {
			t.Fatalf("Leader() = %v", err)
		}
		if id != "" && id != old {
			if took := time.Since(since); took > p.ttl+slack {
				t.Errorf("a new leader took %v, want at most the TTL, %v (+%v)", took, p.ttl, slack)
			}
			return id
		}
		if time.Since(since) > p.ttl+10*time.Second {
			t.Fatalf("no new leader %v after %s was stopped (Leader() = %q)", time.Since(since), old, id)
		}
		time.Sleep(10 * time.Millisecond) // polling, bounded above
	}
}

func (p processes) testKillLeader(t *testing.T) {
	s := p.sync(t)
	children, first := p.candidates(t, s, 3)
	children[first].signal(t, syscall.SIGKILL)
	next := p.takeover(t, s, p.job(t, "").Key, first, time.Now())
	if children[next] == nil {
		t.Fatalf("Leader() = %q, not one of the candidates", next)
	}
	children[next].expect(t, "leader ", 30*time.Second)
}

// testPauseLeader stops the leader long enough for its lease to expire, and
// checks that it learns it lost once it runs again.
func (p processes) testPauseLeader(t *testing.T) {
	s := p.sync(t)
	children, first := p.candidates(t, s, 2)
	children[first].signal(t, syscall.SIGSTOP)
	next := p.takeover(t, s, p.job(t, "").Key, first, time.Now())
	children[next].expect(t, "leader ", 30*time.Second)
	children[first].signal(t, syscall.SIGCONT)
	children[first].expect(t, "lost", p.ttl+10*time.Second)
}

// child is one child process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string   // what it prints, closed when it exits
	exited chan struct{} // closed once err is set
	err    error         // how it exited
	stderr string        // the file holding its standard error
}

// start runs j in a child process until the test ends.
func start(t *testing.T, j job) *child {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	if os.Getenv("GORACE") == "" {
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0") // a race binary otherwise sleeps 1s on exit
	}
	c := &child{cmd: cmd, lines: make(chan string, 16), exited: make(chan struct{})}
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stderr.Close() }() // the child has its own copy
	c.stderr, cmd.Stderr = stderr.Name(), stderr
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			c.lines <- scanner.Text()
		}
		close(c.lines)
		c.err = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		_ = c.stdin.Close()
		_ = cmd.Process.Signal(syscall.SIGCONT) // a stopped child cannot die
		_ = cmd.Process.Kill()
		for range c.lines { // drain, so that the reader can reach Wait
		}
		<-c.exited
	})
	return c
}

// wait waits for the child to exit by itself.
func (c *child) wait(timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-c.lines:
			if !ok {
				<-c.exited
				return c.err
			}
		case <-timer.C:
			return fmt.Errorf("still running after %v", timeout)
		}
	}
}

// expect waits for the child to print a line starting with prefix.
func (c *child) expect(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				<-c.exited
				t.Fatalf("child exited before printing %q: %v\n%s", prefix, c.err, c.output())
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-timer.C:
			t.Fatalf("child did not print %q within %v\n%s", prefix, timeout, c.output())
		}
	}
}

func (c *child) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// output returns what the child printed on its standard error.
func (c *child) output() string {
	data, _ := os.ReadFile(c.stderr) // a test failing already; the message is a bonus
	return string(data)
}
