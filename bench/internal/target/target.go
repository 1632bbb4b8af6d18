// Package target serves and calls the benchmarks' echo service
// (proto/echo/v1) through each framework compared: micro, grpc-go,
// connect-go (gRPC and Connect protocols), go-micro and a hand-written
// length-prefixed protobuf protocol over TCP that marks the floor; through
// micro and grpc-go again with an interceptor on each side; over REST
// through micro api and through grpc-gateway; and through micro proxy.
//
// Every target runs the same handler logic and the same calls, through the
// code its own generator wrote, with the framework's defaults except where a
// comment on the target says otherwise.
package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	echov1 "github.com/protomicro/micro/bench/gen/echo/v1"
)

// Target is one framework, and protocol, serving and calling the echo
// service.
type Target struct {
	// Name identifies the target in flags and reports: "micro", "grpc-go".
	Name string
	// About says in a few words what is measured.
	About string
	// Serve starts a server listening on addr ("127.0.0.1:0"); it serves
	// until stopped.
	Serve func(addr string) (Server, error)
	// Dial returns a client of the server listening on addr.
	Dial func(addr string) (Client, error)
	// NotMeasured says, by kind of workload ("unary", "stream", "chat"),
	// why a target cannot run it.
	NotMeasured map[string]string
}

// Server is a running echo server.
type Server interface {
	// Addr is the address the server listens on.
	Addr() string
	// Stop stops the server, ending calls in flight.
	Stop() error
}

// Client calls the echo service. It is safe for concurrent use; the streams
// it opens are not.
type Client interface {
	// Echo makes one unary call.
	Echo(ctx context.Context, req *echov1.EchoRequest) (*echov1.EchoResponse, error)
	// Stream opens a server stream, which runs until ctx is canceled.
	Stream(ctx context.Context, req *echov1.StreamRequest) (Receiver, error)
	// Chat opens a bidirectional stream, which runs until ctx is canceled.
	Chat(ctx context.Context) (Chat, error)
	// Close releases the client's connections.
	Close() error
}

// Receiver is the caller's side of a server stream.
type Receiver interface {
	// Recv returns the next response.
	Recv() (*echov1.StreamResponse, error)
}

// Chat is the caller's side of a bidirectional stream.
type Chat interface {
	// Send sends one request.
	Send(req *echov1.ChatRequest) error
	// Recv returns the next response.
	Recv() (*echov1.ChatResponse, error)
}

// All returns every target, micro first and grpc-go, the baseline, second,
// then the two with interceptors; the REST gateways and the proxy last.
func All() []Target {
	return []Target{
		Micro(),
		GRPC(),
		MicroIntercepted(),
		GRPCIntercepted(),
		MicroObserved(false),
		MicroObserved(true),
		GRPCObserved(false),
		GRPCObserved(true),
		ConnectGRPC(),
		Connect(),
		GoMicro(),
		Raw(),
		MicroAPI(),
		GRPCGateway(),
		MicroProxy(),
	}
}

// Baseline is the name of the target the others are compared with.
const Baseline = "grpc-go"

// Extra returns the targets that are not among [All], for experiments.
func Extra() []Target {
	return []Target{MicroNoTimeout()}
}

// Select returns the targets named in a comma-separated list, in the list's
// order; "" or "all" selects [All].
func Select(names string) ([]Target, error) {
	if names == "" || names == "all" {
		return All(), nil
	}
	known := append(All(), Extra()...)
	var selected []Target
	for name := range strings.SplitSeq(names, ",") {
		i := slices.IndexFunc(known, func(t Target) bool { return t.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown target %q: want one of %s", name, strings.Join(Names(known), ", "))
		}
		selected = append(selected, known[i])
	}
	return selected, nil
}

// Names returns the names of targets.
func Names(targets []Target) []string {
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.Name
	}
	return names
}

// ByName returns the target called name.
func ByName(name string) (Target, error) {
	targets, err := Select(name)
	if err != nil {
		return Target{}, err
	}
	return targets[0], nil
}

// The handler logic every target runs: answer with what was sent, and
// stream copies of it.

func echo(req *echov1.EchoRequest) *echov1.EchoResponse {
	return &echov1.EchoResponse{Message: req.GetMessage(), Payload: req.GetPayload()}
}

func chat(req *echov1.ChatRequest) *echov1.ChatResponse {
	return &echov1.ChatResponse{Message: req.GetMessage(), Payload: req.GetPayload()}
}

// stream sends copies of req through send until send fails or ctx ends.
// Each response is a new message, as a real handler's would be; go-micro
// even requires it (a message reused for three sends arrived three times
// with its last value, so it is encoded after Send returns).
func stream(ctx context.Context, req *echov1.StreamRequest, send func(*echov1.StreamResponse) error) error {
	for n := int64(1); ctx.Err() == nil; n++ {
		if err := send(&echov1.StreamResponse{Message: req.GetMessage(), Payload: req.GetPayload(), Number: n}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// serveChat answers each request that recv returns through send, until
// either fails; io.EOF from recv ends the chat normally.
func serveChat(recv func() (*echov1.ChatRequest, error), send func(*echov1.ChatResponse) error) error {
	for {
		req, err := recv()
		if err != nil {
			return endOfStream(err)
		}
		if err := send(chat(req)); err != nil {
			return err
		}
	}
}

// server is a [Server] from an address and a stop function.
type server struct {
	addr string
	stop func() error
}

func (s server) Addr() string { return s.addr }
func (s server) Stop() error  { return s.stop() }

// endOfStream returns nil for io.EOF, which ends a stream normally, and err
// otherwise.
func endOfStream(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
