package web

import (
	"log/slog"
	"strings"
	"time"

	"github.com/protomicro/micro/runtime/auth"
	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/gateway"
)

// Option configures a [Dashboard].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	client         client.Client
	gateway        *gateway.Gateway
	logger         *slog.Logger
	prefix         string
	healthInterval time.Duration
	verifier       auth.Verifier
	authOptions    []auth.Option
}

func newConfig(opts []Option) *config {
	c := &config{prefix: "/", healthInterval: 5 * time.Second}
	for _, opt := range opts {
		opt.apply(c)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// WithClient sets the client that checks the nodes' health and reads the
// services' schemas. The default is a [client.New] on the dashboard's
// registry, which the dashboard closes with itself; a client given here is
// the caller's to close.
func WithClient(c client.Client) Option {
	return optionFunc(func(cfg *config) { cfg.client = c })
}

// WithGateway sets the gateway the dashboard calls the services through,
// and whose counts of calls and errors it charts, such as the one micro api
// serves. The default is a gateway of the dashboard's own on its registry,
// closed with it; a gateway given here is the caller's to close.
func WithGateway(g *gateway.Gateway) Option {
	return optionFunc(func(cfg *config) { cfg.gateway = g })
}

// WithLogger sets where the dashboard logs what goes wrong following the
// registry. The default discards it.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = logger })
}

// WithPrefix sets the path the dashboard is served under, "/_web/", so that
// its links and the script's requests find it; the handler strips it from
// the requests it is given. The default is "/".
func WithPrefix(prefix string) Option {
	return optionFunc(func(c *config) {
		c.prefix = "/" + strings.Trim(prefix, "/") + "/"
		if c.prefix == "//" {
			c.prefix = "/"
		}
	})
}

// WithHealthInterval sets how often the dashboard asks every node for its
// health. The default is 5 seconds; nodes that appear are asked at once.
func WithHealthInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.healthInterval = d
		}
	})
}

// WithAuth puts the dashboard behind a sign-in: every request but those
// for its static files needs a bearer token v accepts, in Authorization or
// in the cookie the sign-in form sets (HttpOnly, SameSite=Strict, kept
// until the token expires); a page asked for without one is answered 401
// with the form, anything else 401 with JSON. Calls made from a signed-in
// browser carry its token. The gateway the dashboard makes for itself
// verifies tokens at the edge with v and opts (gateway.WithAuth); a
// gateway given with [WithGateway] checks as it was made. By default the
// dashboard has no sign-in: serve it on a loopback address.
func WithAuth(v auth.Verifier, opts ...auth.Option) Option {
	return optionFunc(func(c *config) { c.verifier, c.authOptions = v, opts })
}
