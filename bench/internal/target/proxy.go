package target

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/proxy"
	"github.com/protomicro/micro/runtime/registry/memory"
)

// MicroProxy is micro called through runtime/proxy (micro proxy): the
// micro target's client calls the proxy's address, and the proxy forwards
// each call, still encoded, to the micro server it finds in the registry.
// The proxy and the server run in the server's process and share a memory
// registry of their own, so that the proxy never routes to another micro
// target's server (they serve the same procedures). Its difference from
// [Micro] is the proxy's cost. It runs unary workloads only, where the
// proxy goal is.
func MicroProxy() Target {
	return Target{
		Name:  "micro-proxy",
		About: "micro through micro proxy: runtime/client calls the proxy, which forwards every call still encoded to the micro server (proxy and server in one process)",
		Serve: serveProxy,
		Dial: func(addr string) (Client, error) {
			c := client.New(client.WithAddress(addr))
			return dialMicro(serviceName, c), nil
		},
		NotMeasured: map[string]string{
			"stream": "the proxy goal is on unary calls; make bench measures the proxy only there, to keep its run short",
			"chat":   "the proxy goal is on unary calls; make bench measures the proxy only there, to keep its run short",
		},
	}
}

func serveProxy(addr string) (Server, error) {
	reg := memory.New()
	backend, err := serveMicroIn(reg, serviceName, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := proxy.New(ctx, reg)
	if err != nil {
		return nil, errors.Join(err, backend.Stop())
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, errors.Join(err, p.Close(), backend.Stop())
	}
	go func() { _ = p.Serve(lis) }() // Serve returns nil after Shutdown
	return server{addr: lis.Addr().String(), stop: func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = p.Shutdown(ctx) // calls still in flight at the end of a run are canceled
		return backend.Stop()
	}}, nil
}
