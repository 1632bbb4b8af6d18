package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestReadmeCommands runs, as a user would, the shell commands of README.md's
// "Start a service" section (which build micro into .tmp/bin of this
// checkout, lay out greeter in a temporary directory and serve it) and of its
// "Calling running services" section, then every example of micro's --help,
// against that fresh scaffold; each must exit 0. The processes share a
// TMPDIR, and so a local registry, of their own. Examples refer to a node of
// the greeter as $ADDRESS, and micro new examples run in empty directories.
// It builds and runs the scaffold; -short skips it.
func TestReadmeCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds micro and a scaffolded service; skipped with -short")
	}
	checkout := checkoutDir(t)
	readme, err := os.ReadFile(filepath.Join(checkout, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	start := shellLines(t, readme, "## Start a service")
	calls := shellLines(t, readme, "## Calling running services")

	work := t.TempDir()
	tmp := filepath.Join(work, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "TMPDIR="+tmp)
	state := filepath.Join(work, "state") // the shell's environment after the setup

	// The last command of "Start a service" serves: what precedes its last
	// command (cd greeter &&) is setup, like the lines before it.
	serving := start[len(start)-1]
	setup := start[:len(start)-1]
	if i := strings.LastIndex(serving, "&&"); i >= 0 {
		setup = append(setup, serving[:i])
		serving = serving[i+2:]
	}
	untracked := gitUntracked(t, checkout)
	script := "set -euxo pipefail\n" + strings.Join(setup, "\n") + "\nexport -p > " + state + "\npwd >> " + state + "\n"
	ctx, cancel := context.WithTimeout(t.Context(), 2*testutil.BuildTimeout) // go build, then micro new's go mod tidy
	defer cancel()
	runShell(ctx, t, checkout, env, script)
	stateText, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if got := gitUntracked(t, checkout); got != untracked {
		t.Errorf("following Start a service left files in the checkout that git does not ignore:\n%s\nbefore:\n%s", got, untracked)
	}
	lines := strings.Split(strings.TrimSpace(string(stateText)), "\n")
	project := lines[len(lines)-1]
	prelude := "set -eo pipefail\n" + strings.Join(lines[:len(lines)-1], "\n") + "\n"

	server := exec.Command("bash", "-c", prelude+"exec "+strings.TrimSpace(serving))
	server.Dir, server.Env = project, env
	server.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // go run and the service it starts
	var serverLog testutil.Buffer
	server.Stdout, server.Stderr = &serverLog, &serverLog
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = server.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-server.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-server.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	// go run compiles the service first: its registration waits as long as
	// a build may take.
	address := waitForNode(t, filepath.Join(tmp, fmt.Sprintf("micro-%d", os.Getuid()), "registry"), "greeter", exited, &serverLog)
	env = append(env, "ADDRESS="+address)

	callCtx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	for _, line := range calls {
		out := runShell(callCtx, t, project, env, prelude+line)
		if strings.Contains(line, "SayHello '{\"name\": \"Ada\"}'") && !strings.Contains(out, "Hello, Ada!") {
			t.Errorf("%s printed %q, want a greeting", line, out)
		}
	}

	// The examples of every command's help; micro new in an empty directory
	// (and a build cache already warm).
	newCtx, cancel := context.WithTimeout(t.Context(), testutil.BuildTimeout)
	defer cancel()
	commands := []*cobra.Command{newRootCommand(noEnv)}
	for i := 0; i < len(commands); i++ {
		commands = append(commands, commands[i].Commands()...)
	}
	for _, cmd := range commands {
		if cmd.Annotations[servesAnnotation] != "" {
			_, port, _ := strings.Cut(cmd.Flags().Lookup("address").DefValue, ":")
			runServingExamples(callCtx, t, project, env, prelude, cmd.Example, "localhost:"+port)
			continue
		}
		for _, line := range strings.Split(cmd.Example, "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			if strings.HasPrefix(line, "micro new ") {
				runShell(newCtx, t, t.TempDir(), env, prelude+line)
				continue
			}
			runShell(callCtx, t, project, env, prelude+line)
		}
	}
}

// runServingExamples runs the examples of a command that serves until
// stopped: each micro line on a free loopback port in place of the address
// it names, until it says it is serving (" on <scheme>://<address>"), and each
// other line (a curl, a grpcurl) against the server started last, at the
// address the examples call local (localhost and the default port).
func runServingExamples(ctx context.Context, t *testing.T, dir string, env []string, prelude, examples, local string) {
	t.Helper()
	address := ""
	for _, line := range strings.Split(examples, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if !strings.HasPrefix(line, "micro ") {
			if address == "" {
				t.Fatalf("example %q comes before any server it could call", line)
			}
			if program := strings.Fields(line)[0]; !hasTool(program) {
				t.Logf("example %q skipped: %s is not on PATH (make test-tools installs it)", line, program)
				continue
			}
			runShell(ctx, t, dir, env, prelude+strings.ReplaceAll(line, local, address))
			continue
		}
		fields := strings.Fields(line)
		if i := slices.Index(fields, "--address"); i >= 0 && i+1 < len(fields) {
			fields = slices.Delete(fields, i, i+2)
		}
		serve := exec.Command("bash", "-c", prelude+"exec "+strings.Join(fields, " ")+" --address 127.0.0.1:0") // stopped by the cleanup below
		serve.Dir, serve.Env = dir, env
		var log testutil.Buffer
		serve.Stdout, serve.Stderr = &log, &log
		if err := serve.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- serve.Wait() }()
		address = ""
		for address == "" {
			if m := servingOn.FindStringSubmatch(log.String()); m != nil {
				address = m[1]
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("%s: exited before serving: %v\n%s", line, err, log.String())
			case <-ctx.Done():
				_ = serve.Process.Kill()
				t.Fatalf("%s: not serving in time\n%s", line, log.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
		t.Cleanup(func() {
			_ = serve.Process.Signal(syscall.SIGTERM)
			if err := <-exited; err != nil && !strings.Contains(err.Error(), "130") {
				t.Errorf("%s: stopped with %v, want exit status 130\n%s", line, err, log.String())
			}
		})
	}
}

// hasTool reports whether program is on PATH; without it, an example that
// runs it is skipped, unless MICRO_REQUIRE_TOOLS is set (as CI sets it).
func hasTool(program string) bool {
	_, err := exec.LookPath(program)
	return err == nil || os.Getenv("MICRO_REQUIRE_TOOLS") != ""
}

// servingOn finds the address in what a serving command says once it
// serves: "... on http://127.0.0.1:8080 ...", "... on grpc://127.0.0.1:9090".
var servingOn = regexp.MustCompile(` on [a-z]+://([^\s/]+)`)

// shellLines returns the lines of the first ```sh block of the section
// under heading in markdown, without blank lines.
func shellLines(t *testing.T, markdown []byte, heading string) []string {
	t.Helper()
	_, section, ok := bytes.Cut(markdown, []byte("\n"+heading+"\n"))
	if !ok {
		t.Fatalf("README.md has no section %q", heading)
	}
	section, _, _ = bytes.Cut(section, []byte("\n## "))
	blocks := fencedBlocks(section)["sh"]
	if len(blocks) == 0 {
		t.Fatalf("README.md section %q has no ```sh block", heading)
	}
	var lines []string
	for _, line := range strings.Split(blocks[0], "\n") {
		if strings.TrimSpace(line) != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// runShell runs script with bash in dir and returns its standard output; it
// fails the test unless the script exits 0.
func runShell(ctx context.Context, t *testing.T, dir string, env []string, script string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		command := script[strings.LastIndex(strings.TrimSpace(script), "\n")+1:]
		t.Fatalf("%s (in %s): %v\nstdout:\n%s\nstderr:\n%s", command, dir, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// gitUntracked returns the files of the checkout that git neither tracks nor
// ignores, or "" when git is not there to ask.
func gitUntracked(t *testing.T, checkout string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "git", "-C", checkout, "ls-files", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Logf("git ls-files in %s: %v; not checking for untracked files", checkout, err)
		return ""
	}
	return string(out)
}

// waitForNode waits until a node of service is registered in the local
// registry at dir and returns its address. It fails the test if the process
// whose output is log exits first.
func waitForNode(t *testing.T, dir, service string, exited <-chan struct{}, log *testutil.Buffer) string {
	t.Helper()
	deadline := time.Now().Add(testutil.BuildTimeout)
	for {
		if _, err := os.Stat(dir); err == nil {
			reg, err := local.New(local.WithDir(dir))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			versions, _ := reg.GetService(ctx, service)
			cancel()
			for _, v := range versions {
				if len(v.Nodes) > 0 {
					return v.Nodes[0].Address
				}
			}
		}
		select {
		case <-exited:
			t.Fatalf("the service exited before it registered:\n%s", log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not registered within %s:\n%s", service, testutil.BuildTimeout, log.String())
		}
	}
}
