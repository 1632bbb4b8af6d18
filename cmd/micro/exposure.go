package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/protomicro/micro/runtime/auth/jwt"
)

// insecurePublicFlag opts a serving command out of requiring auth on an
// address beyond this machine.
const insecurePublicFlag = "insecure_public"

// edgeAuthFlags are the flags of the commands that serve the services to
// others (micro api, web and proxy): the JWT verifier they check callers'
// tokens with at the edge, as a service's jwt.FromEnv reads it, and the
// opt-out of requiring one on an address beyond this machine.
type edgeAuthFlags struct {
	env                            lookupEnv
	key, jwks, issuer, audience    string
	insecurePublic, insecureLegacy bool
}

// addEdgeAuthFlags adds --auth_key, --auth_jwks, --auth_issuer,
// --auth_audience and --insecure_public to cmd, which serves what, and,
// when legacy is set, the deprecated --insecure it replaces.
func addEdgeAuthFlags(cmd *cobra.Command, env lookupEnv, what string, legacy bool) *edgeAuthFlags {
	f := &edgeAuthFlags{env: env}
	flags := cmd.Flags()
	flags.StringVar(&f.key, "auth_key", "", "verify callers' bearer JWTs with the keys of this file, PEM or JWK (default $MICRO_AUTH_KEY)")
	flags.StringVar(&f.jwks, "auth_jwks", "", "verify callers' bearer JWTs with the keys of this JWKS URL (default $MICRO_AUTH_JWKS)")
	flags.StringVar(&f.issuer, "auth_issuer", "", "with auth, require tokens from this issuer (default $MICRO_AUTH_ISSUER, else any)")
	flags.StringVar(&f.audience, "auth_audience", "", "with auth, require tokens for this audience (default $MICRO_AUTH_AUDIENCE, else any)")
	flags.BoolVar(&f.insecurePublic, insecurePublicFlag, false, "serve "+what+" on an address beyond this machine without auth: anyone who reaches it can call every service")
	if legacy {
		flags.BoolVar(&f.insecureLegacy, "insecure", false, "the old name of --"+insecurePublicFlag)
		_ = flags.MarkDeprecated("insecure", "use --"+insecurePublicFlag)
	}
	return f
}

// verifier returns the JWT verifier the flags, else the MICRO_AUTH_*
// variables, configure, or nil when neither names a key.
func (f *edgeAuthFlags) verifier(cmd *cobra.Command) (*jwt.Verifier, error) {
	values := map[string]string{}
	for _, s := range []struct{ flag, value, variable string }{
		{"auth_key", f.key, "MICRO_AUTH_KEY"},
		{"auth_jwks", f.jwks, "MICRO_AUTH_JWKS"},
		{"auth_issuer", f.issuer, "MICRO_AUTH_ISSUER"},
		{"auth_audience", f.audience, "MICRO_AUTH_AUDIENCE"},
	} {
		if cmd.Flags().Changed(s.flag) {
			values[s.variable] = s.value
		} else if v, ok := f.env(s.variable); ok {
			values[s.variable] = v
		}
	}
	if values["MICRO_AUTH_KEY"] == "" && values["MICRO_AUTH_JWKS"] == "" {
		return nil, nil
	}
	v, err := jwt.FromEnv(func(key string) string { return values[key] })
	if err != nil {
		return nil, fmt.Errorf("auth (--auth_* or MICRO_AUTH_*): %w", err)
	}
	return v, nil
}

// check returns the verifier the flags configure (nil for none), or an
// error when they configure a bad one or, without one, address is beyond
// this machine (see checkExposure).
func (f *edgeAuthFlags) check(cmd *cobra.Command, address string) (*jwt.Verifier, error) {
	v, err := f.verifier(cmd)
	if err != nil {
		return nil, err
	}
	if err := f.checkExposure(address, v != nil); err != nil {
		return nil, err
	}
	return v, nil
}

// checkExposure returns a usage error when address is beyond this machine
// (any address but a loopback one: 0.0.0.0, ::, a LAN address, or none,
// as in ":8080") and withAuth is false, unless --insecure_public is given.
func (f *edgeAuthFlags) checkExposure(address string, withAuth bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return &usageError{fmt.Errorf("--address %q: %w", address, err)}
	}
	if withAuth || f.insecurePublic || f.insecureLegacy || isLoopback(host) {
		return nil
	}
	return &usageError{fmt.Errorf("--address %q is beyond this machine, and no auth is configured: anyone who can reach it could call every service; "+
		"configure auth with --auth_key or MICRO_AUTH_KEY (a key file) or --auth_jwks or MICRO_AUTH_JWKS (a JWKS URL), "+
		"serve on a loopback address (127.0.0.1, localhost), or pass --%s to serve it open anyway", address, insecurePublicFlag)}
}

// isLoopback reports whether host names this machine only.
func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// warnExposure says, on standard error, how the command serving on addr
// (its --address, which check accepted, is address) guards it: with auth,
// or, beyond this machine, not at all (--insecure_public).
func warnExposure(cmd *cobra.Command, address string, addr net.Addr, withAuth bool) {
	host, _, _ := net.SplitHostPort(address)
	switch {
	case withAuth:
		logf(cmd.ErrOrStderr(), "%s: verifying bearer tokens by each method's declared access\n", cmd.CommandPath())
	case !isLoopback(host):
		logf(cmd.ErrOrStderr(), "micro: warning: serving on %s, beyond this machine, with no authentication (--%s): anyone who can reach it can call every service\n", addr, insecurePublicFlag)
	}
}
