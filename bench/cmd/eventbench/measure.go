package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/protomicro/micro/bench/internal/measure"
)

// config is how long and how often to measure.
type config struct {
	rounds   int
	duration time.Duration
	warmup   time.Duration
}

// lostAfter is how long a publisher waits for its event to be handled
// before counting it lost.
const lostAfter = 5 * time.Second

// measurement is one target's results on one workload.
type measurement struct {
	target string
	rate   float64 // events handled per second, of the median round
	hist   measure.Histogram
	lost   int
}

// comparisonResult is micro and its peer on one payload size.
type comparisonResult struct {
	cmp         comparison
	size        int
	micro, peer measurement
	reference   *measurement
}

// measureComparison runs the rounds of c at size, alternating which target
// goes first.
func measureComparison(ctx context.Context, cfg config, e *env, c comparison, size int) (comparisonResult, error) {
	r := comparisonResult{cmp: c, size: size}
	r.micro.target, r.peer.target = c.micro.name, c.peer.name
	var microRates, peerRates, referenceRates []float64
	if c.reference != nil {
		r.reference = &measurement{target: c.reference.name}
	}
	for round := range cfg.rounds {
		order := []*measurement{&r.micro, &r.peer}
		targets := []target{c.micro, c.peer}
		rates := []*[]float64{&microRates, &peerRates}
		if c.reference != nil {
			order = append(order, r.reference)
			targets = append(targets, *c.reference)
			rates = append(rates, &referenceRates)
		}
		if round%2 == 1 {
			slices.Reverse(order)
			slices.Reverse(targets)
			slices.Reverse(rates)
		}
		for i, t := range targets {
			topic := fmt.Sprintf("bench.s%d.r%d.t%d", size, round, i)
			rate, hist, lost, err := measureOnce(ctx, cfg, e, t, topic, size)
			if err != nil {
				return r, fmt.Errorf("%s: %w", t.name, err)
			}
			*rates[i] = append(*rates[i], rate)
			order[i].hist.Merge(hist)
			order[i].lost += lost
		}
	}
	r.micro.rate, r.peer.rate = median(microRates), median(peerRates)
	if r.reference != nil {
		r.reference.rate = median(referenceRates)
	}
	return r, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// measureOnce subscribes t to topic and runs the publishers for the warmup
// and then the measurement: the rate of events handled, their latencies
// from publish to handled, and how many were lost.
func measureOnce(ctx context.Context, cfg config, e *env, t target, topic string, size int) (float64, *measure.Histogram, int, error) {
	waiters := make([]chan uint64, publishers)
	for i := range waiters {
		waiters[i] = make(chan uint64, 16)
	}
	handled := func(payload []byte) {
		if len(payload) < 12 {
			return
		}
		w := binary.LittleEndian.Uint32(payload)
		if int(w) >= len(waiters) {
			return
		}
		select {
		case waiters[w] <- binary.LittleEndian.Uint64(payload[4:]):
		default:
		}
	}
	publish, stop, err := t.start(ctx, e, topic, handled)
	if err != nil {
		return 0, nil, 0, err
	}
	defer stop()
	start := time.Now()
	measureFrom, end := start.Add(cfg.warmup), start.Add(cfg.warmup+cfg.duration)
	type outcome struct {
		hist    measure.Histogram
		handled int
		lost    int
		err     error
	}
	outcomes := make([]outcome, publishers)
	var wg sync.WaitGroup
	for w := range publishers {
		wg.Go(func() {
			o := &outcomes[w]
			payload := make([]byte, size)
			binary.LittleEndian.PutUint32(payload, uint32(w))
			timer := time.NewTimer(lostAfter)
			defer timer.Stop()
			for seq := uint64(1); ctx.Err() == nil; seq++ {
				begin := time.Now()
				if !begin.Before(end) {
					return
				}
				binary.LittleEndian.PutUint64(payload[4:], seq)
				if err := publish(ctx, payload); err != nil {
					o.err = err
					return
				}
				timer.Reset(lostAfter)
				if !await(ctx, waiters[w], seq, timer) {
					o.lost++
					continue
				}
				if begin.After(measureFrom) {
					o.hist.Record(time.Since(begin))
					o.handled++
				}
			}
		})
	}
	wg.Wait()
	var hist measure.Histogram
	handledCount, lost := 0, 0
	for _, o := range outcomes {
		if o.err != nil {
			return 0, nil, 0, o.err
		}
		hist.Merge(&o.hist)
		handledCount += o.handled
		lost += o.lost
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, 0, err
	}
	return float64(handledCount) / cfg.duration.Seconds(), &hist, lost, nil
}

// await waits for seq on c, skipping earlier sequences (events counted lost
// that arrived late); it reports false if timer fires or ctx ends first.
func await(ctx context.Context, c <-chan uint64, seq uint64, timer *time.Timer) bool {
	for {
		select {
		case s := <-c:
			if s == seq {
				return true
			}
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}
