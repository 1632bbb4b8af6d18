package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	stderrors "errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/internal/grpcwire"
	"github.com/protomicro/micro/runtime/rpc"
)

// REST server streaming is the gateway's own: the transcoder streams no REST
// response (but google.api.HttpBody's), and answers a REST call of a
// server-streaming method 415. So the REST routes of server-streaming methods
// are served by a second transcoder, to which each such method is described
// as unary: it turns the request's path, query and body into the request
// message as for any route, and calls forward, which opens the stream itself
// and writes each response straight to the caller, as grpc-gateway does:
// newline-delimited JSON, {"result": message} a line, {"error": Status} on
// failure; or Server-Sent Events for a caller that accepts
// text/event-stream. What the transcoder then answers is dropped.

// streamKey is the context key of the REST streams of the backend a request
// was routed to, by procedure.
type streamKey struct{}

// restStream is how the gateway answers a REST call of a server-streaming
// method.
type restStream struct {
	// output is the type of the method's responses.
	output protoreflect.MessageType
	// responseBody is the JSON name of the field each message answers with
	// instead of itself (the route's response_body), or "".
	responseBody string
	marshal      protojson.MarshalOptions
}

// takeoverKey is the context key of a request's [takeover].
type takeoverKey struct{}

// takeover lets forward answer a request itself, past the transcoder: once
// taken is set, statusWriter drops what the transcoder writes.
type takeover struct {
	w     http.ResponseWriter
	sse   bool // the caller accepts text/event-stream
	taken atomic.Bool
	// The transcoder may return before forward does (when the caller goes
	// away): ServeHTTP must not return, and the server reuse w, until
	// forward is done writing to it.
	mu     sync.Mutex
	closed bool
	active sync.WaitGroup
}

// begin reports whether forward may write to w, which it must then end.
func (tk *takeover) begin() bool {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if tk.closed {
		return false
	}
	tk.active.Add(1)
	return true
}

func (tk *takeover) end() { tk.active.Done() }

// close waits for forward to be done with w, and keeps it from starting.
func (tk *takeover) close() {
	tk.mu.Lock()
	tk.closed = true
	tk.mu.Unlock()
	tk.active.Wait()
}

// newRESTStream describes how the streaming method of procedure in b answers
// over REST, by route.
func newRESTStream(b *backend, route Route) (*restStream, error) {
	name := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(route.Procedure, "/"), "/", "."))
	d, err := b.files.FindDescriptorByName(name)
	if err != nil {
		return nil, err
	}
	output := d.(protoreflect.MethodDescriptor).Output()
	types := typeResolver{dynamicpb.NewTypes(b.files)}
	mt, err := types.FindMessageByName(output.FullName())
	if err != nil {
		return nil, err
	}
	s := &restStream{output: mt, marshal: protojson.MarshalOptions{Resolver: types, EmitUnpopulated: true}}
	if route.ResponseBody != "" {
		if fd := output.Fields().ByName(protoreflect.Name(route.ResponseBody)); fd != nil {
			s.responseBody = fd.JSONName()
		}
	}
	return s, nil
}

// streamHandler returns the handler the stream transcoder calls, in gRPC,
// for the methods of b.
func (g *Gateway) streamHandler(b *backend, streams map[string]*restStream) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(context.WithValue(r.Context(), backendKey{}, b), streamKey{}, streams)
		g.grpc.ServeHTTP(w, r.WithContext(ctx))
	})
}

// restStreamOf returns how to answer the call in ctx of procedure over REST,
// if it is a REST call of a server-streaming method.
func restStreamOf(ctx context.Context, spec rpc.Spec) (*restStream, *takeover, bool) {
	streams, _ := ctx.Value(streamKey{}).(map[string]*restStream)
	tk, _ := ctx.Value(takeoverKey{}).(*takeover)
	s := streams[spec.Procedure]
	return s, tk, s != nil && tk != nil && spec.StreamType == rpc.ServerStream
}

// forwardREST calls a server-streaming method for a REST caller: it takes
// the one request the transcoder decoded, opens the stream, and writes each
// response to the caller as it comes.
func (g *Gateway) forwardREST(ctx context.Context, ss grpc.ServerStream, service string, spec rpc.Spec, opts []client.CallOption, s *restStream, tk *takeover) error {
	req, err := recvRequest(ctx, ss)
	if err != nil {
		return err
	}
	if !tk.begin() {
		return status.Error(codes.Canceled, "the request ended")
	}
	defer tk.end()
	tk.taken.Store(true)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := &eventWriter{w: tk.w, rc: http.NewResponseController(tk.w), s: s, sse: tk.sse}
	var cs rpc.ClientConn
	cs, err = g.client.NewStream(ctx, service, spec, opts...)
	if err == nil {
		err = cs.SendMsg(&req)
	}
	if err == nil {
		err = cs.CloseSend()
	}
	if err == nil {
		header, herr := cs.Header()
		for key, values := range incoming(header) {
			for _, v := range values {
				tk.w.Header().Add(key, v)
			}
		}
		err = herr
	}
	for err == nil {
		var f grpcwire.Frame
		if err = cs.RecvMsg(&f); err == nil {
			msg := s.output.New().Interface()
			if err = proto.Unmarshal(f, msg); err == nil {
				err = out.send(msg)
			}
		}
	}
	if stderrors.Is(err, io.EOF) {
		out.start(http.StatusOK)
		return nil
	}
	if ctx.Err() == nil || !out.started {
		out.fail(status.Convert(statusError(err)))
	}
	return nil
}

// eventWriter writes a stream's messages to a REST caller.
type eventWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	s       *restStream
	sse     bool
	started bool
}

// start sends the answer's headers, once.
func (e *eventWriter) start(code int) {
	if e.started {
		return
	}
	e.started = true
	h := e.w.Header()
	h.Del("Content-Length")
	if e.sse {
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
	} else {
		h.Set("Content-Type", "application/json")
	}
	e.w.WriteHeader(code)
}

// send writes one message and flushes it to the caller.
func (e *eventWriter) send(msg proto.Message) error {
	data, err := e.s.marshal.Marshal(msg)
	if err != nil {
		return status.Errorf(codes.Internal, "encode a response as JSON: %v", err)
	}
	if e.s.responseBody != "" {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(data, &fields); err != nil {
			return status.Errorf(codes.Internal, "encode a response as JSON: %v", err)
		}
		data = fields[e.s.responseBody]
	}
	e.start(http.StatusOK)
	if err := e.write("result", "", compact(data)); err != nil {
		return status.FromContextError(err).Err()
	}
	return nil
}

// fail writes st, with the HTTP status of its code if nothing was sent yet.
func (e *eventWriter) fail(st *status.Status) {
	data, err := e.s.marshal.Marshal(st.Proto())
	if err != nil {
		data = []byte(`{"code":13,"message":"encode the error"}`)
	}
	e.start(httpStatus(st.Code()))
	_ = e.write("error", "error", compact(data))
}

// compact returns data without the spaces protojson puts in at random, so
// that a stream reads the same from one run to the next.
func compact(data []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, data) != nil {
		return data
	}
	return b.Bytes()
}

// write writes one event: {"<key>": data} and a newline, or in Server-Sent
// Events an event of the given type (a message's is the default) whose data
// is data.
func (e *eventWriter) write(key, event string, data []byte) error {
	var b []byte
	if e.sse {
		if event != "" {
			b = append(b, "event: "+event+"\n"...)
		}
		b = append(append(append(b, "data: "...), data...), "\n\n"...)
	} else {
		b = append(append(append(b, `{"`+key+`":`...), data...), "}\n"...)
	}
	if _, err := e.w.Write(b); err != nil {
		return err
	}
	return e.rc.Flush()
}

// httpStatus returns the HTTP status of code, by grpc-gateway's table.
func httpStatus(code codes.Code) int {
	switch code {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}
