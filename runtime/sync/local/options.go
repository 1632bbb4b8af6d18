package local

import "time"

// Option configures a [Sync] built by [New].
type Option interface {
	apply(*options)
}

type options struct {
	dir  string
	poll time.Duration
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithDir keeps the locks in dir. Processes share locks only if they use the
// same directory. The default is $TMPDIR/micro-<uid>/sync.
func WithDir(dir string) Option {
	return optionFunc(func(o *options) { o.dir = dir })
}

// WithPollInterval sets how often a process waiting for a lock held by
// another process tries again (at most; it starts at 1ms and doubles), and
// how often leader watchers look. The default is 50ms.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d > 0 {
			o.poll = d
		}
	})
}
