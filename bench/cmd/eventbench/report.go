package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/protomicro/micro/bench/internal/harness"
)

// report is every comparison's results.
type report struct {
	config  config
	results []comparisonResult
}

// The events block of BENCHMARKS.md, which -out rewrites.
const (
	beginEvents = "<!-- begin events: written by make bench-events (cmd/eventbench); edit outside -->"
	endEvents   = "<!-- end events -->"
)

func sizeName(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

func micros(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Microsecond)) }

// markdown is a table per comparison and size.
func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d publishers. Closed loop: each publishes an event and waits for the handler to get it before the next, "+
		"after %s of warm-up. Flood: each publishes as fast as Publish returns (up to %d MiB of payloads in all), then the handler catches up. "+
		"%d round(s) of %s; events/s of the median round (flood: handled from the first publish to the last handled), "+
		"latency percentiles over all rounds, from Publish called to the handler running; CPU per event is this whole process's "+
		"(publishers, subscriber and nats-server), over all rounds.\n\n",
		publishers, r.config.warmup, maxFloodBytes>>20, r.config.rounds, r.config.duration)
	for _, c := range r.results {
		fmt.Fprintf(&b, "### %s, %s events, %s\n\n", c.cmp.title, sizeName(c.size), c.mode)
		fmt.Fprintf(&b, "| target | events/s | p50 µs | p99 µs | lost | CPU µs per event | events/s vs %s |\n|---|--:|--:|--:|--:|--:|--:|\n", c.peer.target)
		rows := []measurement{c.micro, c.peer}
		if c.reference != nil {
			rows = append(rows, *c.reference)
		}
		for _, m := range rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %.1f | %.2fx |\n", m.target, harness.Thousands(m.rate),
				micros(m.hist.Quantile(0.5)), micros(m.hist.Quantile(0.99)), m.lost, float64(m.cpu)/float64(time.Microsecond), m.rate/c.peer.rate)
		}
		b.WriteString("\n")
	}
	b.WriteString("Targets:\n\n")
	seen := map[string]bool{}
	for _, c := range r.results {
		targets := []target{c.cmp.micro, c.cmp.peer}
		if c.cmp.reference != nil {
			targets = append(targets, *c.cmp.reference)
		}
		for _, t := range targets {
			if !seen[t.name] {
				seen[t.name] = true
				fmt.Fprintf(&b, "- %s: %s\n", t.name, t.about)
			}
		}
	}
	return b.String()
}

// summary says whether each goal was met.
func (r *report) summary() string {
	var b strings.Builder
	b.WriteString("Goals:\n\n")
	for _, c := range r.results {
		ratio := c.micro.rate / c.peer.rate
		verdict := "met"
		if ratio < c.cmp.goal {
			verdict = "NOT met"
		}
		fmt.Fprintf(&b, "- %s, %s, %s: %s at %.2fx %s's events/s (goal >= %gx): %s", c.cmp.title, sizeName(c.size), c.mode, c.micro.target, ratio, c.peer.target, c.cmp.goal, verdict)
		if c.reference != nil {
			fmt.Fprintf(&b, "; %.2fx %s's", c.micro.rate/c.reference.rate, c.reference.target)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// writeFile replaces the events block of the markdown file at path with
// the report, keeping what is outside it.
func (r *report) writeFile(path string) error {
	data, begin, end, err := readEventsBlock(path)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	out.Write(data[:begin+len(beginEvents)])
	out.WriteString("\n\n")
	out.WriteString(r.markdown())
	out.WriteString("\n")
	out.WriteString(r.summary())
	out.WriteString("\n")
	out.Write(data[end:])
	return os.WriteFile(path, out.Bytes(), 0o644)
}

// readEventsBlock reads the markdown file at path, and finds where its
// events block begins and ends; checked before a run as well as after, so
// that a wrong -out fails at once rather than after the measurements.
func readEventsBlock(path string) (data []byte, begin, end int, err error) {
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	begin = bytes.Index(data, []byte(beginEvents))
	end = bytes.Index(data, []byte(endEvents))
	if begin < 0 || end < begin {
		return nil, 0, 0, fmt.Errorf("%s has no events block (%s ... %s)", path, beginEvents, endEvents)
	}
	return data, begin, end, nil
}
