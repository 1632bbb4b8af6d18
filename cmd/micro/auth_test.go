package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/protomicro/micro/runtime/auth/jwt"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/testdata/authtest"
	"github.com/protomicro/micro/testdata/golden/access"
	"github.com/protomicro/micro/testdata/testutil"
)

// authWorld runs the access.v1.Orders service with auth in a registry of
// its own and returns the environment micro is run with.
func authWorld(t *testing.T, opts ...micro.Option) (*authtest.Auth, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	reg, err := local.New(local.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	keys := authtest.NewAuth(t)
	authtest.StartOrders(t, reg, append([]micro.Option{micro.WithAuth(keys.Verifier(t))}, opts...)...)
	return keys, map[string]string{"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": dir}
}

func mapEnv(env map[string]string) lookupEnv {
	return func(key string) (string, bool) {
		v, ok := env[key]
		return v, ok
	}
}

// runWithEnv runs micro with args and env, and returns its status, standard
// output and standard error.
func runWithEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	status := run(t.Context(), args, mapEnv(env), strings.NewReader(""), &stdout, &stderr)
	return status, stdout.String(), stderr.String()
}

// TestCallAuth runs micro call for each case of the access table, with
// --token: a refused call exits 1 and prints its code and why.
func TestCallAuth(t *testing.T) {
	t.Parallel()
	keys, env := authWorld(t)
	for _, tt := range keys.Cases(t) {
		args := []string{"call", "orders", tt.Procedure, "{}"}
		if tt.Token != "" {
			args = append(args, "--token", tt.Token)
		}
		status, stdout, stderr := runWithEnv(t, env, args...)
		if tt.Code == errors.CodeOK {
			var order struct{ ID string }
			if status != 0 || json.Unmarshal([]byte(stdout), &order) != nil {
				t.Errorf("%s: micro %s = %d\nstdout: %s\nstderr: %s\nwant 0 and an order", tt.Name, strings.Join(args, " "), status, stdout, stderr)
				continue
			}
			want := ""
			switch tt.Procedure {
			case access.OrdersForwardProcedure:
				want = "Bearer " + tt.Token
			case access.OrdersStatusProcedure:
				want = "ok"
			}
			if order.ID != want {
				t.Errorf("%s: downstream saw %q, want %q", tt.Name, order.ID, want)
			}
			continue
		}
		prefix := "micro: " + tt.Code.String() + ": "
		if status != 1 || !strings.HasPrefix(stderr, prefix) || !strings.Contains(stderr, tt.Message) {
			t.Errorf("%s: micro %s = %d\nstderr: %s\nwant 1 and %q... saying %q", tt.Name, strings.Join(args, " "), status, stderr, prefix, tt.Message)
		}
	}
}

// TestAuthCommands makes a key with micro auth keygen, signs a token with
// micro auth token, and calls with it from MICRO_TOKEN a service that
// verifies with the key file (MICRO_AUTH_KEY, read by jwt.FromEnv).
func TestAuthCommands(t *testing.T) {
	t.Parallel()
	key := filepath.Join(t.TempDir(), "micro", "auth.pem")
	status, stdout, stderr := runWithEnv(t, nil, "auth", "keygen", "--key", key)
	if status != 0 || strings.TrimSpace(stdout) != key {
		t.Fatalf("micro auth keygen = %d\nstdout: %s\nstderr: %s\nwant 0 and the key's path", status, stdout, stderr)
	}
	status, stdout, stderr = runWithEnv(t, map[string]string{"MICRO_AUTH_KEY": key}, "auth", "token", "--subject", "ada", "--scopes", "orders:read,orders:write", "--ttl", "5m")
	if status != 0 {
		t.Fatalf("micro auth token = %d\nstderr: %s", status, stderr)
	}
	token := strings.TrimSpace(stdout)

	dir := t.TempDir()
	reg, err := local.New(local.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.FromEnv(func(name string) string { return map[string]string{"MICRO_AUTH_KEY": key}[name] })
	if err != nil {
		t.Fatal(err)
	}
	authtest.StartOrders(t, reg, micro.WithAuth(v))
	env := map[string]string{"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": dir}
	if status, _, stderr := runWithEnv(t, env, "call", "orders", "Create", "{}"); status != 1 || !strings.Contains(stderr, "unauthenticated") {
		t.Errorf("micro call without a token = %d %s, want 1 unauthenticated: the service verifies with --auth_key", status, stderr)
	}
	env["MICRO_TOKEN"] = token
	if status, stdout, stderr := runWithEnv(t, env, "call", "orders", "Create", "{}"); status != 0 {
		t.Errorf("micro call with MICRO_TOKEN = %d\nstdout: %s\nstderr: %s\nwant 0", status, stdout, stderr)
	}
	for _, args := range [][]string{
		{"auth", "token", "--ttl", "-1m", "--key", key},
		{"auth", "token", "extra"},
	} {
		if status, _, stderr := runWithEnv(t, nil, args...); status != 2 || !strings.HasPrefix(stderr, "micro: ") {
			t.Errorf("micro %s = %d %s, want 2: a usage mistake", strings.Join(args, " "), status, stderr)
		}
	}
	if status, _, stderr := runWithEnv(t, nil, "auth", "token", "--key", filepath.Join(t.TempDir(), "none.pem")); status != 1 || !strings.Contains(stderr, "micro auth keygen") {
		t.Errorf("micro auth token with no key file = %d %s, want 1 saying to run micro auth keygen", status, stderr)
	}
}

// TestCallTLS calls a service serving mutual TLS: micro dials it with TLS
// because its registration says so, with MICRO_TLS_CA and its client
// certificate from MICRO_TLS_CERT and MICRO_TLS_KEY, and without the
// certificate is refused.
func TestCallTLS(t *testing.T) {
	t.Parallel()
	ca := testutil.NewCA(t)
	ca.Issue(t, "orders", "server.pem", "server-key.pem")
	ca.Issue(t, "micro", "client.pem", "client-key.pem")
	keys, env := authWorld(t, micro.WithTLS(ca.Path("server.pem"), ca.Path("server-key.pem"), ca.CAFile))
	env["MICRO_TLS_CA"] = ca.CAFile
	args := []string{"call", "orders", "Status", "{}"}
	if status, _, stderr := runWithEnv(t, env, args...); status != 1 || !strings.Contains(stderr, "unavailable") {
		t.Errorf("micro %s without a client certificate = %d %s, want 1 unavailable", strings.Join(args, " "), status, stderr)
	}
	env["MICRO_TLS_CERT"], env["MICRO_TLS_KEY"] = ca.Path("client.pem"), ca.Path("client-key.pem")
	if status, stdout, stderr := runWithEnv(t, env, args...); status != 0 || !strings.Contains(stdout, `"ok"`) {
		t.Errorf("micro %s = %d\nstdout: %s\nstderr: %s\nwant 0 and the answer", strings.Join(args, " "), status, stdout, stderr)
	}
	args = []string{"call", "orders", "Get", "{}", "--token", keys.Token(t, "orders:read")}
	if status, _, stderr := runWithEnv(t, env, args...); status != 0 {
		t.Errorf("micro call Get over mutual TLS with a token = %d %s, want 0", status, stderr)
	}
}
