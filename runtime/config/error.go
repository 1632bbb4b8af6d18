package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is a problem with one source's configuration: a syntax error at a
// line, an unknown key, a value of the wrong type. Use [errors.As] to get
// it from the errors of [New], [Config.Reload], [Bind] and the watch
// callbacks.
type Error struct {
	// Source names the source, as its String method does ("config.yaml").
	Source string
	// Line and Column locate the problem in the source, from 1; 0 when
	// unknown.
	Line, Column int
	// Key is the dotted key the problem is about ("db.port"), if any.
	Key string
	// Err says what is wrong.
	Err error
}

// Error returns "source:line:column: key "k": what is wrong", leaving out
// the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":" + strconv.Itoa(e.Column))
		}
	}
	if e.Key != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		fmt.Fprintf(&b, "key %q", e.Key)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns what is wrong.
func (e *Error) Unwrap() error { return e.Err }
