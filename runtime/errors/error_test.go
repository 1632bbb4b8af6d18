package errors

import (
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"testing"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestError(t *testing.T) {
	t.Parallel()
	err := Errorf(CodeNotFound, "user %q: %w", "ada", io.EOF)
	if got, want := err.Error(), `not_found: user "ada": EOF`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := err.Message(), `user "ada": EOF`; got != want {
		t.Errorf("Message() = %q, want %q", got, want)
	}
	if !stderrors.Is(err, io.EOF) {
		t.Error("errors.Is(err, io.EOF) = false, want true through Unwrap")
	}
	if got, want := New(CodeInternal, nil).Error(), "internal"; got != want {
		t.Errorf("New(CodeInternal, nil).Error() = %q, want %q", got, want)
	}
}

func TestCodeOf(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, CodeOK},
		{"error", Errorf(CodePermissionDenied, "no"), CodePermissionDenied},
		{"wrapped", fmt.Errorf("load: %w", Errorf(CodeNotFound, "no")), CodeNotFound},
		{"plain", stderrors.New("boom"), CodeUnknown},
		{"canceled", fmt.Errorf("wait: %w", context.Canceled), CodeCanceled},
		{"deadline", context.DeadlineExceeded, CodeDeadlineExceeded},
		{"error wins over its cause", New(CodeUnavailable, context.Canceled), CodeUnavailable},
	} {
		if got := CodeOf(tt.err); got != tt.want {
			t.Errorf("%s: CodeOf(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestDetails(t *testing.T) {
	t.Parallel()
	err := Errorf(CodeInvalidArgument, "bad")
	if err := err.AddDetail(wrapperspb.String("field name")); err != nil {
		t.Fatalf("AddDetail: %v", err)
	}
	packed, _ := anypb.New(wrapperspb.Int64(7))
	if err := err.AddDetail(packed); err != nil {
		t.Fatalf("AddDetail(any): %v", err)
	}
	details := err.Details()
	if len(details) != 2 {
		t.Fatalf("len(Details()) = %d, want 2", len(details))
	}
	var s wrapperspb.StringValue
	if err := details[0].UnmarshalTo(&s); err != nil || s.GetValue() != "field name" {
		t.Errorf("Details()[0] = %v, %v, want %q", s.GetValue(), err, "field name")
	}
	var n wrapperspb.Int64Value
	if err := details[1].UnmarshalTo(&n); err != nil || n.GetValue() != 7 {
		t.Errorf("Details()[1] = %v, %v, want 7 (an Any is attached as it is)", n.GetValue(), err)
	}
}
