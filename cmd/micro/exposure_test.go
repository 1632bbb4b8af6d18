package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/protomicro/micro/testdata/authtest"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestCheckExposure checks which addresses micro api, web and proxy serve
// on without auth: loopback ones only, unless --insecure_public is given;
// with auth configured, any.
func TestCheckExposure(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		address                  string
		withAuth, insecurePublic bool
		ok                       bool
	}{
		{"127.0.0.1:8080", false, false, true},
		{"localhost:8080", false, false, true},
		{"[::1]:8080", false, false, true},
		{"0.0.0.0:8080", false, false, false},
		{"[::]:8080", false, false, false},
		{":0", false, false, false},
		{"192.0.2.1:8080", false, false, false},
		{"example.com:8080", false, false, false},
		{"0.0.0.0:8080", true, false, true},
		{":0", true, false, true},
		{"0.0.0.0:8080", false, true, true},
		{":8080", false, true, true},
	} {
		f := &edgeAuthFlags{insecurePublic: tt.insecurePublic}
		err := f.checkExposure(tt.address, tt.withAuth)
		if (err == nil) != tt.ok {
			t.Errorf("checkExposure(%q, auth %v, --insecure_public %v) = %v, want ok %v", tt.address, tt.withAuth, tt.insecurePublic, err, tt.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), tt.address) || !strings.Contains(err.Error(), "MICRO_AUTH_KEY") || !strings.Contains(err.Error(), "--insecure_public")) {
			t.Errorf("checkExposure(%q) = %q, want it to name the address, how to configure auth and --insecure_public", tt.address, err)
		}
	}
}

// TestAPIWithAuth runs micro api --web with MICRO_AUTH_KEY set and calls
// echo, which has no auth of its own, through it: without a token the
// gateway answers 401 itself, with a token of the key the call goes
// through; and the dashboard shows nothing without a token.
func TestAPIWithAuth(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	keys := authtest.NewAuth(t)
	env := func(key string) (string, bool) {
		switch key {
		case "MICRO_AUTH_KEY":
			return keys.KeyFile, true
		case "MICRO_AUTH_ISSUER":
			return authtest.Issuer, true
		}
		return w.env(key)
	}
	address, stderr, stop := startServing(t, env, "api", "--web", "--address", "127.0.0.1:0")
	defer stop()
	if !strings.Contains(stderr.String(), "verifying bearer tokens") {
		t.Errorf("micro api with MICRO_AUTH_KEY wrote %q, want it to say it verifies tokens", stderr.String())
	}
	echo := "http://" + address + "/streaming.v1.Echo/Echo"
	if code, challenge := httpStatus(t, http.DefaultClient, "POST", echo, "", `{"message":"hi"}`); code != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Bearer") {
		t.Errorf("POST Echo without a token through micro api with auth = %d, WWW-Authenticate %q; want 401 with a Bearer challenge", code, challenge)
	}
	if code, _ := httpStatus(t, http.DefaultClient, "POST", echo, keys.Token(t), `{"message":"hi"}`); code != http.StatusOK {
		t.Errorf("POST Echo with a token through micro api with auth = %d, want 200", code)
	}
	for token, want := range map[string]int{"": http.StatusUnauthorized, keys.Token(t): http.StatusOK} {
		if code, _ := httpStatus(t, http.DefaultClient, "GET", "http://"+address+webPrefix+"api/services", token, ""); code != want {
			t.Errorf("GET %sapi/services with token %v = %d, want %d", webPrefix, token != "", code, want)
		}
	}
}

// startServing runs micro with args and env until the test ends, waits
// until it says it serves, and returns the address it serves on and a
// stop that interrupts it and checks that it exits 130.
func startServing(t *testing.T, env lookupEnv, args ...string) (address string, stderr *testutil.Buffer, stop func()) {
	t.Helper()
	ctx, interrupt := context.WithCancel(t.Context())
	t.Cleanup(interrupt)
	var stdout testutil.Buffer
	stderr = new(testutil.Buffer)
	status := make(chan int, 1)
	go func() { status <- run(ctx, args, env, strings.NewReader(""), &stdout, stderr) }()
	testutil.WaitFor(t, "micro "+strings.Join(args, " ")+" to serve", func() bool {
		m := servingOn.FindStringSubmatch(stderr.String())
		if m != nil {
			address = m[1]
		}
		return m != nil
	})
	return address, stderr, func() {
		t.Helper()
		interrupt()
		select {
		case got := <-status:
			if got != 130 {
				t.Errorf("micro %s, interrupted = %d, want 130\nstderr: %s", strings.Join(args, " "), got, stderr.String())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("micro %s did not return after the interrupt", strings.Join(args, " "))
		}
	}
}

// httpStatus sends a request with body (none when empty) and, unless
// token is empty, Authorization: Bearer token, and returns the answer's
// status and WWW-Authenticate.
func httpStatus(t *testing.T, c *http.Client, method, url, token, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(testutil.Context(t), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	return res.StatusCode, res.Header.Get("WWW-Authenticate")
}
