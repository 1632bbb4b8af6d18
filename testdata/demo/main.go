// Demo goes from nothing to a running service and a call to it, the way a
// newcomer would, and narrates each step:
//
//	go run ./testdata/demo      # or: make demo
//
// It builds the micro command from this checkout, lays out a service with
// micro new, builds and starts it, lays out a client program for it with
// micro new --template client, runs that (it finds the service through the
// local registry), watches an event with micro subscribe while micro publish
// sends one on the topic the proto declares and the service's own subscriber
// logs it, calls the service over HTTP through micro api (REST by the
// proto's google.api.http rule, then Connect by procedure), and stops micro
// api and the service with SIGTERM. Everything happens in a temporary
// directory, removed at the end, with a registry of its own.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/protomicro/micro/testdata/testutil"
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
	var serverLog testutil.Buffer
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

	if err := events(ctx, micro, env, &serverLog); err != nil {
		return err
	}
	if err := callOverHTTP(ctx, micro, env); err != nil {
		return err
	}

	fmt.Println("==> stop the service with SIGTERM")
	if err := server.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if err := server.Wait(); err != nil {
		return fmt.Errorf("the service did not stop cleanly: %w\n%s", err, serverLog.String())
	}
	fmt.Print(indent(serverLog.String()))
	fmt.Println("==> done: micro new, go build, run, call (generated client, REST, Connect), publish and subscribe, stop")
	return nil
}

// events runs micro subscribe on the topic the greeter's proto declares for
// its Greeted event, publishes one with micro publish (which finds the type
// from the topic through the service's reflection), prints what micro
// subscribe printed, and waits for the service's own subscriber to log it.
func events(ctx context.Context, micro string, env []string, serverLog *testutil.Buffer) error {
	const topic = "greeter.greeted"
	fmt.Printf("==> micro subscribe %s --count 1 (left running)\n", topic)
	sub := exec.CommandContext(ctx, micro, "subscribe", topic, "--count", "1")
	sub.Env = env
	var subOut, subErr testutil.Buffer
	sub.Stdout, sub.Stderr = &subOut, &subErr
	if err := sub.Start(); err != nil {
		return err
	}
	defer func() { _ = sub.Process.Kill() }()
	exited := make(chan error, 1)
	go func() { exited <- sub.Wait() }()

	// micro subscribe gets the events published once it has subscribed,
	// which it does not announce: publish until it has printed one.
	fmt.Printf("==> micro publish %s '{\"name\": \"Grace\"}' (the type, greeter.v1.Greeted, found from the topic)\n", topic)
	var subErrOf error
	for published := false; !published; {
		pub := exec.CommandContext(ctx, micro, "publish", topic, `{"name": "Grace"}`)
		pub.Env = env
		out, err := pub.CombinedOutput()
		if err != nil {
			return fmt.Errorf("micro publish: %w\n%s", err, out)
		}
		select {
		case subErrOf = <-exited:
			published = true
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("micro subscribe printed no event: %w\n%s", ctx.Err(), subErr.String())
		}
	}
	if subErrOf != nil {
		return fmt.Errorf("micro subscribe: %w\n%s", subErrOf, subErr.String())
	}
	fmt.Print(indent(subOut.String()))

	fmt.Println("==> the service's subscriber (SubscribeGreeted in main.go) logs it")
	for {
		for _, line := range strings.Split(serverLog.String(), "\n") {
			if strings.Contains(line, "greeted") && strings.Contains(line, "name=Grace") {
				fmt.Print(indent(line))
				return nil
			}
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("the service never logged the event: %w\nservice log:\n%s", ctx.Err(), serverLog.String())
		}
	}
}

// callOverHTTP starts micro api on a free port, calls SayHello through it
// over REST and in the Connect protocol, and stops it.
func callOverHTTP(ctx context.Context, micro string, env []string) error {
	fmt.Println("==> micro api --address 127.0.0.1:0 (the HTTP gateway, in front of every service of the registry)")
	api := exec.CommandContext(ctx, micro, "api", "--address", "127.0.0.1:0")
	api.Env = env
	var apiLog testutil.Buffer
	api.Stdout, api.Stderr = &apiLog, &apiLog
	if err := api.Start(); err != nil {
		return err
	}
	defer func() { _ = api.Process.Kill() }()

	// It reads the registry before it listens, so the greeter's routes are
	// there once it says where it serves.
	var base string
	for deadline := time.Now().Add(30 * time.Second); ; {
		if m := servingRE.FindStringSubmatch(apiLog.String()); m != nil {
			base = m[1]
			fmt.Print(indent(m[0]))
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("micro api never said where it serves:\n%s", apiLog.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	httpClient := &http.Client{Timeout: 10 * time.Second}
	fmt.Printf("==> curl %s/v1/hello/Ada (REST, by SayHello's google.api.http rule)\n", base)
	body, err := call(ctx, httpClient, http.MethodGet, base+"/v1/hello/Ada", nil, nil)
	if err != nil {
		return fmt.Errorf("GET /v1/hello/Ada through micro api: %w\n%s", err, apiLog.String())
	}
	fmt.Print(indent(body))

	// Connect clients send Connect-Protocol-Version; it is what tells a
	// Connect call from a REST one to the gateway.
	headers := map[string]string{"Content-Type": "application/json", "Connect-Protocol-Version": "1"}
	fmt.Printf("==> curl -H 'Content-Type: application/json' -H 'Connect-Protocol-Version: 1' -d '{\"name\": \"Grace\"}' %s/greeter.v1.GreeterService/SayHello (Connect, by procedure)\n", base)
	body, err = call(ctx, httpClient, http.MethodPost, base+"/greeter.v1.GreeterService/SayHello", headers, strings.NewReader(`{"name": "Grace"}`))
	if err != nil {
		return fmt.Errorf("POST /greeter.v1.GreeterService/SayHello through micro api: %w\n%s", err, apiLog.String())
	}
	fmt.Print(indent(body))

	fmt.Println("==> stop micro api with SIGTERM (it exits 130, as micro does when interrupted)")
	if err := api.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	var exit *exec.ExitError
	switch err := api.Wait(); {
	case errors.As(err, &exit) && exit.ExitCode() == 130:
		return nil
	case err == nil:
		return fmt.Errorf("micro api exited 0 on SIGTERM, want exit status 130\n%s", apiLog.String())
	default:
		return fmt.Errorf("micro api on SIGTERM: %w, want exit status 130\n%s", err, apiLog.String())
	}
}

// servingRE matches the line micro api prints once it serves, capturing its
// URL.
var servingRE = regexp.MustCompile(`micro api: serving .* on (http://[^ ]+) .*\n`)

// call makes one HTTP request and returns the body of a 200 response.
func call(ctx context.Context, c *http.Client, method, url string, headers map[string]string, body io.Reader) (string, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return "", err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = res.Body.Close() }()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", res.Status, data)
	}
	return string(data) + "\n", nil
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
