package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/internal/follow"
	"github.com/protomicro/micro/runtime/internal/grpcwire"
	"github.com/protomicro/micro/runtime/internal/route"
	"github.com/protomicro/micro/runtime/internal/tracecontext"
	"github.com/protomicro/micro/runtime/registry"
)

// Gateway is an [http.Handler] that serves every service of a registry over
// HTTP: REST by the methods' google.api.http rules, and every method by its
// procedure in the Connect, gRPC-Web and gRPC protocols. Its routes follow
// the registry: a service that registers, changes or leaves is routed, or
// not, within moments, without a restart.
//
// A Gateway is safe for concurrent use. Close it to stop following the
// registry.
type Gateway struct {
	config    *config
	registry  registry.Registry
	client    client.Client
	ownClient bool
	// grpc turns the gRPC requests the transcoder makes into streams for
	// forward; it never listens.
	grpc *grpc.Server
	// handler serves requests: serve, inside tracing.
	handler http.Handler
	// table is what requests are served with; the loop replaces it whole.
	table atomic.Pointer[table]

	// backends are the services the follower's updates know, by registry
	// name; only they touch it.
	backends map[string]*backend
	follower *follow.Follower
	close    sync.Once
	// stats counts the calls forwarded, for [Gateway.Recent].
	stats stats
}

// New returns a gateway in front of the services in reg. It reads the
// services registered now, and their schemas through server reflection,
// before it returns (ctx bounds that); a service whose schema it cannot read
// is logged, left out, and tried again later.
func New(ctx context.Context, reg registry.Registry, opts ...Option) (*Gateway, error) {
	g := &Gateway{config: newConfig(opts), registry: reg, backends: make(map[string]*backend)}
	g.stats.now = time.Now
	g.client = g.config.client
	if g.client == nil {
		// The default timeout is the client's safety net (see
		// client.WithDefaultTimeout), which bounds a call without putting a
		// deadline on the wire: a timer at both ends of every call, for a
		// deadline the caller never asked for. grpc-gateway sends none.
		opts := append([]client.Option{client.WithRegistry(reg), client.WithDefaultTimeout(max(g.config.timeout, 0)), client.WithInterceptors(tracecontext.ClientInterceptor())}, g.config.clientOptions...)
		g.client, g.ownClient = client.New(opts...), true
	}
	g.grpc = grpc.NewServer(
		grpc.UnknownServiceHandler(g.forward),
		grpc.ForceServerCodecV2(grpcwire.CodecV2(grpcwire.FrameCodec{})),
		grpc.MaxRecvMsgSize(int(g.config.bodyLimit)),
		grpc.MaxSendMsgSize(int(g.config.bodyLimit)),
	)
	g.handler = traced(http.HandlerFunc(g.serve), g.config.tracer)
	if err := g.rebuild(nil); err != nil {
		return nil, err
	}

	f, err := follow.Start(ctx, reg, g.config.logger, "gateway", g.update)
	if err != nil {
		g.closeOwned()
		return nil, err
	}
	g.follower = f
	return g, nil
}

// Close stops following the registry and closes the client the gateway
// made. Requests in flight finish; it is safe to call more than once.
func (g *Gateway) Close() error {
	g.close.Do(func() {
		g.follower.Close()
		g.closeOwned()
	})
	return nil
}

func (g *Gateway) closeOwned() {
	g.grpc.Stop()
	if g.ownClient {
		_ = g.client.Close()
	}
}

// Index returns the routes the gateway serves now.
func (g *Gateway) Index() Index { return g.table.Load().index }

// ServeHTTP serves a request by the current routes.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.handler.ServeHTTP(w, r)
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	t := g.table.Load()
	if route.Tracked(r.Context()) {
		route.Set(r.Context(), t.route(r))
	}
	if g.config.cors != nil && g.config.cors.handle(w, r) {
		return
	}
	if r.URL.Path == indexPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		writeJSON(w, http.StatusOK, t.index)
		return
	}
	if r.Method == http.MethodPost && t.unary[r.URL.Path] && len(r.Header.Values("Connect-Protocol-Version")) == 0 && connectUnaryType(r.Header.Get("Content-Type")) {
		// connect-go serves a unary POST without the header unless told to
		// be strict; the transcoder would take it for REST, and find no route.
		r.Header.Set("Connect-Protocol-Version", "1")
	}
	if timeout, ok := requestTimeout(r.Header); ok {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	var body []byte // the body read whole, or nil
	if !streaming(r) && r.Body != nil && r.Body != http.NoBody {
		// The transcoder buffers such a body whole anyway: read it here, to
		// answer 413 the same way whoever sent it.
		if r.ContentLength > g.config.bodyLimit {
			writeTooLarge(w, g.config.bodyLimit)
			return
		}
		var err error
		body, err = readBody(r.Body, r.ContentLength, g.config.bodyLimit)
		if err != nil {
			writeStatus(w, http.StatusBadRequest, errors.Errorf(errors.CodeInvalidArgument, "read the request body: %v", err))
			return
		}
		if int64(len(body)) > g.config.bodyLimit {
			writeTooLarge(w, g.config.bodyLimit)
			return
		}
		if body == nil {
			body = []byte{}
		}
	}
	isREST := rest(r)
	if isREST {
		var served bool
		if r, served = g.serveDirect(w, r, t, body); served {
			return
		}
	}
	if body != nil {
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	if isREST {
		r = g.restRequest(t, r)
	}
	reached := new(atomic.Bool)
	tk := &takeover{w: w, sse: strings.Contains(r.Header.Get("Accept"), "text/event-stream")}
	sw := &statusWriter{ResponseWriter: w, reached: reached, takeover: tk, whole: !streaming(r)}
	ctx := context.WithValue(context.WithValue(r.Context(), reachedKey{}, reached), takeoverKey{}, tk)
	t.transcoder.ServeHTTP(sw, r.WithContext(ctx))
	tk.close()
	sw.finish()
}

// readBody reads body whole, up to one byte past limit; size is its length
// if known (Content-Length), else -1.
func readBody(body io.Reader, size, limit int64) ([]byte, error) {
	if size < 0 || size > limit {
		return io.ReadAll(io.LimitReader(body, limit+1))
	}
	// Room for the body and a byte more, which tells a body longer than it
	// said.
	buf := make([]byte, 0, size+1)
	for {
		if len(buf) == cap(buf) {
			rest, err := io.ReadAll(io.LimitReader(body, limit+1-int64(len(buf))))
			return append(buf, rest...), err
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// restRequest returns r as the transcoder is to read it, by grpc-gateway's
// semantics rather than vanguard's: without the query parameters for
// fields the path or body binds (vanguard lets them override), and with an
// empty body read as {} where the rule takes the whole body (vanguard
// sends the service no message at all).
func (g *Gateway) restRequest(t *table, r *http.Request) *http.Request {
	bound, whole, matched := restMatch(t.templates, r.Method, r.URL.Path)
	if !matched {
		return r
	}
	if r.URL.RawQuery != "" {
		if query := r.URL.Query(); unboundQuery(query, bound, whole) {
			u := *r.URL
			u.RawQuery = query.Encode()
			r = r.Clone(r.Context())
			r.URL = &u
		}
	}
	if whole && (r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0) {
		r = r.Clone(r.Context())
		r.Body, r.ContentLength = io.NopCloser(strings.NewReader("{}")), 2
		if r.Header.Get("Content-Type") == "" {
			r.Header.Set("Content-Type", "application/json")
		}
	}
	return r
}

// reachedKey is the context key of the flag forward sets once it calls the
// service, for statusWriter.
type reachedKey struct{}

// indexPath is where the gateway answers with its [Index], whatever the
// services claim; GET / answers it too unless a service claims "/".
const indexPath = "/_routes"

// update reads the named services again and rebuilds the routes; it is the
// gateway's [follow.Update].
func (g *Gateway) update(ctx context.Context, names []string) (retry []string) {
	retry = g.refresh(ctx, names)
	if err := g.rebuild(g.table.Load()); err != nil {
		g.config.logger.Error("gateway: build routes; serving the previous ones", "error", err)
	}
	return retry
}
