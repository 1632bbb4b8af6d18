package micro

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/runtime/tlsfiles"
)

var (
	tlsCertSetting = setting{"tls_cert", "MICRO_TLS_CERT"}
	tlsKeySetting  = setting{"tls_key", "MICRO_TLS_KEY"}
	tlsCASetting   = setting{"tls_ca", "MICRO_TLS_CA"}
)

// tlsFiles are the service's TLS files, from WithTLS and then the settings.
type tlsFiles = tlsfiles.Files

// WithTLS serves TLS with the PEM files certFile and keyFile, re-read when
// they change, and registers the node as speaking TLS so that clients dial
// it so. With caFile the server requires client certificates it signed
// (mutual TLS), and the service's client verifies the services it calls
// against it, presenting its own certificate. Give caFile alone for a
// service that only calls TLS services. Default: plain text, unless
// MICRO_TLS_CERT, MICRO_TLS_KEY and MICRO_TLS_CA (or --tls_cert, --tls_key,
// --tls_ca with [WithArgs]) name files.
func WithTLS(certFile, keyFile, caFile string) Option {
	return optionFunc(func(c *config) { c.tls = tlsFiles{Cert: certFile, Key: keyFile, CA: caFile} })
}

// tlsOptions returns the server and client options of the service's TLS
// files: none without them.
func (c *config) tlsOptions() ([]server.Option, []client.Option, error) {
	for _, s := range []struct {
		setting setting
		value   *string
	}{{tlsCertSetting, &c.tls.Cert}, {tlsKeySetting, &c.tls.Key}, {tlsCASetting, &c.tls.CA}} {
		value, ok, err := s.setting.lookup(c.args)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			*s.value = value
		}
	}
	if c.tls.IsZero() {
		return nil, nil, nil
	}
	var serverOptions []server.Option
	if c.tls.Cert != "" || c.tls.Key != "" {
		cfg, err := tlsfiles.ServerConfig(c.tls)
		if err != nil {
			return nil, nil, err
		}
		serverOptions = append(serverOptions, server.WithGRPCOptions(grpc.Creds(credentials.NewTLS(cfg))))
	}
	cfg, err := tlsfiles.ClientConfig(c.tls)
	if err != nil {
		return nil, nil, err
	}
	return serverOptions, []client.Option{client.WithTLS(cfg)}, nil
}

// servesTLS reports whether the service serves TLS.
func (c *config) servesTLS() bool { return c.tls.Cert != "" }
