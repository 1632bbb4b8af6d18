package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/protomicro/micro/bench/internal/measure"
	"github.com/protomicro/micro/bench/internal/target"
)

// Report is everything a run measured.
type Report struct {
	Environment Environment
	Settings    Settings
	// Measurements are the single measurements, in the order they ran.
	Measurements []Measurement
	// Cells are the medians of the runs of each workload on each target.
	Cells      []Cell
	Verdicts   []Verdict
	Generators []Generator
	Binaries   []Binary
}

// Settings are the parts of the configuration a reader needs to judge the
// numbers.
type Settings struct {
	Rounds   int     `json:"rounds"`
	Warmup   float64 `json:"warmup_s"`
	Duration float64 `json:"duration_s"`
	Targets  []Note  `json:"targets"`
}

// Note describes a target.
type Note struct {
	Name  string `json:"name"`
	About string `json:"about"`
}

func settings(cfg Config) Settings {
	s := Settings{Rounds: cfg.Rounds, Warmup: cfg.Warmup.Seconds(), Duration: cfg.Duration.Seconds()}
	for _, t := range cfg.Targets {
		s.Targets = append(s.Targets, Note{Name: t.Name, About: t.About})
	}
	return s
}

// Measurement is one measurement: one workload on one target in one round. The
// usages cover the measured window only, in each process.
type Measurement struct {
	Round  int    `json:"round"`
	Target string `json:"target"`
	measure.Workload
	Ops     int64   `json:"ops"`
	Seconds float64 `json:"seconds"`
	// Latency percentiles in microseconds; zero for stream workloads.
	P50    float64       `json:"p50_us"`
	P90    float64       `json:"p90_us"`
	P99    float64       `json:"p99_us"`
	Client measure.Usage `json:"client"`
	Server measure.Usage `json:"server"`
	// Error says why the measurement failed, and NotMeasured why it was
	// not attempted; the figures are empty then.
	Error       string `json:"error,omitempty"`
	NotMeasured string `json:"not_measured,omitempty"`
}

// Cell is the median, over the rounds that succeeded, of each figure of one
// workload on one target, per operation.
type Cell struct {
	Target string `json:"target"`
	measure.Workload
	// Rounds is how many rounds succeeded; Errors are the failures of the
	// others, and NotMeasured says why no round was attempted.
	Rounds      int      `json:"rounds"`
	Errors      []string `json:"errors,omitempty"`
	NotMeasured string   `json:"not_measured,omitempty"`
	OpsPerSec   float64  `json:"ops_per_s"`
	P50         float64  `json:"p50_us"`
	P90         float64  `json:"p90_us"`
	P99         float64  `json:"p99_us"`
	// CPU time in microseconds per operation: the client's, the server's
	// and their sum.
	ClientCPU float64 `json:"client_cpu_us"`
	ServerCPU float64 `json:"server_cpu_us"`
	CPU       float64 `json:"cpu_us"`
	// Heap allocations and allocated bytes per operation.
	ClientAllocs float64 `json:"client_allocs"`
	ServerAllocs float64 `json:"server_allocs"`
	ClientBytes  float64 `json:"client_bytes"`
	ServerBytes  float64 `json:"server_bytes"`
	// CPURatio and OpsRatio compare CPU per operation and operations per
	// second with the baseline's (grpc-go's) on the same workload: the
	// median of the rounds' own ratios ([pairedRatio]), so not always the
	// ratio of the two cells' medians; zero when no round measured both.
	CPURatio float64 `json:"cpu_ratio"`
	OpsRatio float64 `json:"ops_ratio"`
}

// summarize returns a cell per workload and target, in the order they first
// ran, with the baseline's ratios filled in.
func summarize(runs []Measurement) []Cell {
	type key struct {
		w      measure.Workload
		target string
	}
	var order []key
	groups := make(map[key][]Measurement)
	for _, r := range runs {
		k := key{r.Workload, r.Target}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	cells := make([]Cell, 0, len(order))
	for _, k := range order {
		cell := Cell{Target: k.target, Workload: k.w}
		var rs []Measurement
		for _, r := range groups[k] {
			switch {
			case r.NotMeasured != "":
				cell.NotMeasured = r.NotMeasured
			case r.Error != "":
				cell.Errors = append(cell.Errors, r.Error)
			default:
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			cells = append(cells, cell)
			continue
		}
		perOp := func(f func(Measurement) float64) float64 {
			return median(rs, func(r Measurement) float64 { return f(r) / float64(r.Ops) })
		}
		cells = append(cells, Cell{
			Target:       k.target,
			Workload:     k.w,
			Rounds:       len(rs),
			Errors:       cell.Errors,
			OpsPerSec:    median(rs, func(r Measurement) float64 { return float64(r.Ops) / r.Seconds }),
			P50:          median(rs, func(r Measurement) float64 { return r.P50 }),
			P90:          median(rs, func(r Measurement) float64 { return r.P90 }),
			P99:          median(rs, func(r Measurement) float64 { return r.P99 }),
			ClientCPU:    perOp(func(r Measurement) float64 { return micros(r.Client.CPU) }),
			ServerCPU:    perOp(func(r Measurement) float64 { return micros(r.Server.CPU) }),
			CPU:          perOp(func(r Measurement) float64 { return micros(r.Client.CPU + r.Server.CPU) }),
			ClientAllocs: perOp(func(r Measurement) float64 { return float64(r.Client.Allocs) }),
			ServerAllocs: perOp(func(r Measurement) float64 { return float64(r.Server.Allocs) }),
			ClientBytes:  perOp(func(r Measurement) float64 { return float64(r.Client.AllocBytes) }),
			ServerBytes:  perOp(func(r Measurement) float64 { return float64(r.Server.AllocBytes) }),
		})
	}
	for i, c := range cells {
		cells[i].CPURatio, _ = pairedRatio(runs, c.Target, target.Baseline, c.Workload, cpuPerOp)
		cells[i].OpsRatio, _ = pairedRatio(runs, c.Target, target.Baseline, c.Workload, opsPerSec)
	}
	return cells
}

// cpuPerOp and opsPerSec are the figures of a measurement that ratios
// compare: CPU time per operation, client and server, in microseconds, and
// operations per second.
func cpuPerOp(r Measurement) float64  { return micros(r.Client.CPU+r.Server.CPU) / float64(r.Ops) }
func opsPerSec(r Measurement) float64 { return float64(r.Ops) / r.Seconds }

// pairedRatio compares target name with target other on workload w: the
// median, over the rounds in which both were measured, of f of name's
// measurement over f of other's in the same round. Within a round the
// targets take their turns at a workload one right after another, seconds
// apart, so a ratio within a round cancels the shared machine's slower drift
// (other load coming and going), which the ratio of the two targets' own
// medians, each possibly from a different round, does not. ok is false when
// no round measured both.
func pairedRatio(runs []Measurement, name, other string, w measure.Workload, f func(Measurement) float64) (ratio float64, ok bool) {
	type key struct {
		target string
		round  int
	}
	measured := make(map[key]Measurement)
	for _, r := range runs {
		if r.Workload == w && (r.Target == name || r.Target == other) && r.Error == "" && r.NotMeasured == "" && r.Ops > 0 {
			measured[key{r.Target, r.Round}] = r
		}
	}
	var ratios []float64
	for k, a := range measured {
		if k.target != name {
			continue
		}
		if b, ok := measured[key{other, k.round}]; ok && f(b) > 0 {
			ratios = append(ratios, f(a)/f(b))
		}
	}
	if len(ratios) == 0 {
		return 0, false
	}
	slices.Sort(ratios)
	return ratios[len(ratios)/2], true // the upper one of an even count, as median
}

// measured reports whether the cell has figures.
func (c Cell) measured() bool { return c.Rounds > 0 }

// median returns the median of f over runs; the upper one of an even count.
func median(runs []Measurement, f func(Measurement) float64) float64 {
	values := make([]float64, len(runs))
	for i, r := range runs {
		values[i] = f(r)
	}
	slices.Sort(values)
	return values[len(values)/2]
}

func find(cells []Cell, name string, w measure.Workload) (Cell, bool) {
	i := slices.IndexFunc(cells, func(c Cell) bool { return c.Target == name && c.Workload == w })
	if i < 0 {
		return Cell{}, false
	}
	return cells[i], true
}

// Verdict is whether a goal of the issue was met.
type Verdict struct {
	Goal     string  `json:"goal"`
	Workload string  `json:"workload"`
	Value    float64 `json:"value"`
	// Limit is the bound; AtMost says whether Value must not exceed it or
	// must reach it.
	Limit  float64 `json:"limit"`
	AtMost bool    `json:"at_most"`
	// Status is "met", "MISSED", or "n/a" when a side was not measured.
	Status string `json:"status"`
}

// The goals. The first two were set by the foundation issue (for unary
// calls at 16 concurrent callers and for server streaming) and extended to
// 128 callers; the interceptor goal holds micro to the same bound with an
// interceptor installed on both sides, against grpc-go with the equivalent
// interceptors; the observed goals (issue 15) hold tracing with the sampler
// off plus metrics to 1.05x, and everything on to 1.3x, of micro without
// them, with grpc-go's equivalents beside; the last compares micro with
// go-micro on every workload.
const (
	maxCPURatio        = 1.10
	minStreamRatio     = 0.90
	minGoMicroSpeedup  = 5.0
	goalCPU            = "micro CPU per call / grpc-go's"
	goalInterceptedCPU = "micro-intercepted CPU per call / grpc-go-intercepted's"
	goalStream         = "micro messages/s / grpc-go's"
	goalGoMicroSpeedup = "micro ops/s / go-micro's"
	microName, goMicro = "micro", "go-micro"
	maxObservedOff     = 1.05
	maxObservedOn      = 1.30
	goalObservedOff    = "micro-observed-off CPU per call / micro's"
	goalObservedOn     = "micro-observed CPU per call / micro's"
	peerObservedOff    = "grpc-go-observed-off CPU per call / grpc-go's"
	peerObservedOn     = "grpc-go-observed CPU per call / grpc-go's"
	microIntercepted   = "micro-intercepted"
	grpcIntercepted    = "grpc-go-intercepted"

	// The gateway and proxy goals (issue 12): micro api no dearer per REST
	// call than grpc-gateway's generated mux, streaming NDJSON as fast; what
	// the gateway costs over calling the service directly, measured with no
	// target; micro proxy at most 1.3x a direct call.
	maxGatewayCPURatio = 1.0
	maxProxyCPURatio   = 1.3
	goalGatewayCPU     = "micro-api CPU per call / grpc-gateway's"
	goalGatewayStream  = "micro-api NDJSON messages/s / grpc-gateway's"
	goalGatewayDirect  = "micro-api CPU per call / micro's (direct gRPC)"
	goalProxyCPU       = "micro-proxy CPU per call / micro's (direct)"
	microAPI, grpcGW   = "micro-api", "grpc-gateway"
	microProxy         = "micro-proxy"
)

// verdicts checks the goals on the cells, goal by goal, on each workload a
// goal covers where both of its targets ran. Each goal's value is the
// [pairedRatio] of the runs of its two targets.
func verdicts(cells []Cell, runs []Measurement) []Verdict {
	var out []Verdict
	// check adds a verdict for each workload covers accepts: the paired
	// ratio of figure f of target name to target other, against limit.
	check := func(goal, name, other string, covers func(measure.Workload) bool, f func(Measurement) float64, limit float64, atMost bool) {
		for _, c := range cells {
			if c.Target != name || !covers(c.Workload) {
				continue
			}
			if _, ok := find(cells, other, c.Workload); !ok {
				continue
			}
			v, measured := pairedRatio(runs, name, other, c.Workload, f)
			out = append(out, newVerdict(goal, c.String(), v, limit, atMost, measured))
		}
	}
	unary := func(w measure.Workload) bool { return w.Kind == measure.Unary && w.Concurrency >= 16 }
	stream := func(w measure.Workload) bool { return w.Kind == measure.Stream }
	every := func(measure.Workload) bool { return true }
	cpu, ops := cpuPerOp, opsPerSec
	check(goalCPU, microName, target.Baseline, unary, cpu, maxCPURatio, true)
	check(goalInterceptedCPU, microIntercepted, grpcIntercepted, unary, cpu, maxCPURatio, true)
	// Observability against the same framework without it; grpc-go's
	// figures, with the same libraries, are held to the same bounds beside.
	check(goalObservedOff, "micro-observed-off", microName, unary, cpu, maxObservedOff, true)
	check(goalObservedOn, "micro-observed", microName, unary, cpu, maxObservedOn, true)
	check(peerObservedOff, "grpc-go-observed-off", target.Baseline, unary, cpu, maxObservedOff, true)
	check(peerObservedOn, "grpc-go-observed", target.Baseline, unary, cpu, maxObservedOn, true)
	check(goalStream, microName, target.Baseline, stream, ops, minStreamRatio, false)
	check(goalGoMicroSpeedup, microName, goMicro, every, ops, minGoMicroSpeedup, false)
	check(goalGatewayCPU, microAPI, grpcGW, unary, cpu, maxGatewayCPURatio, true)
	check(goalGatewayStream, microAPI, grpcGW, stream, ops, minStreamRatio, false)
	check(goalGatewayDirect, microAPI, microName, unary, cpu, 0, true)
	check(goalProxyCPU, microProxy, microName, unary, cpu, maxProxyCPURatio, true)
	return out
}

// newVerdict judges value against limit: at most limit when atMost, else at
// least; "n/a" when a side was not measured, and "measured" for a ratio
// with no target (limit 0), reported for what it is.
func newVerdict(goal, workload string, value, limit float64, atMost, measured bool) Verdict {
	v := Verdict{Goal: goal, Workload: workload, Value: value, Limit: limit, AtMost: atMost, Status: "n/a"}
	switch {
	case !measured:
	case limit == 0:
		v.Status = "measured"
	case atMost && value <= limit, !atMost && value >= limit:
		v.Status = "met"
	default:
		v.Status = "MISSED"
	}
	return v
}

// target formats the verdict's bound, "at most 1.10x" (or, with symbols,
// "≤ 1.10x"), or "none".
func (v Verdict) target(symbols bool) string {
	if v.Limit == 0 {
		return "none"
	}
	b := bound(v)
	if symbols {
		b = map[bool]string{true: "≤", false: "≥"}[v.AtMost]
	}
	return fmt.Sprintf("%s %.2fx", b, v.Limit)
}

// Summary returns one line per verdict, for the terminal.
func (r *Report) Summary() string {
	var b strings.Builder
	width := 0
	for _, v := range r.Verdicts {
		width = max(width, len(v.Goal))
	}
	for _, v := range r.Verdicts {
		fmt.Fprintf(&b, "%-*s %-20s %6s, target %s: %s\n", width, v.Goal, v.Workload, v.value(), v.target(false), v.Status)
	}
	return b.String()
}

// value formats the measured ratio: "–" when not measured, and with three
// decimals when two would show it equal to the limit, so that "1.10x"
// never reads as a miss of "at most 1.10x".
func (v Verdict) value() string {
	if v.Status == "n/a" {
		return "–"
	}
	if s := fmt.Sprintf("%.2f", v.Value); s != fmt.Sprintf("%.2f", v.Limit) {
		return s + "x"
	}
	return fmt.Sprintf("%.3fx", v.Value)
}

func bound(v Verdict) string {
	if v.AtMost {
		return "at most"
	}
	return "at least"
}

// WriteJSONLines writes the report as JSON lines: the environment, then
// every measurement, cell, verdict, generator timing and binary, each with
// a "record" field naming what it is.
func (r *Report) WriteJSONLines(w io.Writer) error {
	enc := json.NewEncoder(w)
	return errors.Join(
		writeRecords(enc, "environment", []any{struct {
			Environment
			Settings
		}{r.Environment, r.Settings}}),
		writeRecords(enc, "run", r.Measurements),
		writeRecords(enc, "cell", r.Cells),
		writeRecords(enc, "verdict", r.Verdicts),
		writeRecords(enc, "generator", r.Generators),
		writeRecords(enc, "binary", r.Binaries),
	)
}

// writeRecords encodes each value as a JSON object with a "record" field
// added.
func writeRecords[T any](enc *json.Encoder, record string, values []T) error {
	for _, v := range values {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var fields map[string]any
		if err := json.Unmarshal(data, &fields); err != nil {
			return err
		}
		fields["record"] = record
		if err := enc.Encode(fields); err != nil {
			return err
		}
	}
	return nil
}

// duration formats seconds for the report.
func duration(seconds float64) string {
	return (time.Duration(seconds * float64(time.Second))).String()
}
