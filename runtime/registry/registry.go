// Package registry is service discovery: services register their nodes under
// a name, and clients look the name up to find addresses.
//
// [Registry] is the interface every backend implements; each backend is a
// child package named after the system it uses (registry/memory for tests and
// single processes). Every backend passes the same conformance suite,
// registry/registrytest.
package registry

import (
	"context"
	"errors"
	"slices"

	"github.com/protomicro/micro/runtime/rpc"
)

// ErrNotFound is returned by [Registry.GetService] for a name with no nodes.
var ErrNotFound = errors.New("service not found")

// ErrWatcherStopped is returned by [Watcher.Next] once the watcher is stopped.
var ErrWatcherStopped = errors.New("watcher stopped")

// Registry stores which nodes serve which services. Implementations are safe
// for concurrent use.
type Registry interface {
	// Register adds or refreshes the nodes of s under s.Name and s.Version.
	Register(ctx context.Context, s *Service, opts ...RegisterOption) error
	// Deregister removes the nodes of s; a version left with no nodes is removed.
	Deregister(ctx context.Context, s *Service) error
	// GetService returns every version of the named service, each with its
	// nodes, or an error wrapping [ErrNotFound].
	GetService(ctx context.Context, name string) ([]*Service, error)
	// ListServices returns every registered service version, with its nodes.
	ListServices(ctx context.Context) ([]*Service, error)
	// Watch reports changes from now on until ctx is done or the watcher is
	// stopped.
	Watch(ctx context.Context, opts ...WatchOption) (Watcher, error)
	// String names the backend, "memory".
	String() string
}

// Service is one version of a named service and the nodes that serve it.
type Service struct {
	Name      string            `json:"name"`
	Version   string            `json:"version,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	Endpoints []*Endpoint       `json:"endpoints,omitempty"`
	// Subscriptions are the event topics the service consumes, so that
	// tools show what a service reads as well as what it serves.
	Subscriptions []Subscription `json:"subscriptions,omitempty"`
	Nodes         []*Node        `json:"nodes,omitempty"`
}

// Subscription is one event subscription of a service.
type Subscription struct {
	// Topic is the event topic, "orders.created".
	Topic string `json:"topic"`
	// Group is the queue group whose members share the topic's events; ""
	// when every node gets every event (broadcast).
	Group string `json:"group,omitempty"`
	// Type is the full name of the event's message type when the handler is
	// typed, "orders.v1.OrderCreated".
	Type string `json:"type,omitempty"`
}

// Node is one running instance of a service.
type Node struct {
	// ID is unique among the nodes of a service.
	ID string `json:"id"`
	// Address is where the node listens, "10.0.0.7:8080".
	Address  string            `json:"address"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Endpoint is one procedure a service serves, described well enough for a
// gateway or a CLI to call it without the proto.
type Endpoint struct {
	// Procedure is the gRPC method path, "/greeter.v1.Greeter/Hello".
	Procedure   string          `json:"procedure"`
	StreamType  rpc.StreamType  `json:"stream_type,omitempty"`
	Idempotency rpc.Idempotency `json:"idempotency,omitempty"`
	// Request and Response are the full names of the message types,
	// "greeter.v1.HelloRequest".
	Request  string         `json:"request,omitempty"`
	Response string         `json:"response,omitempty"`
	HTTP     []rpc.HTTPRule `json:"http,omitempty"`
	// Access is who may call the procedure, from micro's proto options; nil
	// when the proto declares none.
	Access *rpc.Access `json:"access,omitempty"`
	// Doc is the method's comment in the proto and FieldDocs its request
	// fields' comments by field path ("book.title"), for tools that describe
	// the method.
	Doc       string            `json:"doc,omitempty"`
	FieldDocs map[string]string `json:"field_docs,omitempty"`
}

// Watcher reports registry changes in the order they happened.
type Watcher interface {
	// Next blocks until the next change and returns it. After [Watcher.Stop],
	// or once the context given to Watch is done, it returns an error wrapping
	// [ErrWatcherStopped].
	Next() (*Event, error)
	// Stop ends the watch and releases its resources. It is safe to call more
	// than once and from any goroutine.
	Stop()
}

// EventType says what happened to a node.
type EventType uint8

// Kinds of change.
const (
	EventCreate EventType = iota + 1 // a node appeared
	EventUpdate                      // a node registered again with changes
	EventDelete                      // a node left or expired
)

// String returns "create", "update" or "delete".
func (t EventType) String() string {
	switch t {
	case EventCreate:
		return "create"
	case EventUpdate:
		return "update"
	case EventDelete:
		return "delete"
	}
	return "unknown"
}

// Event is one change: Service holds the service version with only the node
// that changed.
type Event struct {
	Type    EventType
	Service *Service
}

// ServiceNames returns the names of the services r lists, sorted and each
// once (a name registered in several versions is listed once per version).
// It returns r's error as it is, for the caller to say what it was doing.
func ServiceNames(ctx context.Context, r Registry) ([]string, error) {
	services, err := r.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(services))
	for _, s := range services {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
