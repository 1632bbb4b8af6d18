// Eventbench measures events from publish to handled: micro's nats broker
// on JetStream against nats.go's jetstream package on the same server,
// micro's nats broker on core NATS (nats.WithCore) against nats.go's core
// publish and queue subscription, and micro's default broker (local)
// against go-micro v5's default broker (HTTP):
//
//	cd bench && go run ./cmd/eventbench          # make bench-events: about 2 minutes
//	BENCH_QUICK=1 go run ./cmd/eventbench        # about 30 seconds
//
// Each measurement runs 16 publishers for a while, in two modes: closed
// loop, each publishing an event and waiting until the subscriber's handler
// has it before publishing the next (an event not handled within 5s counts
// as lost), for latency; and flood, each publishing as fast as Publish
// returns, then waiting for the handler to catch up (events never handled
// count as lost), for throughput. Events are 64 B and
// 16 KiB payloads of a google.protobuf.BytesValue. Publishers, subscriber
// and the embedded nats-server (JetStream on a temporary directory) share
// this process, as the targets compared do. It prints the results as
// markdown, ending with whether each goal was met; with -out it also
// rewrites the events block of the BENCHMARKS.md in that directory.
//
// Flags:
//
//	-quick        one short round (also BENCH_QUICK=1)
//	-rounds n     how many rounds (3, or 1 quick); the median round counts
//	-duration d   how long each measurement lasts (2s, or 500ms quick)
//	-out dir      where BENCHMARKS.md is, to rewrite its events block
//	-only text    only the comparisons whose title contains text ("core")
//	-cpuprofile f write a CPU profile to f
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "eventbench:", err)
		stop()
		os.Exit(1)
	}
}

// comparison is micro against a peer on one kind of broker.
type comparison struct {
	title     string
	micro     target
	peer      target
	goal      float64 // micro's events/s at least goal times the peer's
	jetStream bool    // the server needs JetStream
	// reference, if any, is the peer carrying what micro carries (the
	// CloudEvents headers), to tell micro's own cost from theirs.
	reference *target
}

func comparisons() []comparison {
	return []comparison{
		{title: "NATS JetStream", micro: microJetStream(), peer: plainJetStream(false), reference: ptr(plainJetStream(true)), goal: 0.8, jetStream: true},
		{title: "core NATS", micro: microCore(), peer: plainCore(false), reference: ptr(plainCore(true)), goal: 0.9},
		{title: "default broker", micro: microLocal(), peer: goMicro(), goal: 5},
	}
}

func ptr[T any](v T) *T { return &v }

// sizes are the payload sizes measured.
var sizes = []int{64, 16 << 10}

// publishers is how many publish at once.
const publishers = 16

func run(ctx context.Context, args []string) error {
	flags := flag.NewFlagSet("eventbench", flag.ContinueOnError)
	quick := flags.Bool("quick", os.Getenv("BENCH_QUICK") != "", "one short round (also BENCH_QUICK=1)")
	rounds := flags.Int("rounds", 0, "how many `rounds` to run (3, or 1 quick)")
	duration := flags.Duration("duration", 0, "how long each measurement lasts (2s, or 500ms quick)")
	out := flags.String("out", "", "the `directory` of the BENCHMARKS.md whose events block to rewrite")
	only := flags.String("only", "", "run only the comparisons whose title contains this `text`")
	cpuProfile := flags.String("cpuprofile", "", "write a CPU profile of the whole run to this `file`")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}
	if *out != "" {
		if _, _, _, err := readEventsBlock(filepath.Join(*out, "BENCHMARKS.md")); err != nil {
			return fmt.Errorf("-out: %w", err)
		}
	}
	cfg := config{rounds: 3, duration: 2 * time.Second, warmup: 300 * time.Millisecond}
	if *quick {
		cfg = config{rounds: 1, duration: 500 * time.Millisecond, warmup: 100 * time.Millisecond}
	}
	if *rounds > 0 {
		cfg.rounds = *rounds
	}
	if *duration > 0 {
		cfg.duration = *duration
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	dir, err := os.MkdirTemp("", "eventbench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	var report report
	report.config = cfg
	for i, c := range comparisons() {
		if !strings.Contains(c.title, *only) {
			continue
		}
		cdir := filepath.Join(dir, fmt.Sprint(i))
		ns, err := startNATS(filepath.Join(cdir, "nats"), c.jetStream)
		if err != nil {
			return err
		}
		e := &env{natsURL: ns.ClientURL(), dir: filepath.Join(cdir, "broker")}
		for _, mode := range []string{closedLoop, flood} {
			for _, size := range sizes {
				fmt.Fprintf(os.Stderr, "%s, %s events, %s: %s and %s\n", c.title, sizeName(size), mode, c.micro.name, c.peer.name)
				r, err := measureComparison(ctx, cfg, e, c, size, mode)
				if err != nil {
					ns.Shutdown()
					return fmt.Errorf("%s, %s, %s: %w", c.title, sizeName(size), mode, err)
				}
				report.results = append(report.results, r)
			}
		}
		ns.Shutdown()
		ns.WaitForShutdown()
	}
	fmt.Print(report.markdown())
	fmt.Println()
	fmt.Print(report.summary())
	if *out == "" {
		return nil
	}
	return report.writeFile(filepath.Join(*out, "BENCHMARKS.md"))
}

// startNATS runs a nats-server on a free port of 127.0.0.1, with JetStream
// stored in dir if jetStream.
func startNATS(dir string, jetStream bool) (*server.Server, error) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: jetStream, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		return nil, fmt.Errorf("nats-server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(20 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("nats-server did not start within 20s")
	}
	return ns, nil
}
