package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/protomicro/micro/runtime/rpc"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of micro",
		Long: `Print the version of the micro command (the module version it was built
from, "(devel)" for a build from a checkout) and of the runtime it carries.`,
		Example: "  micro version",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "micro %s (runtime %s)\n", buildVersion(), rpc.Version)
			return err
		},
	}
}

// buildVersion is the module version the binary was built from: a tag when
// installed with go install, "(devel)" in a checkout.
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}
