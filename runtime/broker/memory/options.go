package memory

// Option configures a [Broker] built by [New].
type Option interface {
	apply(*options)
}

type options struct {
	maxEventSize int
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithMaxEventSize sets the largest event data, in bytes, that Publish
// accepts. The default is 1 MiB, as NATS's default max_payload.
func WithMaxEventSize(n int) Option {
	return optionFunc(func(o *options) { o.maxEventSize = n })
}
