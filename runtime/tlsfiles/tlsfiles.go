// Package tlsfiles makes TLS configurations from PEM files, for servers and
// clients, that pick up new certificates when the files change, without a
// restart.
//
// Each handshake checks the files' size and modification time (a stat per
// file, no read) and reads them again when either changed; a set of files
// that does not load (a certificate written before its key, say) leaves the
// last good one in use until the next handshake tries again.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Files names the PEM files of one end of a TLS connection.
type Files struct {
	// Cert and Key are the certificate chain and private key this end
	// presents. A server needs them; a client gives them for mutual TLS.
	Cert, Key string
	// CA holds the certificates this end trusts for the other end's: a
	// server with CA requires and verifies client certificates (mutual
	// TLS); a client with CA verifies servers against it instead of the
	// system's roots.
	CA string
}

// IsZero reports whether f names no file.
func (f Files) IsZero() bool { return f == Files{} }

// ServerConfig returns the configuration of a TLS server presenting f.Cert
// and f.Key and, when f.CA is set, requiring client certificates signed by
// it. The files are read now, and again on a handshake after they change.
func ServerConfig(f Files) (*tls.Config, error) {
	return serverConfig(f, []string{"h2"})
}

// HTTPServerConfig is [ServerConfig] for an HTTP server: it offers HTTP/2
// and HTTP/1.1 (ALPN "h2" and "http/1.1"), where ServerConfig, for gRPC,
// offers HTTP/2 alone.
func HTTPServerConfig(f Files) (*tls.Config, error) {
	return serverConfig(f, []string{"h2", "http/1.1"})
}

func serverConfig(f Files, protos []string) (*tls.Config, error) {
	if f.Cert == "" || f.Key == "" {
		return nil, fmt.Errorf("TLS server: need both a certificate and a key file (have %q and %q)", f.Cert, f.Key)
	}
	r := &reloader{files: f}
	if err := r.load(); err != nil {
		return nil, fmt.Errorf("TLS server: %w", err)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			s := r.current()
			c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*s.cert}, NextProtos: protos}
			if s.pool != nil {
				c.ClientCAs = s.pool
				c.ClientAuth = tls.RequireAndVerifyClientCert
			}
			return c, nil
		},
	}, nil
}

// ClientConfig returns the configuration of a TLS client that verifies
// servers against f.CA (the system's roots when it is empty) and, when
// f.Cert and f.Key are set, presents them (mutual TLS). The client
// certificate is read again after its files change; the CA is read once.
func ClientConfig(f Files) (*tls.Config, error) {
	if (f.Cert == "") != (f.Key == "") {
		return nil, fmt.Errorf("TLS client: give both a certificate and a key file, or neither (have %q and %q)", f.Cert, f.Key)
	}
	r := &reloader{files: f}
	if err := r.load(); err != nil {
		return nil, fmt.Errorf("TLS client: %w", err)
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: r.current().pool}
	if f.Cert != "" {
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return r.current().cert, nil
		}
	}
	return c, nil
}

// reloader holds what the files last loaded to.
type reloader struct {
	files Files

	mu     sync.Mutex
	state  *loaded
	stamps [3]stamp // of Cert, Key and CA when state was loaded
}

type loaded struct {
	cert *tls.Certificate // nil without Cert
	pool *x509.CertPool   // nil without CA
}

// stamp is what tells that a file changed.
type stamp struct {
	size    int64
	modTime time.Time
}

func (r *reloader) paths() [3]string { return [3]string{r.files.Cert, r.files.Key, r.files.CA} }

func (r *reloader) stat() [3]stamp {
	var stamps [3]stamp
	for i, path := range r.paths() {
		if path == "" {
			continue
		}
		if info, err := os.Stat(path); err == nil {
			stamps[i] = stamp{info.Size(), info.ModTime()}
		}
	}
	return stamps
}

// current returns the loaded files, loading them again if they changed and
// still load.
func (r *reloader) current() *loaded {
	stamps := r.stat()
	r.mu.Lock()
	defer r.mu.Unlock()
	if stamps != r.stamps {
		if state, err := r.read(); err == nil {
			r.state, r.stamps = state, stamps
		}
	}
	return r.state
}

// load reads the files for the first time.
func (r *reloader) load() error {
	stamps := r.stat()
	state, err := r.read()
	if err != nil {
		return err
	}
	r.state, r.stamps = state, stamps
	return nil
}

func (r *reloader) read() (*loaded, error) {
	state := &loaded{}
	if r.files.Cert != "" {
		cert, err := tls.LoadX509KeyPair(r.files.Cert, r.files.Key)
		if err != nil {
			return nil, fmt.Errorf("load certificate %q and key %q: %w", r.files.Cert, r.files.Key, err)
		}
		state.cert = &cert
	}
	if r.files.CA != "" {
		data, err := os.ReadFile(r.files.CA)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		state.pool = x509.NewCertPool()
		if !state.pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("CA file %q: %w", r.files.CA, errNoCertificates)
		}
	}
	return state, nil
}

var errNoCertificates = errors.New("no PEM certificate in it")
