package config_test

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protomicro/micro/runtime/config"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestMain checks that a closed Config leaves no goroutine behind (its
// file watchers).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// settings is a service's configuration, as a test declares it.
type settings struct {
	Name    string        `json:"name"`
	Port    int           `json:"port"`
	Debug   bool          `json:"debug"`
	Timeout time.Duration `json:"timeout"`
	DB      struct {
		Host     string `json:"host"`
		Password string `json:"password"`
	} `json:"db"`
}

// writeFile writes a file under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func environ(vars ...string) config.EnvOption {
	return config.WithEnviron(func() []string { return vars })
}

func newConfig(t *testing.T, opts ...config.Option) *config.Config {
	t.Helper()
	// Rejected reloads are logged where the test's output goes.
	logger := config.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil)))
	c, err := config.New(testutil.Context(t), append([]config.Option{logger}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestLayers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := writeFile(t, dir, "config.yaml", "name: from-file\nport: 8080\ndb:\n  host: file-host\n  password: hunter2\n")
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.String("debug", "false", "")
	fs.String("name", "flag-default", "") // not set: does not override
	if err := fs.Parse([]string{"--debug=true"}); err != nil {
		t.Fatal(err)
	}
	c := newConfig(t, config.WithoutWatch(), config.WithSources(
		config.Defaults(map[string]any{"name": "default", "port": 1, "timeout": "5s"}),
		config.File(file),
		config.Env("MICRO_CONFIG_", environ("MICRO_CONFIG_PORT=9090", "MICRO_CONFIG_DB__HOST=env-host", "OTHER=1")),
		config.Flags(fs),
	))
	var got settings
	if err := c.Scan(&got); err != nil {
		t.Fatal(err)
	}
	want := settings{Name: "from-file", Port: 9090, Debug: true, Timeout: 5 * time.Second}
	want.DB.Host, want.DB.Password = "env-host", "hunter2"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scan (-want +got):\n%s", diff)
	}
	s := c.Snapshot()
	for _, tt := range []struct{ key, source, printed string }{
		{"name", file, "from-file"},
		{"port", "env MICRO_CONFIG_*", "9090"},
		{"timeout", "defaults", "5s"},
		{"debug", "flags", "true"},
		{"db.host", "env MICRO_CONFIG_*", "env-host"},
		{"db.password", file, config.Redacted},
	} {
		if got := s.Source(tt.key); got != tt.source {
			t.Errorf("Source(%q) = %q, want %q", tt.key, got, tt.source)
		}
		if got := s.Print(tt.key); got != tt.printed {
			t.Errorf("Print(%q) = %q, want %q", tt.key, got, tt.printed)
		}
	}
	if strings.Contains(c.String(), "hunter2") {
		t.Errorf("String() shows a secret:\n%s", c.String())
	}
}

func TestFileErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, file, content string
		line, column        int
		want                string
	}{
		{name: "yaml", file: "c.yaml", content: "a: 1\nb: c: d\n", line: 2, column: 5, want: "c.yaml:2:5: mapping values are not allowed in this context"},
		{name: "yaml first line", file: "c.yaml", content: "a: b: c\n", line: 1, column: 5, want: "c.yaml:1:5: mapping values are not allowed"},
		{name: "yaml tab", file: "c.yaml", content: "a: 1\n\tb: 2\n", line: 2, column: 1, want: "c.yaml:2:1: found a tab character that violates indentation"},
		{name: "yaml tab in mapping", file: "c.yaml", content: "a: 1\ndb:\n\thost: x\n", line: 3, column: 1, want: "c.yaml:3:1: found character that cannot start any token"},
		{name: "yaml indentation", file: "c.yaml", content: "a: 1\n  b: 2\n", line: 2, column: 4, want: "c.yaml:2:4: mapping values are not allowed"},
		{name: "yaml dedent", file: "c.yaml", content: "a: 1\ndb:\n  host: x\n port: 2\n", line: 4, column: 2, want: "c.yaml:4:2: did not find expected key"},
		{name: "yaml list indentation", file: "c.yaml", content: "a:\n  - 1\n  b: 2\n", line: 3, column: 3, want: "c.yaml:3:3: did not find expected '-' indicator"},
		// Unclosed: the error is where the parser gave up, and says where
		// the bracket or quote opens.
		{name: "yaml unclosed bracket", file: "c.yaml", content: "a: 1\nlist: [1, 2\nport: 3\n", line: 3, column: 5, want: "c.yaml:3:5: did not find expected ',' or ']' (while parsing a flow sequence from 2:7)"},
		{name: "yaml unclosed brace at end", file: "c.yaml", content: "a: 1\nmap: {a: 1\n", line: 3, column: 1, want: "c.yaml:3:1: did not find expected ',' or '}' (while parsing a flow mapping from 2:6)"},
		{name: "yaml unclosed quote", file: "c.yaml", content: "name: \"abc\nport: 1\n", line: 3, column: 1, want: "c.yaml:3:1: found unexpected end of stream (while scanning a quoted scalar from 1:7)"},
		{name: "yaml extra bracket", file: "c.yaml", content: "key: [a, b]]\n", line: 1, column: 12, want: "c.yaml:1:12: did not find expected key"},
		{name: "yaml duplicate key", file: "c.yaml", content: "name: a\nname: b\n", line: 2, column: 1, want: `c.yaml:2:1: mapping key "name" already defined at line 1`},
		{name: "yaml unknown anchor", file: "c.yaml", content: "a: &x 1\nb: *y\n", line: 2, column: 4, want: "c.yaml:2:4: unknown anchor 'y' referenced"},
		{name: "json", file: "c.json", content: "{\n  \"a\": 1,\n  \"b\" 2\n}\n", line: 3, column: 7, want: "c.json:3:7"},
		{name: "toml", file: "c.toml", content: "a = 1\nb = = 2\n", line: 2, column: 5, want: "c.toml:2:5"},
		{name: "format", file: "c.ini", content: "a=1", want: "unknown format"},
		{name: "missing variable", file: "c.yaml", content: "a: ${CONFIG_TEST_UNSET}\n", want: `key "a": ${CONFIG_TEST_UNSET} is not set`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), tt.file, tt.content)
			_, err := config.New(testutil.Context(t), config.WithoutWatch(), config.WithSources(config.File(path)))
			var configErr *config.Error
			if !errors.As(err, &configErr) || configErr.Line != tt.line || configErr.Column != tt.column || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New(%s) = %v, want an *Error at %d:%d containing %q", tt.content, err, tt.line, tt.column, tt.want)
			}
		})
	}
}

func TestOptionalFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if _, err := config.New(testutil.Context(t), config.WithoutWatch(), config.WithSources(config.File(path))); err == nil {
		t.Error("New with a missing file = nil error, want one")
	}
	c := newConfig(t, config.WithoutWatch(), config.WithSources(config.File(path, config.Optional())))
	if keys := c.Snapshot().Keys(); len(keys) != 0 {
		t.Errorf("Keys() of a missing optional file = %q, want none", keys)
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	lookup := func(key string) (string, bool) {
		v, ok := map[string]string{"HOST": "db.internal", "EMPTY": ""}[key]
		return v, ok
	}
	path := writeFile(t, t.TempDir(), "config.yaml", "a: ${HOST}\nb: ${UNSET:fallback}\nc: ${EMPTY:default}\nd: [\"${HOST}:5432\"]\n")
	c := newConfig(t, config.WithoutWatch(), config.WithSources(config.File(path, config.WithLookupEnv(lookup))))
	for key, want := range map[string]any{"a": "db.internal", "b": "fallback", "c": "default", "d": []any{"db.internal:5432"}} {
		if diff := cmp.Diff(want, c.Snapshot().Get(key)); diff != "" {
			t.Errorf("Get(%q) (-want +got):\n%s", key, diff)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		content string
		bind    func(*config.Config) error
		want    string
	}{
		{
			name:    "unknown key",
			content: "name: a\ndb:\n  hots: x\n",
			bind:    func(c *config.Config) error { _, err := config.Bind[settings](c, config.Strict()); return err },
			want:    `config.yaml: key "db.hots": unknown key; did you mean "db.host"?`,
		},
		{
			name:    "type mismatch",
			content: "port: eighty\n",
			bind:    func(c *config.Config) error { _, err := config.Bind[settings](c); return err },
			want:    `config.yaml: key "port": want int, got string "eighty"`,
		},
		{
			name:    "map for a string",
			content: "name: {a: 1}\n",
			bind:    func(c *config.Config) error { _, err := config.Bind[settings](c); return err },
			want:    `config.yaml: key "name": want string, got a map`,
		},
		{
			name:    "proto unknown field",
			content: "name: a\nnumbr: 3\n",
			bind: func(c *config.Config) error {
				_, err := config.Bind[*descriptorpb.FieldDescriptorProto](c, config.Strict())
				return err
			},
			want: `config.yaml: key "numbr": unknown field of google.protobuf.FieldDescriptorProto; did you mean "number"?`,
		},
		{
			name:    "proto type mismatch",
			content: "number: three\n",
			bind:    func(c *config.Config) error { _, err := config.Bind[*descriptorpb.FieldDescriptorProto](c); return err },
			want:    `config.yaml: key "number": want int32, got string "three"`,
		},
		{
			name:    "validator",
			content: "port: 0\n",
			bind: func(c *config.Config) error {
				_, err := config.Bind[settings](c, config.Validate(func(s settings) error {
					if s.Port == 0 {
						return errors.New("port must be set")
					}
					return nil
				}))
				return err
			},
			want: "invalid config: port must be set",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := writeFile(t, dir, "config.yaml", tt.content)
			c := newConfig(t, config.WithoutWatch(), config.WithSources(config.File(path)))
			if err := tt.bind(c); err == nil || strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "") != tt.want {
				t.Errorf("Bind(%q) = %v, want %s", tt.content, err, tt.want)
			}
		})
	}
}

func TestBindProto(t *testing.T) {
	t.Parallel()
	// Proto names and JSON names both work, and strings from the
	// environment become numbers and bools.
	path := writeFile(t, t.TempDir(), "config.yaml", "name: id\njson_name: ID\noptions:\n  deprecated: true\n")
	c := newConfig(t, config.WithoutWatch(), config.WithSources(
		config.File(path),
		config.Env("APP_", environ("APP_NUMBER=7", "APP_PROTO3_OPTIONAL=true", "APP_TYPE=TYPE_STRING")),
	))
	v, err := config.Bind[*descriptorpb.FieldDescriptorProto](c, config.Strict())
	if err != nil {
		t.Fatal(err)
	}
	want := &descriptorpb.FieldDescriptorProto{
		Name: proto.String("id"), JsonName: proto.String("ID"), Number: proto.Int32(7),
		Proto3Optional: proto.Bool(true), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
		Options: &descriptorpb.FieldOptions{Deprecated: proto.Bool(true)},
	}
	if diff := cmp.Diff(want, v.Get(), protocmp.Transform()); diff != "" {
		t.Errorf("Get() (-want +got):\n%s", diff)
	}
}

// reloading is a source whose port goes up on every load.
type reloading struct{ port *atomic.Int64 }

func (r reloading) String() string { return "reloading" }

func (r reloading) Load(context.Context) (map[string]any, error) {
	return map[string]any{"port": r.port.Add(1)}, nil
}

func TestOptionalFileInMissingDirectory(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "no", "such", "config.yaml")
	c := newConfig(t, config.WithSources(config.File(path, config.Optional())))
	if keys := c.Snapshot().Keys(); len(keys) != 0 {
		t.Errorf("Keys() = %q, want none", keys)
	}
}

// TestReadsDuringReloads reads while the configuration reloads, for the race
// detector: a reader sees one whole snapshot or the next, never a mix.
func TestReadsDuringReloads(t *testing.T) {
	t.Parallel()
	var port atomic.Int64
	c := newConfig(t, config.WithoutWatch(), config.WithSources(reloading{&port}))
	v, err := config.Bind[settings](c)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			if err := c.Reload(testutil.Context(t)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for last := 0; ; {
		select {
		case <-done:
			if got := v.Get().Port; got != 201 {
				t.Errorf("Get().Port = %d after 200 reloads, want 201", got)
			}
			return
		default:
		}
		got := v.Get().Port
		if s := c.Snapshot().Get("port"); got < last || s == nil {
			t.Fatalf("Get().Port went from %d to %d (snapshot %v)", last, got, s)
		}
		last = got
	}
}
