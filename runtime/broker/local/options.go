package local

import "time"

// Option configures a [Broker] built by [New].
type Option interface {
	apply(*options)
}

type options struct {
	dir          string
	poll         time.Duration
	maxEventSize int
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithDir keeps the topics' logs in dir. Processes share events only if they
// use the same directory. The default is $TMPDIR/micro-<uid>/broker.
func WithDir(dir string) Option {
	return optionFunc(func(o *options) { o.dir = dir })
}

// WithPollInterval sets how often a subscription looks for new events in its
// topic's log, and how often a node standing by in a queue group tries to
// take it over. The default is 20ms.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d > 0 {
			o.poll = d
		}
	})
}

// WithMaxEventSize sets the largest event data, in bytes, that Publish
// accepts. The default is 1 MiB, as the other backends'.
func WithMaxEventSize(n int) Option {
	return optionFunc(func(o *options) { o.maxEventSize = n })
}
