package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfig runs micro config on a project directory, with
// MICRO_CONFIG_PORT set in the environment (so it cannot run in parallel).
func TestConfig(t *testing.T) {
	t.Setenv("MICRO_CONFIG_PORT", "9090")
	t.Setenv("MICRO_CONFIG_DB__TOKEN", "from-env-secret")
	for _, tt := range []struct {
		name   string
		config string // config.yaml of the project; none when empty
		args   []string
		status int
		stdout []string // lines, each with its spaces collapsed
		stderr string
	}{
		{
			name:   "env over file",
			config: "name: greeter\nport: 8080\ndb:\n  host: localhost\n  password: hunter2\n",
			stdout: []string{
				"KEY VALUE SOURCE",
				"db.host localhost $DIR/config.yaml",
				"db.password ****** $DIR/config.yaml",
				"db.token ****** env MICRO_CONFIG_*",
				"name greeter $DIR/config.yaml",
				"port 9090 env MICRO_CONFIG_*",
			},
		},
		{
			name:   "no config file",
			stdout: []string{"KEY VALUE SOURCE", "db.token ****** env MICRO_CONFIG_*", "port 9090 env MICRO_CONFIG_*"},
		},
		{
			name:   "json",
			config: "name: greeter\n",
			args:   []string{"-o", "json"},
			stdout: []string{`[`, `{`, `"key": "db.token",`, `"value": "******",`, `"source": "env MICRO_CONFIG_*"`, `},`, `{`, `"key": "name",`, `"value": "greeter",`, `"source": "$DIR/config.yaml"`, `},`, `{`, `"key": "port",`, `"value": "9090",`, `"source": "env MICRO_CONFIG_*"`, `}`, `]`},
		},
		{
			name:   "syntax error",
			config: "name: greeter\nport: 8080: 1\n",
			status: 1,
			stderr: "micro: $DIR/config.yaml:2:11: mapping values are not allowed in this context\n",
		},
		{
			name:   "not a directory",
			args:   []string{"config.yaml"},
			config: "name: greeter\n",
			status: 1,
			stderr: "micro: config: $DIR/config.yaml is not a directory\n",
		},
		{
			name:   "two directories",
			args:   []string{".", "."},
			status: 2,
			stderr: "micro: accepts at most 1 arg(s), received 2\nrun 'micro config --help' for usage\n",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.config != "" {
				if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(tt.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			args := tt.args
			switch {
			case len(args) == 0, args[0] == "-o":
				args = append([]string{dir}, args...)
			case args[0] == "config.yaml":
				args = []string{filepath.Join(dir, "config.yaml")}
			}
			var stdout, stderr bytes.Buffer
			status := run(t.Context(), append([]string{"config"}, args...), noEnv, nil, &stdout, &stderr)
			var lines []string
			for line := range strings.Lines(strings.ReplaceAll(stdout.String(), dir, "$DIR")) {
				lines = append(lines, strings.Join(strings.Fields(line), " "))
			}
			gotErr := strings.ReplaceAll(stderr.String(), dir, "$DIR")
			if status != tt.status || strings.Join(lines, "\n") != strings.Join(tt.stdout, "\n") || gotErr != tt.stderr {
				t.Errorf("micro config %s = %d\nstdout:\n%s\nstderr: %s\nwant %d\nstdout:\n%s\nstderr: %s",
					strings.Join(args, " "), status, strings.Join(lines, "\n"), gotErr, tt.status, strings.Join(tt.stdout, "\n"), tt.stderr)
			}
		})
	}
}
