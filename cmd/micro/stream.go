package main

import (
	"bufio"
	"bytes"
	"context"
	stderrors "errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/dynamic"
	"github.com/protomicro/micro/runtime/rpc"
)

// lookupTimeout bounds finding a service and reading its schema for
// commands whose own --timeout may be unlimited.
const lookupTimeout = 10 * time.Second

func newStreamCommand(env lookupEnv) *cobra.Command {
	var (
		data     string
		metadata []string
	)
	cmd := &cobra.Command{
		Use:   "stream SERVICE METHOD [JSON]",
		Short: "Call a streaming method of a service, JSON messages in and out",
		Long: `Call a server-, client- or bidirectional-streaming method of a registered
service. Requests are JSON in protobuf's JSON mapping, one per line, read
from the argument, or -d (where @file reads a file and @- standard input),
or else standard input; each is sent as it is read, and the stream is closed
at the end of the input. A server-streaming method takes one request, the
whole input (none is the empty request). Responses are printed as they
arrive, one JSON object per line.

METHOD is spelled as for micro call. A failed stream prints its code and
message and exits with status 1; an interrupted one exits with status 130. A
request line that is not valid JSON for the method is not sent, nor any line
after it, and micro exits with status 2: a bidirectional stream is closed
there as at the end of the input, and the responses to the lines before it
are printed; a client stream is aborted.`,
		Example: `  micro stream greeter CountTo '{"count": 3}'
  echo '{"count": 3}' | micro stream greeter greeter.v1.GreeterService.CountTo
  micro stream greeter CountTo -d '{"count": 2}'`,
		Args: usageArgs(cobra.RangeArgs(2, 3)),
	}
	where := addTargetFlags(cmd, env, 0, "how long the whole stream may take")
	addBodyFlags(cmd, &data, &metadata)
	cmd.ValidArgsFunction = completeArgs(where, func(t rpc.StreamType) bool { return t != rpc.Unary })
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		pairs, err := metadataPairs(metadata)
		if err != nil {
			return err
		}
		input, terminal, err := openBody(argAt(args, 2), data, len(args) > 2, cmd.Flags().Changed("data"), cmd.InOrStdin())
		if err != nil {
			return err
		}
		defer func() { _ = input.Close() }()

		ctx, cancel := where.context(cmd)
		defer cancel()
		c, err := where.newClient(cmd)
		if err != nil {
			return err
		}
		defer func() { _ = c.Close() }()
		t, s, m, err := findStreamMethod(ctx, cmd, where, c, args[0], args[1])
		if err != nil {
			return err
		}
		kind := dynamic.Spec(m).StreamType
		var first *dynamicpb.Message
		if kind == rpc.ServerStream { // one request: check it before opening the stream
			var request []byte
			if !terminal {
				if request, err = io.ReadAll(input); err != nil {
					return fmt.Errorf("read the request: %w", err)
				}
			}
			if first, err = s.DecodeJSON(request, m.Input(), dynamic.Position{}); err != nil {
				return &usageError{fmt.Errorf("request %w", err)}
			}
		}

		stream, err := c.NewStream(ctx, t.name, dynamic.Spec(m), client.WithAddress(t.addresses()...), client.WithHeaders(pairs...))
		if err != nil {
			return err
		}
		sent := make(chan error, 1)
		if first != nil {
			sent <- sendOne(stream, first)
		} else {
			go func() {
				err := sendLines(s, stream, input, m.Input())
				sent <- err
				switch {
				case err == nil:
				case m.IsStreamingServer():
					// Bidi: end the input here, so that the server answers
					// the requests it has and the responses are printed.
					_ = stream.CloseSend()
				default:
					// A client stream's one response comes after the input,
					// which is wrong: abort rather than send part of it.
					cancel()
				}
			}()
		}
		recvErr := receive(s, cmd.OutOrStdout(), stream, m)
		cancel()
		select {
		case err := <-sent:
			if err != nil {
				return err
			}
		default: // still reading input that the stream no longer needs
		}
		return withDetails(s, recvErr)
	}
	return cmd
}

// findStreamMethod finds the service and its streaming method, within
// lookupTimeout.
func findStreamMethod(ctx context.Context, cmd *cobra.Command, where *targetFlags, c client.Client, service, method string) (*target, *dynamic.Schema, protoreflect.MethodDescriptor, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	t, s, m, err := where.findMethod(ctx, cmd, c, service, method)
	if err != nil {
		return nil, nil, nil, err
	}
	if spec := dynamic.Spec(m); spec.StreamType == rpc.Unary {
		return nil, nil, nil, &usageError{fmt.Errorf("%s is a unary method: call it with micro call", spec.Procedure)}
	}
	return t, s, m, nil
}

// sendOne sends the one request of a server stream.
func sendOne(stream client.Stream, req *dynamicpb.Message) error {
	if err := stream.SendMsg(req); err != nil {
		if stderrors.Is(err, io.EOF) {
			return nil // the server ended the call; receiving says why
		}
		return err
	}
	return stream.CloseSend()
}

// sendLines sends a request for every line of r that is not blank, then
// closes the sending side. A line that is not a valid request ends the
// stream with an error saying where it is.
func sendLines(s *dynamic.Schema, stream client.Stream, r io.Reader, md protoreflect.MessageDescriptor) error {
	reader := bufio.NewReader(r)
	at := dynamic.Position{Line: 1}
	for {
		line, readErr := reader.ReadBytes('\n')
		if readErr != nil && !stderrors.Is(readErr, io.EOF) {
			return fmt.Errorf("read the requests: %w", readErr)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			req, err := s.DecodeJSON(line, md, at)
			if err != nil {
				return &usageError{fmt.Errorf("request %w; it was not sent, nor any line after it", err)}
			}
			if err := stream.SendMsg(req); err != nil {
				if stderrors.Is(err, io.EOF) {
					return nil // the server ended the call; receiving says why
				}
				return err
			}
		}
		if readErr != nil { // io.EOF
			return stream.CloseSend()
		}
		at.Offset += int64(len(line))
		at.Line++
	}
}

// receive prints every response of the stream, one per line, until the
// server ends the call; it returns nil when the server ended it
// successfully.
func receive(s *dynamic.Schema, w io.Writer, stream client.Stream, m protoreflect.MethodDescriptor) error {
	for {
		res := dynamicpb.NewMessage(m.Output())
		err := stream.RecvMsg(res)
		if stderrors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.EncodeJSON(w, res, false); err != nil {
			return err
		}
		if !m.IsStreamingServer() {
			return nil // the one response of a client stream
		}
	}
}
