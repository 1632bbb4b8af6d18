package measure

import (
	"math/bits"
	"time"
)

// Histogram counts durations in buckets about 3% wide, from 1ns to about a
// minute; longer durations count in the last bucket. Recording never
// allocates, so that it does not show in the allocations measured. The zero
// value is empty and ready to use; a Histogram is not safe for concurrent
// use.
type Histogram struct {
	counts [histogramBuckets]uint64
	total  uint64
}

// Below 2*subBuckets nanoseconds each bucket is one nanosecond wide; above,
// each power of two is split into subBuckets buckets.
const (
	subBits          = 5
	subBuckets       = 1 << subBits
	linearBuckets    = 2 * subBuckets
	histogramBuckets = linearBuckets + 30*subBuckets // up to 2^36 ns, about 69 s
)

// Record counts d.
func (h *Histogram) Record(d time.Duration) {
	h.counts[bucket(d)]++
	h.total++
}

// Merge adds the counts of other to h.
func (h *Histogram) Merge(other *Histogram) {
	for i, n := range other.counts {
		h.counts[i] += n
	}
	h.total += other.total
}

// Count returns how many durations h holds.
func (h *Histogram) Count() uint64 { return h.total }

// Quantile returns the duration below which a fraction q (0.5 for the
// median) of the recorded durations fall, to the bucket's precision. It
// returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q * float64(h.total))
	if rank >= h.total {
		rank = h.total - 1
	}
	var seen uint64
	for i, n := range h.counts {
		seen += n
		if seen > rank {
			return middle(i)
		}
	}
	return middle(histogramBuckets - 1)
}

// bucket returns the index of the bucket d falls in.
func bucket(d time.Duration) int {
	v := uint64(max(d, 0))
	if v < linearBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - (subBits + 1) // at least 1; v>>shift is in [subBuckets, 2*subBuckets)
	i := linearBuckets + (shift-1)*subBuckets + int(v>>shift) - subBuckets
	return min(i, histogramBuckets-1)
}

// middle returns the duration in the middle of bucket i.
func middle(i int) time.Duration {
	if i < linearBuckets {
		return time.Duration(i)
	}
	shift := (i-linearBuckets)/subBuckets + 1
	low := uint64((i-linearBuckets)%subBuckets+subBuckets) << shift
	return time.Duration(low + 1<<shift/2)
}
