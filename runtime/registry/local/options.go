package local

import "time"

// Option configures a [Registry] built by [New].
type Option interface {
	apply(*options)
}

type options struct {
	dir  string
	poll time.Duration
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithDir keeps the registry in dir. Processes find each other only if they
// use the same directory. The default is $TMPDIR/micro-<uid>/registry.
func WithDir(dir string) Option {
	return optionFunc(func(o *options) { o.dir = dir })
}

// WithPollInterval sets how often watchers look for changes. The default is
// 250ms.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d > 0 {
			o.poll = d
		}
	})
}
