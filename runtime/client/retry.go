package client

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/protomicro/micro/runtime/errors"
)

// RetryPolicy says how often a call that failed for want of a reachable node
// ([errors.CodeUnavailable]) is tried again. It applies only to calls whose
// procedure is idempotent or free of side effects: a call that is not is
// never sent again once the server may have run it. (grpc-go still resends
// such a call, on another node, when it certainly never reached a server.)
//
// [errors.CodeUnavailable]: https://pkg.go.dev/github.com/protomicro/micro/runtime/errors#CodeUnavailable
type RetryPolicy struct {
	// MaxAttempts is how many times a call is tried in all; 1 means no retry.
	MaxAttempts int
	// InitialBackoff is the pause before the first retry; each later pause
	// doubles, up to MaxBackoff, and is shortened by a random jitter of up to
	// a half so that many clients do not retry in step.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
}

// DefaultRetryPolicy returns the policy of a client without
// [WithRetryPolicy]: three attempts, 20ms then 40ms apart. It is a function,
// not a variable, so that no program can change every other client's policy.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 3, InitialBackoff: 20 * time.Millisecond, MaxBackoff: time.Second}
}

// WithRetryPolicy sets how idempotent calls are retried. Given to [New] it
// applies to every call, replacing [DefaultRetryPolicy]; given to a call, to
// that call. RetryPolicy{MaxAttempts: 1} turns retries off.
func WithRetryPolicy(p RetryPolicy) ClientCallOption {
	return dualOption{
		client: func(c *config) { c.retry = p },
		call:   func(c *call) { c.retry = p },
	}
}

// retryable reports whether a failed attempt of call may be repeated.
func retryable(call *call, err error) bool {
	return call.spec.Idempotency.Retryable() && errors.CodeOf(err) == errors.CodeUnavailable
}

// backoff waits before retry number n (1 for the first) of the policy, or
// until ctx is done, and reports whether to go on.
func (p RetryPolicy) backoff(ctx context.Context, n int) bool {
	d := p.InitialBackoff
	for range n - 1 {
		d = min(2*d, p.MaxBackoff)
	}
	if p.MaxBackoff > 0 {
		d = min(d, p.MaxBackoff)
	}
	if d > 0 {
		d -= time.Duration(rand.Int64N(int64(d)/2 + 1))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
