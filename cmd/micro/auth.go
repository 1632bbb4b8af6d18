package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/protomicro/micro/runtime/auth/jwt"
)

// newAuthCommand returns micro auth: development keys and tokens.
func newAuthCommand(env lookupEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Make a development signing key and tokens for services with auth",
		Long: `Make an Ed25519 signing key and sign JWTs with it, to try and test services
that verify tokens (micro.WithAuth). A service verifying with the same key
file (micro.WithAuth with jwt.FromEnv, and MICRO_AUTH_KEY=$(micro auth keygen))
accepts the tokens micro auth token signs. For development only: in production tokens come
from an identity provider, and services verify them with MICRO_AUTH_JWKS.

The key is kept in micro's directory of the user's configuration
(` + "`$XDG_CONFIG_HOME/micro/auth.pem`" + ` on Linux) unless --key names another file.`,
		Example: `  micro auth keygen --key dev.pem
  micro auth token --key dev.pem --subject ada --scopes orders:read,orders:write
  micro call greeter SayHello --token "$(micro auth token --key dev.pem)" '{"name": "Ada"}'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newAuthKeygenCommand(env), newAuthTokenCommand(env))
	return cmd
}

// addKeyFlag adds --key, whose default is the key file in the user's
// configuration directory.
func addKeyFlag(cmd *cobra.Command, key *string) {
	cmd.Flags().StringVar(key, "key", "", "the PEM key file (default $MICRO_AUTH_KEY, else micro/auth.pem in the user's configuration directory)")
}

// keyPath returns the key file: --key, else $MICRO_AUTH_KEY, else
// micro/auth.pem in the user's configuration directory.
func keyPath(env lookupEnv, key string) (string, error) {
	if key != "" {
		return key, nil
	}
	if v, ok := env("MICRO_AUTH_KEY"); ok && v != "" {
		return v, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the key file: %w (give one with --key)", err)
	}
	return filepath.Join(dir, "micro", "auth.pem"), nil
}

func newAuthKeygenCommand(env lookupEnv) *cobra.Command {
	var key string
	var force bool
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make a signing key and print its file's path",
		Long: `Make an Ed25519 signing key, write it as PEM (PKCS #8) to the key file, readable
by its owner only, and print the file's path. A key file already there is
kept, and its path printed, unless --force replaces it (which invalidates
every token signed with the old key).`,
		Example: `  micro auth keygen --key dev.pem
  micro auth keygen --key dev.pem --force`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := keyPath(env, key)
			if err != nil {
				return err
			}
			if _, err := os.Stat(path); err == nil && !force {
				_, err = fmt.Fprintln(cmd.OutOrStdout(), path)
				return err
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("key file %q: %w", path, err)
			}
			pemKey, err := jwt.GenerateKey()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return fmt.Errorf("write key file %q: %w", path, err)
			}
			if err := os.WriteFile(path, pemKey, 0o600); err != nil {
				return fmt.Errorf("write key file %q: %w", path, err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), path)
			return err
		},
	}
	addKeyFlag(cmd, &key)
	cmd.Flags().BoolVar(&force, "force", false, "replace a key file already there")
	return cmd
}

func newAuthTokenCommand(env lookupEnv) *cobra.Command {
	var (
		key, subject, issuer string
		scopes, audience     []string
		ttl                  = time.Hour
	)
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Sign a development token and print it",
		Long: `Sign a JWT with the key file (see micro auth keygen) and print it: "sub" is
--subject, "scope" the --scopes separated by spaces, "exp" --ttl from now,
and "iss" and "aud" --issuer and --audience when given (a service checks
them when MICRO_AUTH_ISSUER and MICRO_AUTH_AUDIENCE are set).`,
		Example: `  micro auth token --key dev.pem --subject ada --scopes orders:read --ttl 10m`,
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl <= 0 {
				return &usageError{fmt.Errorf("--ttl is %v, want more than 0", ttl)}
			}
			path, err := keyPath(env, key)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no key file %q: make one with micro auth keygen, or give one with --key", path)
			} else if err != nil {
				return fmt.Errorf("read key file: %w", err)
			}
			signer, err := jwt.ParsePrivateKey(data)
			if err != nil {
				return fmt.Errorf("key file %q: %w", path, err)
			}
			var clean []string
			for _, s := range scopes {
				if s = strings.TrimSpace(s); s != "" {
					clean = append(clean, s)
				}
			}
			token, err := jwt.Sign(signer, jwt.Token{Subject: subject, Issuer: issuer, Audience: audience, Scopes: clean, TTL: ttl})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), token)
			return err
		},
	}
	addKeyFlag(cmd, &key)
	cmd.Flags().StringVar(&subject, "subject", "dev", "who the token is for (sub)")
	cmd.Flags().StringSliceVar(&scopes, "scopes", nil, "the scopes it grants (repeat or separate with commas)")
	cmd.Flags().Var((*duration)(&ttl), "ttl", "how long it is valid")
	cmd.Flags().StringVar(&issuer, "issuer", "", "its issuer (iss), none by default")
	cmd.Flags().StringSliceVar(&audience, "audience", nil, "its audience (aud), none by default")
	return cmd
}
