package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/protomicro/micro/runtime/micro"
	"github.com/protomicro/micro/runtime/registry"
)

// registryFlags are --registry and --registry_address, which choose the
// registry services are looked up in. They read like a service's flags of
// the same names (runtime/micro), with the same environment variables as
// fallback, so that micro finds what services registered without being told
// more than they were.
type registryFlags struct {
	env     lookupEnv
	name    string
	address string
}

// addRegistryFlags adds --registry and --registry_address to cmd.
func addRegistryFlags(cmd *cobra.Command, env lookupEnv) *registryFlags {
	f := &registryFlags{env: env}
	flags := cmd.Flags()
	flags.StringVar(&f.name, "registry", "",
		fmt.Sprintf("the registry services are in: %s (default $MICRO_REGISTRY, else local)", strings.Join(micro.RegistryNames(), ", ")))
	flags.StringVar(&f.address, "registry_address", "",
		"the registry's address: a directory for local, host:2379,... for etcd (default $MICRO_REGISTRY_ADDRESS, else the registry's own)")
	_ = cmd.RegisterFlagCompletionFunc("registry", cobra.FixedCompletions(micro.RegistryNames(), cobra.ShellCompDirectiveNoFileComp))
	return f
}

// setting returns the flag's value when it was given, else the environment
// variable's when it is set and not empty, else "".
func (f *registryFlags) setting(cmd *cobra.Command, flag, value, variable string) string {
	if cmd.Flags().Changed(flag) {
		return value
	}
	if v, ok := f.env(variable); ok && v != "" {
		return v
	}
	return ""
}

// open opens the registry the flags or the environment name, local by
// default. The caller closes it with closeRegistry.
func (f *registryFlags) open(cmd *cobra.Command) (registry.Registry, error) {
	name := f.setting(cmd, "registry", f.name, "MICRO_REGISTRY")
	if name == "" {
		name = "local"
	}
	if !slices.Contains(micro.RegistryNames(), name) {
		return nil, &usageError{fmt.Errorf("unknown registry %q: want one of %s", name, strings.Join(micro.RegistryNames(), ", "))}
	}
	reg, err := micro.NewRegistry(name, f.setting(cmd, "registry_address", f.address, "MICRO_REGISTRY_ADDRESS"))
	if err != nil {
		return nil, fmt.Errorf("open the %s registry: %w", name, err)
	}
	return reg, nil
}

// closeRegistry releases what reg holds, for the backends that hold
// something (connections, sockets).
func closeRegistry(reg registry.Registry) {
	if closer, ok := reg.(io.Closer); ok {
		_ = closer.Close()
	}
}
