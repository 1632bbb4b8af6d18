package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/codec"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/runtime/rpc"
)

// BenchmarkNewToFirstCall times what a user does from nothing to an answer:
// micro new (with go mod tidy), go build, start the service, and call it
// until the first call succeeds. It reports the total and the build's share in
// seconds; with a warm module and build cache the target is under 10s. Run it
// with -benchtime=1x.
func BenchmarkNewToFirstCall(b *testing.B) {
	checkout := checkoutDir(b)
	for b.Loop() {
		work, tmp := b.TempDir(), b.TempDir()
		dir := filepath.Join(work, "greeter")
		start := time.Now()
		var stdout, stderr bytes.Buffer
		if status := run(context.Background(), []string{"new", "greeter", "--dir", dir, "--replace", checkout}, os.LookupEnv, nil, &stdout, &stderr); status != 0 {
			b.Fatalf("micro new: %s", stderr.String())
		}
		buildStart := time.Now()
		build := exec.Command("go", "build", "-o", filepath.Join(work, "greeter-bin"), ".")
		build.Dir = dir
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("go build: %v\n%s", err, out)
		}
		buildTime := time.Since(buildStart)
		server := exec.Command(filepath.Join(work, "greeter-bin"))
		server.Env = append(os.Environ(), "TMPDIR="+tmp)
		if err := server.Start(); err != nil {
			b.Fatal(err)
		}
		reg, err := local.New(local.WithDir(filepath.Join(tmp, fmt.Sprintf("micro-%d", os.Getuid()), "registry")), local.WithPollInterval(10*time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		c := client.New(client.WithRegistry(reg), client.WithCodec(codec.JSON{}))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var res json.RawMessage
		for ctx.Err() == nil {
			if c.Invoke(ctx, "greeter", rpc.Spec{Procedure: "/greeter.v1.GreeterService/SayHello"}, json.RawMessage(`{"name":"Ada"}`), &res) == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		total := time.Since(start)
		cancel()
		_ = c.Close()
		_ = server.Process.Kill()
		_ = server.Wait()
		if len(res) == 0 {
			b.Fatal("the service never answered")
		}
		b.ReportMetric(total.Seconds(), "s-to-first-call")
		b.ReportMetric(buildTime.Seconds(), "s-in-go-build")
	}
}
