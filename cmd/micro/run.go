package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/protomicro/micro/cmd/micro/internal/devrun"
	"github.com/protomicro/micro/runtime/gateway"
)

func newRunCommand(env lookupEnv) *cobra.Command {
	var (
		address string
		grace   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run [DIR]",
		Short: "Run a workspace's services for development, rebuilding them as files change",
		Long: `Run every service of the workspace in DIR (the current directory by default)
and the HTTP gateway of micro api in front of them, and rebuild and restart
a service whenever a file it is built from changes. This is a development
tool: in production, run the binaries go build makes (micro new's Dockerfile
and Kubernetes manifests show how), not micro run.

The services are the main packages under DIR that import
github.com/protomicro/micro/runtime/micro, in every module under DIR, or the
ones a micro.yaml in DIR lists:

  services:
    - name: greeter          # log prefix, and what depends names
      dir: greeter           # the main package, relative to DIR
    - name: front
      dir: front
      env: {GREETING: Hi}    # added to the service's environment
      args: [--verbose]      # its arguments
      depends: [greeter]     # start after greeter serves (grpc.health.v1)

Each service is built into a temporary binary and runs with the registry of
--registry and --registry_address (the local registry by default), so that
micro services, micro call and the gateway find it, on a free loopback port,
and with the broker MICRO_BROKER and MICRO_BROKER_ADDRESS name (the local
broker by default). Their output is one stream, each line prefixed with the
service's name (coloured, unless standard output is not a terminal or
NO_COLOR is set).

micro run watches every directory under DIR. A changed .go file (or go.mod)
rebuilds the services whose packages are, or import, the file's package,
and restarts them once the build succeeds: a build that fails prints the
compiler's errors and leaves the running version serving. A changed .proto
first runs micro generate in the project of its buf.gen.yaml. A restart
drains the old process (SIGTERM, then SIGKILL after --grace) before the new
one starts. A service that exits by itself is reported with its exit status
and restarted, waiting longer after each crash, up to six in a row.

Ctrl-C drains every service and the gateway, and exits with status 130.`,
		Example: `  micro run
  micro run . --address 127.0.0.1:9000 --grace 2s`,
		Args:        usageArgs(cobra.MaximumNArgs(1)),
		Annotations: map[string]string{servesAnnotation: "true"},
	}
	where := addRegistryFlags(cmd, env)
	flags := cmd.Flags()
	flags.StringVar(&address, "address", "127.0.0.1:8080", "the host:port the gateway listens on (port 0 for a free one; the address is printed)")
	flags.DurationVar(&grace, "grace", 10*time.Second, "how long a service may drain after SIGTERM before it is killed")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		dir := "."
		if len(args) > 0 {
			dir = args[0]
		}
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			return &usageError{fmt.Errorf("%q is not a directory", dir)}
		}
		if _, _, err := net.SplitHostPort(address); err != nil {
			return &usageError{fmt.Errorf("--address %q: %w", address, err)}
		}
		childEnv, err := runEnvironment(cmd, where, env)
		if err != nil {
			return err
		}
		reg, err := where.open(cmd)
		if err != nil {
			return err
		}
		defer closeRegistry(reg)

		out := cmd.OutOrStdout()
		stream := devrun.NewStream(out, colorful(out, env))
		own := stream.Writer("micro")
		gatewayLog := stream.Writer("api")
		defer func() { _ = gatewayLog.Close() }()
		gw, err := gateway.New(cmd.Context(), reg, gateway.WithLogger(slog.New(slog.NewTextHandler(gatewayLog, nil))))
		if err != nil {
			return err
		}
		defer func() { _ = gw.Close() }()
		lis, err := new(net.ListenConfig).Listen(cmd.Context(), "tcp", address)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", address, err)
		}
		logf(own, "gateway on http://%s (GET /_routes lists the routes)\n", lis.Addr())
		gwCtx, stopGateway := context.WithCancel(context.WithoutCancel(cmd.Context()))
		served := make(chan error, 1)
		go func() {
			served <- serveUntilDone(gwCtx, &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second}, lis)
		}()

		err = devrun.Run(cmd.Context(), devrun.Config{
			Dir:      dir,
			Log:      stream,
			Env:      childEnv,
			Registry: reg,
			Grace:    grace,
			Generate: func(ctx context.Context, log io.Writer, dir string) error { return runGenerate(ctx, log, dir, nil) },
		})
		stopGateway()
		if serveErr := <-served; !errors.Is(serveErr, errInterrupted) && err == nil {
			err = serveErr
		}
		if cmd.Context().Err() != nil {
			logf(own, "stopped\n")
			return errInterrupted
		}
		return err
	}
	return cmd
}

// runEnvironment returns the environment of the services micro run starts:
// its own, with the registry of the flags and the broker of the environment
// (local by default) named for all of them to share.
func runEnvironment(cmd *cobra.Command, where *registryFlags, env lookupEnv) ([]string, error) {
	name, address, err := where.chosen(cmd)
	if err != nil {
		return nil, err
	}
	if name == "memory" {
		return nil, &usageError{errors.New("the memory registry is in one process, and micro run runs each service in its own: use local (the default), mdns or etcd")}
	}
	if name == "local" && address != "" {
		// The services would create it; micro run reads it before they start.
		if err := os.MkdirAll(address, 0o700); err != nil {
			return nil, fmt.Errorf("local registry directory: %w", err)
		}
	}
	broker, _ := env("MICRO_BROKER")
	if broker == "" {
		broker = "local"
	}
	if broker == "memory" {
		return nil, &usageError{errors.New("MICRO_BROKER=memory is in one process, and micro run runs each service in its own: use local (the default) or nats")}
	}
	childEnv := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		key, _, _ := strings.Cut(kv, "=")
		return key == "MICRO_REGISTRY" || key == "MICRO_REGISTRY_ADDRESS" || key == "MICRO_BROKER" || key == "MICRO_ADDRESS"
	})
	childEnv = append(childEnv, "MICRO_REGISTRY="+name, "MICRO_BROKER="+broker)
	if address != "" {
		childEnv = append(childEnv, "MICRO_REGISTRY_ADDRESS="+address)
	}
	return childEnv, nil
}

// colorful reports whether to colour the log stream written to out: only
// when it is a terminal and NO_COLOR is unset or empty (no-color.org).
func colorful(out io.Writer, env lookupEnv) bool {
	if v, ok := env("NO_COLOR"); ok && v != "" {
		return false
	}
	if v, _ := env("TERM"); v == "dumb" {
		return false
	}
	f, ok := out.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
