package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/web"
)

func newWebCommand(env lookupEnv) *cobra.Command {
	var address string
	cmd := &cobra.Command{
		Use:   "web",
		Short: "Serve the dashboard: every service, its health and schemas, and a form to call it",
		Long: `Serve a web dashboard of the services of the registry until interrupted: the
services with their versions, nodes and the nodes' health (grpc.health.v1),
live as services come and go; each service's endpoints, HTTP routes and
message schemas; a form to call any method, streams included, with the
response's status, headers, trailers, error details and timing; and a chart
of the calls and errors of the last minutes. Calls go through a gateway of
its own, as micro api serves them, under /rpc/.

Everything is in the binary: no CDN, no network at run time.

With auth configured (--auth_key or MICRO_AUTH_KEY, a key file, or
--auth_jwks or MICRO_AUTH_JWKS, a JWKS URL; see micro api), the dashboard
asks for a bearer token (such as micro auth token signs) before it shows
anything, keeps it in an HttpOnly cookie, and calls with it; its gateway
verifies each call's token by the method's declared access, as a service
would. Without auth,
micro web refuses an address beyond this machine (0.0.0.0, ::, a LAN
address, ":8082") unless --insecure_public is given.

With --tls_cert and --tls_key it serves HTTPS, reading the files again when
they change; the same files are how it dials services that serve TLS, as
micro api does.`,
		Example: `  micro web
  micro web --address 127.0.0.1:9000
  curl localhost:8082/api/services`,
		Args:        usageArgs(cobra.NoArgs),
		Annotations: map[string]string{servesAnnotation: "true"},
	}
	where := addRegistryFlags(cmd, env)
	flags := cmd.Flags()
	flags.StringVar(&address, "address", "127.0.0.1:8082", "the host:port to listen on")
	edge := addEdgeAuthFlags(cmd, env, "the dashboard", true)
	tlsFiles := addServeTLSFlags(cmd, env)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		verifier, err := edge.check(cmd, address)
		if err != nil {
			return err
		}
		serverTLS, nodeTLS, err := tlsFiles.configs(cmd)
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
		defer cancel()
		c := client.New(client.WithRegistry(reg), client.WithDefaultTimeout(0), client.WithTLS(nodeTLS))
		defer func() { _ = c.Close() }()
		opts := []web.Option{web.WithLogger(logger), web.WithClient(c)}
		if verifier != nil {
			opts = append(opts, web.WithAuth(verifier))
		}
		d, err := web.New(ctx, reg, opts...)
		cancel()
		if err != nil {
			return err
		}
		defer func() { _ = d.Close() }()
		lis, scheme, err := listenHTTP(cmd, address, serverTLS)
		if err != nil {
			return err
		}
		warnExposure(cmd, address, lis.Addr(), verifier != nil)
		logf(cmd.ErrOrStderr(), "micro web: serving the dashboard on %s://%s\n", scheme, lis.Addr())
		return serveUntilDone(cmd.Context(), httpServer(d, logger), lis)
	}
	return cmd
}
