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
from, "(devel)" or a pseudo-version for a build from a checkout) and of the
runtime it carries. For a development build, a note on standard error says
what that means for the projects it makes.`,
		Example: "  micro version",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			version := buildVersion()
			if _, err := fmt.Fprintf(cmd.OutOrStdout(), "micro %s (runtime %s)\n", version, rpc.Version); err != nil {
				return err
			}
			if !released(version) {
				logf(cmd.ErrOrStderr(), "%s", developmentNote)
			}
			return nil
		},
	}
}

// developmentNote is what micro version adds for a build that is not a
// release, since its projects cannot require it.
const developmentNote = `This is a development build of micro: the projects micro new makes use the
runtime of the checkout it was built from, through a replace in their go.mod.
micro has no release yet. Once one is tagged, install it with
  go install github.com/protomicro/micro/cmd/micro@<version, e.g. v0.1.0>
and move a project to it with go get github.com/protomicro/micro@<version>,
then delete its replace line (alone, that leaves an unresolvable v0.0.0).
`

// buildVersion is the module version the binary was built from: a tag when
// installed with go install, "(devel)" in a checkout.
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}
