package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/dynamic"
	"github.com/protomicro/micro/runtime/rpc"
)

func newCallCommand(env lookupEnv) *cobra.Command {
	var (
		data     string
		metadata []string
	)
	cmd := &cobra.Command{
		Use:   "call SERVICE METHOD [JSON]",
		Short: "Call a unary method of a service with a JSON request",
		Long: `Call a unary method of a registered service and print the response as JSON.

METHOD is the procedure (/greeter.v1.GreeterService/SayHello), the service
and method (greeter.v1.GreeterService.SayHello or GreeterService.SayHello), or
the method alone (SayHello) when only one of the service's services has it.

The request is JSON in protobuf's JSON mapping: the argument, or -d (where
@file reads a file and @- standard input), or else standard input when it is
not a terminal; none is the empty request. micro reads the service's message
types through gRPC server reflection, so it needs no proto files, and it
rejects malformed JSON and fields the request does not have before calling.

A failed call prints its code and message, "micro: not_found: no such book",
then each detail the error carries (a google.rpc.ErrorInfo, say) on a line
of its own, as its type and its JSON, and exits with status 1. A mistake in
the command line (a method the service does not have, a streaming method, a
request that does not fit the method) exits with status 2 before anything is
sent, and an interrupted call with status 130.`,
		Example: `  micro call greeter SayHello '{"name": "Ada"}'
  micro call greeter greeter.v1.GreeterService.SayHello -d @req.json
  echo '{"name": "Ada"}' | micro call greeter /greeter.v1.GreeterService/SayHello
  micro call greeter SayHello --metadata authorization="Bearer $TOKEN" --timeout 2s '{"name": "Ada"}'
  micro call --address "$ADDRESS" greeter SayHello '{"name": "Ada"}'   # a node's host:port`,
		Args: usageArgs(cobra.RangeArgs(2, 3)),
	}
	where := addTargetFlags(cmd, env, 10*time.Second, "how long the whole call may take: the lookup, reading the schema and the call")
	addBodyFlags(cmd, &data, &metadata)
	cmd.ValidArgsFunction = completeArgs(where, func(t rpc.StreamType) bool { return t == rpc.Unary })
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		pairs, err := metadataPairs(metadata)
		if err != nil {
			return err
		}
		body, terminal, err := openBody(argAt(args, 2), data, len(args) > 2, cmd.Flags().Changed("data"), cmd.InOrStdin())
		if err != nil {
			return err
		}
		var request []byte
		if !terminal { // from a terminal, the request is empty rather than typed
			request, err = io.ReadAll(body)
		}
		_ = body.Close()
		if err != nil {
			return fmt.Errorf("read the request: %w", err)
		}

		ctx, cancel := where.context(cmd)
		defer cancel()
		c, err := where.newClient(cmd)
		if err != nil {
			return err
		}
		defer func() { _ = c.Close() }()
		t, s, m, err := where.findMethod(ctx, cmd, c, args[0], args[1])
		if err != nil {
			return err
		}
		spec := dynamic.Spec(m)
		if spec.StreamType != rpc.Unary {
			return &usageError{fmt.Errorf("%s is a %s method: call it with micro stream", spec.Procedure, spec.StreamType)}
		}
		req, err := s.DecodeJSON(request, m.Input(), dynamic.Position{})
		if err != nil {
			return &usageError{fmt.Errorf("request %w", err)}
		}
		res := dynamicpb.NewMessage(m.Output())
		err = c.Invoke(ctx, t.name, spec, req, res, client.WithAddress(t.addresses()...), client.WithHeaders(pairs...))
		if err != nil {
			return withDetails(s, err)
		}
		return s.EncodeJSON(cmd.OutOrStdout(), res, true)
	}
	return cmd
}

// addBodyFlags adds the flags of the commands that send requests: -d for
// the request and --metadata for what goes with it.
func addBodyFlags(cmd *cobra.Command, data *string, metadata *[]string) {
	cmd.Flags().StringVarP(data, "data", "d", "", "the request as JSON, @file to read it from a file or @- from standard input")
	cmd.Flags().StringArrayVar(metadata, "metadata", nil, "metadata to send, as key=value (repeatable)")
}

// metadataPairs turns key=value flags into the key, value pairs of
// [client.WithHeaders].
func metadataPairs(flags []string) ([]string, error) {
	pairs := make([]string, 0, 2*len(flags))
	for _, flag := range flags {
		key, value, ok := strings.Cut(flag, "=")
		if !ok || key == "" {
			return nil, &usageError{fmt.Errorf("--metadata %q: want key=value", flag)}
		}
		pairs = append(pairs, key, value)
	}
	return pairs, nil
}

// argAt returns args[i], or "" when there are fewer arguments.
func argAt(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}
