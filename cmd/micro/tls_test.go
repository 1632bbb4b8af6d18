package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/testdata/authtest"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

// tlsWorld runs an echo service, "secure", that serves TLS with a
// certificate of ca, in a registry of its own, and returns the environment
// micro is run with.
func tlsWorld(t *testing.T, ca *testutil.CA) map[string]string {
	t.Helper()
	dir := t.TempDir()
	reg, err := local.New(local.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	ca.Issue(t, "secure", "secure.pem", "secure-key.pem")
	svc, err := micro.NewService("secure", micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"),
		micro.WithLogger(slog.New(slog.DiscardHandler)), micro.WithTLS(ca.Path("secure.pem"), ca.Path("secure-key.pem"), ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := streaming.RegisterEchoHandler(svc.Server(), echo.Handler{}); err != nil {
		t.Fatal(err)
	}
	authtest.Serve(t, svc, reg)
	return map[string]string{"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": dir}
}

// TestCallTLSFlags calls a service that serves TLS with micro call: verified
// against --tls_ca it answers; against the system's roots, which do not
// hold the test's CA, it fails. (TestCallTLS covers $MICRO_TLS_*.)
func TestCallTLSFlags(t *testing.T) {
	t.Parallel()
	ca := testutil.NewCA(t)
	env := tlsWorld(t, ca)
	args := []string{"call", "secure", "Echo", `{"message": "over TLS"}`, "--timeout", "10s"}
	if status, stdout, stderr := runWithEnv(t, env, append(args, "--tls_ca", ca.CAFile)...); status != 0 || !strings.Contains(stdout, "over TLS") {
		t.Errorf("micro call --tls_ca = %d\nstdout: %s\nstderr: %s\nwant 0 and the message back", status, stdout, stderr)
	}
	if status, _, stderr := runWithEnv(t, env, args...); status != 1 || !strings.Contains(stderr, "certificate") {
		t.Errorf("micro call without the CA = %d, stderr %q; want 1 and a certificate error", status, stderr)
	}
}

// TestAPIServesTLS runs micro api with --tls_cert, --tls_key and --tls_ca
// in front of a service that serves TLS: it serves HTTPS, HTTP/2 and
// HTTP/1.1, to clients with a certificate of the CA only, calls the
// service over TLS, and serves a certificate written over its files from
// the next connection on, without a restart.
func TestAPIServesTLS(t *testing.T) {
	t.Parallel()
	ca := testutil.NewCA(t)
	env := tlsWorld(t, ca)
	ca.Issue(t, "api", "api.pem", "api-key.pem")
	ca.Issue(t, "browser", "client.pem", "client-key.pem")
	address, stderr, stop := startServing(t, mapEnv(env), "api", "--address", "127.0.0.1:0",
		"--tls_cert", ca.Path("api.pem"), "--tls_key", ca.Path("api-key.pem"), "--tls_ca", ca.CAFile)
	defer stop()
	if !strings.Contains(stderr.String(), " on https://") {
		t.Errorf("micro api --tls_cert wrote %q, want it to say it serves https", stderr.String())
	}

	clientCert, err := tls.LoadX509KeyPair(ca.Path("client.pem"), ca.Path("client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	call := func(caFile string, withCert, http2 bool) (*http.Response, string, error) {
		t.Helper()
		pem, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
		cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if withCert {
			cfg.Certificates = []tls.Certificate{clientCert}
		}
		transport := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: http2}
		if !http2 {
			transport.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		defer transport.CloseIdleConnections()
		req, err := http.NewRequestWithContext(testutil.Context(t), "POST", "https://"+address+"/streaming.v1.Echo/Echo", strings.NewReader(`{"message":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := (&http.Client{Transport: transport, Timeout: 20 * time.Second}).Do(req)
		if err != nil {
			return nil, "", err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		return res, string(body), err
	}
	for _, http2 := range []bool{true, false} {
		res, body, err := call(ca.CAFile, true, http2)
		if err != nil || res.StatusCode != http.StatusOK || !strings.Contains(body, "hi") {
			t.Fatalf("POST Echo over HTTPS (HTTP/2 %v) = %v, %q, %v; want 200 with the message back\nmicro api: %s", http2, res, body, err, stderr.String())
		}
		if want := map[bool]int{true: 2, false: 1}[http2]; res.ProtoMajor != want {
			t.Errorf("POST Echo over HTTPS answered in HTTP/%d, want HTTP/%d", res.ProtoMajor, want)
		}
	}
	if _, _, err := call(ca.CAFile, false, true); err == nil {
		t.Error("POST Echo over HTTPS without a client certificate succeeded, want it refused: --tls_ca requires one")
	}

	next := testutil.NewCA(t)
	if _, _, err := call(next.CAFile, true, true); err == nil {
		t.Fatal("a client trusting only the next CA was answered before the rotation")
	}
	next.Issue(t, "api", ca.Path("api.pem"), ca.Path("api-key.pem"))
	if res, body, err := call(next.CAFile, true, true); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("POST Echo trusting the next CA after the rotation = %v, %q, %v; want 200: the files are read again", res, body, err)
	}
}

// TestProxyDialsTLS runs micro proxy with --tls_ca in front of a service
// that serves TLS, and calls the service through it in plain text.
func TestProxyDialsTLS(t *testing.T) {
	t.Parallel()
	ca := testutil.NewCA(t)
	env := tlsWorld(t, ca)
	address, _, stop := startServing(t, mapEnv(env), "proxy", "--address", "127.0.0.1:0", "--tls_ca", ca.CAFile)
	defer stop()
	c := client.New(client.WithAddress(address))
	defer func() { _ = c.Close() }()
	res, err := streaming.NewEchoClient("secure", c).Echo(testutil.Context(t), &streaming.EchoRequest{Message: "to a TLS service"})
	if err != nil || res.GetMessage() != "to a TLS service" {
		t.Errorf("Echo through micro proxy --tls_ca = %v, %v, want the message back", res, err)
	}
}
