package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/gateway"
	"github.com/protomicro/micro/runtime/mcp"
	"github.com/protomicro/micro/runtime/metrics"
	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/tracing/otlp"
	"github.com/protomicro/micro/runtime/web"
)

// webPrefix is where micro api --web serves the dashboard.
const webPrefix = "/_web/"

// servesAnnotation marks a command that serves until stopped, on the
// address of its --address flag (localhost and that flag's default port in
// its examples, "localhost:8080"), and says so on standard error with
// " on <scheme>://<address>".
const servesAnnotation = "serves"

// errInterrupted ends a command that runs until it is stopped, when it was
// stopped by SIGINT or SIGTERM; micro exits 130 for it.
var errInterrupted = errors.New("interrupted")

func newAPICommand(env lookupEnv) *cobra.Command {
	var (
		address   string
		bodyLimit int64
		timeout   time.Duration
		origins   []string
		withWeb   bool
		serveMCP  bool
		admin     string
		pprof     bool
	)
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Serve every service over HTTP: REST, Connect, gRPC-Web and gRPC",
		Long: `Serve the services of the registry over HTTP until interrupted: REST by the
google.api.http rules of their methods, and every method by its procedure in
the Connect, gRPC-Web and gRPC protocols. Routes follow the registry: a
service that starts, changes or stops is routed, or not, without a restart.
GET /_routes lists the routes in JSON (so does GET /, unless a service
claims it).

With --mcp it also serves the methods as tools of the Model Context Protocol,
over streamable HTTP at /mcp (see micro mcp). The tools of a service run with
auth are listed to a client only as the service's access lets it call them,
judged by the Authorization header of its request ("Bearer <token>"),
verified with MICRO_AUTH_KEY or MICRO_AUTH_JWKS (and MICRO_AUTH_ISSUER,
MICRO_AUTH_AUDIENCE) when set, as the services verify; without them the
gateway cannot judge tokens, and lists only the public tools to a client
without a token and every tool to one with a token, which the service then
judges.

Of a request's headers only Authorization and Grpc-Metadata-* reach the
service, which checks the token against the access its proto declares.
With auth configured, --auth_key or MICRO_AUTH_KEY (a key file, as micro
auth keygen makes) or --auth_jwks or MICRO_AUTH_JWKS (a JWKS URL), with
--auth_issuer/MICRO_AUTH_ISSUER and --auth_audience/MICRO_AUTH_AUDIENCE, the
gateway verifies the bearer token itself first, by the access each method
declares in the registry: a request without a valid token for a method that
is not public is answered 401 (with WWW-Authenticate), one without a needed
scope 403, and neither reaches the service. Without auth, micro api refuses
an address beyond this machine (0.0.0.0, ::, a LAN address, ":8080") unless
--insecure_public is given.

With --tls_cert and --tls_key it serves HTTPS (HTTP/2 and HTTP/1.1), reading
the files again when they change, so a renewed certificate is served
without a restart; with --tls_ca too it requires client certificates that
CA signed. The same files are how the gateway dials services that serve TLS
(the CA as the roots, else the system's; the certificate as its own for
mutual TLS), as a service's client does.

With OTEL_EXPORTER_OTLP_ENDPOINT (and the other standard OTEL_* variables)
set, every request is traced and exported over OTLP, the parent of the call
it makes to the service.

With --admin_address it also serves, on that address, the admin endpoints a
service has: /metrics for Prometheus, /healthz and /readyz (and /debug/pprof/
with --admin_pprof). The metrics count the HTTP requests by route (the URL
template, or the procedure), method and status code
(micro_gateway_requests_total, micro_gateway_request_duration_seconds), the
calls made to the services (grpc_client_handled_total, ...) and the registry
lookups and watch events (micro_registry_lookups_total, ...).`,
		Example: `  micro api
  curl localhost:8080/_routes
  micro api --address 127.0.0.1:9090 --timeout 5s
  micro api --cors_origin https://app.example.com
  micro api --web
  curl localhost:8080/_web/api/services
  micro api --address 0.0.0.0:8080 --auth_key "$(micro auth keygen --key dev.pem)"
  micro api --mcp
  micro api --admin_address 127.0.0.1:9091
  curl localhost:9091/metrics`,
		Args:        usageArgs(cobra.NoArgs),
		Annotations: map[string]string{servesAnnotation: "true"},
	}
	where := addRegistryFlags(cmd, env)
	flags := cmd.Flags()
	flags.StringVar(&address, "address", "127.0.0.1:8080", "the host:port to listen on")
	flags.Int64Var(&bodyLimit, "body_limit", 4<<20, "the largest request body, in bytes (413 past it)")
	flags.DurationVar(&timeout, "timeout", 30*time.Second, "how long a call whose request names no deadline may take; the gateway enforces it without sending it (0 for none)")
	flags.StringSliceVar(&origins, "cors_origin", nil, "a web origin allowed to call from a browser, or * for any (repeatable; default none)")
	flags.BoolVar(&withWeb, "web", false, "serve the dashboard (as micro web does) at /_web/")
	flags.BoolVar(&serveMCP, "mcp", false, "also serve the methods as MCP tools, over streamable HTTP at /mcp")
	flags.StringVar(&admin, "admin_address", "", "the host:port of the admin listener: /metrics, /healthz, /readyz (default none)")
	flags.BoolVar(&pprof, "admin_pprof", false, "with --admin_address, serve Go's profiles at /debug/pprof/ there too")
	mcpOpts := addMCPFlags(cmd, "mcp_")
	edge := addEdgeAuthFlags(cmd, env, "the gateway", true)
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
		opts := []gateway.Option{gateway.WithLogger(logger), gateway.WithBodyLimit(bodyLimit), gateway.WithTimeout(timeout),
			gateway.WithClientOptions(client.WithTLS(nodeTLS))}
		if verifier != nil {
			opts = append(opts, gateway.WithAuth(verifier))
		}
		var m *metrics.Metrics
		routes := reg
		if admin != "" {
			if _, _, err := net.SplitHostPort(admin); err != nil {
				return &usageError{fmt.Errorf("--admin_address %q: %w", admin, err)}
			}
			m = metrics.New()
			routes = m.InstrumentRegistry(reg)
			opts = append(opts, gateway.WithClientOptions(m.ClientOptions()...))
		}
		if len(origins) > 0 {
			opts = append(opts, gateway.WithCORS(gateway.CORS{AllowedOrigins: origins}))
		}
		// Traced as a service is, from the OTEL_* environment.
		tp, err := otlp.FromEnvironment(cmd.Context(), "micro-api")
		if err != nil {
			return &usageError{err}
		}
		if tp != nil {
			defer func() { _ = tp.Shutdown(context.WithoutCancel(cmd.Context())) }()
			opts = append(opts, gateway.WithTracerProvider(tp))
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		g, err := gateway.New(ctx, routes, opts...)
		cancel()
		if err != nil {
			return err
		}
		defer func() { _ = g.Close() }()
		var handler http.Handler = g
		if withWeb || serveMCP {
			mux := http.NewServeMux()
			mux.Handle("/", g)
			// The dashboard's and the tools' client, which dials the nodes
			// that serve TLS as the gateway's does.
			c := client.New(client.WithRegistry(reg), client.WithDefaultTimeout(0), client.WithTLS(nodeTLS))
			defer func() { _ = c.Close() }()
			if withWeb {
				ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
				webOpts := []web.Option{web.WithGateway(g), web.WithClient(c), web.WithLogger(logger), web.WithPrefix(webPrefix)}
				if verifier != nil {
					webOpts = append(webOpts, web.WithAuth(verifier))
				}
				d, err := web.New(ctx, routes, webOpts...)
				cancel()
				if err != nil {
					return err
				}
				defer func() { _ = d.Close() }()
				mux.Handle(webPrefix, d)
			}
			if serveMCP {
				var v auth.Verifier // the gateway's, from --auth_* or MICRO_AUTH_*
				if verifier != nil {
					v = verifier
				}
				s, err := mcpOpts.server(cmd, v, routes, logger, mcp.WithClient(c))
				if err != nil {
					return err
				}
				defer func() { _ = s.Close() }()
				mux.Handle("/mcp", s.Handler())
			}
			handler = mux
		}
		lis, scheme, err := listenHTTP(cmd, address, serverTLS)
		if err != nil {
			return err
		}
		var ready atomic.Bool // serving, and not stopping
		if m != nil {
			handler = m.InstrumentGateway(handler)
			stop, err := serveAdmin(cmd, admin, micro.AdminHandler(m, ready.Load, pprof))
			if err != nil {
				_ = lis.Close()
				return err
			}
			defer stop()
		}
		warnExposure(cmd, address, lis.Addr(), verifier != nil)
		logf(cmd.ErrOrStderr(), "micro api: serving %d routes and %d procedures on %s://%s (GET /_routes lists them)\n",
			len(g.Index().Routes), len(g.Index().Procedures), scheme, lis.Addr())
		if withWeb {
			logf(cmd.ErrOrStderr(), "micro api: the dashboard is on %s://%s%s\n", scheme, lis.Addr(), webPrefix)
		}
		if serveMCP {
			logf(cmd.ErrOrStderr(), "micro api: serving MCP tools on %s://%s/mcp\n", scheme, lis.Addr())
		}
		ready.Store(true)
		context.AfterFunc(cmd.Context(), func() { ready.Store(false) })
		return serveUntilDone(cmd.Context(), httpServer(handler, logger), lis)
	}
	return cmd
}

// serveAdmin serves handler, the admin endpoints, on address until stop is
// called, and says where on standard error.
func serveAdmin(cmd *cobra.Command, address string, handler http.Handler) (stop func(), err error) {
	lis, err := new(net.ListenConfig).Listen(cmd.Context(), "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("admin: listen on %s: %w", address, err)
	}
	if host, _, _ := net.SplitHostPort(address); !isLoopback(host) {
		logf(cmd.ErrOrStderr(), "micro: warning: the admin endpoints are on %s, beyond this machine, with no authentication\n", lis.Addr())
	}
	logf(cmd.ErrOrStderr(), "micro api: admin endpoints (/metrics, /healthz, /readyz) on http://%s\n", lis.Addr())
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	return func() {
		_ = srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			logf(cmd.ErrOrStderr(), "micro api: the admin listener failed: %v\n", err)
		}
	}, nil
}

// httpServer returns the server of an HTTP command, which logs what goes
// wrong with a connection (a refused TLS handshake) to logger as warnings.
func httpServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
}

// servable is what serveUntilDone serves: an [http.Server], or the gRPC
// proxy. Serve returns nil or [http.ErrServerClosed] once Shutdown is called.
type servable interface {
	Serve(lis net.Listener) error
	Shutdown(ctx context.Context) error
}

// serveUntilDone serves srv on lis until ctx is done, then lets the calls
// in flight finish (for up to 10 seconds) and returns errInterrupted.
func serveUntilDone(ctx context.Context, srv servable, lis net.Listener) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return errInterrupted
}
