// Package harness runs the benchmarks. The driver ([Run]) starts one server
// process per target ([Serve]) and, for every measurement, one load
// generator process ([Load]), pinned to different CPUs when taskset exists;
// it reads each process's CPU time and allocations around the measured
// window, repeats every measurement over interleaved rounds, and reports
// medians ([Report]). It also times the code generators and compares the
// size of hello-world programs.
package harness

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/protomicro/micro/bench/internal/measure"
	"github.com/protomicro/micro/bench/internal/target"
)

// Config is what a run measures, and how long it takes.
type Config struct {
	Targets   []target.Target
	Workloads []measure.Workload
	// Rounds is how many times every workload is measured on every target;
	// the report gives medians. Within a round the targets take turns, in
	// an order that rotates from round to round.
	Rounds int
	// Warmup is how long the load generator calls before it measures, and
	// Duration how long it measures.
	Warmup, Duration time.Duration
	// GeneratorFiles, when not zero, is the size in files of the synthetic
	// proto tree the code generators are timed on, GeneratorRuns times each.
	GeneratorFiles, GeneratorRuns int
	// Binaries builds the hello-world programs to compare their size.
	Binaries bool
	// Self is how to start this program as a child process.
	Self Command
	// ModuleDir is the bench module's directory.
	ModuleDir string
	// Progress receives a line as each step starts.
	Progress io.Writer
}

// Full is the configuration of make bench: every workload of the issue on
// every target (the intercepted ones on unary calls only), five rounds, in
// about 25 minutes on two CPUs (make bench adds its other benchmarks).
func Full() Config {
	var workloads []measure.Workload
	for _, payload := range []int{64, 16 << 10} {
		for _, concurrency := range []int{1, 16, 128} {
			workloads = append(workloads, measure.Workload{Kind: measure.Unary, Concurrency: concurrency, Payload: payload})
		}
	}
	workloads = append(workloads,
		measure.Workload{Kind: measure.Stream, Concurrency: 1, Payload: 64},
		measure.Workload{Kind: measure.Stream, Concurrency: 1, Payload: 16 << 10},
		measure.Workload{Kind: measure.Chat, Concurrency: 16, Payload: 64},
	)
	return Config{
		Targets:        target.All(),
		Workloads:      workloads,
		Rounds:         5,
		Warmup:         500 * time.Millisecond,
		Duration:       2 * time.Second,
		GeneratorFiles: 200,
		GeneratorRuns:  5,
		Binaries:       true,
	}
}

// Quick is the configuration of BENCH_QUICK=1 make bench: the workloads
// whose ratios the foundation set targets for, plus one at each other
// concurrency, in short rounds; under three minutes.
func Quick() Config {
	c := Full()
	c.Workloads = []measure.Workload{
		{Kind: measure.Unary, Concurrency: 1, Payload: 64},
		{Kind: measure.Unary, Concurrency: 16, Payload: 64},
		{Kind: measure.Unary, Concurrency: 16, Payload: 16 << 10},
		{Kind: measure.Unary, Concurrency: 128, Payload: 64},
		{Kind: measure.Stream, Concurrency: 1, Payload: 64},
	}
	c.Warmup, c.Duration = 200*time.Millisecond, 500*time.Millisecond
	c.GeneratorFiles, c.GeneratorRuns = 50, 3
	return c
}

// Run runs the benchmarks cfg describes.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	// The servers and load generators of the run find each other through a
	// local registry of the run's own (micro's target uses it).
	registryDir, err := os.MkdirTemp("", "microbench-registry-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(registryDir) }()
	cfg.Self.Env = append(slices.Clone(cfg.Self.Env), "MICRO_REGISTRY_ADDRESS="+registryDir)
	p := detectPinning()
	env, err := environment(ctx, cfg.ModuleDir, p)
	if err != nil {
		return nil, err
	}
	r := &Report{Environment: env, Settings: settings(cfg)}
	if len(cfg.Workloads) > 0 {
		if r.Measurements, err = runAll(ctx, cfg, p); err != nil {
			return nil, err
		}
		r.Cells = summarize(r.Measurements)
		r.Verdicts = verdicts(r.Cells, r.Measurements)
	}
	if cfg.GeneratorFiles > 0 {
		cfg.progress("bench: timing the generators on %d proto files, %d runs each", cfg.GeneratorFiles, cfg.GeneratorRuns)
		if r.Generators, err = timeGenerators(ctx, cfg); err != nil {
			return nil, err
		}
	}
	if cfg.Binaries {
		cfg.progress("bench: building the hello-world programs")
		if r.Binaries, err = measureBinaries(ctx, cfg.ModuleDir, helloPrograms); err != nil {
			return nil, err
		}
		r.Verdicts = append(r.Verdicts, sizeVerdict(r.Binaries))
	}
	return r, nil
}

func (cfg Config) progress(format string, args ...any) {
	if cfg.Progress != nil {
		_, _ = fmt.Fprintf(cfg.Progress, format+"\n", args...) // progress is best effort
	}
}

// runAll starts a server per target and measures every workload on every
// target, round after round.
func runAll(ctx context.Context, cfg Config, p pinning) ([]Measurement, error) {
	servers := make(map[string]*serverProcess)
	defer func() {
		for _, s := range servers {
			_ = s.child.stop(10 * time.Second) // a server that fails to stop has done its work
		}
	}()
	for _, t := range cfg.Targets {
		s, err := startServer(ctx, cfg.Self, p, t)
		if err != nil {
			return nil, err
		}
		servers[t.Name] = s
	}
	var runs []Measurement
	total := cfg.Rounds * len(cfg.Workloads) * len(cfg.Targets)
	start := time.Now()
	for round := range cfg.Rounds {
		for _, w := range cfg.Workloads {
			for i := range cfg.Targets {
				t := cfg.Targets[(i+round)%len(cfg.Targets)]
				done := len(runs)
				cfg.progress("bench: [%d/%d%s] round %d, %s, %s", done+1, total, eta(start, done, total), round+1, w, t.Name)
				run := Measurement{Target: t.Name, Workload: w}
				if reason := t.NotMeasured[string(w.Kind)]; reason != "" {
					run.NotMeasured = reason
				} else if measured, err := measureRun(ctx, cfg, p, servers[t.Name], w); err != nil {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					// One failure should not throw away ten minutes
					// of results: it is reported with them.
					cfg.progress("bench: round %d, %s, %s failed: %v", round+1, w, t.Name, err)
					run.Error = err.Error()
				} else {
					run = measured
				}
				run.Round = round + 1
				runs = append(runs, run)
			}
		}
	}
	return runs, nil
}

// eta estimates the time left from the pace so far.
func eta(start time.Time, done, total int) string {
	if done == 0 {
		return ""
	}
	left := time.Duration(float64(time.Since(start)) / float64(done) * float64(total-done))
	return fmt.Sprintf(", %v left", left.Round(time.Second))
}

// serverProcess is a target's server running in its own process.
type serverProcess struct {
	target string
	addr   string
	child  *child
}

func startServer(ctx context.Context, self Command, p pinning, t target.Target) (*serverProcess, error) {
	ch, err := self.start(ctx, t.Name+" server", p, p.server, "serve", "-target", t.Name)
	if err != nil {
		return nil, err
	}
	addr, err := ch.expect(lineListening, 30*time.Second)
	if err != nil {
		ch.kill()
		return nil, err
	}
	return &serverProcess{target: t.Name, addr: addr, child: ch}, nil
}

// usage asks the server for its usage so far.
func (s *serverProcess) usage() (measure.Usage, error) {
	var u measure.Usage
	if err := s.child.send(commandUsage); err != nil {
		return u, err
	}
	err := s.child.expectJSON(lineUsage, 10*time.Second, &u)
	return u, err
}

// measureRun measures one workload on one target: it starts a load
// generator, lets it warm up, and reads the server's usage around the
// measured window.
func measureRun(ctx context.Context, cfg Config, p pinning, s *serverProcess, w measure.Workload) (Measurement, error) {
	load, err := cfg.Self.start(ctx, s.target+" load generator", p, p.load, "load",
		"-target", s.target,
		"-addr", s.addr,
		"-kind", string(w.Kind),
		"-concurrency", fmt.Sprint(w.Concurrency),
		"-payload", fmt.Sprint(w.Payload),
		"-warmup", cfg.Warmup.String(),
		"-duration", cfg.Duration.String(),
	)
	if err != nil {
		return Measurement{}, err
	}
	stopped := false
	defer func() {
		if !stopped {
			load.kill()
		}
	}()
	// Starting, connecting and warming up; generous, for slow machines.
	if _, err := load.expect(lineReady, cfg.Warmup+time.Minute); err != nil {
		return Measurement{}, err
	}
	before, err := s.usage()
	if err != nil {
		return Measurement{}, err
	}
	if err := load.send(commandGo); err != nil {
		return Measurement{}, err
	}
	var res loadResult
	if err := load.expectJSON(lineResult, cfg.Duration+time.Minute, &res); err != nil {
		return Measurement{}, err
	}
	after, err := s.usage()
	if err != nil {
		return Measurement{}, err
	}
	stopped = true
	if err := load.stop(10 * time.Second); err != nil {
		return Measurement{}, err
	}
	return Measurement{
		Target:   s.target,
		Workload: w,
		Ops:      res.Ops,
		Seconds:  res.Elapsed.Seconds(),
		P50:      micros(res.P50),
		P90:      micros(res.P90),
		P99:      micros(res.P99),
		Client:   res.Usage,
		Server:   after.Sub(before),
	}, nil
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
