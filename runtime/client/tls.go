package client

import (
	"context"
	"crypto/tls"
	"net"
	"strings"

	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
)

// TLSMetadata is the node metadata key whose value "true" says that a node
// serves TLS; the client dials such nodes with TLS. micro.Service sets it
// when it serves TLS.
const TLSMetadata = "tls"

// tlsScheme prefixes an address of [WithAddress] that is dialed with TLS.
const tlsScheme = "tls://"

// WithTLS sets the TLS configuration for the nodes that speak TLS: those
// registered with [TLSMetadata] "true" and the addresses given as
// "tls://host:port". It holds the roots servers are verified against and,
// for mutual TLS, the client's certificate (see package tlsfiles). Default:
// the system's roots, no client certificate. Other nodes are dialed in
// plain text, as their registration says.
func WithTLS(cfg *tls.Config) Option {
	return optionFunc(func(c *config) { c.tls = cfg })
}

// tlsAttribute marks an address dialed with TLS.
type tlsAttribute struct{}

// address returns the resolver address of a node at addr, which speaks TLS
// when secure: its host is then the name its certificate is checked
// against.
func address(addr string, secure bool) resolver.Address {
	if !secure {
		return resolver.Address{Addr: addr}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return resolver.Address{Addr: addr, ServerName: host, Attributes: attributes.New(tlsAttribute{}, true)}
}

// staticAddress parses an address of WithAddress, "host:port" or
// "tls://host:port".
func staticAddress(addr string) resolver.Address {
	if rest, ok := strings.CutPrefix(addr, tlsScheme); ok {
		return address(rest, true)
	}
	return address(addr, false)
}

// nodeCredentials dial each address with TLS or in plain text, as its
// resolver address says.
type nodeCredentials struct {
	tls, plain credentials.TransportCredentials
}

func newNodeCredentials(cfg *tls.Config) credentials.TransportCredentials {
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return &nodeCredentials{tls: credentials.NewTLS(cfg), plain: insecure.NewCredentials()}
}

func (c *nodeCredentials) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if attrs := credentials.ClientHandshakeInfoFromContext(ctx).Attributes; attrs != nil && attrs.Value(tlsAttribute{}) == true {
		return c.tls.ClientHandshake(ctx, authority, conn)
	}
	return c.plain.ClientHandshake(ctx, authority, conn)
}

func (c *nodeCredentials) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c.plain.ServerHandshake(conn)
}

func (c *nodeCredentials) Info() credentials.ProtocolInfo { return c.plain.Info() }

func (c *nodeCredentials) Clone() credentials.TransportCredentials {
	return &nodeCredentials{tls: c.tls.Clone(), plain: c.plain.Clone()}
}

//nolint:staticcheck // part of the interface until grpc-go removes it
func (c *nodeCredentials) OverrideServerName(name string) error {
	return c.tls.OverrideServerName(name)
}
