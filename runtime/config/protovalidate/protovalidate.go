// Package protovalidate checks a configuration bound to a proto message
// against the message's protovalidate rules (buf.validate annotations in
// the config.proto), so that a reload breaking one is rejected and the last
// good value stays.
//
// It is a package of its own so that only programs that use it link
// protovalidate and its CEL interpreter:
//
//	v, err := config.Bind[*configpb.Config](c, protovalidate.Validate[*configpb.Config]())
//
// See https://protovalidate.com for the rules.
package protovalidate

import (
	"errors"
	"fmt"
	"strings"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"

	"github.com/protomicro/micro/runtime/config"
)

// Option configures [Validate].
type Option interface {
	apply(*options)
}

type options struct {
	validator protovalidate.Validator
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithValidator sets the protovalidate validator that checks the value, for
// one made with options of its own (protovalidate.New). The default is
// protovalidate.GlobalValidator.
func WithValidator(validator protovalidate.Validator) Option {
	return optionFunc(func(o *options) { o.validator = validator })
}

// Validate returns a [config.BindOption] that checks every value of a
// [config.Bind] to the message T against T's protovalidate rules, at Bind
// and on every reload. A value breaking a rule is rejected; the error names
// each field (as a [*config.Error] with Key set to the field's path, such as
// "db.port") and the rule it breaks, and unwraps to a
// *protovalidate.ValidationError as well. The validator is safe for
// concurrent use, as reloads need.
func Validate[T proto.Message](opts ...Option) config.BindOption {
	o := options{validator: protovalidate.GlobalValidator}
	for _, opt := range opts {
		opt.apply(&o)
	}
	return config.Validate(func(m T) error {
		err := o.validator.Validate(m)
		var invalid *protovalidate.ValidationError
		if errors.As(err, &invalid) {
			return newRuleError(invalid)
		}
		if err != nil {
			return fmt.Errorf("protovalidate: %w", err)
		}
		return nil
	})
}

// ruleError is a value breaking rules: one [*config.Error] per violation,
// then the violations as protovalidate reports them.
type ruleError struct {
	violations []error
	cause      *protovalidate.ValidationError
}

func newRuleError(cause *protovalidate.ValidationError) *ruleError {
	e := &ruleError{cause: cause}
	for _, v := range cause.Violations {
		rule := v.Proto.GetRuleId()
		if rule == "" {
			rule = "unknown rule"
		}
		what := v.Proto.GetMessage()
		if what == "" {
			what = "breaks " + rule
		} else {
			what += " (" + rule + ")"
		}
		e.violations = append(e.violations, &config.Error{
			Key: protovalidate.FieldPathString(v.Proto.GetField()),
			Err: errors.New(what),
		})
	}
	return e
}

func (e *ruleError) Error() string {
	if len(e.violations) == 0 {
		return e.cause.Error()
	}
	msgs := make([]string, len(e.violations))
	for i, v := range e.violations {
		msgs[i] = v.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns the violations, each a [*config.Error], and the
// *protovalidate.ValidationError.
func (e *ruleError) Unwrap() []error {
	return append(e.violations[:len(e.violations):len(e.violations)], e.cause)
}
