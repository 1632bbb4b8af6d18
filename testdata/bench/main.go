// Bench compares micro with plain grpc-go on the same echo service, in one
// run, and prints the ratios that matter:
//
//	go run ./testdata/bench            # about two minutes
//	BENCH_QUICK=1 go run ./testdata/bench
//
// Both targets serve testdata/proto/pkgsuffix's Echo service with the same
// handler logic on loopback TCP: micro through the code protoc-gen-micro
// generates (client found through a registry), grpc-go through the code
// protoc-gen-go-grpc generates. Client and server share the process, so the
// CPU time measured (getrusage, user plus system) is the cost of both ends.
//
// Workloads: unary calls with 64 B and 16 KiB messages from 16 concurrent
// callers, and one server stream sending 64 B messages as fast as it can.
// Each workload runs the targets alternately for several rounds after a
// warm-up, and reports medians. CPU per call is the headline: throughput on
// a shared machine swings more than the ratio does.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/golden/pkgsuffix"
	"github.com/protomicro/micro/testdata/golden/pkgsuffix/pkgsuffixmicro"
)

const concurrency = 16

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// caller performs one unit of work (a call, or one streamed message).
type caller interface {
	unary(ctx context.Context, req *pkgsuffix.EchoRequest) error
	stream(ctx context.Context, req *pkgsuffix.EchoRequest) (recv func() error, err error)
}

type target struct {
	name   string
	caller caller
}

func run() error {
	duration, rounds := 2*time.Second, 5
	if os.Getenv("BENCH_QUICK") != "" {
		duration, rounds = 500*time.Millisecond, 3
	}
	micro, stopMicro, err := startMicro()
	if err != nil {
		return err
	}
	defer stopMicro()
	plain, stopGRPC, err := startGRPC()
	if err != nil {
		return err
	}
	defer stopGRPC()
	targets := []target{{"grpc-go", plain}, {"micro", micro}}

	fmt.Printf("micro vs grpc-go, one process, GOMAXPROCS=%d, %v x %d rounds per target and workload\n\n",
		runtime.GOMAXPROCS(0), duration, rounds)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(format string, args ...any) {
		_, _ = fmt.Fprintf(w, format, args...) // a tabwriter reports write errors at Flush
	}
	row("workload\ttarget\tops/s\tCPU µs/op\tallocs/op\tCPU ratio\tops/s ratio\t\n")
	var verdicts []string
	for _, wl := range []workload{
		{name: "unary 64 B, 16 callers", payload: 64, streaming: false, cpuTarget: 1.10},
		{name: "unary 16 KiB, 16 callers", payload: 16 << 10, streaming: false, cpuTarget: 1.10},
		{name: "server stream 64 B", payload: 64, streaming: true, throughputTarget: 0.90},
	} {
		results := make(map[string]result)
		for _, t := range targets { // warm-up
			if _, err := wl.measure(t.caller, duration/4); err != nil {
				return fmt.Errorf("%s %s: %w", t.name, wl.name, err)
			}
		}
		samples := make(map[string][]result)
		for range rounds {
			for _, t := range targets {
				r, err := wl.measure(t.caller, duration)
				if err != nil {
					return fmt.Errorf("%s %s: %w", t.name, wl.name, err)
				}
				samples[t.name] = append(samples[t.name], r)
			}
		}
		for name, rs := range samples {
			results[name] = median(rs)
		}
		base, ours := results["grpc-go"], results["micro"]
		cpuRatio, opsRatio := ours.cpuPerOp/base.cpuPerOp, ours.opsPerSec/base.opsPerSec
		row("%s\tgrpc-go\t%.0f\t%.2f\t%.1f\t\t\t\n", wl.name, base.opsPerSec, base.cpuPerOp, base.allocsPerOp)
		row("\tmicro\t%.0f\t%.2f\t%.1f\t%.2fx\t%.2fx\t\n", ours.opsPerSec, ours.cpuPerOp, ours.allocsPerOp, cpuRatio, opsRatio)
		verdicts = append(verdicts, wl.verdict(cpuRatio, opsRatio))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Println()
	fmt.Println(strings.Join(verdicts, "\n"))
	return nil
}

type workload struct {
	name             string
	payload          int
	streaming        bool
	cpuTarget        float64 // micro's CPU per op at most this times grpc-go's, when set
	throughputTarget float64 // micro's ops/s at least this times grpc-go's, when set
}

func (wl workload) verdict(cpuRatio, opsRatio float64) string {
	switch {
	case wl.cpuTarget > 0:
		return fmt.Sprintf("%-26s CPU per call %.2fx grpc-go, target at most %.2fx: %s", wl.name, cpuRatio, wl.cpuTarget, met(cpuRatio <= wl.cpuTarget))
	default:
		return fmt.Sprintf("%-26s messages/s %.2fx grpc-go, target at least %.2fx: %s", wl.name, opsRatio, wl.throughputTarget, met(opsRatio >= wl.throughputTarget))
	}
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

type result struct {
	opsPerSec, cpuPerOp, allocsPerOp float64
}

func median(rs []result) result {
	pick := func(f func(result) float64) float64 {
		values := make([]float64, len(rs))
		for i, r := range rs {
			values[i] = f(r)
		}
		slices.Sort(values)
		return values[len(values)/2]
	}
	return result{
		opsPerSec:   pick(func(r result) float64 { return r.opsPerSec }),
		cpuPerOp:    pick(func(r result) float64 { return r.cpuPerOp }),
		allocsPerOp: pick(func(r result) float64 { return r.allocsPerOp }),
	}
}

// measure runs the workload against c for d and returns what it cost.
func (wl workload) measure(c caller, d time.Duration) (result, error) {
	req := &pkgsuffix.EchoRequest{Message: strings.Repeat("x", wl.payload)}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	end, _ := ctx.Deadline()
	var ops atomic.Int64
	var failure atomic.Value
	before := sample()
	start := time.Now()
	if wl.streaming {
		recv, err := c.stream(ctx, req)
		if err != nil {
			return result{}, err
		}
		for recv() == nil {
			ops.Add(1)
		}
	} else {
		var wg sync.WaitGroup
		for range concurrency {
			wg.Go(func() {
				for ctx.Err() == nil {
					if err := c.unary(ctx, req); err != nil {
						// Calls cut short by the end of the run are not failures;
						// their timers may fire a moment before ctx's own.
						if time.Until(end) > 10*time.Millisecond {
							failure.Store(err)
						}
						return
					}
					ops.Add(1)
				}
			})
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	after := sample()
	if err, ok := failure.Load().(error); ok {
		return result{}, err
	}
	n := float64(ops.Load())
	if n == 0 {
		return result{}, errors.New("no operation completed")
	}
	return result{
		opsPerSec:   n / elapsed.Seconds(),
		cpuPerOp:    float64(after.cpu-before.cpu) / float64(time.Microsecond) / n,
		allocsPerOp: float64(after.mallocs-before.mallocs) / n,
	}, nil
}

// handler is the service logic both targets run: echo the request, and
// stream copies of it until the caller cancels.
type handler struct{}

func (handler) Echo(_ context.Context, req *pkgsuffix.EchoRequest) (*pkgsuffix.EchoResponse, error) {
	return &pkgsuffix.EchoResponse{Message: req.GetMessage()}, nil
}

func (handler) Count(ctx context.Context, req *pkgsuffix.EchoRequest, send func(*pkgsuffix.EchoResponse) error) error {
	res := &pkgsuffix.EchoResponse{Message: req.GetMessage()}
	for i := int64(1); ctx.Err() == nil; i++ {
		res.Number = i
		if err := send(res); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// microHandler serves handler through micro's generated interface.
type microHandler struct {
	pkgsuffixmicro.UnimplementedEchoHandler
	h handler
}

func (m microHandler) Echo(ctx context.Context, req *pkgsuffix.EchoRequest) (*pkgsuffix.EchoResponse, error) {
	return m.h.Echo(ctx, req)
}

func (m microHandler) Count(ctx context.Context, req *pkgsuffix.EchoRequest, stream server.ServerStream[pkgsuffix.EchoResponse]) error {
	return m.h.Count(ctx, req, stream.Send)
}

// grpcHandler serves handler through grpc-go's generated interface.
type grpcHandler struct {
	pkgsuffix.UnimplementedEchoServer
	h handler
}

func (g grpcHandler) Echo(ctx context.Context, req *pkgsuffix.EchoRequest) (*pkgsuffix.EchoResponse, error) {
	return g.h.Echo(ctx, req)
}

func (g grpcHandler) Count(req *pkgsuffix.EchoRequest, stream grpc.ServerStreamingServer[pkgsuffix.EchoResponse]) error {
	return g.h.Count(stream.Context(), req, stream.Send)
}

func startMicro() (caller, func(), error) {
	srv := server.New()
	if err := pkgsuffixmicro.RegisterEchoHandler(srv, microHandler{}); err != nil {
		return nil, nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go func() { _ = srv.Serve(lis) }()
	reg := memory.New()
	node := &registry.Service{Name: "echo", Nodes: []*registry.Node{{ID: "1", Address: lis.Addr().String()}}}
	if err := reg.Register(context.Background(), node); err != nil {
		return nil, nil, err
	}
	c := client.New(client.WithRegistry(reg))
	stop := func() {
		_ = c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return microCaller{pkgsuffixmicro.NewEchoClient("echo", c)}, stop, nil
}

type microCaller struct{ c pkgsuffixmicro.EchoClient }

func (m microCaller) unary(ctx context.Context, req *pkgsuffix.EchoRequest) error {
	_, err := m.c.Echo(ctx, req)
	return err
}

func (m microCaller) stream(ctx context.Context, req *pkgsuffix.EchoRequest) (func() error, error) {
	s, err := m.c.Count(ctx, req)
	if err != nil {
		return nil, err
	}
	return func() error { _, err := s.Recv(); return err }, nil
}

func startGRPC() (caller, func(), error) {
	srv := grpc.NewServer()
	pkgsuffix.RegisterEchoServer(srv, grpcHandler{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}
	stop := func() {
		_ = conn.Close()
		srv.Stop()
	}
	return grpcCaller{pkgsuffix.NewEchoClient(conn)}, stop, nil
}

type grpcCaller struct{ c pkgsuffix.EchoClient }

func (g grpcCaller) unary(ctx context.Context, req *pkgsuffix.EchoRequest) error {
	_, err := g.c.Echo(ctx, req)
	return err
}

func (g grpcCaller) stream(ctx context.Context, req *pkgsuffix.EchoRequest) (func() error, error) {
	s, err := g.c.Count(ctx, req)
	if err != nil {
		return nil, err
	}
	return func() error { _, err := s.Recv(); return err }, nil
}

type usage struct {
	cpu     time.Duration
	mallocs uint64
}

// sample reads the process's CPU time so far and its allocation count.
func sample() usage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return usage{
		cpu:     time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		mallocs: ms.Mallocs,
	}
}
