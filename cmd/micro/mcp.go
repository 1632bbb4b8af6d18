package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/auth/jwt"
	"github.com/protomicro/micro/runtime/client"
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

// server starts an MCP server on reg, logging to logger, that judges its
// callers' tokens with v (none when nil: see mcp.WithAuth), and extra
// options.
func (f *mcpFlags) server(cmd *cobra.Command, v auth.Verifier, reg registry.Registry, logger *slog.Logger, extra ...mcp.Option) (*mcp.Server, error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
	defer cancel()
	opts := []mcp.Option{mcp.WithLogger(logger), mcp.WithTimeout(f.timeout), mcp.WithResponseLimit(f.responseLimit), mcp.WithAuth(v)}
	return mcp.New(ctx, reg, append(opts, extra...)...)
}

// authVerifier returns the verifier that MICRO_AUTH_KEY or MICRO_AUTH_JWKS
// (with MICRO_AUTH_ISSUER and MICRO_AUTH_AUDIENCE) configure, read as
// services read them (jwt.FromEnv), or nil when neither is set.
func authVerifier(env lookupEnv) (auth.Verifier, error) {
	getenv := func(name string) string {
		v, _ := env(name)
		return v
	}
	if getenv("MICRO_AUTH_KEY") == "" && getenv("MICRO_AUTH_JWKS") == "" {
		return nil, nil
	}
	v, err := jwt.FromEnv(getenv)
	if err != nil {
		return nil, &usageError{err}
	}
	return v, nil
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

A service run with auth (micro.WithAuth) has its tools listed, and called,
only as its access allows the caller: the bearer token of --token (default
$MICRO_TOKEN), which every tool call sends to the service. With
MICRO_AUTH_KEY or MICRO_AUTH_JWKS (and MICRO_AUTH_ISSUER, MICRO_AUTH_AUDIENCE)
set as the services have them, micro mcp verifies the token as they do and
lists exactly the tools it may call. Without them it cannot judge the token:
it lists only the public tools without one, and every tool with one (the
services still refuse what it may not call).

micro api --mcp serves the same tools over HTTP at /mcp.`,
		Example: `  micro mcp
  micro mcp --timeout 10s --response_limit 262144
  micro auth keygen --key dev.pem && MICRO_AUTH_KEY=dev.pem micro mcp --token "$(micro auth token --key dev.pem --scopes orders:read)"`,
		Args: usageArgs(cobra.NoArgs),
	}
	where := addRegistryFlags(cmd, env)
	flags := addMCPFlags(cmd, "")
	var token string
	cmd.Flags().StringVar(&token, "token", "", "the bearer token of the caller, which tools are listed for and sent with every tool call (default $MICRO_TOKEN)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		reg, err := where.open(cmd)
		if err != nil {
			return err
		}
		defer closeRegistry(reg)
		token := where.setting(cmd, "token", token, "MICRO_TOKEN")
		// Schemas are read with the token too, for services whose
		// reflection is not public.
		c := client.New(client.WithRegistry(reg), client.WithInterceptors(auth.NewClientInterceptor(auth.StaticToken(token))))
		defer func() { _ = c.Close() }()
		logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		v, err := authVerifier(env)
		if err != nil {
			return err
		}
		s, err := flags.server(cmd, v, reg, logger, mcp.WithToken(token), mcp.WithClient(c))
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
