package harness

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/protomicro/micro/bench/internal/measure"
	"github.com/protomicro/micro/bench/internal/target"
)

// Markdown renders the report: how and where it was measured, the goals,
// a table per workload, the generators' times and the binaries' sizes.
func (r *Report) Markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	env, set := r.Environment, r.Settings
	p("Measured %s UTC on %d CPUs (%s), %s, %s; %s.\n",
		env.Date.Format("2006-01-02 15:04"), env.CPUs, env.CPU, env.Kernel, env.Go, env.Pinning)
	if len(r.Measurements) > 0 {
		p("Every cell is the median of %d rounds; in each round the targets take turns, and each measures for %s after a %s warm-up, in a fresh load-generator process against a long-running server process. Every ratio (the \"vs\" columns and the goals) is the median of the rounds' own ratios, each between two targets measured in the same round, so it may differ a little from the ratio of the two medians shown.\n",
			set.Rounds, duration(set.Duration), duration(set.Warmup))
	}
	p("\nVersions: %s.\n", strings.Join(env.Modules, ", "))

	if len(set.Targets) > 0 {
		p("\n| target | what runs |\n|---|---|\n")
		for _, t := range set.Targets {
			p("| %s | %s |\n", t.Name, t.About)
		}
	}
	if len(r.Verdicts) > 0 {
		p("\n### Goals\n\n| goal | workload | measured | target | |\n|---|---|--:|--:|---|\n")
		for _, v := range r.Verdicts {
			p("| %s | %s | %s | %s | %s |\n", v.Goal, v.Workload, v.value(), v.target(true), v.Status)
		}
	}
	r.markdownCells(&b)
	if len(r.Generators) > 0 {
		p("\n### Code generation\n\n")
		g := r.Generators[0]
		p("Each generator run as protoc runs it, on one request for a synthetic tree of %d files (%d services, %d methods of all four kinds, %d messages); median of %d runs.\n\n",
			g.Files, g.Services, g.Methods, g.Messages, g.Runs)
		p("| generator | wall ms | CPU ms | CPU vs protoc-gen-go-grpc | output |\n|---|--:|--:|--:|--:|\n")
		for _, g := range r.Generators {
			p("| %s | %.0f | %.0f | %s | %s |\n", g.Name, g.WallMS, g.CPUMS, ratio(g.CPURatio), formatBytes(float64(g.OutputBytes)))
		}
	}
	if len(r.Binaries) > 0 {
		p("\n### Hello-world binaries\n\n")
		p("The greeter service (proto/greeter/v1) served the way each framework's hello world does it, and called once by a program that only calls it (%s: hello/microclient, through micro's generated client at a fixed address; %s: hello/grpcclient), built with `go build` and default flags.\n\n", microClient, grpcClient)
		p("| program | size | modules linked |\n|---|--:|--:|\n")
		for _, bin := range r.Binaries {
			p("| %s | %.1f MiB | %d |\n", bin.Name, float64(bin.Size)/(1<<20), bin.Modules)
		}
	}
	return b.String()
}

// markdownCells writes a table per workload, in the order they ran.
func (r *Report) markdownCells(b *strings.Builder) {
	var workloads []measure.Workload
	for _, c := range r.Cells {
		if !slices.Contains(workloads, c.Workload) {
			workloads = append(workloads, c.Workload)
		}
	}
	for _, w := range workloads {
		unit := "calls"
		if w.Kind != measure.Unary {
			unit = map[measure.Kind]string{measure.Stream: "messages", measure.Chat: "round trips"}[w.Kind]
		}
		fmt.Fprintf(b, "\n### %s\n\n%s\n\n", w, describe(w))
		fmt.Fprintf(b, "| target | %s/s | p50 µs | p90 µs | p99 µs | CPU µs per op, client + server | allocs per op, client + server | bytes per op, client + server | CPU vs %s | %s/s vs %s |\n",
			unit, target.Baseline, unit, target.Baseline)
		b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		var notes []string
		for _, c := range r.Cells {
			if c.Workload != w {
				continue
			}
			if c.NotMeasured != "" {
				notes = append(notes, fmt.Sprintf("%s: not measured: %s.", c.Target, c.NotMeasured))
			}
			for _, err := range c.Errors {
				notes = append(notes, fmt.Sprintf("%s: a round failed: %s", c.Target, strings.ReplaceAll(err, "\n", " ")))
			}
			if !c.measured() {
				continue
			}
			latency := func(v float64) string {
				if w.Kind == measure.Stream {
					return "–"
				}
				return fmt.Sprintf("%.0f", v)
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %.1f = %.1f + %.1f | %.0f = %.0f + %.0f | %s = %s + %s | %s | %s |\n",
				c.Target, thousands(c.OpsPerSec), latency(c.P50), latency(c.P90), latency(c.P99),
				c.CPU, c.ClientCPU, c.ServerCPU,
				c.ClientAllocs+c.ServerAllocs, c.ClientAllocs, c.ServerAllocs,
				formatBytes(c.ClientBytes+c.ServerBytes), formatBytes(c.ClientBytes), formatBytes(c.ServerBytes),
				ratio(c.CPURatio), ratio(c.OpsRatio))
		}
		for _, note := range notes {
			fmt.Fprintf(b, "\n%s\n", note)
		}
	}
}

// describe says in a sentence what a workload does.
func describe(w measure.Workload) string {
	size := measure.Size(w.Payload)
	switch w.Kind {
	case measure.Stream:
		return fmt.Sprintf("%s, the server sending %s messages as fast as the client takes them; an op is one message received.", count(w.Concurrency, "server stream"), size)
	case measure.Chat:
		return fmt.Sprintf("%s, each sending a %s request and waiting for its answer before the next; an op is one round trip.", count(w.Concurrency, "bidirectional stream"), size)
	}
	return fmt.Sprintf("%s, making unary calls with a %s request, each the moment the last returns.", count(w.Concurrency, "caller"), size)
}

// count returns "1 caller" or "16 callers".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func ratio(v float64) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2fx", v)
}

// Thousands formats v rounded, with commas between thousands, as the
// reports' tables do.
func Thousands(v float64) string { return thousands(v) }

// thousands formats v rounded, with commas between thousands.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", math.Round(v))
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// formatBytes formats a byte count: "512 B", "16.2 KiB".
func formatBytes(v float64) string {
	switch {
	case v >= 1<<20:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}
