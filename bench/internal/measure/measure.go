// Package measure drives closed-loop load through a target's client and
// measures it: operations completed, their latency, and what the process
// used (CPU time and allocations).
//
// A [Workload] is a kind of operation (a unary call, a message received on
// a server stream, a round trip on a bidirectional stream), how many run
// at once, and the message size. A [Runner] runs one against a client in
// windows: one to warm up, then one to measure.
package measure

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	echov1 "github.com/protomicro/micro/bench/gen/echo/v1"
	"github.com/protomicro/micro/bench/internal/target"
)

// Kind is the kind of operation a workload repeats.
type Kind string

// The kinds of operation.
const (
	// Unary is one unary call: a request and its response.
	Unary Kind = "unary"
	// Stream is one message received on a server stream that the server
	// fills as fast as it can.
	Stream Kind = "stream"
	// Chat is one round trip on a bidirectional stream: a request sent and
	// its answer received.
	Chat Kind = "chat"
)

// Workload is what a load generator does.
type Workload struct {
	Kind Kind `json:"kind"`
	// Concurrency is how many callers (or streams) run at once, each
	// starting its next operation when the last one completes.
	Concurrency int `json:"concurrency"`
	// Payload is the size of each message's content in bytes, half of it in
	// the string field and half in the bytes field.
	Payload int `json:"payload"`
}

// String describes the workload: "unary 64 B c=16".
func (w Workload) String() string {
	return fmt.Sprintf("%s %s c=%d", w.Kind, Size(w.Payload), w.Concurrency)
}

// Size formats a byte count: "64 B", "16 KiB".
func Size(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// ParseKind returns the kind named s.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case Unary, Stream, Chat:
		return k, nil
	}
	return "", fmt.Errorf("unknown workload kind %q: want unary, stream or chat", s)
}

// Window is what one window of a run did.
type Window struct {
	// Ops is how many operations completed.
	Ops int64
	// Elapsed is how long the window lasted, until the last operation in
	// flight at its end completed.
	Elapsed time.Duration
	// Latency holds the latency of each operation; it is empty for
	// [Stream], whose messages have none of their own.
	Latency *Histogram
}

// Runner runs a workload against a client. Streams are opened once and
// stay open from window to window.
type Runner struct {
	callers []caller
	cancel  context.CancelFunc
	record  bool
}

// caller performs operations one after another.
type caller struct {
	op      func() error
	latency *Histogram
}

// NewRunner opens what w needs on c (its streams) and returns a runner.
func NewRunner(ctx context.Context, c target.Client, w Workload) (*Runner, error) {
	if w.Concurrency < 1 {
		return nil, fmt.Errorf("workload %s: concurrency must be at least 1", w)
	}
	message := strings.Repeat("x", w.Payload/2)
	payload := make([]byte, w.Payload-len(message))
	for i := range payload {
		payload[i] = byte(i)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Runner{cancel: cancel, record: w.Kind != Stream}
	for range w.Concurrency {
		op, err := newOp(ctx, c, w.Kind, message, payload)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("workload %s: %w", w, err)
		}
		r.callers = append(r.callers, caller{op: op, latency: new(Histogram)})
	}
	return r, nil
}

// newOp returns the operation of one caller of kind k: it sends message and
// payload, and checks that what comes back is as long.
func newOp(ctx context.Context, c target.Client, k Kind, message string, payload []byte) (func() error, error) {
	check := func(gotMessage string, gotPayload []byte) error {
		if len(gotMessage) != len(message) || len(gotPayload) != len(payload) {
			return fmt.Errorf("got %d + %d bytes back, want %d + %d", len(gotMessage), len(gotPayload), len(message), len(payload))
		}
		return nil
	}
	switch k {
	case Unary:
		req := &echov1.EchoRequest{Message: message, Payload: payload}
		return func() error {
			res, err := c.Echo(ctx, req)
			if err != nil {
				return err
			}
			return check(res.GetMessage(), res.GetPayload())
		}, nil
	case Stream:
		s, err := c.Stream(ctx, &echov1.StreamRequest{Message: message, Payload: payload})
		if err != nil {
			return nil, err
		}
		return func() error {
			res, err := s.Recv()
			if err != nil {
				return err
			}
			return check(res.GetMessage(), res.GetPayload())
		}, nil
	case Chat:
		s, err := c.Chat(ctx)
		if err != nil {
			return nil, err
		}
		req := &echov1.ChatRequest{Message: message, Payload: payload}
		return func() error {
			if err := s.Send(req); err != nil {
				return err
			}
			res, err := s.Recv()
			if err != nil {
				return err
			}
			return check(res.GetMessage(), res.GetPayload())
		}, nil
	}
	return nil, fmt.Errorf("unknown workload kind %q", k)
}

// Run runs the workload for d and returns what it did. Each caller stops
// starting operations once d has passed; the window ends when the last
// one's operation completes. The first failure ends the run.
func (r *Runner) Run(d time.Duration) (Window, error) {
	for _, c := range r.callers {
		*c.latency = Histogram{}
	}
	var (
		stop  atomic.Bool
		ops   atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	start := time.Now()
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	defer timer.Stop()
	for _, c := range r.callers {
		wg.Go(func() {
			var n int64
			defer func() { ops.Add(n) }()
			for !stop.Load() {
				began := time.Now()
				if err := c.op(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					stop.Store(true)
					return
				}
				if r.record {
					c.latency.Record(time.Since(began))
				}
				n++
			}
		})
	}
	wg.Wait()
	w := Window{Ops: ops.Load(), Elapsed: time.Since(start), Latency: new(Histogram)}
	for _, c := range r.callers {
		w.Latency.Merge(c.latency)
	}
	if first != nil {
		return w, first
	}
	if w.Ops == 0 {
		return w, errors.New("no operation completed")
	}
	return w, nil
}

// Close ends the runner's streams.
func (r *Runner) Close() {
	r.cancel()
}
