package web

import (
	"log/slog"
	"strings"
	"time"

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
