package web

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/gateway"
	"github.com/protomicro/micro/runtime/registry"
)

//go:embed assets
var assets embed.FS

// pages are the html/template pages, each with the layout.
var pages = map[string]*template.Template{
	"index":   template.Must(template.ParseFS(assets, "assets/layout.html", "assets/index.html")),
	"service": template.Must(template.ParseFS(assets, "assets/layout.html", "assets/service.html")),
}

// bodyLimit bounds a request to validate.
const bodyLimit = 4 << 20

// Dashboard is the micro dashboard, an [http.Handler]. It follows the
// registry from [New] until [Dashboard.Close]. It is safe for concurrent
// use.
type Dashboard struct {
	config      *config
	client      client.Client
	ownClient   bool
	gateway     *gateway.Gateway
	ownGateway  bool
	state       *state
	schemas     *schemas
	handler     http.Handler
	stop        context.CancelFunc
	watcher     registry.Watcher
	done        chan struct{}
	closeCalled chan struct{}
}

// New returns a dashboard of the services in reg. It reads the services
// registered now before it returns (ctx bounds that), and follows the
// registry until closed.
func New(ctx context.Context, reg registry.Registry, opts ...Option) (*Dashboard, error) {
	d := &Dashboard{config: newConfig(opts), done: make(chan struct{}), closeCalled: make(chan struct{})}
	d.client = d.config.client
	if d.client == nil {
		d.client, d.ownClient = client.New(client.WithRegistry(reg), client.WithDefaultTimeout(0)), true
	}
	d.gateway = d.config.gateway
	if d.gateway == nil {
		opts := []gateway.Option{gateway.WithClient(d.client), gateway.WithLogger(d.config.logger)}
		if d.config.verifier != nil {
			opts = append(opts, gateway.WithAuth(d.config.verifier, d.config.authOptions...))
		}
		g, err := gateway.New(ctx, reg, opts...)
		if err != nil {
			d.closeOwned()
			return nil, err
		}
		d.gateway, d.ownGateway = g, true
	}
	d.schemas = &schemas{client: d.client}
	s, w, err := newState(ctx, d.config, reg, d.client, d.gateway)
	if err != nil {
		d.closeOwned()
		return nil, fmt.Errorf("follow registry %s: %w", reg, err)
	}
	s.changed = d.schemas.forget
	d.state, d.watcher = s, w
	loop, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.stop = stop
	go func() {
		defer close(d.done)
		s.follow(loop, w)
	}()

	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", d.index)
	mux.HandleFunc("GET /services/{name}", d.servicePage)
	mux.HandleFunc("GET /api/services", d.apiServices)
	mux.HandleFunc("GET /api/services/{name}", d.apiService)
	mux.HandleFunc("POST /api/services/{name}/validate", d.apiValidate)
	mux.HandleFunc("GET /events", d.events)
	mux.Handle("/rpc/", http.StripPrefix("/rpc", d.gateway))
	d.handler = mux
	if d.config.verifier != nil {
		d.handler = d.guard(mux)
	}
	if d.config.prefix != "/" {
		d.handler = http.StripPrefix(strings.TrimSuffix(d.config.prefix, "/"), d.handler)
	}
	return d, nil
}

// Close stops following the registry, ends the event streams and closes the
// gateway and client the dashboard made. It is safe to call more than once.
func (d *Dashboard) Close() error {
	select {
	case <-d.closeCalled:
		return nil
	default:
		close(d.closeCalled)
	}
	d.stop()
	d.watcher.Stop()
	<-d.done
	d.closeOwned()
	return nil
}

func (d *Dashboard) closeOwned() {
	if d.ownGateway {
		_ = d.gateway.Close()
	}
	if d.ownClient {
		_ = d.client.Close()
	}
}

// ServeHTTP serves the dashboard's pages, its JSON, its event stream, and
// calls to the services under /rpc/.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	d.handler.ServeHTTP(w, r)
}

// page is what the templates are given.
type page struct {
	Prefix string
	Title  string
	Detail *Detail
}

func (d *Dashboard) render(w http.ResponseWriter, name string, code int, p page) {
	p.Prefix = d.config.prefix
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := pages[name].ExecuteTemplate(w, "layout", p); err != nil {
		d.config.logger.Error("web: render page", "page", name, "error", err)
	}
}

func (d *Dashboard) index(w http.ResponseWriter, _ *http.Request) {
	d.render(w, "index", http.StatusOK, page{Title: "Services"})
}

func (d *Dashboard) servicePage(w http.ResponseWriter, r *http.Request) {
	detail, code := d.detail(r.Context(), r.PathValue("name"))
	d.render(w, "service", code, page{Title: r.PathValue("name"), Detail: &detail})
}

// detail returns the detail of the service called name, and the HTTP status
// to answer with: 404 when no such service is registered.
func (d *Dashboard) detail(ctx context.Context, name string) (Detail, int) {
	view, versions, ok := d.state.service(name)
	if !ok {
		return Detail{Service: ServiceView{Name: name}, Unavailable: fmt.Sprintf("no service %q is registered", name)}, http.StatusNotFound
	}
	s, err := d.schemas.get(ctx, name, versions)
	if err != nil {
		return Detail{Service: view, Unavailable: err.Error()}, http.StatusOK
	}
	return describe(view, s, d.gateway.Index()), http.StatusOK
}

func (d *Dashboard) apiServices(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, d.state.snapshot())
}

func (d *Dashboard) apiService(w http.ResponseWriter, r *http.Request) {
	detail, code := d.detail(r.Context(), r.PathValue("name"))
	writeJSON(w, code, detail)
}

// problem is the JSON of an answer that is an error.
type problem struct {
	Error string `json:"error"`
}

// apiValidate checks the body, a request for the method ?procedure= of the
// service, against the method's schema: 204 when it is valid, 400 saying
// what is wrong (where, and in which field) when not.
func (d *Dashboard) apiValidate(w http.ResponseWriter, r *http.Request) {
	name, procedure := r.PathValue("name"), r.URL.Query().Get("procedure")
	_, versions, ok := d.state.service(name)
	if !ok {
		writeJSON(w, http.StatusNotFound, problem{fmt.Sprintf("no service %q is registered", name)})
		return
	}
	s, err := d.schemas.get(r.Context(), name, versions)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, problem{err.Error()})
		return
	}
	m, err := s.FindMethod(name, procedure)
	if err != nil {
		writeJSON(w, http.StatusNotFound, problem{err.Error()})
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bodyLimit))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, problem{fmt.Sprintf("read the request: %v", err)})
		return
	}
	if err := validate(s, m, data); err != nil {
		writeJSON(w, http.StatusBadRequest, problem{err.Error()})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// events streams a [Snapshot] as a server-sent event named "services" now
// and whenever it changes, until the browser goes or the dashboard closes.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeJSON(w, http.StatusInternalServerError, problem{"the server cannot stream"})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	updates, cancel := d.state.subscribe()
	defer cancel()
	keepAlive := time.NewTicker(25 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case data := <-updates:
			if _, err := fmt.Fprintf(w, "event: services\ndata: %s\n\n", data); err != nil {
				return
			}
		case <-keepAlive.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-d.closeCalled:
			return
		}
		flusher.Flush()
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		code, data = http.StatusInternalServerError, []byte(`{"error":"encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(data, '\n'))
}
