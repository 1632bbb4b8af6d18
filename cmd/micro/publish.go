package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/dynamic"
)

func newPublishCommand(env lookupEnv) *cobra.Command {
	var (
		data, source, id, token string
		asJSON                  bool
	)
	cmd := &cobra.Command{
		Use:   "publish TOPIC [JSON]",
		Short: "Publish an event from JSON",
		Long: `Publish one event on TOPIC: a message given as JSON in protobuf's JSON mapping,
sent as a CloudEvents event through the broker services use (--broker, or
MICRO_BROKER; the local broker by default), and print its ID.

The message type is --type, or else the type that declares TOPIC in its proto
with option (micro.v1.topic), or else the type whose full name is TOPIC, the
topic of a type that declares none. micro finds types among those it knows
(the well-known types, google.protobuf.StringValue and the others) and then
through gRPC server reflection of --service, or of the registered services, so
it needs no proto files. A --type other than the one that declares TOPIC is
refused, naming both.

The message is the argument, or -d (where @file reads a file and @- standard
input), or else standard input when it is not a terminal. It goes as proto
binary, or as JSON with --json. Its source is --source ("micro" by default).
With --token (or MICRO_TOKEN) it carries that bearer token in its
authorization extension, which subscribers with auth verify.
A mistake in the command line (a type no service has, JSON that does not fit
it) exits with status 2 before anything is sent, a failed publish with status
1.`,
		Example: `  micro publish greeter.greeted '{"name": "Ada"}'
  micro publish greeter.v1.SayHelloRequest '{"name": "Ada"}'
  micro publish greetings --type greeter.v1.SayHelloRequest --service greeter '{"name": "Ada"}'
  micro publish notes --type google.protobuf.StringValue --json '"hello"'`,
		Args: usageArgs(cobra.RangeArgs(1, 2)),
	}
	flags := addBrokerFlags(cmd, env)
	cmd.Flags().StringVar(&flags.typeName, "type", "", "the full name of the message type (default: the type that declares the topic, else the topic)")
	cmd.Flags().StringVarP(&data, "data", "d", "", "the message as JSON, @file to read it from a file or @- from standard input")
	cmd.Flags().StringVar(&source, "source", "micro", "the event's source, the name of its publisher")
	cmd.Flags().StringVar(&id, "id", "", "the event's ID, its deduplication key (default: a new random ID)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "send the message as JSON (application/json) instead of proto binary")
	cmd.Flags().StringVar(&token, "token", "", "a bearer token for the event to carry, in its authorization extension, as a service's events do (default $MICRO_TOKEN)")
	timeout := 10 * time.Second
	cmd.Flags().Var((*duration)(&timeout), "timeout", "how long finding the type and publishing may take (0 for no limit)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		topic := args[0]
		if err := broker.ValidateTopic(topic); err != nil {
			return &usageError{err}
		}
		body, terminal, err := openBody(argAt(args, 1), data, len(args) > 1, cmd.Flags().Changed("data"), cmd.InOrStdin())
		if err != nil {
			return err
		}
		var text []byte
		if !terminal { // from a terminal, the message is empty rather than typed
			text, err = io.ReadAll(body)
		}
		_ = body.Close()
		if err != nil {
			return fmt.Errorf("read the message: %w", err)
		}
		if len(text) == 0 {
			text = []byte("{}")
		}
		ctx, cancel := commandContext(cmd, timeout)
		defer cancel()
		md, schema, err := publishType(ctx, &types{flags: flags, cmd: cmd}, topic, flags.typeName)
		if err != nil {
			return err
		}
		msg, err := decodeJSON(schema, md, text)
		if err != nil {
			return &usageError{fmt.Errorf("message %w", err)}
		}
		opts := []broker.PublishOption{broker.WithSource(source)}
		if id != "" {
			opts = append(opts, broker.WithID(id))
		}
		if asJSON {
			opts = append(opts, broker.WithJSON())
		}
		if token := flags.registry.setting(cmd, "token", token, "MICRO_TOKEN"); token != "" {
			opts = append(opts, broker.WithExtension(broker.ExtensionAuthorization, "Bearer "+token))
		}
		e, err := broker.NewEvent(ctx, msg, opts...)
		if err != nil {
			return &usageError{err}
		}
		b, err := flags.open(cmd)
		if err != nil {
			return err
		}
		defer func() { _ = b.Close(ctx) }()
		if err := b.Publish(ctx, topic, e); err != nil {
			return fmt.Errorf("publish %s on %q through the %s broker: %w", e.Type, topic, b, err)
		}
		_, err = fmt.Fprintln(cmd.OutOrStdout(), e.ID)
		return err
	}
	return cmd
}

// publishType returns the message type to publish on topic: typeName, which
// must be the type that declares topic if one does; or else the type that
// declares topic; or else the type named topic.
func publishType(ctx context.Context, t *types, topic, typeName string) (protoreflect.MessageDescriptor, *dynamic.Schema, error) {
	if typeName == "" {
		md, schema, found, err := t.declarer(ctx, topic)
		if err != nil || found {
			return md, schema, err
		}
		if md, schema, err := t.find(ctx, topic); err == nil {
			return md, schema, nil
		}
		where := "any registered service"
		if t.flags.service != "" {
			where = fmt.Sprintf("service %q", t.flags.service)
		}
		return nil, nil, &usageError{fmt.Errorf("no message type of %s declares topic %q with option (micro.v1.topic) or is named so: give the type with --type", where, topic)}
	}
	md, schema, err := t.find(ctx, typeName)
	if err != nil {
		return nil, nil, err
	}
	// A registry that cannot be read leaves nothing to check against: the
	// type is known, so publish it.
	if declarer, _, found, err := t.declarer(ctx, topic); err == nil && found && declarer.FullName() != md.FullName() {
		return nil, nil, &usageError{fmt.Errorf("topic %q is declared by %s, not %s: publish %s on it, or use another topic", topic, declarer.FullName(), md.FullName(), declarer.FullName())}
	}
	return md, schema, nil
}
