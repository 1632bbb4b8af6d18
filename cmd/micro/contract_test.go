package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/codec"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/runtime/rpc"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestScaffoldContract lays out a service and a client with micro new, then
// does what a user would: build and test the service, run it, call it from
// the generated client program and from outside, add an RPC, regenerate, build
// again, and check that buf generate writes the same bytes as micro generate.
// It needs the Go toolchain and a module cache (or proxy); -short skips it.
func TestScaffoldContract(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a scaffolded project; skipped with -short")
	}
	checkout := checkoutDir(t)
	work := t.TempDir()
	service, clientDir := filepath.Join(work, "greeter"), filepath.Join(work, "greeter-client")
	runMicro(t, "new", "greeter", "--dir", service, "--replace", checkout)
	runMicro(t, "new", "greeter", "--template", "client", "--dir", clientDir, "--replace", checkout)

	// Processes of this test share a local registry of their own.
	tmp := t.TempDir()
	env := append(os.Environ(), "TMPDIR="+tmp)

	// Everything this test compiles is compiled first, each step bounded by
	// testutil.BuildTimeout: on a machine with an empty build cache that is
	// minutes of work, which the deadlines below (for calls and waits) must
	// not include. go tool caches the generators it builds, so buf generate
	// later only runs them.
	testutil.Go(t, service, env, "build", "./...")
	testutil.Go(t, service, env, "test", "./...")
	testutil.Go(t, service, env, "build", "-o", filepath.Join(work, "bin", "greeter"), ".")
	testutil.Go(t, clientDir, env, "build", "-o", filepath.Join(work, "bin", "greeter-client"), ".")
	for _, tool := range []string{"protoc-gen-go", "protoc-gen-micro"} {
		testutil.Go(t, service, env, "tool", tool, "--version")
	}

	server := exec.CommandContext(t.Context(), filepath.Join(work, "bin", "greeter"), "--address", "127.0.0.1:0")
	server.Env = env
	var serverLog testutil.Buffer
	server.Stdout, server.Stderr = &serverLog, &serverLog
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Process.Kill(); _ = server.Wait() })

	// A caller with no proto, through the registry, in JSON.
	reg, err := local.New(local.WithDir(filepath.Join(tmp, fmt.Sprintf("micro-%d", os.Getuid()), "registry")))
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(client.WithRegistry(reg), client.WithCodec(codec.JSON{}))
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var res json.RawMessage
	deadline := time.Now().Add(30 * time.Second)
	for {
		err = c.Invoke(ctx, "greeter", rpc.Spec{Procedure: "/greeter.v1.GreeterService/SayHello"}, json.RawMessage(`{"name":"Ada"}`), &res)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || !strings.Contains(string(res), "Hello, Ada!") {
		t.Fatalf("SayHello through the registry = %s, %v, want a greeting\nservice log:\n%s", res, err, serverLog.String())
	}

	// grpcurl, which knows the service only through server reflection.
	if grpcurl, err := exec.LookPath("grpcurl"); err == nil {
		var address string
		for _, line := range strings.Split(serverLog.String(), "\n") {
			if _, rest, ok := strings.Cut(line, " address="); ok {
				address, _, _ = strings.Cut(rest, " ")
			}
		}
		out, err := exec.CommandContext(ctx, grpcurl, "-plaintext", "-d", `{"name":"Grace"}`, address, "greeter.v1.GreeterService/SayHello").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Hello, Grace!") {
			t.Errorf("grpcurl SayHello at %q: %v\n%s", address, err, out)
		}
	} else if os.Getenv("MICRO_REQUIRE_TOOLS") != "" {
		t.Error("grpcurl not found on PATH, and MICRO_REQUIRE_TOOLS is set")
	}

	// The generated client program finds the service the same way.
	clientProgram := exec.CommandContext(ctx, filepath.Join(work, "bin", "greeter-client"), "Ada")
	clientProgram.Env = env
	var clientErr bytes.Buffer
	clientProgram.Stderr = &clientErr
	if out, err := clientProgram.Output(); err != nil || string(out) != "Hello, Ada!\n1\n2\n3\n" {
		t.Errorf("the client program printed %q, %v, want the greeting and 1 to 3\nits standard error:\n%s", out, err, clientErr.String())
	}

	// Add an RPC: micro generate, and the handler still compiles because it
	// embeds the Unimplemented handler.
	protoPath := filepath.Join(service, "proto", "greeter", "v1", "greeter.proto")
	protoText, err := os.ReadFile(protoPath)
	if err != nil {
		t.Fatal(err)
	}
	evolved := strings.Replace(string(protoText), "service GreeterService {", "service GreeterService {\n  rpc SayGoodbye(SayGoodbyeRequest) returns (SayGoodbyeResponse);", 1) +
		"\nmessage SayGoodbyeRequest {}\n\nmessage SayGoodbyeResponse {}\n"
	if err := os.WriteFile(protoPath, []byte(evolved), 0o644); err != nil {
		t.Fatal(err)
	}
	runMicro(t, "generate", "--dir", service)
	generated := readGenerated(t, service)
	if !strings.Contains(generated["greeter.pb.micro.go"], "GreeterServiceSayGoodbyeProcedure") {
		t.Fatal("micro generate did not add the new RPC to the generated code")
	}
	testutil.Go(t, service, env, "build", "./...")

	// The proto is buf-lint clean and buf-formatted, and buf generate, run
	// through the project's pinned generators, writes the same bytes.
	buf := testutil.Tool(t, "buf")
	for name := range generated {
		if err := os.Remove(filepath.Join(service, "proto", "greeter", "v1", name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"lint"}, {"format", "-d", "--exit-code"}, {"generate"}} {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, buf, args...)
		cmd.Dir = service
		cmd.Env = append(env, "BUF_CACHE_DIR="+filepath.Join(work, "buf-cache"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("buf %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for name, content := range readGenerated(t, service) {
		if content != generated[name] {
			t.Errorf("buf generate wrote %s differently from micro generate", name)
		}
	}
}

// runMicro runs the micro command in-process and fails the test if it fails.
func runMicro(t *testing.T, args ...string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if status := run(t.Context(), args, os.LookupEnv, nil, &stdout, &stderr); status != 0 {
		t.Fatalf("micro %s: exit status %d\n%s%s", strings.Join(args, " "), status, stdout.String(), stderr.String())
	}
}

// readGenerated returns the generated files of the greeter proto by name.
func readGenerated(t *testing.T, dir string) map[string]string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "proto", "greeter", "v1", "*.go"))
	if err != nil || len(matches) != 2 {
		t.Fatalf("generated files = %v, %v, want two", matches, err)
	}
	files := make(map[string]string)
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(m)] = string(data)
	}
	return files
}
