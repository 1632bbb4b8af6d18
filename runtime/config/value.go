package config

import (
	"fmt"
	"reflect"
	"sync/atomic"

	"google.golang.org/protobuf/proto"
)

// BindOption configures a [Value] made by [Bind].
type BindOption interface {
	applyBind(*bindOptions)
}

type bindOptions struct {
	strict    bool
	validates []any // each a func(T) error
}

type bindOptionFunc func(*bindOptions)

func (f bindOptionFunc) applyBind(o *bindOptions) { f(o) }

// Strict refuses a configuration with a key that matches no field, naming
// the key and the nearest field. By default such keys are ignored.
func Strict() BindOption {
	return bindOptionFunc(func(o *bindOptions) { o.strict = true })
}

// Validate adds a check every decoded value must pass, at [Bind] and on
// every reload; a reload it refuses is rejected, keeping the last good
// value. T must be the type given to [Bind].
func Validate[T any](validate func(T) error) BindOption {
	return bindOptionFunc(func(o *bindOptions) { o.validates = append(o.validates, validate) })
}

// Value is the configuration decoded into a T, a struct or a proto message
// (a pointer type such as *configpb.Config), kept current as the sources
// change. It is safe for concurrent use.
type Value[T any] struct {
	config    *Config
	strict    bool
	validates []func(T) error
	current   atomic.Pointer[T]
	watchers  callbacks[func(old, new T, err error)]
}

// Bind decodes the configuration of c into a T, as [Snapshot.Scan] does,
// and again after every change; a change that does not decode or validate
// is rejected for every binding and the whole [Config], so that values and
// snapshots never disagree.
func Bind[T any](c *Config, opts ...BindOption) (*Value[T], error) {
	var o bindOptions
	for _, opt := range opts {
		opt.applyBind(&o)
	}
	v := &Value[T]{config: c, strict: o.strict}
	for _, fn := range o.validates {
		validate, ok := fn.(func(T) error)
		if !ok {
			var zero T
			return nil, fmt.Errorf("bind config to %T: validator %T does not take a %T", zero, fn, zero)
		}
		v.validates = append(v.validates, validate)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	commit, err := v.prepare(c.current.Load())
	if err != nil {
		return nil, err
	}
	commit()
	c.bindings = append(c.bindings, v)
	return v, nil
}

// Get returns the current value. It is one atomic load and a copy of T; a
// T with pointers, maps or slices shares them with other readers, so treat
// it as read-only.
func (v *Value[T]) Get() T { return *v.current.Load() }

// Watch calls fn after every change of the configuration with the value
// before and after, until the returned stop is called. When a reload is
// rejected, err says why, naming the source, line and column, and both are the
// value that stays. Calls are in order, one at a time; fn must not call
// [Bind] or Watch.
func (v *Value[T]) Watch(fn func(old, new T, err error)) (stop func()) {
	return v.watchers.add(fn)
}

func (v *Value[T]) prepare(s *Snapshot) (func(), error) {
	value, err := decodeNew[T](s, v.strict)
	if err != nil {
		return nil, err
	}
	for _, validate := range v.validates {
		if err := validate(value); err != nil {
			return nil, fmt.Errorf("invalid config: %w", err)
		}
	}
	return func() {
		old := v.current.Swap(&value)
		if old == nil {
			return
		}
		for _, fn := range v.watchers.list() {
			fn(*old, value, nil)
		}
	}, nil
}

func (v *Value[T]) reject(err error) {
	current := *v.current.Load()
	for _, fn := range v.watchers.list() {
		fn(current, current, err)
	}
}

// decodeNew decodes s into a new T.
func decodeNew[T any](s *Snapshot, strict bool) (T, error) {
	var value T
	if m, ok := any(value).(proto.Message); ok {
		// T is a pointer to a message: a nil one says which message to make.
		value = m.ProtoReflect().New().Interface().(T)
		return value, s.decode(value, strict)
	}
	if t := reflect.TypeFor[T](); t.Kind() == reflect.Pointer {
		value = reflect.New(t.Elem()).Interface().(T)
		return value, s.decode(value, strict)
	}
	return value, s.decode(&value, strict)
}
