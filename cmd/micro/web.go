package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/protomicro/micro/runtime/web"
)

// errNotLoopback is why micro web and micro api --web refuse an address
// beyond this machine: the dashboard has no authentication yet.
const errNotLoopback = "the dashboard has no authentication: anyone who can reach %s could see every service and call any of its methods; serve it on a loopback address (127.0.0.1, localhost), or pass --insecure to accept that risk"

func newWebCommand(env lookupEnv) *cobra.Command {
	var (
		address  string
		insecure bool
	)
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

Everything is in the binary: no CDN, no network at run time. There is no
authentication yet, so micro web refuses an address beyond this machine
unless --insecure is given.`,
		Example: `  micro web
  micro web --address 127.0.0.1:9000
  curl localhost:8082/api/services`,
		Args:        usageArgs(cobra.NoArgs),
		Annotations: map[string]string{servesAnnotation: "true"},
	}
	where := addRegistryFlags(cmd, env)
	flags := cmd.Flags()
	flags.StringVar(&address, "address", "127.0.0.1:8082", "the host:port to listen on")
	flags.BoolVar(&insecure, "insecure", false, "allow an address beyond this machine, though the dashboard has no authentication")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkLoopback(address, insecure); err != nil {
			return err
		}
		reg, err := where.open(cmd)
		if err != nil {
			return err
		}
		defer closeRegistry(reg)
		logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		d, err := web.New(ctx, reg, web.WithLogger(logger))
		cancel()
		if err != nil {
			return err
		}
		defer func() { _ = d.Close() }()
		lis, err := new(net.ListenConfig).Listen(cmd.Context(), "tcp", address)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", address, err)
		}
		logf(cmd.ErrOrStderr(), "micro web: serving the dashboard on http://%s\n", lis.Addr())
		return serveUntilDone(cmd.Context(), &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second}, lis)
	}
	return cmd
}

// checkLoopback returns a usage error if address is not a loopback one and
// insecure is not set.
func checkLoopback(address string, insecure bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return &usageError{fmt.Errorf("--address %q: %w", address, err)}
	}
	if insecure || isLoopback(host) {
		return nil
	}
	return &usageError{fmt.Errorf("--address %q: "+errNotLoopback, address, address)}
}

// isLoopback reports whether host names this machine only.
func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}
