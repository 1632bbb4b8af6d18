package config

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Source is one layer of configuration. Implementations must be safe for
// concurrent use.
type Source interface {
	// String names the source in errors and in where each value came from:
	// "config.yaml", "env MICRO_CONFIG_*".
	String() string
	// Load reads the source's values as a tree of maps keyed by name. A
	// source that cannot be read returns an error, naming what it could not
	// read; a [*Error] says where in the source.
	Load(ctx context.Context) (map[string]any, error)
}

// Watcher is a [Source] that can say when it changed. [New] watches every
// source that implements it, unless given [WithoutWatch].
type Watcher interface {
	// Watch starts watching and returns once changes are being seen. It
	// calls changed, from a goroutine of its own and never concurrently,
	// whenever the source may have changed, until ctx ends; then it closes
	// done. An error means the source cannot be watched.
	Watch(ctx context.Context, changed func()) (done <-chan struct{}, err error)
}

// Defaults returns a source of values in code, the lowest layer. v is a
// map[string]any, a proto message (keys are its proto field names), or a
// struct (keys are its json names).
func Defaults(v any) Source { return &defaults{v: v} }

type defaults struct{ v any }

func (d *defaults) String() string { return "defaults" }

func (d *defaults) Load(context.Context) (map[string]any, error) {
	var (
		data []byte
		err  error
	)
	switch v := d.v.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return deepCopy(v), nil
	case proto.Message:
		data, err = protojson.MarshalOptions{UseProtoNames: true}.Marshal(v)
	default:
		data, err = json.Marshal(v)
	}
	if err != nil {
		return nil, fmt.Errorf("defaults %T: %w", d.v, err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("defaults %T: want a map, struct or proto message: %w", d.v, err)
	}
	return m, nil
}

// deepCopy copies the maps and slices of m, so that merging never changes
// what a source returned.
func deepCopy(m map[string]any) map[string]any {
	out := maps.Clone(m)
	for k, v := range out {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return deepCopy(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopyValue(e)
		}
		return out
	}
	return v
}

// EnvPrefix is the prefix of the environment variables a service's
// configuration comes from, as [ServiceSources] reads them.
const EnvPrefix = "MICRO_CONFIG_"

// ServiceSources returns the sources of a micro service's configuration:
// the file config.yaml in dir, if there is one, then the environment
// variables starting with [EnvPrefix]. micro.NewService loads these, and
// the micro config command prints what they merge to.
func ServiceSources(dir string, opts ...EnvOption) []Source {
	return []Source{
		File(filepath.Join(dir, "config.yaml"), Optional()),
		Env(EnvPrefix, opts...),
	}
}
