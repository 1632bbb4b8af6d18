package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/protomicro/micro/runtime/config"
)

// configJSON is one value in the output of micro config -o json.
type configJSON struct {
	Key string `json:"key"`
	// Value is the value as text, "******" for a secret.
	Value  string `json:"value"`
	Source string `json:"source"`
}

// newConfigCommand makes micro config; environ gives the environment, as
// [os.Environ] does.
func newConfigCommand(environ func() []string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config [DIR]",
		Short: "Print a project's merged configuration and where each value comes from",
		Long: `Print the configuration a service in DIR (the current directory by default)
would load: its config.yaml, if there is one, overridden by the environment
variables starting with MICRO_CONFIG_ (MICRO_CONFIG_DB__HOST sets db.host).
Each value is printed with the source it came from. Values whose key looks
secret (password, secret, token, key) are shown as ******.`,
		Example: `  micro config
  MICRO_CONFIG_PORT=9090 micro config .
  micro config -o json`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
	}
	output := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		dir := argAt(args, 0)
		if dir == "" {
			dir = "."
		}
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			return fmt.Errorf("config: %s is not a directory", dir)
		}
		c, err := config.New(cmd.Context(), config.WithoutWatch(),
			config.WithSources(config.ServiceSources(dir, config.WithEnviron(environ))...))
		if err != nil {
			return err
		}
		defer func() { _ = c.Close() }()
		s := c.Snapshot()
		if output.json {
			values := []configJSON{}
			for _, key := range s.Keys() {
				values = append(values, configJSON{Key: key, Value: s.Print(key), Source: s.Source(key)})
			}
			return writeJSON(cmd.OutOrStdout(), values)
		}
		table := newTable(cmd.OutOrStdout(), "KEY", "VALUE", "SOURCE")
		for _, key := range s.Keys() {
			table.row(key, s.Print(key), s.Source(key))
		}
		return table.flush()
	}
	return cmd
}
