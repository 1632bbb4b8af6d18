package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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
		"the registry's address: a directory for local, which a service must have created, host:2379,... for etcd (default $MICRO_REGISTRY_ADDRESS, else the registry's own)")
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
	name, address, err := f.chosen(cmd)
	if err != nil {
		return nil, err
	}
	if name == "local" && address != "" {
		// The local backend creates its directory, as a service starting
		// first must; a command that only reads would create an empty
		// registry where a mistyped path should be an error.
		if err := checkRegistryDir(address); err != nil {
			return nil, err
		}
	}
	reg, err := micro.NewRegistry(name, address)
	if err != nil {
		return nil, fmt.Errorf("open the %s registry: %w", name, err)
	}
	return reg, nil
}

// chosen returns the registry the flags or the environment name, local by
// default, and its address ("" for the registry's own).
func (f *registryFlags) chosen(cmd *cobra.Command) (name, address string, err error) {
	name = f.setting(cmd, "registry", f.name, "MICRO_REGISTRY")
	if name == "" {
		name = "local"
	}
	if !slices.Contains(micro.RegistryNames(), name) {
		return "", "", &usageError{fmt.Errorf("unknown registry %q: want one of %s", name, strings.Join(micro.RegistryNames(), ", "))}
	}
	return name, f.setting(cmd, "registry_address", f.address, "MICRO_REGISTRY_ADDRESS"), nil
}

// checkRegistryDir returns an error naming dir unless it is a directory.
func checkRegistryDir(dir string) error {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("local registry directory %s does not exist: no service has registered there (a service creates it when it starts; check --registry_address and MICRO_REGISTRY_ADDRESS)", dir)
	case err != nil:
		return fmt.Errorf("local registry directory: %w", err)
	case !info.IsDir():
		return fmt.Errorf("local registry directory %s is not a directory", dir)
	}
	return nil
}

// closeRegistry releases what reg holds, for the backends that hold
// something (connections, sockets).
func closeRegistry(reg registry.Registry) {
	if closer, ok := reg.(io.Closer); ok {
		_ = closer.Close()
	}
}

// serviceNames returns the names of the services registered in reg, sorted
// and each once.
func serviceNames(ctx context.Context, reg registry.Registry) ([]string, error) {
	names, err := registry.ServiceNames(ctx, reg)
	if err != nil {
		return nil, fmt.Errorf("list the services in the %s registry: %w", reg, err)
	}
	return names, nil
}

// lookupService returns every registered version of the named service. For
// a name the registry does not know, the error lists the names it does.
func lookupService(ctx context.Context, reg registry.Registry, name string) ([]*registry.Service, error) {
	versions, err := reg.GetService(ctx, name)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, notRegistered(ctx, reg, name)
	}
	if err != nil {
		return nil, fmt.Errorf("look up service %q in the %s registry: %w", name, reg, err)
	}
	return versions, nil
}

// notRegistered is the error for a service name reg does not know: it lists
// the names reg knows.
func notRegistered(ctx context.Context, reg registry.Registry, name string) error {
	names, err := serviceNames(ctx, reg)
	switch {
	case err != nil:
		return fmt.Errorf("service %q is not registered in the %s registry", name, reg)
	case len(names) == 0:
		return fmt.Errorf("service %q is not registered in the %s registry, which has no services", name, reg)
	}
	return fmt.Errorf("service %q is not registered in the %s registry; registered services:\n  %s", name, reg, strings.Join(names, "\n  "))
}
