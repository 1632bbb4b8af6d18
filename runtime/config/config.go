package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
)

// Config is a service's configuration, merged from its sources and kept
// current as they change. It is safe for concurrent use: reads never wait
// for a reload.
type Config struct {
	options options
	current atomic.Pointer[Snapshot]

	mu       sync.Mutex // serializes loads, so that callbacks see changes in order
	layers   []layer    // the last good values of each source
	bindings []binding
	watchers callbacks[func(old, new *Snapshot, err error)]

	cancel context.CancelFunc
	done   []<-chan struct{}
	closed atomic.Bool
}

// binding is a typed view kept in step with the configuration (a [Value]).
type binding interface {
	// prepare decodes and checks s, returning how to make it current.
	prepare(s *Snapshot) (commit func(), err error)
	// reject tells the view's watchers that a reload failed.
	reject(err error)
}

// New loads every source, in order, and merges them into the first
// [Snapshot]; then, unless [WithoutWatch] is given, it watches the sources
// that are a [Watcher] until [Config.Close]. An error from a source or a
// validator fails New; ctx bounds the loading only.
func New(ctx context.Context, opts ...Option) (*Config, error) {
	c := &Config{options: newOptions(opts)}
	c.layers = make([]layer, len(c.options.sources))
	watchCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	if err := c.start(ctx, watchCtx); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// start watches the sources, then loads them.
func (c *Config) start(ctx, watchCtx context.Context) error {
	// Watch before loading, so that no change between the two is missed: a
	// change seen while loading waits on c.mu, then loads again.
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.options.watch {
		for i, source := range c.options.sources {
			w, ok := source.(Watcher)
			if !ok {
				continue
			}
			done, err := w.Watch(watchCtx, func() { c.reload(watchCtx, i) })
			if err != nil {
				return sourceError(source, err)
			}
			c.done = append(c.done, done)
		}
	}
	for i, source := range c.options.sources {
		values, err := source.Load(ctx)
		if err != nil {
			return sourceError(source, err)
		}
		c.layers[i] = layer{source: source.String(), values: values}
	}
	s, err := c.check(c.layers)
	if err != nil {
		return err
	}
	c.current.Store(s)
	return nil
}

// sourceError makes sure an error names its source.
func sourceError(source Source, err error) error {
	var configErr *Error
	if errors.As(err, &configErr) {
		return err
	}
	return &Error{Source: source.String(), Err: err}
}

// check merges layers and runs the validators.
func (c *Config) check(layers []layer) (*Snapshot, error) {
	s, err := merge(layers, c.options.secret)
	if err != nil {
		return nil, err
	}
	for _, validate := range c.options.validators {
		if err := validate(s); err != nil {
			return nil, fmt.Errorf("invalid config: %w", err)
		}
	}
	return s, nil
}

// Snapshot returns the current configuration. It is one atomic load.
func (c *Config) Snapshot() *Snapshot { return c.current.Load() }

// Scan decodes the current configuration into v, as [Snapshot.Scan] does.
func (c *Config) Scan(v any) error { return c.Snapshot().Scan(v) }

// String returns the current configuration with secrets redacted, as
// [Snapshot.String] does.
func (c *Config) String() string { return c.Snapshot().String() }

// LogValue logs the current configuration with secrets redacted, as
// [Snapshot.LogValue] does.
func (c *Config) LogValue() slog.Value { return c.Snapshot().LogValue() }

// Watch calls fn after every reload, with the configuration before and
// after, until the returned stop is called. When a reload is rejected, err
// says why and both are the configuration that stays. Calls are in order,
// one at a time; fn must not call [Bind] or Watch.
func (c *Config) Watch(fn func(old, new *Snapshot, err error)) (stop func()) {
	return c.watchers.add(fn)
}

// Reload loads every source again, as a change to each would; it returns
// the error of a rejected reload, which keeps the last good configuration.
func (c *Config) Reload(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	layers := slices.Clone(c.layers)
	for i, source := range c.options.sources {
		values, err := source.Load(ctx)
		if err != nil {
			return c.rejectLocked(sourceError(source, err))
		}
		layers[i] = layer{source: source.String(), values: values}
	}
	return c.applyLocked(layers)
}

// reload loads source i again, after it changed.
func (c *Config) reload(ctx context.Context, i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() || c.current.Load() == nil {
		return // closed, or New failed
	}
	source := c.options.sources[i]
	values, err := source.Load(ctx)
	if err != nil {
		_ = c.rejectLocked(sourceError(source, err))
		return
	}
	layers := slices.Clone(c.layers)
	layers[i] = layer{source: source.String(), values: values}
	_ = c.applyLocked(layers)
}

// applyLocked makes layers current if they merge, validate and decode into
// every binding.
func (c *Config) applyLocked(layers []layer) error {
	s, err := c.check(layers)
	if err != nil {
		return c.rejectLocked(err)
	}
	commits := make([]func(), 0, len(c.bindings))
	for _, b := range c.bindings {
		commit, err := b.prepare(s)
		if err != nil {
			return c.rejectLocked(err)
		}
		commits = append(commits, commit)
	}
	c.layers = layers
	old := c.current.Swap(s)
	for _, commit := range commits {
		commit()
	}
	for _, fn := range c.watchers.list() {
		fn(old, s, nil)
	}
	return nil
}

// rejectLocked reports a reload that failed, keeping the current config.
func (c *Config) rejectLocked(err error) error {
	c.options.logger.Error("config: reload rejected; keeping the last good config", "err", err)
	for _, b := range c.bindings {
		b.reject(err)
	}
	current := c.current.Load()
	for _, fn := range c.watchers.list() {
		fn(current, current, err)
	}
	return err
}

// Close stops watching the sources, waits until no callback runs, and
// closes the sources that are an [io.Closer]: a Config owns its sources.
// The configuration stays readable.
func (c *Config) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.stop()
	var errs []error
	for _, source := range c.options.sources {
		if closer, ok := source.(io.Closer); ok {
			if err := closer.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", source, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (c *Config) stop() {
	c.cancel()
	for _, done := range c.done {
		<-done
	}
}

// callbacks is a list of functions that can be added and removed.
type callbacks[F any] struct {
	mu   sync.Mutex
	next int
	fns  map[int]F
}

func (cb *callbacks[F]) add(fn F) (remove func()) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if cb.fns == nil {
		cb.fns = map[int]F{}
	}
	id := cb.next
	cb.next++
	cb.fns[id] = fn
	return func() {
		cb.mu.Lock()
		defer cb.mu.Unlock()
		delete(cb.fns, id)
	}
}

// list returns the functions in the order they were added.
func (cb *callbacks[F]) list() []F {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	ids := make([]int, 0, len(cb.fns))
	for id := range cb.fns {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]F, len(ids))
	for i, id := range ids {
		out[i] = cb.fns[id]
	}
	return out
}
