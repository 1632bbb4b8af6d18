package main

import (
	"bytes"
	stderrors "errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/protomicro/micro/runtime/dynamic"
	"github.com/protomicro/micro/runtime/errors"
)

// withDetails returns err, the error of a failed call to a service of
// schema s, with the details its [errors.Error] carries written after its
// message, one a line, indented: the detail's type, then its JSON on one
// line,
//
//	resource_exhausted: out of tokens
//	  google.rpc.ErrorInfo {"reason":"TOKENS","domain":"example.com"}
//	  google.rpc.RetryInfo {"retryDelay":"1.500s"}
//
// so that main prints them under its "micro: ..." line. An error without
// details is returned as it is.
func withDetails(s *dynamic.Schema, err error) error {
	e, ok := stderrors.AsType[*errors.Error](err)
	if !ok || len(e.Details()) == 0 {
		return err
	}
	var b strings.Builder
	b.WriteString(err.Error())
	for _, detail := range e.Details() {
		b.WriteString("\n  ")
		b.WriteString(formatDetail(s, detail))
	}
	return &detailsError{err: err, text: b.String()}
}

// formatDetail writes detail as its type and its JSON, or its type and why
// it cannot be read.
func formatDetail(s *dynamic.Schema, detail *anypb.Any) string {
	name := string(detail.MessageName())
	if name == "" {
		name = fmt.Sprintf("%q", detail.GetTypeUrl())
	}
	msg, err := s.UnpackAny(detail)
	if stderrors.Is(err, protoregistry.NotFound) {
		return fmt.Sprintf("%s (%d bytes of a type neither the service's schema nor google.rpc declares)", name, len(detail.GetValue()))
	}
	var out bytes.Buffer
	if err == nil {
		err = s.EncodeJSON(&out, msg, false)
	}
	if err != nil {
		return fmt.Sprintf("%s (unreadable: %v)", name, err)
	}
	return name + " " + strings.TrimSuffix(out.String(), "\n")
}

// detailsError is an error whose text is the error it wraps followed by its
// details.
type detailsError struct {
	err  error
	text string
}

func (e *detailsError) Error() string { return e.text }
func (e *detailsError) Unwrap() error { return e.err }
