package target

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	echov1 "github.com/protomicro/micro/bench/gen/echo/v1"
	"github.com/protomicro/micro/runtime/gateway"
	"github.com/protomicro/micro/runtime/registry/memory"
)

// The gateway targets call echo over REST, JSON over HTTP/1.1 by the
// google.api.http rules of proto/echo/v1 (POST /v1/echo, and POST /v1/stream
// answered as newline-delimited JSON), through the same client, in front of
// the same micro server. The gateway and the server run in the server's
// process, so that CPU per call counts both, as it counts the proxy's.

var gatewayNotMeasured = map[string]string{
	"chat": "REST has no bidirectional streams",
}

// MicroAPI is echo called over REST through runtime/gateway (micro api):
// the gateway finds the micro server in a memory registry of its own, reads
// its schema by reflection, and forwards each call, transcoded by vanguard.
func MicroAPI() Target {
	return Target{
		Name:        "micro-api",
		About:       "REST JSON through runtime/gateway (micro api) in front of the micro server (gateway and server in one process; net/http client, HTTP/1.1)",
		Serve:       serveMicroAPI,
		Dial:        dialREST,
		NotMeasured: gatewayNotMeasured,
	}
}

// GRPCGateway is echo called over REST through grpc-gateway's generated mux
// (echo.pb.gw.go) in front of the micro server: the baseline of the gateway
// goals.
func GRPCGateway() Target {
	return Target{
		Name:        "grpc-gateway",
		About:       "REST JSON through grpc-gateway v2's generated mux in front of the micro server (mux and server in one process; net/http client, HTTP/1.1)",
		Serve:       serveGRPCGateway,
		Dial:        dialREST,
		NotMeasured: gatewayNotMeasured,
	}
}

func serveMicroAPI(addr string) (Server, error) {
	reg := memory.New()
	backend, err := serveMicroIn(reg, serviceName, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g, err := gateway.New(ctx, reg)
	if err != nil {
		return nil, errors.Join(err, backend.Stop())
	}
	return serveHTTP(addr, g, func() error { return errors.Join(g.Close(), backend.Stop()) })
}

func serveGRPCGateway(addr string) (Server, error) {
	backend, err := serveMicroIn(memory.New(), serviceName, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := runtime.NewServeMux()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if err := echov1.RegisterEchoServiceGatewayFromEndpoint(context.Background(), mux, backend.Addr(), opts); err != nil {
		return nil, errors.Join(err, backend.Stop())
	}
	return serveHTTP(addr, mux, backend.Stop)
}

// serveHTTP serves h on addr until stopped, then calls stop.
func serveHTTP(addr string, h http.Handler, stop func() error) (Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, errors.Join(err, stop())
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(lis) }() // Serve returns ErrServerClosed after Shutdown
	return server{addr: lis.Addr().String(), stop: func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx) // streams still open at the end of a run are cut
		return stop()
	}}, nil
}

// restClient calls echo over REST at base: protojson bodies, one
// keep-alive connection per concurrent caller.
type restClient struct {
	base string
	http *http.Client
}

func dialREST(addr string) (Client, error) {
	transport := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	return &restClient{base: "http://" + addr, http: &http.Client{Transport: transport}}, nil
}

func (c *restClient) post(ctx context.Context, path string, req proto.Message) (*http.Response, error) {
	body, err := protojson.Marshal(req)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(r)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<10))
		_ = res.Body.Close()
		return nil, fmt.Errorf("POST %s: %s: %s", path, res.Status, data)
	}
	return res, nil
}

func (c *restClient) Echo(ctx context.Context, req *echov1.EchoRequest) (*echov1.EchoResponse, error) {
	res, err := c.post(ctx, "/v1/echo", req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	out := new(echov1.EchoResponse)
	return out, protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, out)
}

func (c *restClient) Stream(ctx context.Context, req *echov1.StreamRequest) (Receiver, error) {
	res, err := c.post(ctx, "/v1/stream", req)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { _ = res.Body.Close() })
	return &ndjsonReceiver{r: bufio.NewReaderSize(res.Body, 64<<10)}, nil
}

func (c *restClient) Chat(context.Context) (Chat, error) {
	return nil, errors.New("REST has no bidirectional streams")
}

func (c *restClient) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// ndjsonReceiver reads a newline-delimited JSON stream: {"result": ...} a
// line, or {"error": ...}.
type ndjsonReceiver struct{ r *bufio.Reader }

func (n *ndjsonReceiver) Recv() (*echov1.StreamResponse, error) {
	line, err := n.r.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	var chunk struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(line, &chunk); err != nil {
		return nil, err
	}
	if chunk.Error != nil {
		return nil, fmt.Errorf("stream failed: %s", chunk.Error)
	}
	out := new(echov1.StreamResponse)
	return out, protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(chunk.Result, out)
}
