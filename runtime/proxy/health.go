package proxy

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// health answers grpc.health.v1.Health for the proxy and the services
// behind it, from the registry.
type health struct{ p *Proxy }

// Check answers SERVING for "" (the proxy itself) and for a service the
// registry lists with a node, by registry or proto service name, and
// NOT_FOUND for any other, as the health protocol asks.
func (h health) Check(_ context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if req.GetService() != "" && !h.p.table.Load().serves(req.GetService()) {
		return nil, status.Errorf(codes.NotFound, "no registered service %q", req.GetService())
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// List answers the status of the proxy ("") and of every service behind it,
// by registry and proto service name.
func (h health) List(context.Context, *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	t := h.p.table.Load()
	res := &healthpb.HealthListResponse{Statuses: make(map[string]*healthpb.HealthCheckResponse)}
	serving := &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}
	res.Statuses[""] = serving
	for _, name := range t.names {
		res.Statuses[name] = serving
	}
	for name := range t.protos {
		res.Statuses[name] = serving
	}
	return res, nil
}

// Watch sends the status of the service now, and again each time it
// changes, until the caller ends the call.
func (h health) Watch(req *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	last := healthpb.HealthCheckResponse_UNKNOWN
	for {
		t := h.p.table.Load()
		now := healthpb.HealthCheckResponse_SERVICE_UNKNOWN
		if req.GetService() == "" || t.serves(req.GetService()) {
			now = healthpb.HealthCheckResponse_SERVING
		}
		if now != last {
			if err := stream.Send(&healthpb.HealthCheckResponse{Status: now}); err != nil {
				return err
			}
			last = now
		}
		select {
		case <-t.changed:
		case <-stream.Context().Done():
			return status.FromContextError(stream.Context().Err()).Err()
		}
	}
}
