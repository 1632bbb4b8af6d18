package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	stdsync "sync"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/dynamic"
)

func newSubscribeCommand(env lookupEnv) *cobra.Command {
	var (
		group string
		count int
	)
	cmd := &cobra.Command{
		Use:   "subscribe TOPIC",
		Short: "Print the events published on a topic, as JSON",
		Long: `Subscribe to TOPIC through the broker services use (--broker, or MICRO_BROKER;
the local broker by default) and print each event published from now on as a
line of JSON in the CloudEvents JSON format: its attributes (specversion, id,
source, type, time, datacontenttype and its extensions) and its message as
"data", in protobuf's JSON mapping, or as "data_base64" when micro cannot
find the message type. micro finds types among those it knows and then
through gRPC server reflection of --service, or of the registered services,
so it needs no proto files.

By default micro gets every event without taking any from the services
subscribed to the topic; --group NAME joins the queue group NAME instead,
sharing (and acknowledging) its events. It runs until interrupted (exit
status 130), or until it has printed --count events (exit status 0).

For example:

  micro subscribe greeter.v1.SayHelloRequest
  micro subscribe orders.v1.OrderCreated.dead --count 1
  micro subscribe notes --broker_address /tmp/events`,
		Args: usageArgs(cobra.ExactArgs(1)),
	}
	flags := addBrokerFlags(cmd, env)
	cmd.Flags().StringVar(&group, "group", "", "join this queue group, sharing its events, instead of getting every event")
	cmd.Flags().IntVar(&count, "count", 0, "exit after printing this many events (0: run until interrupted)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		topic := args[0]
		if err := broker.ValidateTopic(topic); err != nil {
			return &usageError{err}
		}
		if count < 0 {
			return &usageError{fmt.Errorf("--count %d: want 0 or more", count)}
		}
		b, err := flags.open(cmd)
		if err != nil {
			return err
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = b.Close(ctx)
		}()
		ctx, cancel := context.WithCancel(cmd.Context())
		defer cancel()
		p := &printer{out: cmd.OutOrStdout(), types: &types{flags: flags, cmd: cmd}, found: map[string]found{}, limit: count, done: cancel}
		opt := broker.Broadcast()
		if group != "" {
			opt = broker.WithGroup(group)
		}
		if err := b.Subscribe(topic, p.print, opt); err != nil {
			return fmt.Errorf("subscribe to %q through the %s broker: %w", topic, b, err)
		}
		<-ctx.Done()
		if cmd.Context().Err() != nil {
			return errInterrupted
		}
		return p.err
	}
	return cmd
}

// printer writes events as lines of JSON, one at a time.
type printer struct {
	out   io.Writer
	types *types
	limit int    // events to print; 0 for no limit
	done  func() // called after the last event to print, or a failure to write

	mu      stdsync.Mutex
	found   map[string]found // by type name
	printed int
	err     error // of writing
}

// found is a message type looked up, or not found (md nil).
type found struct {
	md     protoreflect.MessageDescriptor
	schema *dynamic.Schema
}

func (p *printer) print(ctx context.Context, e *broker.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil || (p.limit > 0 && p.printed >= p.limit) {
		return nil // on the way out
	}
	line, err := p.encode(ctx, e)
	if err == nil {
		_, err = p.out.Write(append(line, '\n'))
	}
	if err != nil {
		p.err = err
		p.done()
		return nil
	}
	if p.printed++; p.printed == p.limit {
		p.done()
	}
	return nil
}

// encode returns e in the CloudEvents JSON format.
func (p *printer) encode(ctx context.Context, e *broker.Event) ([]byte, error) {
	out := map[string]any{
		"specversion":     "1.0",
		"id":              e.ID,
		"source":          e.Source,
		"type":            e.Type,
		"datacontenttype": e.DataContentType,
	}
	if !e.Time.IsZero() {
		out["time"] = e.Time.UTC().Format(time.RFC3339Nano)
	}
	for name, value := range e.Extensions {
		out[name] = value
	}
	if data, ok := p.data(ctx, e); ok {
		out["data"] = json.RawMessage(data)
	} else {
		out["data_base64"] = base64.StdEncoding.EncodeToString(e.Data)
	}
	return json.Marshal(out)
}

// data returns e's message in protobuf's JSON mapping, if its type is found.
func (p *printer) data(ctx context.Context, e *broker.Event) ([]byte, bool) {
	f, ok := p.found[e.Type]
	if !ok {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		f.md, f.schema, _ = p.types.find(ctx, e.Type)
		cancel()
		p.found[e.Type] = f
	}
	if f.md == nil {
		return nil, false
	}
	msg := dynamicpb.NewMessage(f.md)
	if err := e.Decode(msg); err != nil {
		return nil, false
	}
	if f.schema != nil {
		var buf bytes.Buffer
		if err := f.schema.EncodeJSON(&buf, msg, false); err != nil {
			return nil, false
		}
		return bytes.TrimSpace(buf.Bytes()), true
	}
	data, err := protojson.Marshal(msg)
	return data, err == nil
}
