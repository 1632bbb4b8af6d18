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
// the command line).
//
// Example:
//
//	micro version
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		_, _ = fmt.Fprintln(stderr, "micro:", err)
		var usage *usageError
		if errors.As(err, &usage) {
			return 2
		}
		return 1
	}
	return 0
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "micro",
		Short:         "Build, run and call micro services",
		Long:          "micro scaffolds proto-first Go services, generates their code and talks to them while they run.",
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
		newVersionCommand(),
	)
	return root
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
