package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/protomicro/micro/runtime/mcp"
	"github.com/protomicro/micro/runtime/registry"
)

// mcpFlags are the flags of the MCP server, on micro mcp and micro api.
type mcpFlags struct {
	timeout       time.Duration
	responseLimit int
}

func addMCPFlags(cmd *cobra.Command, prefix string) *mcpFlags {
	f := new(mcpFlags)
	cmd.Flags().DurationVar(&f.timeout, prefix+"timeout", 30*time.Second, "the deadline of one tool call (0 for none)")
	cmd.Flags().IntVar(&f.responseLimit, prefix+"response_limit", 1<<20, "the largest tool result, in bytes of JSON (an error result past it)")
	return f
}

// server starts an MCP server on reg, logging to logger.
func (f *mcpFlags) server(cmd *cobra.Command, reg registry.Registry, logger *slog.Logger, opts ...mcp.Option) (*mcp.Server, error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
	defer cancel()
	return mcp.New(ctx, reg, append([]mcp.Option{mcp.WithLogger(logger), mcp.WithTimeout(f.timeout), mcp.WithResponseLimit(f.responseLimit)}, opts...)...)
}

func newMCPCommand(env lookupEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve every service's methods as MCP tools to an AI model, on stdin and stdout",
		Long: `Serve the services of the registry to an AI model as tools of the Model Context
Protocol, on standard input and output, until the client disconnects: what an
MCP client (Claude Desktop, an IDE, an agent) runs. Each unary method is a tool
named service_Method, described by its comment in the proto, with the JSON
Schemas of its request and response; a server-streaming method is one too,
collecting up to 100 responses. A failed call is an error result with its
code, message and details. Tools follow the registry. Logs go to standard
error.

micro api --mcp serves the same tools over HTTP at /mcp.`,
		Example: `  micro mcp
  micro mcp --timeout 10s --response_limit 262144`,
		Args: usageArgs(cobra.NoArgs),
	}
	where := addRegistryFlags(cmd, env)
	flags := addMCPFlags(cmd, "")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		reg, err := where.open(cmd)
		if err != nil {
			return err
		}
		defer closeRegistry(reg)
		logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		s, err := flags.server(cmd, reg, logger)
		if err != nil {
			return err
		}
		defer func() { _ = s.Close() }()
		err = s.Run(cmd.Context(), &sdk.IOTransport{Reader: io.NopCloser(cmd.InOrStdin()), Writer: nopWriteCloser{cmd.OutOrStdout()}})
		switch {
		case cmd.Context().Err() != nil:
			return errInterrupted
		case err == nil || errors.Is(err, io.EOF) || errors.Is(err, sdk.ErrConnectionClosed):
			return nil // the client left
		}
		return err
	}
	return cmd
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
