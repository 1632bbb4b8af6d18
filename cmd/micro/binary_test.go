package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	microerrors "github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestBinary builds micro and runs it as a user would, against services
// whose proto it has never seen: the binary links none of testdata, so all
// it knows of them it learns through the registry and server reflection.
// Every call is made again with grpcurl, every health check with
// grpc_health_probe, and every message type that micro describe shows is
// described by grpcurl too: both must give the same answers.
//
// Each row of the table below is a kind of service: services built from the
// generator's goldens, and one laid out by this very binary's micro new,
// built and run as its README says.
func TestBinary(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds micro")
	}
	grpcurl := testutil.Tool(t, "grpcurl")
	probe := testutil.Tool(t, "grpc_health_probe", "grpc-health-probe")
	bin := filepath.Join(t.TempDir(), "micro")
	testutil.Go(t, "", nil, "build", "-o", bin, ".")
	w := newWorld(t)
	w.vars["GREETER_ADDRESS"] = startScaffold(t, bin, w.dir)
	b := &binaries{w: w, micro: bin, grpcurl: grpcurl, probe: probe}

	for _, tc := range []struct {
		// name is the row's; service is the registered name.
		name, service string
		// calls are made with micro call (unary) or micro stream, and with
		// grpcurl; a request per line.
		calls []binaryCall
	}{
		{
			name:    "streaming golden",
			service: "echo",
			calls: []binaryCall{
				{method: "Echo", procedure: "streaming.v1.Echo/Echo", body: `{"message": "hi", "payload": "AQI="}`},
				{method: "Echo", procedure: "streaming.v1.Echo/Echo", body: `{"message": "error:already_exists:taken"}`},
				{method: "Echo.Count", procedure: "streaming.v1.Echo/Count", body: `{"n": 3}`, stream: true},
				{method: "Sum", procedure: "streaming.v1.Echo/Sum", body: "{\"number\": 1}\n{\"number\": 41}", stream: true},
				{method: "/streaming.v1.Echo/Chat", procedure: "streaming.v1.Echo/Chat", body: "{\"text\": \"a\"}\n{\"text\": \"b\"}", stream: true},
			},
		},
		{
			name:    "http golden",
			service: "books",
			calls: []binaryCall{
				{method: "GetBook", procedure: "http.v1.Books/GetBook", body: `{"name": "shelves/1/books/2"}`},
				{method: "CreateBook", procedure: "http.v1.Books/CreateBook", body: `{"parent": "shelves/1", "book": {"title": "Dune"}}`},
				{method: "GetBook", procedure: "http.v1.Books/GetBook", body: `{"name": "nowhere"}`},
				{method: "DeleteBook", procedure: "http.v1.Books/DeleteBook", body: `{}`},
				{method: "WatchBooks", procedure: "http.v1.Books/WatchBooks", body: `{"name": "shelves/7"}`, stream: true},
			},
		},
		{
			name:    "scaffold",
			service: "greeter",
			calls: []binaryCall{
				{method: "SayHello", procedure: "greeter.v1.GreeterService/SayHello", body: `{"name": "Ada"}`},
				{method: "GreeterService.SayHello", procedure: "greeter.v1.GreeterService/SayHello", body: `{}`},
				{method: "CountTo", procedure: "greeter.v1.GreeterService/CountTo", body: `{"count": 3}`, stream: true},
			},
		},
		{
			name:    "proto2 golden",
			service: "inventory",
			calls: []binaryCall{
				{method: "Reserve", procedure: "proto2.v1.Inventory/Reserve", body: `{"sku": "apple", "quantity": 11}`},
				{method: "Reserve", procedure: "proto2.v1.Inventory/Reserve", body: `{"sku": "apple"}`},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			address := w.vars[strings.ToUpper(tc.service)+"_ADDRESS"]
			t.Run("services", func(t *testing.T) {
				out, _ := b.run(t, nil, 0, "services", "-o", "json")
				var services []serviceJSON
				if err := json.Unmarshal([]byte(out), &services); err != nil || !slices.ContainsFunc(services, func(s serviceJSON) bool { return s.Name == tc.service }) {
					t.Errorf("micro services -o json = %s (%v), want %s listed", out, err, tc.service)
				}
			})
			t.Run("describe", func(t *testing.T) {
				b.compareDescribe(t, tc.service, address)
			})
			t.Run("health", func(t *testing.T) {
				b.run(t, nil, 0, "health", tc.service)
				if out, err := b.probeRun(t, address); err != nil {
					t.Errorf("grpc_health_probe -addr=%s: %v\n%s", address, err, out)
				}
			})
			for _, call := range tc.calls {
				t.Run(call.procedure, func(t *testing.T) {
					b.compareCall(t, tc.service, address, call)
				})
			}
		})
	}

	t.Run("not serving", func(t *testing.T) {
		t.Parallel()
		_, stderr := b.run(t, nil, 1, "health", "sick")
		if !strings.Contains(stderr, "1 of 1 nodes are not serving") {
			t.Errorf("micro health sick wrote %q, want 1 of 1 nodes not serving", stderr)
		}
		if out, err := b.probeRun(t, w.vars["SICK_ADDRESS"]); err == nil {
			t.Errorf("grpc_health_probe of sick succeeded:\n%s", out)
		}
	})
}

// binaries are the programs TestBinary runs against a world.
type binaries struct {
	w                     *world
	micro, grpcurl, probe string
}

// binaryCall is one call that micro and grpcurl must answer alike.
type binaryCall struct {
	// method is how micro is told the method; procedure how grpcurl is.
	method, procedure string
	// body is the request, or the requests one per line.
	body string
	// stream calls it with micro stream rather than micro call.
	stream bool
}

// run runs micro with args and stdin, in the world's registry, checks that
// it exits with status and returns what it wrote.
func (b *binaries) run(t *testing.T, stdin []byte, status int, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.micro, append(args, "--registry=local", "--registry_address="+b.w.dir)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	got := 0
	if errors.As(err, &exit) {
		got = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("micro %s: %v", strings.Join(args, " "), err)
	}
	if got != status {
		t.Errorf("micro %s exited with %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, status, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// probeRun runs grpc_health_probe against address.
func (b *binaries) probeRun(t *testing.T, address string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	return exec.CommandContext(ctx, b.probe, "-addr="+address).CombinedOutput()
}

// compareCall makes call with micro and with grpcurl, and compares the
// responses as JSON values, or the error codes and messages.
func (b *binaries) compareCall(t *testing.T, service, address string, call binaryCall) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	command := "call"
	if call.stream {
		command = "stream"
	}
	cmd := exec.CommandContext(ctx, b.micro, command, service, call.method, "--timeout=0", "--registry=local", "--registry_address="+b.w.dir)
	cmd.Stdin = strings.NewReader(call.body)
	var microOut, microErr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &microOut, &microErr
	microRunErr := cmd.Run()

	cmd = exec.CommandContext(ctx, b.grpcurl, "-plaintext", "-d", "@", address, call.procedure)
	cmd.Stdin = strings.NewReader(call.body)
	var grpcurlOut, grpcurlErr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &grpcurlOut, &grpcurlErr
	grpcurlRunErr := cmd.Run()

	if (microRunErr == nil) != (grpcurlRunErr == nil) {
		t.Fatalf("micro %s %s: %v\n%s%s\ngrpcurl %s: %v\n%s%s", command, call.method, microRunErr, &microOut, &microErr,
			call.procedure, grpcurlRunErr, &grpcurlOut, &grpcurlErr)
	}
	if microRunErr != nil {
		microCode, microMessage := microStatus(t, microErr.String())
		grpcurlCode, grpcurlMessage := grpcurlStatus(t, grpcurlOut.String()+grpcurlErr.String())
		if microCode != grpcurlCode || microMessage != grpcurlMessage {
			t.Errorf("micro failed with %s %q, grpcurl with %s %q", microCode, microMessage, grpcurlCode, grpcurlMessage)
		}
		return
	}
	if diff := cmp.Diff(jsonValues(t, grpcurlOut.Bytes()), jsonValues(t, microOut.Bytes())); diff != "" {
		t.Errorf("micro %s %s %q answered other than grpcurl (-grpcurl +micro):\n%s", command, call.method, call.body, diff)
	}
}

// compareDescribe checks that every message type micro describe shows of
// service has the fields that grpcurl describe shows, and that its
// endpoints are the methods grpcurl lists.
func (b *binaries) compareDescribe(t *testing.T, service, address string) {
	t.Helper()
	out, _ := b.run(t, nil, 0, "describe", service, "-o", "json")
	var d describeJSON
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("micro describe -o json: %v\n%s", err, out)
	}
	var endpoints []string
	for _, e := range d.Endpoints {
		svc, method, _ := strings.Cut(strings.TrimPrefix(e.Procedure, "/"), "/")
		endpoints = append(endpoints, svc+"."+method)
		if !slices.Contains(b.grpcurlLines(t, address, "list"), svc) {
			t.Errorf("grpcurl list does not list the service of %s", e.Procedure)
		}
	}
	var methods []string
	for _, svc := range b.grpcurlLines(t, address, "list") {
		if !strings.HasPrefix(svc, "grpc.") {
			methods = append(methods, b.grpcurlLines(t, address, "list", svc)...)
		}
	}
	slices.Sort(endpoints)
	slices.Sort(methods)
	if diff := cmp.Diff(methods, endpoints); diff != "" {
		t.Errorf("micro describe's endpoints differ from grpcurl list's methods (-grpcurl +micro):\n%s", diff)
	}
	for _, m := range d.Messages {
		var ours strings.Builder
		writeMessage(&ours, m)
		if diff := cmp.Diff(fieldLines(b.grpcurlLines(t, address, "describe", m.Name)), fieldLines(strings.Split(ours.String(), "\n"))); diff != "" {
			t.Errorf("micro describe's %s differs from grpcurl describe's (-grpcurl +micro):\n%s", m.Name, diff)
		}
	}
}

// grpcurlLines runs grpcurl against address and returns its output lines.
func (b *binaries) grpcurlLines(t *testing.T, address string, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, b.grpcurl, append([]string{"-plaintext", address}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("grpcurl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// fieldLines returns the declarations of the fields at the top of a message
// in proto syntax, without what grpcurl writes and micro does not: field
// options, the dot that starts a full type name, and extension ranges and
// reserved numbers, which do not change a message's JSON.
func fieldLines(lines []string) []string {
	var out []string
	for _, line := range lines {
		if !strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "   ") || !strings.HasSuffix(line, ";") {
			continue
		}
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "extensions ") || strings.HasPrefix(line, "reserved ") {
			continue
		}
		line = fieldOptions.ReplaceAllString(line, ";")
		out = append(out, leadingDot.ReplaceAllString(line, "$1"))
	}
	return out
}

var (
	fieldOptions = regexp.MustCompile(` \[.*\];$`)
	leadingDot   = regexp.MustCompile(`(^|[ <])\.`)
)

// jsonValues parses a sequence of JSON values.
func jsonValues(t *testing.T, data []byte) []any {
	t.Helper()
	var values []any
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return values
		}
		if err != nil {
			t.Fatalf("%v in output:\n%s", err, data)
		}
		values = append(values, v)
	}
}

// microStatus returns the code and message of "micro: code: message".
func microStatus(t *testing.T, stderr string) (codes.Code, string) {
	t.Helper()
	name, message, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(stderr, "micro: "), "\n"), ": ")
	var code microerrors.Code
	if err := code.UnmarshalText([]byte(name)); err != nil {
		t.Fatalf("micro wrote %q, want micro: CODE: MESSAGE", stderr)
	}
	return codes.Code(code), message
}

// grpcurlStatus returns the code and message of grpcurl's "ERROR:\n  Code:
// NotFound\n  Message: ..." lines.
func grpcurlStatus(t *testing.T, out string) (codes.Code, string) {
	t.Helper()
	var name, message string
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "Code: "); ok {
			name = v
		}
		if v, ok := strings.CutPrefix(line, "Message: "); ok {
			message = v
		}
	}
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if c.String() == name {
			return c, message
		}
	}
	t.Fatalf("grpcurl wrote %q, want its Code: and Message: lines", out)
	return 0, ""
}

// startScaffold lays out a service with micro (the binary under test) new,
// builds it, runs it in the registry at dir and returns its address once it
// is registered.
func startScaffold(t *testing.T, micro, dir string) string {
	t.Helper()
	work := t.TempDir()
	project := filepath.Join(work, "greeter")
	// micro new runs go mod tidy, and the build compiles the runtime: both
	// are bounded as builds, not as the wait for registration below.
	newCtx, cancel := context.WithTimeout(t.Context(), testutil.BuildTimeout)
	defer cancel()
	if out, err := exec.CommandContext(newCtx, micro, "new", "greeter", "--dir", project).CombinedOutput(); err != nil {
		t.Fatalf("micro new: %v\n%s", err, out)
	}
	testutil.Go(t, project, nil, "build", "-o", filepath.Join(work, "greeter-bin"), ".")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	server := exec.Command(filepath.Join(work, "greeter-bin"), "--address", "127.0.0.1:0", "--registry=local", "--registry_address="+dir)
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Process.Kill(); _ = server.Wait() })
	reg, err := local.New(local.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	for ctx.Err() == nil {
		if services, err := reg.GetService(ctx, "greeter"); err == nil {
			return services[0].Nodes[0].Address
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the scaffolded service never registered")
	return ""
}
