package broker

import (
	"context"
	"errors"
)

// ErrClosed is returned by Publish and Subscribe once the broker is closed.
var ErrClosed = errors.New("broker closed")

// ErrTooLarge is wrapped by the error Publish returns for an event larger
// than the backend accepts; the message names the limit.
var ErrTooLarge = errors.New("event too large")

// ErrDrop is what errors made by [Drop] match with errors.Is.
var ErrDrop = errors.New("event dropped")

// Broker publishes events and delivers them to subscribers. Implementations
// are safe for concurrent use.
type Broker interface {
	// Publish sends e on topic. It returns once the backend has taken the
	// event (for a durable backend, once it is stored), or with an error: an
	// event the backend did not confirm is never silently lost. An event
	// larger than the backend accepts is refused with an error wrapping
	// [ErrTooLarge]. Programs usually call the typed [Publish] instead.
	Publish(ctx context.Context, topic string, e *Event) error
	// Subscribe delivers the events published on topic from now on to h,
	// until the broker is closed; see [SubscribeOption] for queue groups,
	// retries and dead letters. Programs usually call the typed [Subscribe].
	Subscribe(topic string, h Handler, opts ...SubscribeOption) error
	// Close drains the broker: it stops taking new events at once, waits for
	// the handlers in flight to finish, then releases its resources. If ctx
	// ends first, the handlers still running have their contexts canceled,
	// their events are left unacknowledged for redelivery (on backends that
	// keep events), and Close returns ctx's error. Publish and Subscribe
	// return [ErrClosed] once Close has begun. Close is safe to call more
	// than once.
	Close(ctx context.Context) error
	// String names the backend, "memory".
	String() string
}

// Handler handles one delivery of an event. Returning nil acknowledges it;
// an error has it redelivered, or dead-lettered after the last delivery or
// when the error is made by [Drop]. Handlers run with the event's attributes
// as the context's incoming metadata (see [Subscription.Handle]).
type Handler func(ctx context.Context, e *Event) error

// Drop returns an error that sends the event being handled to the dead-letter
// topic at once, without further deliveries, with err's message as the
// reason: for an event that will never succeed (a poison message). The error
// matches [ErrDrop] with errors.Is, and unwraps to err.
func Drop(err error) error {
	if err == nil {
		err = ErrDrop
	}
	return &dropError{err: err}
}

type dropError struct{ err error }

func (e *dropError) Error() string        { return e.err.Error() }
func (e *dropError) Unwrap() error        { return e.err }
func (e *dropError) Is(target error) bool { return target == ErrDrop }
