// Package watch is the event queue behind every backend's [registry.Watcher]:
// an unbounded, ordered queue, so that a slow reader never blocks the
// registry and never misses a change.
package watch

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/protomicro/micro/runtime/registry"
)

// Queue is a [registry.Watcher] fed by its backend through [Queue.Push].
type Queue struct {
	service string // "" matches every service
	ctx     context.Context
	cancel  context.CancelFunc
	ready   chan struct{} // holds a token while events are queued

	mu     sync.Mutex
	events []*registry.Event
	err    error // why the backend ended the watch, if it did
}

// New returns a queue that accepts the events opts select and stops when ctx
// is done. onStop, if not nil, runs once when the queue stops, so that the
// backend can forget it.
func New(ctx context.Context, opts registry.WatchOptions, onStop func(*Queue)) *Queue {
	ctx, cancel := context.WithCancel(ctx)
	q := &Queue{service: opts.Service, ctx: ctx, cancel: cancel, ready: make(chan struct{}, 1)}
	if onStop != nil {
		context.AfterFunc(ctx, func() { onStop(q) })
	}
	return q
}

// Push queues e if the queue's options select its service. It never blocks.
func (q *Queue) Push(e *registry.Event) {
	if q.service != "" && e.Service.Name != q.service {
		return
	}
	q.mu.Lock()
	q.events = append(q.events, e)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Next implements [registry.Watcher].
func (q *Queue) Next() (*registry.Event, error) {
	for {
		q.mu.Lock()
		if len(q.events) > 0 && (q.ctx.Err() == nil || q.err != nil) {
			e := q.events[0]
			q.events[0] = nil
			q.events = q.events[1:]
			more := len(q.events) > 0
			q.mu.Unlock()
			if more {
				select {
				case q.ready <- struct{}{}:
				default:
				}
			}
			return e, nil
		}
		err := q.err
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-q.ctx.Done():
			if err != nil {
				return nil, fmt.Errorf("watch: %w", errors.Join(registry.ErrWatcherStopped, err))
			}
			return nil, fmt.Errorf("watch: %w", registry.ErrWatcherStopped)
		}
	}
}

// Done is closed once the queue is stopped, for the backend's feeding
// goroutine to end with it.
func (q *Queue) Done() <-chan struct{} { return q.ctx.Done() }

// Fail ends the watch because the backend can no longer follow changes;
// Next reports err, after the events already queued.
func (q *Queue) Fail(err error) {
	q.mu.Lock()
	q.err = err
	q.mu.Unlock()
	q.cancel()
}

// Stop implements [registry.Watcher].
func (q *Queue) Stop() { q.cancel() }
