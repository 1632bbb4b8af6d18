package config

import (
	"context"
	"strings"

	"github.com/knadh/koanf/providers/env/v2"
)

// EnvOption configures an [Env] source.
type EnvOption interface {
	applyEnv(*envOptions)
}

type envOptions struct {
	environ func() []string
}

type envOptionFunc func(*envOptions)

func (f envOptionFunc) applyEnv(o *envOptions) { f(o) }

// WithEnviron sets where the variables come from, as "KEY=value" strings.
// The default is [os.Environ].
func WithEnviron(environ func() []string) EnvOption {
	return envOptionFunc(func(o *envOptions) { o.environ = environ })
}

// Env returns a source of the environment variables whose names start with
// prefix, "MICRO_CONFIG_". The rest of a name, lowercased, is the key, and
// a double underscore separates its parts: MICRO_CONFIG_DB__MAX_CONNS sets
// db.max_conns. Values are strings; decoding converts them to the type of
// the field they fill.
func Env(prefix string, opts ...EnvOption) Source {
	var o envOptions
	for _, opt := range opts {
		opt.applyEnv(&o)
	}
	return &envSource{prefix: prefix, provider: env.Provider(".", env.Opt{
		Prefix:      prefix,
		EnvironFunc: o.environ,
		TransformFunc: func(k, v string) (string, any) {
			key := strings.ToLower(strings.TrimPrefix(k, prefix))
			return strings.ReplaceAll(key, "__", "."), v
		},
	})}
}

type envSource struct {
	prefix   string
	provider *env.Env
}

func (e *envSource) String() string { return "env " + e.prefix + "*" }

func (e *envSource) Load(context.Context) (map[string]any, error) {
	return e.provider.Read()
}
