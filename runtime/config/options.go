package config

import (
	"log/slog"
	"regexp"
)

// Option configures a [Config] made by [New].
type Option interface {
	apply(*options)
}

type options struct {
	sources    []Source
	watch      bool
	logger     *slog.Logger
	validators []func(*Snapshot) error
	secret     *regexp.Regexp
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithSources adds sources, later ones winning over earlier ones and over
// those of earlier WithSources. By default there are none, and the
// configuration is empty.
func WithSources(sources ...Source) Option {
	return optionFunc(func(o *options) { o.sources = append(o.sources, sources...) })
}

// WithoutWatch loads the sources once, at [New], and on [Config.Reload]. By
// default every source that is a [Watcher] is watched.
func WithoutWatch() Option {
	return optionFunc(func(o *options) { o.watch = false })
}

// WithLogger sets where rejected reloads are logged. The default is
// [slog.Default], as it is when [New] is called.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(o *options) { o.logger = logger })
}

// WithValidator adds a check every configuration must pass, at [New] and on
// every reload; a reload it refuses is rejected, keeping the last good
// configuration. By default there is none.
func WithValidator(validate func(*Snapshot) error) Option {
	return optionFunc(func(o *options) { o.validators = append(o.validators, validate) })
}

// WithSecretPattern sets which keys hold secrets, redacted when a
// [Snapshot] is printed or logged. The default matches keys with password,
// secret, token or key in them, ignoring case.
func WithSecretPattern(pattern *regexp.Regexp) Option {
	return optionFunc(func(o *options) { o.secret = pattern })
}

// WithOptions composes options into one.
func WithOptions(opts ...Option) Option {
	return optionFunc(func(o *options) {
		for _, opt := range opts {
			opt.apply(o)
		}
	})
}

func newOptions(opts []Option) options {
	o := options{watch: true, logger: slog.Default()}
	for _, opt := range opts {
		opt.apply(&o)
	}
	if o.secret == nil {
		o.secret = regexp.MustCompile(secretPattern)
	}
	return o
}
