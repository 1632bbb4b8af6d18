package micro_test

import (
	"testing"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/tlsfiles"
	"github.com/protomicro/micro/testdata/authtest"
	"github.com/protomicro/micro/testdata/echo"
	"github.com/protomicro/micro/testdata/golden/streaming"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestMutualTLS serves with mutual TLS from files set by flags, and checks
// that the registration says TLS, that a client with a certificate from the
// CA is answered, that clients without one or without TLS are refused, and
// that a certificate written over the files is served from the next
// connection on, without a restart.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	ca := testutil.NewCA(t)
	ca.Issue(t, "echo", "server.pem", "server-key.pem")
	ca.Issue(t, "caller", "client.pem", "client-key.pem")
	reg := newTestRegistry(t)
	svc, err := micro.NewService("echo", micro.WithRegistry(reg), micro.WithListenAddress("127.0.0.1:0"), micro.WithLogger(quiet),
		micro.WithArgs([]string{"--tls_cert", ca.Path("server.pem"), "--tls_key=" + ca.Path("server-key.pem"), "--tls_ca", ca.CAFile}))
	if err != nil {
		t.Fatal(err)
	}
	if err := streaming.RegisterEchoHandler(svc.Server(), echo.Handler{}); err != nil {
		t.Fatal(err)
	}
	authtest.Serve(t, svc, reg)
	services, err := reg.GetService(t.Context(), "echo")
	if err != nil {
		t.Fatal(err)
	}
	if got := services[0].Nodes[0].Metadata[client.TLSMetadata]; got != "true" {
		t.Errorf("node metadata %s = %q, want true", client.TLSMetadata, got)
	}

	call := func(files *tlsfiles.Files) error {
		t.Helper()
		opts := []client.Option{client.WithRegistry(reg)}
		if files != nil {
			cfg, err := tlsfiles.ClientConfig(*files)
			if err != nil {
				t.Fatal(err)
			}
			opts = append(opts, client.WithTLS(cfg))
		}
		c := client.New(opts...)
		defer func() { _ = c.Close() }()
		_, err := streaming.NewEchoClient("echo", c).Echo(t.Context(), &streaming.EchoRequest{Message: "hi"})
		return err
	}
	mutual := &tlsfiles.Files{CA: ca.CAFile, Cert: ca.Path("client.pem"), Key: ca.Path("client-key.pem")}
	if err := call(mutual); err != nil {
		t.Fatalf("call with a client certificate = %v, want an answer", err)
	}
	if err := call(&tlsfiles.Files{CA: ca.CAFile}); errors.CodeOf(err) != errors.CodeUnavailable {
		t.Errorf("call without a client certificate = %v, want unavailable: refused in the handshake", err)
	}
	if err := call(nil); err == nil {
		t.Error("call from a client without TLS configured succeeded, want it refused")
	}

	// Rotate to a certificate of another CA, which a client trusting only
	// that CA verifies: it can only be answered once the server reads the
	// new files.
	next := testutil.NewCA(t)
	rotated := &tlsfiles.Files{CA: next.CAFile, Cert: mutual.Cert, Key: mutual.Key}
	if err := call(rotated); err == nil {
		t.Fatal("call trusting only the next CA succeeded before the rotation")
	}
	next.Issue(t, "echo", ca.Path("server.pem"), ca.Path("server-key.pem"))
	if err := call(rotated); err != nil {
		t.Errorf("call trusting the next CA after the rotation = %v, want an answer: the server reads changed files", err)
	}
	if err := call(mutual); err == nil {
		t.Error("call trusting only the old CA after the rotation succeeded, want it refused")
	}
}
