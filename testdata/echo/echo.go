// Package echo implements the streaming.v1.Echo test service (one method of
// each kind, from testdata/proto/streaming) for the runtime's tests, the
// end-to-end tests and the demo.
package echo

import (
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/golden/streaming"
)

// Handler implements [streaming.EchoHandler].
//
// Echo obeys a few commands in its message, so that a test in another process
// can provoke each kind of failure: "error:<code>:<message>" returns an
// errors.Error with that code ("error:not_found:no such user"),
// "details:<code>:<message>" returns the same with the details of
// [ErrorDetails] attached, "plain:<text>" returns a plain error, "panic"
// panics, and "sleep:<duration>" waits that long or until the call is
// canceled.
type Handler struct {
	// Node, if set, is returned in every EchoResponse, so that a caller can
	// tell which node of a service answered.
	Node string
	// Ended, if set, is told how every stream handler ended: the procedure
	// and the error it returned (nil when it finished normally). It must be
	// safe for concurrent use.
	Ended func(procedure string, err error)
}

var _ streaming.EchoHandler = Handler{}

// Echo returns the message and payload it is sent, the metadata it received
// (first value of each key) and the time left before its deadline.
func (h Handler) Echo(ctx context.Context, req *streaming.EchoRequest) (*streaming.EchoResponse, error) {
	if err := command(ctx, req.GetMessage()); err != nil {
		return nil, err
	}
	res := &streaming.EchoResponse{Message: req.GetMessage(), Payload: req.GetPayload(), Node: h.Node}
	if md := metadata.FromIncomingContext(ctx); len(md) > 0 {
		res.Metadata = make(map[string]string, len(md))
		for key := range md {
			res.Metadata[key] = md.Get(key)
		}
	}
	if deadline, ok := ctx.Deadline(); ok {
		res.DeadlineMs = time.Until(deadline).Milliseconds()
	}
	return res, nil
}

// ErrorDetails returns the details that Echo attaches to the error it is
// asked for with "details:<code>:<message>": a google.rpc.ErrorInfo (reason
// ECHO_ASKED, domain echo.micro.test, metadata code and message) and a
// google.rpc.RetryInfo of 1.5s.
func ErrorDetails(code, message string) []proto.Message {
	return []proto.Message{
		&errdetails.ErrorInfo{Reason: "ECHO_ASKED", Domain: "echo.micro.test", Metadata: map[string]string{"code": code, "message": message}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)},
	}
}

func command(ctx context.Context, message string) error {
	verb, arg, _ := strings.Cut(message, ":")
	switch verb {
	case "error", "details":
		name, text, _ := strings.Cut(arg, ":")
		var code errors.Code
		if err := code.UnmarshalText([]byte(name)); err != nil {
			return errors.New(errors.CodeInvalidArgument, err)
		}
		e := errors.New(code, stderrors.New(text))
		if verb == "details" {
			for _, detail := range ErrorDetails(name, text) {
				if err := e.AddDetail(detail); err != nil {
					return err
				}
			}
		}
		return e
	case "plain":
		return stderrors.New(arg)
	case "panic":
		panic("echo: asked to panic")
	case "sleep":
		d, err := time.ParseDuration(arg)
		if err != nil {
			return errors.New(errors.CodeInvalidArgument, err)
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Count sends the numbers from 1 to n, pausing interval_ms between them; with
// n = 0 it counts until the call is canceled.
func (h Handler) Count(ctx context.Context, req *streaming.CountRequest, stream server.ServerStream[streaming.CountResponse]) (err error) {
	defer h.ended(streaming.EchoCountProcedure, &err)
	for i := int64(1); req.GetN() == 0 || i <= req.GetN(); i++ {
		if err := stream.Send(&streaming.CountResponse{Number: i, Payload: req.GetPayload()}); err != nil {
			return err
		}
		if req.GetIntervalMs() > 0 {
			select {
			case <-time.After(time.Duration(req.GetIntervalMs()) * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// Sum adds up the numbers it receives until the caller closes its side.
func (h Handler) Sum(ctx context.Context, stream server.ClientStream[streaming.SumRequest]) (res *streaming.SumResponse, err error) {
	defer h.ended(streaming.EchoSumProcedure, &err)
	res = new(streaming.SumResponse)
	for {
		req, err := stream.Recv()
		if err == io.EOF { //nolint:errorlint // Recv returns io.EOF itself
			return res, nil
		}
		if err != nil {
			return nil, err
		}
		res.Sum += req.GetNumber()
		res.Count++
	}
}

// Chat answers each message with "echo: " and the message, until the caller
// closes its side. It obeys the commands of Echo in each message's text,
// ending the stream with the error asked for.
func (h Handler) Chat(ctx context.Context, stream server.BidiStream[streaming.ChatRequest, streaming.ChatResponse]) (err error) {
	defer h.ended(streaming.EchoChatProcedure, &err)
	for {
		req, err := stream.Recv()
		if err == io.EOF { //nolint:errorlint // Recv returns io.EOF itself
			return nil
		}
		if err != nil {
			return err
		}
		if err := command(ctx, req.GetText()); err != nil {
			return err
		}
		if err := stream.Send(&streaming.ChatResponse{Text: fmt.Sprint("echo: ", req.GetText())}); err != nil {
			return err
		}
	}
}

func (h Handler) ended(procedure string, err *error) {
	if h.Ended != nil {
		h.Ended(procedure, *err)
	}
}
