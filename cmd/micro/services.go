package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// serviceJSON is one service in the output of micro services -o json.
type serviceJSON struct {
	Name     string   `json:"name"`
	Versions []string `json:"versions"`
	Nodes    int      `json:"nodes"`
}

func newServicesCommand(env lookupEnv) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "services",
		Short: "List the registered services",
		Long: `List the services registered in the registry: each service's name, its
versions and how many nodes serve it, sorted by name.`,
		Example: `  micro services
  micro services -o json
  micro services --registry local --registry_address "${TMPDIR:-/tmp}/micro-$(id -u)/registry"`,
		Args: usageArgs(cobra.NoArgs),
	}
	where := addRegistryFlags(cmd, env)
	output := addOutputFlag(cmd)
	timeout = 10 * time.Second
	cmd.Flags().Var((*duration)(&timeout), "timeout", "how long to wait for the registry (0 for no limit)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx, cancel := commandContext(cmd, timeout)
		defer cancel()
		reg, err := where.open(cmd)
		if err != nil {
			return err
		}
		defer closeRegistry(reg)
		services, err := reg.ListServices(ctx)
		if err != nil {
			return fmt.Errorf("list the services in the %s registry: %w", reg, err)
		}
		byName := make(map[string]*serviceJSON)
		var out []*serviceJSON
		for _, s := range services {
			entry := byName[s.Name]
			if entry == nil {
				entry = &serviceJSON{Name: s.Name, Versions: []string{}}
				byName[s.Name] = entry
				out = append(out, entry)
			}
			if !slices.Contains(entry.Versions, s.Version) {
				entry.Versions = append(entry.Versions, s.Version)
			}
			entry.Nodes += len(s.Nodes)
		}
		slices.SortFunc(out, func(a, b *serviceJSON) int { return cmp.Compare(a.Name, b.Name) })
		for _, s := range out {
			slices.Sort(s.Versions)
		}
		if output.json {
			if out == nil {
				out = []*serviceJSON{}
			}
			return writeJSON(cmd.OutOrStdout(), out)
		}
		t := newTable(cmd.OutOrStdout(), "NAME", "VERSIONS", "NODES")
		for _, s := range out {
			t.row(s.Name, strings.Join(s.Versions, ", "), strconv.Itoa(s.Nodes))
		}
		return t.flush()
	}
	return cmd
}
