package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/protomicro/micro/runtime/dynamic"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/rpc"
)

// describeJSON is the output of micro describe -o json.
type describeJSON struct {
	Name      string         `json:"name"`
	Versions  []versionJSON  `json:"versions"`
	Nodes     []nodeJSON     `json:"nodes"`
	Endpoints []endpointJSON `json:"endpoints"`
	// Subscriptions are the event topics the service consumes.
	Subscriptions []registry.Subscription `json:"subscriptions,omitempty"`
	Messages      []messageJSON           `json:"messages"`
	Enums         []enumJSON              `json:"enums,omitempty"`
}

// versionJSON is one registered version of a service, with the metadata it
// registered.
type versionJSON struct {
	Version  string            `json:"version"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// nodeJSON is one node of a service; with --address only the address is
// known.
type nodeJSON struct {
	ID       string            `json:"id,omitempty"`
	Address  string            `json:"address"`
	Version  string            `json:"version,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// endpointJSON is one procedure of a service.
type endpointJSON struct {
	Procedure   string          `json:"procedure"`
	StreamType  rpc.StreamType  `json:"stream_type"`
	Idempotency rpc.Idempotency `json:"idempotency"`
	Request     string          `json:"request"`
	Response    string          `json:"response"`
	HTTP        []httpRuleJSON  `json:"http,omitempty"`
	// Access and Doc are what the proto declares about the method beyond
	// its types: who may call it, and its comment.
	Access *rpc.Access `json:"access,omitempty"`
	Doc    string      `json:"doc,omitempty"`
}

// httpRuleJSON is one HTTP route of a procedure.
type httpRuleJSON struct {
	Method       string `json:"method"`
	Path         string `json:"path"`
	Body         string `json:"body,omitempty"`
	ResponseBody string `json:"response_body,omitempty"`
}

func newDescribeCommand(env lookupEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "describe SERVICE",
		Short: "Show a service's nodes, endpoints and message types",
		Long: `Show a registered service: its versions; its nodes with their address, version
and metadata; its endpoints with their kind, idempotency, request and response
types and HTTP routes, from the registry; and the message types those use, in
proto syntax, read from a node through gRPC server reflection.

With --address, describe asks the node at that address and lists the
endpoints its reflection shows, without HTTP routes (those are in the registry).`,
		Example: `  micro describe greeter
  micro describe greeter -o json
  micro describe --address "$ADDRESS" greeter   # a node's host:port`,
		Args: usageArgs(cobra.ExactArgs(1)),
	}
	where := addTargetFlags(cmd, env, 10*time.Second, "how long to wait for the registry and the service")
	output := addOutputFlag(cmd)
	cmd.ValidArgsFunction = completeArgs(where, nil)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx, cancel := where.context(cmd)
		defer cancel()
		c, err := where.newClient(cmd)
		if err != nil {
			return err
		}
		defer func() { _ = c.Close() }()
		t, s, schemaErr := where.findSchema(ctx, cmd, c, args[0])
		if t == nil {
			return schemaErr
		}
		if schemaErr != nil && t.versions == nil { // --address: nothing else to show
			return schemaErr
		}
		d := describe(t, s)
		if output.json {
			err = writeJSON(cmd.OutOrStdout(), d)
		} else {
			err = writeDescription(cmd.OutOrStdout(), d)
		}
		if err != nil {
			return err
		}
		if schemaErr != nil {
			return fmt.Errorf("no message types: %w", schemaErr)
		}
		return nil
	}
	return cmd
}

// describe gathers what micro describe shows of t from its registration and
// s, its schema (nil when reflection failed).
func describe(t *target, s *dynamic.Schema) *describeJSON {
	d := &describeJSON{Name: t.name, Versions: []versionJSON{}, Nodes: []nodeJSON{}, Endpoints: []endpointJSON{}, Messages: []messageJSON{}}
	seen := make(map[string]bool)
	for _, v := range t.versions {
		d.Versions = append(d.Versions, versionJSON{Version: v.Version, Metadata: v.Metadata})
		for _, sub := range v.Subscriptions {
			if !slices.Contains(d.Subscriptions, sub) {
				d.Subscriptions = append(d.Subscriptions, sub)
			}
		}
		for _, e := range v.Endpoints {
			if seen[e.Procedure] {
				continue
			}
			seen[e.Procedure] = true
			endpoint := endpointJSON{Procedure: e.Procedure, StreamType: e.StreamType, Idempotency: e.Idempotency, Request: e.Request, Response: e.Response,
				Access: e.Access, Doc: e.Doc}
			for _, rule := range e.HTTP {
				endpoint.HTTP = append(endpoint.HTTP, httpRuleJSON(rule))
			}
			d.Endpoints = append(d.Endpoints, endpoint)
		}
	}
	for _, n := range t.nodes {
		d.Nodes = append(d.Nodes, nodeJSON{ID: n.id, Address: n.address, Version: n.version, Metadata: n.metadata})
	}
	if s == nil {
		return d
	}
	if len(d.Endpoints) == 0 { // given by --address, or registered without endpoints
		for _, m := range s.Methods() {
			spec := dynamic.Spec(m)
			d.Endpoints = append(d.Endpoints, endpointJSON{
				Procedure:   spec.Procedure,
				StreamType:  spec.StreamType,
				Idempotency: spec.Idempotency,
				Request:     string(m.Input().FullName()),
				Response:    string(m.Output().FullName()),
			})
		}
	}
	var names []string
	for _, e := range d.Endpoints {
		names = append(names, e.Request, e.Response)
	}
	messages, enums := s.UsedTypes(names...)
	for _, md := range messages {
		d.Messages = append(d.Messages, messageToJSON(md))
	}
	for _, ed := range enums {
		d.Enums = append(d.Enums, enumToJSON(ed))
	}
	return d
}

// writeDescription writes d for people: the service and its versions, a
// table of nodes, a paragraph per endpoint and the message types in proto
// syntax.
func writeDescription(w io.Writer, d *describeJSON) error {
	var b strings.Builder
	versions := make([]string, 0, len(d.Versions))
	for _, v := range d.Versions {
		version := v.Version
		if len(v.Metadata) > 0 {
			version += " (" + formatMetadata(v.Metadata) + ")"
		}
		versions = append(versions, version)
	}
	fmt.Fprintf(&b, "service   %s\n", d.Name)
	if len(versions) > 0 {
		fmt.Fprintf(&b, "versions  %s\n", strings.Join(versions, ", "))
	}
	b.WriteString("\n")
	nodes := newTable(&b, "NODE", "ADDRESS", "VERSION", "METADATA")
	for _, n := range d.Nodes {
		nodes.row(n.ID, n.Address, n.Version, formatMetadata(n.Metadata))
	}
	if err := nodes.flush(); err != nil {
		return err
	}
	for _, e := range d.Endpoints {
		kind := e.StreamType.String()
		if e.Idempotency != rpc.IdempotencyUnknown {
			kind += ", " + e.Idempotency.String()
		}
		fmt.Fprintf(&b, "\nrpc %s (%s)\n", e.Procedure, kind)
		if e.Doc != "" {
			for line := range strings.SplitSeq(e.Doc, "\n") {
				b.WriteString(strings.TrimRight("  // "+line, " ") + "\n")
			}
		}
		fmt.Fprintf(&b, "  request   %s\n", e.Request)
		fmt.Fprintf(&b, "  response  %s\n", e.Response)
		for _, rule := range e.HTTP {
			fmt.Fprintf(&b, "  http      %s\n", formatHTTPRule(rule))
		}
		if e.Access != nil {
			fmt.Fprintf(&b, "  access    %s\n", formatAccess(e.Access))
		}
	}
	if len(d.Subscriptions) > 0 {
		b.WriteString("\n")
	}
	for _, sub := range d.Subscriptions {
		var about []string
		if sub.Group != "" {
			about = append(about, "group "+sub.Group)
		} else {
			about = append(about, "broadcast")
		}
		if sub.Type != "" {
			about = append(about, sub.Type)
		}
		fmt.Fprintf(&b, "subscribes %s (%s)\n", sub.Topic, strings.Join(about, ", "))
	}
	for _, m := range d.Messages {
		b.WriteString("\n")
		writeMessage(&b, m)
	}
	for _, e := range d.Enums {
		b.WriteString("\n")
		writeEnum(&b, e)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// formatAccess writes access as "public", "authenticated" or "scopes
// orders:read, orders:write", followed by ", delegates" when the method
// forwards its caller's credentials.
func formatAccess(access *rpc.Access) string {
	var text string
	switch {
	case access.Public:
		text = "public"
	case len(access.Scopes) > 0:
		text = "scopes " + strings.Join(access.Scopes, ", ")
	default:
		text = "authenticated"
	}
	if access.Delegate {
		text += ", delegates"
	}
	return text
}

// formatHTTPRule writes rule as "POST /v1/books (body book)".
func formatHTTPRule(rule httpRuleJSON) string {
	var notes []string
	if rule.Body != "" {
		notes = append(notes, "body "+rule.Body)
	}
	if rule.ResponseBody != "" {
		notes = append(notes, "response body "+rule.ResponseBody)
	}
	if len(notes) == 0 {
		return rule.Method + " " + rule.Path
	}
	return rule.Method + " " + rule.Path + " (" + strings.Join(notes, ", ") + ")"
}
