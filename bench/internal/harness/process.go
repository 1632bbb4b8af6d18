package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Command is how the driver starts this program again as a child process:
// Path with Args, then the child's own arguments, with Env added to the
// environment.
type Command struct {
	Path string
	Args []string
	Env  []string
}

// pinning decides which CPU each kind of process runs on.
type pinning struct {
	taskset string // path of taskset; empty when processes are not pinned
	server  int
	load    int
}

// String describes the pinning for the report.
func (p pinning) String() string {
	if p.taskset == "" {
		return "not pinned (taskset missing or fewer than two CPUs)"
	}
	return fmt.Sprintf("server pinned to CPU %d, load generator to CPU %d (taskset)", p.server, p.load)
}

// child is a running child process that talks in lines.
type child struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // its protocol lines ('@...'); closed when stdout ends
	mu     sync.Mutex
	output strings.Builder // everything else it printed, for errors
	done   chan struct{}   // closed once stdout has ended
}

// start starts the program as a child on cpu (when p pins) with args.
func (c Command) start(ctx context.Context, name string, p pinning, cpu int, args ...string) (*child, error) {
	argv := append(append([]string{c.Path}, c.Args...), args...)
	if p.taskset != "" {
		argv = append([]string{p.taskset, "-c", strconv.Itoa(cpu)}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(cmd.Environ(), c.Env...)
	ch := &child{name: name, cmd: cmd, lines: make(chan string, 16), done: make(chan struct{})}
	cmd.Stderr = ch.logWriter()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if ch.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		defer close(ch.done)
		defer close(ch.lines)
		scanner := bufio.NewScanner(stdout)
		scanner.Buffer(nil, 1<<20)
		for scanner.Scan() {
			line := scanner.Text()
			if strings.HasPrefix(line, "@") {
				ch.lines <- line
				continue
			}
			ch.log(line + "\n")
		}
	}()
	return ch, nil
}

func (ch *child) log(s string) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.output.Len() < 64<<10 {
		ch.output.WriteString(s)
	}
}

type logWriter struct{ ch *child }

func (w logWriter) Write(p []byte) (int, error) {
	w.ch.log(string(p))
	return len(p), nil
}

func (ch *child) logWriter() io.Writer { return logWriter{ch} }

// send writes one line to the child.
func (ch *child) send(line string) error {
	if _, err := io.WriteString(ch.stdin, line+"\n"); err != nil {
		return ch.failure(fmt.Errorf("send %q: %w", line, err))
	}
	return nil
}

// expect waits up to timeout for the child's next protocol line, which must
// start with prefix, and returns the rest of it.
func (ch *child) expect(prefix string, timeout time.Duration) (string, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case line, ok := <-ch.lines:
		if !ok {
			return "", ch.failure(fmt.Errorf("exited while the driver waited for %q", strings.TrimSpace(prefix)))
		}
		rest, found := strings.CutPrefix(line, prefix)
		if !found {
			return "", ch.failure(fmt.Errorf("said %q while the driver waited for %q", line, strings.TrimSpace(prefix)))
		}
		return rest, nil
	case <-timer.C:
		return "", ch.failure(fmt.Errorf("said nothing for %v while the driver waited for %q", timeout, strings.TrimSpace(prefix)))
	}
}

// expectJSON is expect, decoding the rest of the line into v.
func (ch *child) expectJSON(prefix string, timeout time.Duration, v any) error {
	rest, err := ch.expect(prefix, timeout)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(rest), v); err != nil {
		return ch.failure(fmt.Errorf("decode %q: %w", rest, err))
	}
	return nil
}

// stop closes the child's stdin, which tells it to finish, and waits for it
// to exit; it kills it if it has not exited after timeout.
func (ch *child) stop(timeout time.Duration) error {
	_ = ch.stdin.Close() // the child reads EOF either way
	exited := make(chan error, 1)
	go func() {
		<-ch.done
		exited <- ch.cmd.Wait()
	}()
	select {
	case err := <-exited:
		if err != nil {
			return ch.failure(err)
		}
		return nil
	case <-time.After(timeout):
		_ = ch.cmd.Process.Kill() // if it exited meanwhile, Wait says how
		return ch.failure(fmt.Errorf("did not exit within %v and was killed: %w", timeout, <-exited))
	}
}

// kill ends the child at once.
func (ch *child) kill() {
	_ = ch.cmd.Process.Kill()
	<-ch.done
	_ = ch.cmd.Wait() // killed: the error says so and nothing more
}

// failure returns err naming the child, with what it printed.
func (ch *child) failure(err error) error {
	ch.mu.Lock()
	out := strings.TrimSpace(ch.output.String())
	ch.mu.Unlock()
	if out == "" {
		return fmt.Errorf("%s: %w", ch.name, err)
	}
	return fmt.Errorf("%s: %w; it printed:\n%s", ch.name, err, out)
}
