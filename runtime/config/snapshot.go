package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/knadh/koanf/maps"
	"github.com/knadh/koanf/v2"
)

// Redacted is what printing a [Snapshot] shows in place of a secret value.
const Redacted = "******"

// secretPattern matches the keys whose values are secrets: those with
// password, secret, token or key in any part ("db.password", "api_key",
// "secrets.github").
const secretPattern = `(?i)(passw(or)?d|secret|token|key)`

// Snapshot is the merged configuration at one moment. It is immutable and
// safe for concurrent use.
type Snapshot struct {
	k       *koanf.Koanf
	keys    []string          // flattened, sorted
	sources map[string]string // key -> the source it came from
	secret  *regexp.Regexp
}

// layer is one source's values, for merging.
type layer struct {
	source string
	values map[string]any
}

// merge builds a snapshot of layers, later ones winning.
func merge(layers []layer, secret *regexp.Regexp) (*Snapshot, error) {
	k := koanf.New(".")
	sources := map[string]string{}
	for _, l := range layers {
		if err := k.Load(mapProvider(l.values), nil); err != nil {
			return nil, fmt.Errorf("merge %s: %w", l.source, err)
		}
		flat, _ := maps.Flatten(l.values, nil, ".")
		for key := range flat {
			sources[key] = l.source
		}
	}
	return &Snapshot{k: k, keys: k.Keys(), sources: sources, secret: secret}, nil
}

// mapProvider gives koanf a copy of a source's values.
type mapProvider map[string]any

func (m mapProvider) ReadBytes() ([]byte, error) {
	return nil, fmt.Errorf("config: read bytes of a map")
}
func (m mapProvider) Read() (map[string]any, error) { return deepCopy(m), nil }

// Keys returns the dotted keys of every value, sorted: "db.host".
func (s *Snapshot) Keys() []string { return slices.Clone(s.keys) }

// Get returns the value at a dotted key, a subtree as map[string]any, or
// nil; secrets are not redacted.
func (s *Snapshot) Get(key string) any { return s.k.Get(key) }

// Source returns the name of the source the value at key came from, the
// last that set it ("config.yaml"), or "" if none did.
func (s *Snapshot) Source(key string) string { return s.sources[key] }

// IsSecret reports whether the value at key is redacted when printed.
func (s *Snapshot) IsSecret(key string) bool { return s.secret.MatchString(key) }

// Print returns the value at key as it is printed: "******" for a secret,
// JSON for a list, the value otherwise.
func (s *Snapshot) Print(key string) string {
	if s.IsSecret(key) {
		return Redacted
	}
	switch v := s.k.Get(key).(type) {
	case string:
		return v
	case nil:
		return ""
	case []any, map[string]any:
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(data)
	default:
		return fmt.Sprint(v)
	}
}

// String returns one line per value, "key = value (source)", secrets
// redacted.
func (s *Snapshot) String() string {
	var b strings.Builder
	for _, key := range s.keys {
		fmt.Fprintf(&b, "%s = %s (%s)\n", key, s.Print(key), s.sources[key])
	}
	return b.String()
}

// LogValue returns the values as a group, secrets redacted, so that logging
// a snapshot with [log/slog] never shows a secret.
func (s *Snapshot) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(s.keys))
	for _, key := range s.keys {
		attrs = append(attrs, slog.String(key, s.Print(key)))
	}
	return slog.GroupValue(attrs...)
}

// Scan decodes the whole configuration into v, a pointer to a struct (keys
// matched to json tags, or field names ignoring case) or a proto message
// (keys matched to protojson field names). Strings, as environment
// variables and flags give, are converted to the field's type. Keys that
// match no field are ignored; [Bind] with [Strict] refuses them.
func (s *Snapshot) Scan(v any) error { return s.decode(v, false) }
