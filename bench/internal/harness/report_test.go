package harness

import "testing"

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
