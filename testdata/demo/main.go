// Demo goes from nothing to a running service and a call to it, the way a
// newcomer would, and narrates each step:
//
//	go run ./testdata/demo      # or: make demo
//
// It builds the micro command from this checkout, lays out a service with
// micro new, builds and starts it, lays out a client program for it with
// micro new --template client, runs that (it finds the service through the
// local registry), and stops the service with SIGTERM. Everything happens in a
// temporary directory, removed at the end, with a registry of its own.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := demo(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func demo() error {
	work, err := os.MkdirTemp("", "micro-demo-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()
	// A registry of the demo's own: the local registry lives in TMPDIR.
	env := append(os.Environ(), "TMPDIR="+filepath.Join(work, "tmp"))
	if err := os.Mkdir(filepath.Join(work, "tmp"), 0o700); err != nil {
		return err
	}
	// Builds get a bound of their own: on a new machine the build cache is
	// empty and they take minutes. Running and calling the service gets a
	// tight one.
	build, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	micro := filepath.Join(work, "micro")
	if err := step(build, "build the micro command", "", env, "go", "build", "-o", micro, "./cmd/micro"); err != nil {
		return err
	}
	if err := step(build, "micro new greeter", work, env, micro, "new", "greeter"); err != nil {
		return err
	}
	service := filepath.Join(work, "greeter")
	if err := step(build, "go build (the service)", service, env, "go", "build", "-o", "bin/greeter", "."); err != nil {
		return err
	}
	if err := step(build, "micro new greeter --template client --dir greeter-client", work, env, micro, "new", "greeter", "--template", "client", "--dir", "greeter-client"); err != nil {
		return err
	}
	clientDir := filepath.Join(work, "greeter-client")
	if err := step(build, "go build (the client)", clientDir, env, "go", "build", "-o", "bin/greeter-client", "."); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fmt.Println("==> start the service")
	server := exec.CommandContext(ctx, filepath.Join(service, "bin", "greeter"))
	server.Env = env
	var serverLog bytes.Buffer
	server.Stdout, server.Stderr = &serverLog, &serverLog
	if err := server.Start(); err != nil {
		return err
	}
	defer func() { _ = server.Process.Kill() }()

	// The client finds the service through the registry once it has
	// registered, which takes a moment after it starts.
	var out []byte
	for attempt := 0; ; attempt++ {
		cmd := exec.CommandContext(ctx, filepath.Join(clientDir, "bin", "greeter-client"), "Ada")
		cmd.Env = env
		if out, err = cmd.CombinedOutput(); err == nil {
			break
		}
		if attempt == 20 {
			return fmt.Errorf("the client never got an answer: %w\n%s\nservice log:\n%s", err, out, serverLog.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	fmt.Println("==> greeter-client Ada (the client, calling SayHello and CountTo)")
	fmt.Print(indent(string(out)))

	fmt.Println("==> stop the service with SIGTERM")
	if err := server.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if err := server.Wait(); err != nil {
		return fmt.Errorf("the service did not stop cleanly: %w\n%s", err, serverLog.String())
	}
	fmt.Print(indent(serverLog.String()))
	fmt.Println("==> done: micro new, go build, run, call, stop")
	return nil
}

// step runs one command of the demo in dir and says how long it took.
func step(ctx context.Context, title, dir string, env []string, name string, args ...string) error {
	fmt.Printf("==> %s\n", title)
	start := time.Now()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("%s: %w\n%s", title, err, out)
		}
		return fmt.Errorf("%s: %w", title, err)
	}
	if len(out) > 0 && strings.HasPrefix(title, "micro new") {
		fmt.Print(indent(string(out)))
	}
	fmt.Printf("    (%s)\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n    ") + "\n"
}
