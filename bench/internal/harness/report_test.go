package harness

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/protomicro/micro/bench/internal/measure"
)

func TestVerdictValue(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v    Verdict
		want string
	}{
		{v: Verdict{Value: 1.0432, Limit: 1.1, Status: "met"}, want: "1.04x"},
		{v: Verdict{Value: 1.1041, Limit: 1.1, Status: "MISSED"}, want: "1.104x"},
		{v: Verdict{Value: 1.0961, Limit: 1.1, Status: "met"}, want: "1.096x"},
		{v: Verdict{Status: "n/a"}, want: "–"},
	} {
		if got := tt.v.value(); got != tt.want {
			t.Errorf("Verdict{Value: %v}.value() = %q, want %q", tt.v.Value, got, tt.want)
		}
	}
}

func TestVerdicts(t *testing.T) {
	t.Parallel()
	unary := measure.Workload{Kind: measure.Unary, Concurrency: 16, Payload: 64}
	oneCaller := measure.Workload{Kind: measure.Unary, Concurrency: 1, Payload: 64}
	runs := []Measurement{
		run(1, "micro", unary, 10.5),
		run(1, "grpc-go", unary, 10),
		run(1, "micro-intercepted", unary, 12),
		run(1, "grpc-go-intercepted", unary, 10),
		run(1, "micro-intercepted", oneCaller, 30),
		run(1, "grpc-go-intercepted", oneCaller, 10),
	}
	if diff := cmp.Diff([]string{
		"micro CPU per call / grpc-go's, unary 64 B c=16: 1.05x met",
		"micro-intercepted CPU per call / grpc-go-intercepted's, unary 64 B c=16: 1.20x MISSED",
	}, verdictLines(runs)); diff != "" {
		t.Errorf("verdicts mismatch (-want +got):\n%s", diff)
	}
}

// TestVerdictsPaired checks that a goal compares its two targets round by
// round: a round in which the machine slowed down between the two targets'
// turns, or in which one of them failed, does not decide the verdict, where
// the ratio of the two medians would have.
func TestVerdictsPaired(t *testing.T) {
	t.Parallel()
	w := measure.Workload{Kind: measure.Unary, Concurrency: 16, Payload: 64}
	failed := run(4, "grpc-go", w, 1)
	failed.Error = "connection refused"
	runs := []Measurement{
		run(1, "micro", w, 10.6), run(1, "grpc-go", w, 10),
		run(2, "micro", w, 21.2), run(2, "grpc-go", w, 20), // the machine twice as slow, for both
		run(3, "micro", w, 15), run(3, "grpc-go", w, 30), // slowed down between the turns
		run(4, "micro", w, 1), failed,
	}
	// The medians, 15 and 20, would say 0.75x.
	if diff := cmp.Diff([]string{"micro CPU per call / grpc-go's, unary 64 B c=16: 1.06x met"}, verdictLines(runs)); diff != "" {
		t.Errorf("verdicts mismatch (-want +got):\n%s", diff)
	}
	cells := summarize(runs)
	if i := slices.IndexFunc(cells, func(c Cell) bool { return c.Target == "micro" }); math.Abs(cells[i].CPURatio-1.06) > 1e-9 {
		t.Errorf("micro's CPU vs grpc-go = %v, want the paired 1.06", cells[i].CPURatio)
	}
}

// run is a measurement of cpu microseconds per call, client and server
// together, in one call of one second.
func run(round int, name string, w measure.Workload, cpu float64) Measurement {
	return Measurement{Round: round, Target: name, Workload: w, Ops: 1, Seconds: 1,
		Client: measure.Usage{CPU: time.Duration(cpu * float64(time.Microsecond))}}
}

func verdictLines(runs []Measurement) []string {
	var got []string
	for _, v := range verdicts(summarize(runs), runs) {
		got = append(got, fmt.Sprintf("%s, %s: %s %s", v.Goal, v.Workload, v.value(), v.Status))
	}
	return got
}
