package harness

import (
	"fmt"
	"slices"
	"strings"
	"testing"

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
	cell := func(name string, w measure.Workload, cpu float64) Cell {
		return Cell{Target: name, Workload: w, Rounds: 1, CPU: cpu, OpsPerSec: 1}
	}
	cells := []Cell{
		cell("micro", unary, 10.5),
		cell("grpc-go", unary, 10),
		cell("micro-intercepted", unary, 12),
		cell("grpc-go-intercepted", unary, 10),
		cell("micro-intercepted", oneCaller, 30),
		cell("grpc-go-intercepted", oneCaller, 10),
	}
	var got []string
	for _, v := range verdicts(cells) {
		got = append(got, fmt.Sprintf("%s, %s: %s %s", v.Goal, v.Workload, v.value(), v.Status))
	}
	want := []string{
		"micro CPU per call / grpc-go's, unary 64 B c=16: 1.05x met",
		"micro-intercepted CPU per call / grpc-go-intercepted's, unary 64 B c=16: 1.20x MISSED",
	}
	if !slices.Equal(got, want) {
		t.Errorf("verdicts() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
