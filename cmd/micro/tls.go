package main

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/protomicro/micro/runtime/tlsfiles"
)

// tlsFlags are --tls_cert, --tls_key and --tls_ca, whose defaults are
// $MICRO_TLS_CERT, $MICRO_TLS_KEY and $MICRO_TLS_CA, as a service reads them.
type tlsFlags struct {
	env   lookupEnv
	files tlsfiles.Files
}

// addTLSFlags adds the TLS flags to cmd, with the usage of the certificate
// (and its key) and of the CA.
func addTLSFlags(cmd *cobra.Command, env lookupEnv, certUsage, caUsage string) *tlsFlags {
	f := &tlsFlags{env: env}
	flags := cmd.Flags()
	flags.StringVar(&f.files.Cert, "tls_cert", "", certUsage+" (PEM; default $MICRO_TLS_CERT)")
	flags.StringVar(&f.files.Key, "tls_key", "", "the private key of --tls_cert (PEM; default $MICRO_TLS_KEY)")
	flags.StringVar(&f.files.CA, "tls_ca", "", caUsage+" (PEM; default $MICRO_TLS_CA)")
	return f
}

// chosen returns the files the flags, else the environment, name.
func (f *tlsFlags) chosen(cmd *cobra.Command) tlsfiles.Files {
	files := f.files
	for _, s := range []struct {
		flag, variable string
		value          *string
	}{{"tls_cert", "MICRO_TLS_CERT", &files.Cert}, {"tls_key", "MICRO_TLS_KEY", &files.Key}, {"tls_ca", "MICRO_TLS_CA", &files.CA}} {
		if !cmd.Flags().Changed(s.flag) {
			*s.value, _ = f.env(s.variable)
		}
	}
	return files
}

// nodeConfig returns the TLS configuration micro dials the nodes that speak
// TLS with: the CA as the roots (else the system's), and the certificate
// and key, when given, as the client's for mutual TLS.
func (f *tlsFlags) nodeConfig(cmd *cobra.Command) (*tls.Config, error) {
	files := f.chosen(cmd)
	if files.IsZero() {
		return nil, nil // the system's roots
	}
	return tlsfiles.ClientConfig(files)
}

// httpServerConfig returns the TLS configuration an HTTP command serves
// with, or nil without a certificate: the certificate and key, reloaded when
// their files change, and, with a CA, requiring client certificates it
// signed.
func (f *tlsFlags) httpServerConfig(cmd *cobra.Command) (*tls.Config, error) {
	files := f.chosen(cmd)
	if files.Cert == "" && files.Key == "" {
		return nil, nil
	}
	return tlsfiles.HTTPServerConfig(files)
}

// addServeTLSFlags adds the TLS flags of the commands that serve HTTP to
// cmd: the files serve HTTPS and dial the nodes that speak TLS, as a
// service uses them.
func addServeTLSFlags(cmd *cobra.Command, env lookupEnv) *tlsFlags {
	return addTLSFlags(cmd, env,
		"serve HTTPS with this certificate, read again when it changes; also presented to nodes that ask for one",
		"require HTTPS clients to present a certificate this CA signed, and verify nodes that speak TLS against it")
}

// configs returns the configurations of the HTTP server (nil for plain
// HTTP) and of dialing nodes (see nodeConfig).
func (f *tlsFlags) configs(cmd *cobra.Command) (server, nodes *tls.Config, err error) {
	if server, err = f.httpServerConfig(cmd); err != nil {
		return nil, nil, err
	}
	if nodes, err = f.nodeConfig(cmd); err != nil {
		return nil, nil, err
	}
	return server, nodes, nil
}

// listenHTTP listens on address, with TLS when cfg is set, and returns the
// listener and the scheme of its URLs.
func listenHTTP(cmd *cobra.Command, address string, cfg *tls.Config) (net.Listener, string, error) {
	lis, err := new(net.ListenConfig).Listen(cmd.Context(), "tcp", address)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w", address, err)
	}
	if cfg == nil {
		return lis, "http", nil
	}
	return tls.NewListener(lis, cfg), "https", nil
}
