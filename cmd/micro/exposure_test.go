package main

import (
	"context"
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
	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	var stdout, stderr testutil.Buffer
	status := make(chan int, 1)
	go func() {
		status <- run(ctx, []string{"api", "--web", "--address", "127.0.0.1:0"}, env, strings.NewReader(""), &stdout, &stderr)
	}()
	address := ""
	testutil.WaitFor(t, "micro api to serve", func() bool {
		_, rest, ok := strings.Cut(stderr.String(), " on http://")
		address, _, _ = strings.Cut(rest, " ")
		return ok && strings.Contains(rest, "\n")
	})
	if !strings.Contains(stderr.String(), "verifying bearer tokens") {
		t.Errorf("micro api with MICRO_AUTH_KEY wrote %q, want it to say it verifies tokens", stderr.String())
	}
	call := func(token string) (int, string) {
		req, err := http.NewRequestWithContext(testutil.Context(t), "POST", "http://"+address+"/streaming.v1.Echo/Echo", strings.NewReader(`{"message":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res.StatusCode, res.Header.Get("WWW-Authenticate")
	}
	if code, challenge := call(""); code != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Bearer") {
		t.Errorf("POST Echo without a token through micro api with auth = %d, WWW-Authenticate %q; want 401 with a Bearer challenge", code, challenge)
	}
	if code, _ := call(keys.Token(t)); code != http.StatusOK {
		t.Errorf("POST Echo with a token through micro api with auth = %d, want 200", code)
	}
	for token, want := range map[string]int{"": http.StatusUnauthorized, keys.Token(t): http.StatusOK} {
		req, err := http.NewRequestWithContext(testutil.Context(t), "GET", "http://"+address+webPrefix+"api/services", nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET %sapi/services with token %v = %d, want %d", webPrefix, token != "", res.StatusCode, want)
		}
	}
	interrupt()
	select {
	case got := <-status:
		if got != 130 {
			t.Errorf("micro api, interrupted = %d, want 130", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("micro api did not return after the interrupt")
	}
}
