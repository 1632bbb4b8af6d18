package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/proxy"
)

func newProxyCommand(env lookupEnv) *cobra.Command {
	var (
		address      string
		messageLimit int
	)
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Serve every service on one gRPC address",
		Long: `Serve the services of the registry on one gRPC address until interrupted:
every call, unary or streaming, goes on to the service that serves its
procedure, as it is (the proxy does not decode messages), with the caller's
metadata and deadline. It answers health checks (grpc.health.v1) and server
reflection for all the services behind it, so that grpcurl and other gRPC
tools work through it. Routes follow the registry: a service that starts,
changes or stops is forwarded to, or not, without a restart. Failed calls
are retried only for methods whose proto says they are idempotent.

With auth configured (--auth_key or MICRO_AUTH_KEY, --auth_jwks or
MICRO_AUTH_JWKS; see micro api), the proxy verifies each call's bearer
token before forwarding it, by the access its method declares in the
registry: a call without a valid token for a method that is not public
fails with Unauthenticated, one without a needed scope with
PermissionDenied, and neither reaches the service. Health checks and
reflection stay open. Without auth, micro proxy refuses an address beyond
this machine (0.0.0.0, ::, a LAN address, ":9090") unless --insecure_public
is given.

It dials the services that serve TLS verifying them against --tls_ca (else
the system's roots), presenting --tls_cert and --tls_key when they ask for a
client certificate; it serves its own callers in plain text.`,
		Example: `  micro proxy
  grpcurl -plaintext localhost:9090 list
  micro proxy --address 127.0.0.1:9191`,
		Args:        usageArgs(cobra.NoArgs),
		Annotations: map[string]string{servesAnnotation: "true"},
	}
	where := addRegistryFlags(cmd, env)
	flags := cmd.Flags()
	flags.StringVar(&address, "address", "127.0.0.1:9090", "the host:port to listen on")
	flags.IntVar(&messageLimit, "message_limit", 4<<20, "the largest message a caller may send, in bytes")
	edge := addEdgeAuthFlags(cmd, env, "the proxy", false)
	nodeFiles := addTLSFlags(cmd, env, "the client certificate to present to nodes that speak TLS and ask for one (mutual TLS)",
		"the CA to verify nodes that speak TLS against, instead of the system's roots")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		verifier, err := edge.check(cmd, address)
		if err != nil {
			return err
		}
		nodeTLS, err := nodeFiles.nodeConfig(cmd)
		if err != nil {
			return err
		}
		reg, err := where.open(cmd)
		if err != nil {
			return err
		}
		defer closeRegistry(reg)
		logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		c := client.New(client.WithRegistry(reg), client.WithDefaultTimeout(0), client.WithLogger(logger), client.WithTLS(nodeTLS))
		defer func() { _ = c.Close() }()
		opts := []proxy.Option{proxy.WithClient(c), proxy.WithLogger(logger), proxy.WithMessageLimit(messageLimit)}
		if verifier != nil {
			opts = append(opts, proxy.WithAuth(verifier))
		}
		p, err := proxy.New(ctx, reg, opts...)
		cancel()
		if err != nil {
			return err
		}
		defer func() { _ = p.Close() }()
		lis, err := new(net.ListenConfig).Listen(cmd.Context(), "tcp", address)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", address, err)
		}
		warnExposure(cmd, address, lis.Addr(), verifier != nil)
		services := p.Services()
		logf(cmd.ErrOrStderr(), "micro proxy: forwarding to %d services (%s) on grpc://%s\n", len(services), strings.Join(services, ", "), lis.Addr())
		return serveUntilDone(cmd.Context(), grpcServer{p}, lis)
	}
	return cmd
}

// grpcServer serves a proxy as serveUntilDone serves an HTTP server.
type grpcServer struct{ p *proxy.Proxy }

func (s grpcServer) Serve(lis net.Listener) error       { return s.p.Serve(lis) }
func (s grpcServer) Shutdown(ctx context.Context) error { return s.p.Shutdown(ctx) }
