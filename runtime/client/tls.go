package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"

	"github.com/protomicro/micro/runtime/registry"
)

// TLSMetadata is the node metadata key whose value "true" says that a node
// serves TLS; the client dials such nodes with TLS. micro.Service sets it
// when it serves TLS.
const TLSMetadata = "tls"

// tlsScheme prefixes an address of [WithAddress] that is dialed with TLS.
const tlsScheme = "tls://"

// WithTLS sets the TLS configuration for the nodes that speak TLS: those
// registered with [TLSMetadata] "true" and the addresses given as
// "tls://host:port". It holds the roots servers are verified against (nil
// or no RootCAs: the system's) and, for mutual TLS, the client's
// certificate (see package tlsfiles). Other nodes are dialed in plain text,
// as their registration says. Default: none, and a node that speaks TLS
// cannot be called; a program that never uses WithTLS does not link TLS.
func WithTLS(cfg *tls.Config) Option {
	return optionFunc(func(c *config) {
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		c.tls = credentials.NewTLS(cfg)
	})
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

// NodeAddress returns the address to call the node n at, given to
// [WithAddress] or as a node to dynamic.Resolve: "tls://host:port" when its
// registration says it serves TLS ([TLSMetadata]), else its address.
func NodeAddress(n *registry.Node) string {
	if n.Metadata[TLSMetadata] == "true" {
		return tlsScheme + n.Address
	}
	return n.Address
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

// newNodeCredentials returns the credentials of a client whose TLS
// credentials, from WithTLS, are secure, or nil.
func newNodeCredentials(secure credentials.TransportCredentials) credentials.TransportCredentials {
	return &nodeCredentials{tls: secure, plain: insecure.NewCredentials()}
}

func (c *nodeCredentials) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if attrs := credentials.ClientHandshakeInfoFromContext(ctx).Attributes; attrs != nil && attrs.Value(tlsAttribute{}) == true {
		if c.tls == nil {
			return nil, nil, fmt.Errorf("%s speaks TLS (registered with %s=true, or given as tls://), and the client has no TLS configuration: give it client.WithTLS", authority, TLSMetadata)
		}
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
