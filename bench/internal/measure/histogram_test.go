package measure

import (
	"testing"
	"time"
)

func TestHistogramQuantile(t *testing.T) {
	t.Parallel()
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	h.Record(10 * time.Minute) // beyond the last bucket: counted there
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{
		{q: 0.5, want: 500 * time.Microsecond},
		{q: 0.9, want: 900 * time.Microsecond},
		{q: 0.99, want: 990 * time.Microsecond},
	} {
		got := h.Quantile(tt.q)
		if diff := float64(got-tt.want) / float64(tt.want); diff < -0.04 || diff > 0.04 {
			t.Errorf("Quantile(%v) = %v, want %v within 4%%", tt.q, got, tt.want)
		}
	}
	if got := h.Count(); got != 1001 {
		t.Errorf("Count() = %d, want 1001", got)
	}
}

func TestBucketMiddle(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{0, 1, 63, 64, 65, 100, 1000, 12345, time.Millisecond, time.Second, 30 * time.Second} {
		got := middle(bucket(d))
		if diff := float64(got-d) / float64(max(d, 1)); diff < -0.04 || diff > 0.04 {
			t.Errorf("middle(bucket(%v)) = %v, want %v within 4%%", d, got, d)
		}
	}
}
