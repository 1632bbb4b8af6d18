// Micro is the command-line tool of the micro toolkit: it scaffolds services,
// generates code and talks to running services.
//
// Usage:
//
//	micro <command> [flags]
//
// Run micro help for the list of commands, and micro help <command> for the
// flags of one. Every command writes its results to standard output; errors go
// to standard error as "micro: <error>". The exit status is 1 when something
// failed (a lookup, a connection, a call), 2 for a mistake in the command line
// (a flag, a name or a method that does not exist, a request that does not
// fit the method), and 130 when micro was interrupted.
//
// The commands that talk to running services (services, describe, call,
// stream, health) find them in the registry named by --registry and
// --registry_address, or the MICRO_REGISTRY and MICRO_REGISTRY_ADDRESS
// environment variables, exactly as services do; by default the local
// registry. They need no proto files: they read each service's schema through
// gRPC server reflection. publish and subscribe send and print events
// through the broker named by --broker and --broker_address, or MICRO_BROKER
// and MICRO_BROKER_ADDRESS, as services do; by default the local broker.
//
// Example:
//
//	micro services
//	micro describe greeter
//	micro call greeter SayHello '{"name": "Ada"}'
//	echo '{"count": 3}' | micro stream greeter CountTo
//	micro health
//	micro publish greeter.v1.SayHelloRequest '{"name": "Ada"}'
//	micro subscribe greeter.v1.SayHelloRequest
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
	err := root.ExecuteContext(ctx)
	var usage *usageError
	switch {
	case err == nil:
		return 0
	case ctx.Err() != nil, errors.Is(err, errInterrupted):
		// What failed did so because it was interrupted, whatever it says;
		// a command that serves until stopped says errInterrupted.
		_, _ = fmt.Fprintln(stderr, "micro: interrupted")
		return 130
	case errors.As(err, &usage):
		_, _ = fmt.Fprintln(stderr, "micro:", err)
		return 2
	}
	_, _ = fmt.Fprintln(stderr, "micro:", err)
	return 1
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
		Example: `  micro new greeter
  micro proto export third_party
  micro services
  micro describe greeter
  micro call greeter SayHello '{"name": "Ada"}'
  source <(micro completion bash)`,
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
		newProtoCommand(),
		newServicesCommand(env),
		newDescribeCommand(env),
		newCallCommand(env),
		newStreamCommand(env),
		newHealthCommand(env),
		newPublishCommand(env),
		newSubscribeCommand(env),
		newAPICommand(env),
		newMCPCommand(env),
		newProxyCommand(env),
		newRunCommand(env),
		newWebCommand(env),
		newAuthCommand(env),
		newConfigCommand(os.Environ),
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

// duration is a [time.Duration] flag that refuses negative durations, which
// would otherwise end a command before it starts.
type duration time.Duration

func (d *duration) String() string { return time.Duration(*d).String() }
func (d *duration) Type() string   { return "duration" }

func (d *duration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("%s is negative: want a duration such as 2s, or 0 for no limit", s)
	}
	*d = duration(v)
	return nil
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
