// Microbench compares micro with grpc-go, connect-go (gRPC and Connect
// protocols), go-micro and a raw TCP floor, serving and calling one echo
// service, and micro with grpc-go again with an interceptor on each side,
// with the server and the load generator in separate processes pinned to one
// CPU each:
//
//	cd bench && go run ./cmd/microbench            # about 25 minutes; make bench, with its other benchmarks, about 30
//	BENCH_QUICK=1 go run ./cmd/microbench          # under 3 minutes
//
// It prints which measurement it is running to stderr, and the results as
// markdown to stdout, ending with whether each goal was met. A full run also
// rewrites the results block of BENCHMARKS.md and results.jsonl (every
// measurement as a JSON line) in the bench module's directory; a quick run
// writes nothing unless -out says where.
//
// Flags:
//
//	-quick          short rounds on fewer workloads (also BENCH_QUICK=1)
//	-targets list   comma-separated targets to compare (default all; also
//	                micro-notimeout, micro without its default call timeout,
//	                and micro-proxy, micro called through micro proxy)
//	-out dir        where to write BENCHMARKS.md and results.jsonl
//	-rounds n       how many rounds, instead of the mode's (5, or 3 quick)
//	-duration d     how long each measurement lasts (2s, or 500ms quick)
//
// The driver runs this same program as its children: "microbench serve"
// serves a target, "microbench load" calls one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/protomicro/micro/bench/internal/harness"
	"github.com/protomicro/micro/bench/internal/target"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if child, err := harness.Child(ctx, args, os.Stdin, os.Stdout); child {
		return err
	}
	flags := flag.NewFlagSet("microbench", flag.ContinueOnError)
	quick := flags.Bool("quick", os.Getenv("BENCH_QUICK") != "", "short rounds on fewer workloads (also BENCH_QUICK=1)")
	targets := flags.String("targets", "all", "comma-separated `targets` to compare: "+strings.Join(target.Names(append(target.All(), target.Extra()...)), ", "))
	out := flags.String("out", "", "the `directory` to write BENCHMARKS.md and results.jsonl in (default: the bench module's, for a full run)")
	rounds := flags.Int("rounds", 0, "how many `rounds` to run, instead of the mode's")
	duration := flags.Duration("duration", 0, "how long to measure each workload on each target, instead of the mode's")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}
	cfg := harness.Full()
	if *quick {
		cfg = harness.Quick()
	}
	if *rounds > 0 {
		cfg.Rounds = *rounds
	}
	if *duration > 0 {
		cfg.Duration = *duration
	}
	var err error
	if cfg.Targets, err = target.Select(*targets); err != nil {
		return err
	}
	if cfg.ModuleDir, err = harness.ModuleDir(ctx); err != nil {
		return err
	}
	if *out == "" && !*quick {
		*out = cfg.ModuleDir
	}
	if *out != "" { // before the run, not after it
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return fmt.Errorf("-out: %w", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cfg.Self = harness.Command{Path: self}
	cfg.Progress = os.Stderr
	report, err := harness.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Print(report.Markdown())
	fmt.Println()
	fmt.Print(report.Summary())
	if *out == "" {
		return nil
	}
	return errors.Join(
		report.WriteMarkdownFile(filepath.Join(*out, "BENCHMARKS.md")),
		report.WriteJSONLinesFile(filepath.Join(*out, "results.jsonl")),
	)
}
