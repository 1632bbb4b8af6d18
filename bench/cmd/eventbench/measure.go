package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	cpu    time.Duration // of this process (publishers, subscriber, server) per event handled, over all rounds
	events int           // handled, over all rounds, warm-up included
	used   time.Duration // CPU over all rounds
}

// sample is what one measurement found.
type sample struct {
	rate   float64
	hist   *measure.Histogram
	lost   int
	events int           // handled, warm-up included
	cpu    time.Duration // used meanwhile
}

// The two ways of loading a target.
const (
	closedLoop = "closed loop" // each publisher waits for its event to be handled before the next
	flood      = "flood"       // publishers publish as fast as Publish returns
)

// comparisonResult is micro and its peer on one payload size and mode.
type comparisonResult struct {
	cmp         comparison
	size        int
	mode        string
	micro, peer measurement
	reference   *measurement
}

// measureComparison runs the rounds of c at size, alternating which target
// goes first.
func measureComparison(ctx context.Context, cfg config, e *env, c comparison, size int, mode string) (comparisonResult, error) {
	r := comparisonResult{cmp: c, size: size, mode: mode}
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
			got, err := measureAttempts(ctx, cfg, e, t, fmt.Sprintf("bench.s%d.r%d.t%d.%s", size, round, i, strings.ReplaceAll(mode, " ", "-")), size, mode)
			if err != nil {
				return r, fmt.Errorf("%s: %w", t.name, err)
			}
			*rates[i] = append(*rates[i], got.rate)
			order[i].hist.Merge(got.hist)
			order[i].lost += got.lost
			order[i].events += got.events
			order[i].used += got.cpu
			if order[i].events > 0 {
				order[i].cpu = order[i].used / time.Duration(order[i].events)
			}
		}
	}
	r.micro.rate, r.peer.rate = median(microRates), median(peerRates)
	if r.reference != nil {
		r.reference.rate = median(referenceRates)
	}
	return r, nil
}

// attempts is how many times a measurement that fails is made before the
// run fails: go-micro's HTTP broker sometimes fails a publish with "service
// not found" when its subscriber's registration is briefly missing, which
// says nothing about its speed.
const attempts = 3

// measureAttempts measures t once on a topic of its own, and again, on a
// new topic, when the measurement fails, up to [attempts] times in all,
// saying so on stderr; it returns the last error if none succeeds.
func measureAttempts(ctx context.Context, cfg config, e *env, t target, topic string, size int, mode string) (sample, error) {
	measure := measureOnce
	if mode == flood {
		measure = measureFlood
	}
	var err error
	for attempt := 1; attempt <= attempts; attempt++ {
		var got sample
		got, err = measure(ctx, cfg, e, t, fmt.Sprintf("%s.a%d", topic, attempt), size)
		if err == nil || ctx.Err() != nil {
			return got, err
		}
		if attempt < attempts {
			fmt.Fprintf(os.Stderr, "eventbench: %s failed (%v); measuring it again\n", t.name, err)
		}
	}
	return sample{}, err
}

// median returns the median of v, the upper one of an even count.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// measureOnce subscribes t to topic and runs the publishers for the warmup
// and then the measurement: the rate of events handled, their latencies
// from publish to handled, and how many were lost.
func measureOnce(ctx context.Context, cfg config, e *env, t target, topic string, size int) (sample, error) {
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
		return sample{}, err
	}
	defer stop()
	before, err := measure.ReadUsage()
	if err != nil {
		return sample{}, err
	}
	start := time.Now()
	measureFrom, end := start.Add(cfg.warmup), start.Add(cfg.warmup+cfg.duration)
	type outcome struct {
		hist    measure.Histogram
		handled int
		all     int // warm-up included
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
				o.all++
				if begin.After(measureFrom) {
					o.hist.Record(time.Since(begin))
					o.handled++
				}
			}
		})
	}
	wg.Wait()
	after, err := measure.ReadUsage()
	if err != nil {
		return sample{}, err
	}
	got := sample{hist: new(measure.Histogram), cpu: after.Sub(before).CPU}
	handledCount := 0
	for _, o := range outcomes {
		if o.err != nil {
			return sample{}, o.err
		}
		got.hist.Merge(&o.hist)
		handledCount += o.handled
		got.events += o.all
		got.lost += o.lost
	}
	if err := ctx.Err(); err != nil {
		return sample{}, err
	}
	got.rate = float64(handledCount) / cfg.duration.Seconds()
	return got, nil
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

// maxFloodBytes bounds the payloads a flood publishes, so that a target
// that queues in memory (go-micro's broker) does not exhaust it.
const maxFloodBytes = 64 << 20

// measureFlood subscribes t to topic and has the publishers publish as fast
// as Publish returns for the duration (or up to maxFloodBytes), then waits
// for the handler to catch up: the rate of events handled from the first
// publish to the last event handled, their latencies from publish to
// handled (queueing included), and how many were never handled (none
// arriving for lostAfter).
func measureFlood(ctx context.Context, cfg config, e *env, t target, topic string, size int) (sample, error) {
	var (
		mu      sync.Mutex
		hist    measure.Histogram
		handled int
		last    time.Time
	)
	onHandled := func(payload []byte) {
		if len(payload) < 20 {
			return
		}
		now := time.Now()
		sent := time.Unix(0, int64(binary.LittleEndian.Uint64(payload[12:])))
		mu.Lock()
		hist.Record(now.Sub(sent))
		handled++
		last = now
		mu.Unlock()
	}
	publish, stop, err := t.start(ctx, e, topic, onHandled)
	if err != nil {
		return sample{}, err
	}
	defer stop()
	before, err := measure.ReadUsage()
	if err != nil {
		return sample{}, err
	}
	var published atomic.Int64
	limit := int64(max(maxFloodBytes/size, publishers))
	begin := time.Now()
	end := begin.Add(cfg.duration)
	errs := make([]error, publishers)
	var wg sync.WaitGroup
	for w := range publishers {
		wg.Go(func() {
			payload := make([]byte, size)
			for ctx.Err() == nil && time.Now().Before(end) && published.Add(1) <= limit {
				binary.LittleEndian.PutUint64(payload[12:], uint64(time.Now().UnixNano()))
				if err := publish(ctx, payload); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return sample{}, err
	}
	total := int(min(published.Load(), limit))
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	progress, progressAt := -1, time.Now()
	for {
		mu.Lock()
		n := handled
		mu.Unlock()
		if n >= total || time.Since(progressAt) > lostAfter {
			break
		}
		if n != progress {
			progress, progressAt = n, time.Now()
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return sample{}, ctx.Err()
		}
	}
	after, err := measure.ReadUsage()
	if err != nil {
		return sample{}, err
	}
	mu.Lock()
	defer mu.Unlock()
	got := sample{hist: &hist, lost: max(total-handled, 0), events: handled, cpu: after.Sub(before).CPU}
	if handled > 0 {
		got.rate = float64(handled) / last.Sub(begin).Seconds()
	}
	return got, nil
}
