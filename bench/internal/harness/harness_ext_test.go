package harness_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/protomicro/micro/bench/internal/harness"
	"github.com/protomicro/micro/bench/internal/measure"
	"github.com/protomicro/micro/bench/internal/target"
)

// childEnv makes the test binary act as the driver's children.
const childEnv = "MICROBENCH_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		_, err := harness.Child(context.Background(), os.Args[1:], os.Stdin, os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tiny returns a configuration that runs every kind of workload on every
// target once, briefly, through child processes.
func tiny(t *testing.T) harness.Config {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, err := harness.ModuleDir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return harness.Config{
		Targets: target.All(),
		Workloads: []measure.Workload{
			{Kind: measure.Unary, Concurrency: 4, Payload: 64},
			{Kind: measure.Stream, Concurrency: 1, Payload: 64},
			{Kind: measure.Chat, Concurrency: 2, Payload: 1 << 10},
		},
		Rounds:   1,
		Warmup:   20 * time.Millisecond,
		Duration: 100 * time.Millisecond,
		Self: harness.Command{Path: self, Env: []string{
			childEnv + "=1",
			// Under the race detector a process sleeps a second before it
			// exits, unless told not to; every measurement ends a process.
			"GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"),
		}},
		ModuleDir: dir,
	}
}

// TestRun runs the harness in a tiny configuration, so that it cannot rot:
// every target serves and is called in child processes, and the report has
// a figure for every workload on every target that can run it.
func TestRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := tiny(t)
	report, err := harness.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(report.Cells), len(cfg.Targets)*len(cfg.Workloads); got != want {
		t.Fatalf("Run gave %d cells, want %d", got, want)
	}
	for _, c := range report.Cells {
		switch {
		case len(c.Errors) > 0:
			t.Errorf("%s, %s failed: %s", c.Workload, c.Target, c.Errors[0])
		case c.NotMeasured != "":
			continue
		case c.OpsPerSec <= 0 || c.ClientCPU <= 0 || c.ServerCPU <= 0 || c.ClientAllocs <= 0:
			t.Errorf("%s, %s = %+v, want every figure above zero", c.Workload, c.Target, c)
		case c.Kind != measure.Stream && (c.P50 <= 0 || c.P50 > c.P99):
			t.Errorf("%s, %s latency p50 %v, p99 %v; want 0 < p50 <= p99", c.Workload, c.Target, c.P50, c.P99)
		}
	}
	if len(report.Verdicts) == 0 {
		t.Error("Run gave no verdicts")
	}

	markdown := report.Markdown()
	for _, want := range []string{"### Goals", "### unary 64 B c=4", "| micro |", "| raw-tcp |", "go-micro: not measured"} {
		if !strings.Contains(markdown, want) {
			t.Errorf("Markdown() lacks %q:\n%s", want, markdown)
		}
	}
	var lines bytes.Buffer
	if err := report.WriteJSONLines(&lines); err != nil {
		t.Fatal(err)
	}
	records := make(map[string]int)
	scanner := bufio.NewScanner(&lines)
	for scanner.Scan() {
		var line struct{ Record string }
		if err := json.Unmarshal(scanner.Bytes(), &line); err != nil {
			t.Fatalf("WriteJSONLines wrote %q: %v", scanner.Text(), err)
		}
		records[line.Record]++
	}
	for _, want := range []string{"environment", "run", "cell", "verdict"} {
		if records[want] == 0 {
			t.Errorf("WriteJSONLines wrote no %q record; got %v", want, records)
		}
	}
}

// TestRunGeneratorsAndBinaries times the generators on a tiny tree and
// builds the hello-world programs, which takes a while the first time.
func TestRunGeneratorsAndBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every generator and hello-world program")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := tiny(t)
	cfg.Workloads = nil
	cfg.GeneratorFiles, cfg.GeneratorRuns = 2, 1
	cfg.Binaries = true
	report, err := harness.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range report.Generators {
		if g.CPUMS < 0 || g.OutputBytes == 0 || g.Methods != 40 {
			t.Errorf("generator %s = %+v, want output for 40 methods", g.Name, g)
		}
	}
	for _, b := range report.Binaries {
		if b.Size == 0 || b.Modules == 0 {
			t.Errorf("binary %s = %+v, want a size and modules", b.Name, b)
		}
	}
	if len(report.Generators) == 0 || len(report.Binaries) == 0 {
		t.Errorf("Run gave %d generators and %d binaries, want some of each", len(report.Generators), len(report.Binaries))
	}
}

func TestWriteMarkdownFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	var report harness.Report
	if err := report.WriteMarkdownFile(path); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(first), "# Benchmarks\n", "# Benchmarks\n\nNotes kept across runs.\n", 1) + "\nMore notes.\n"
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteMarkdownFile(path); err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(second) != edited {
		t.Errorf("WriteMarkdownFile changed the text around the results:\n%s\nwant\n%s", second, edited)
	}
}

// TestWriteMarkdownFileLongerBlock replaces a results block shorter than the
// new one, as the first run after a new benchmark does: the text after it
// must survive whole (it was once overwritten in place by the new block).
func TestWriteMarkdownFileLongerBlock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	var report harness.Report
	if err := report.WriteMarkdownFile(path); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin, _, _ := strings.Cut(string(first), "\n") // "# Benchmarks"
	_, block, _ := strings.Cut(string(first), begin+"\n\n")
	short := strings.SplitN(block, "\n", 2)[0] + "\n\n<!-- end results -->\n" // the begin marker, an empty block
	after := "\n## Reading the results\n\n" + strings.Repeat("Prose kept across runs. ", 200) + "\n"
	if err := os.WriteFile(path, []byte(begin+"\n\n"+short+after), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteMarkdownFile(path); err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := string(first) + after; string(second) != want {
		t.Errorf("WriteMarkdownFile wrote\n%s\nwant\n%s", second, want)
	}
}
