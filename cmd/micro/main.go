// Micro is the command-line tool of the micro toolkit: it scaffolds services,
// generates code and talks to running services.
//
// Usage:
//
//	micro <command> [flags]
//
// Run micro help for the list of commands, and micro help <command> for the
// flags of one. Every command writes its results to standard output; errors go
// to standard error as "micro: <error>" with exit status 1 (2 for a mistake in
// the command line, 130 when a command that serves until stopped is
// interrupted).
//
// The commands that talk to running services (services, describe, call,
// stream, health) find them in the registry named by --registry and
// --registry_address, or the MICRO_REGISTRY and MICRO_REGISTRY_ADDRESS
// environment variables, exactly as services do; by default the local
// registry. They need no proto files: they read each service's schema through
// gRPC server reflection.
//
// Example:
//
//	micro services
//	micro describe greeter
//	micro call greeter Hello '{"name": "Ada"}'
//	echo '{"n": 3}' | micro stream echo Count
//	micro health
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	status := run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(status)
}

// lookupEnv reads an environment variable, as [os.LookupEnv] does; tests
// pass their own.
type lookupEnv func(key string) (string, bool)

// run executes the command line args and returns the exit status. ctx ends
// the command early (main cancels it on SIGINT and SIGTERM).
func run(ctx context.Context, args []string, env lookupEnv, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand(env)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		_, _ = fmt.Fprintln(stderr, "micro:", err)
		var usage *usageError
		switch {
		case errors.As(err, &usage):
			return 2
		case errors.Is(err, errInterrupted):
			return 130
		}
		return 1
	}
	return 0
}

func newRootCommand(env lookupEnv) *cobra.Command {
	root := &cobra.Command{
		Use:   "micro",
		Short: "Build, run and call micro services",
		Long: `micro scaffolds proto-first Go services, generates their code and talks to them while they run.

The commands that talk to running services find them in a registry, chosen
with --registry and --registry_address or MICRO_REGISTRY and
MICRO_REGISTRY_ADDRESS as for services (the local registry by default), and
read their schemas through gRPC server reflection: no proto files needed.`,
		Example: `  micro services
  micro describe greeter
  micro call greeter Hello '{"name": "Ada"}'
  micro completion bash > /etc/bash_completion.d/micro`,
		Args:          usageArgs(cobra.NoArgs),
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{fmt.Errorf("%w\nrun '%s --help' for usage", err, cmd.CommandPath())}
	})
	root.AddCommand(
		newNewCommand(),
		newGenerateCommand(),
		newServicesCommand(env),
		newDescribeCommand(env),
		newCallCommand(env),
		newStreamCommand(env),
		newHealthCommand(env),
		newAPICommand(env),
		newVersionCommand(),
	)
	return root
}

// commandContext returns the command's context bounded by timeout, unless
// timeout is 0.
func commandContext(cmd *cobra.Command, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout > 0 {
		return context.WithTimeout(cmd.Context(), timeout)
	}
	return context.WithCancel(cmd.Context())
}

// usageArgs makes a positional-argument check's error a usage error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{fmt.Errorf("%w\nrun '%s --help' for usage", err, cmd.CommandPath())}
		}
		return nil
	}
}

// usageError is a mistake in the command line; micro exits 2 for it.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// logf writes a line of progress or diagnosis for the user. A failure to write
// it is not worth failing the command for.
func logf(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format, args...)
}
