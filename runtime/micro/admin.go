package micro

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/protomicro/micro/runtime/metrics"
)

// admin is a service's operator listener: /metrics, /healthz, /readyz and,
// when asked, /debug/pprof/.
type admin struct {
	server *http.Server
	lis    net.Listener
	served chan error
	logger *slog.Logger
}

// startAdmin listens at address and serves [AdminHandler] there, ready
// while ready is true.
func startAdmin(address string, m *metrics.Metrics, ready *atomic.Bool, withPprof bool, logger *slog.Logger) (*admin, error) {
	mux := AdminHandler(m, ready.Load, withPprof)
	lis, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("admin: listen on %q: %w", address, err)
	}
	a := &admin{
		server: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		lis:    lis,
		served: make(chan error, 1),
		logger: logger,
	}
	go func() { a.served <- a.server.Serve(lis) }()
	return a, nil
}

// AdminHandler returns the endpoints of a service's admin listener
// ([WithAdminAddress]), for a program that serves them on a listener of its
// own (micro api does): m's metrics at /metrics (none when m is nil),
// liveness at /healthz (200 while the process runs), readiness at /readyz
// (200 while ready reports true, 503 otherwise) and, if withPprof, Go's
// profiles at /debug/pprof/. Nothing on it is authenticated.
func AdminHandler(m *metrics.Metrics, ready func() bool, withPprof bool) http.Handler {
	mux := http.NewServeMux()
	if m != nil {
		mux.Handle("GET /metrics", m.Handler())
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = fmt.Fprintln(w, "ready")
	})
	if withPprof {
		mux.HandleFunc("GET /debug/pprof/{$}", pprofIndex)
		mux.HandleFunc("GET /debug/pprof/profile", pprofCPU)
		mux.HandleFunc("GET /debug/pprof/trace", pprofTrace)
		mux.HandleFunc("GET /debug/pprof/{name}", pprofNamed)
	}
	return mux
}

// Addr returns where the admin listener listens.
func (a *admin) Addr() string { return a.lis.Addr().String() }

// close stops the listener, letting requests in flight (a profile being
// taken) finish for a second.
func (a *admin) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := a.server.Shutdown(ctx); err != nil {
		_ = a.server.Close()
	}
	if err := <-a.served; !errors.Is(err, http.ErrServerClosed) {
		a.logger.Warn("the admin listener failed", "address", a.Addr(), "error", err)
	}
}

// The pprof endpoints are written here over runtime/pprof rather than taken
// from net/http/pprof, whose import registers them on http.DefaultServeMux
// for every program that links this package.

// pprofIndex lists the profiles.
func pprofIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	b.WriteString("<html><body><h1>/debug/pprof/</h1><ul>\n")
	b.WriteString(`<li><a href="profile?seconds=30">profile</a> (CPU, ?seconds=)</li>` + "\n")
	b.WriteString(`<li><a href="trace?seconds=1">trace</a> (execution trace, ?seconds=)</li>` + "\n")
	for _, p := range pprof.Profiles() {
		name := html.EscapeString(p.Name())
		fmt.Fprintf(&b, "<li><a href=\"%s?debug=1\">%s</a> (%d)</li>\n", name, name, p.Count())
	}
	b.WriteString("</ul></body></html>\n")
	_, _ = w.Write([]byte(b.String()))
}

// pprofNamed writes a named profile (heap, goroutine, allocs, ...), in the
// text form when ?debug= is above zero.
func pprofNamed(w http.ResponseWriter, r *http.Request) {
	p := pprof.Lookup(r.PathValue("name"))
	if p == nil {
		http.Error(w, "unknown profile", http.StatusNotFound)
		return
	}
	debug, _ := strconv.Atoi(r.FormValue("debug"))
	if debug > 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+p.Name()+`"`)
	}
	_ = p.WriteTo(w, debug)
}

// pprofCPU profiles the CPU for ?seconds= (30 by default).
func pprofCPU(w http.ResponseWriter, r *http.Request) {
	d := seconds(r, 30*time.Second)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="profile"`)
	if err := pprof.StartCPUProfile(w); err != nil {
		w.Header().Del("Content-Disposition")
		http.Error(w, "cannot profile: "+err.Error(), http.StatusInternalServerError)
		return
	}
	sleep(r.Context(), d)
	pprof.StopCPUProfile()
}

// pprofTrace takes an execution trace for ?seconds= (1 by default).
func pprofTrace(w http.ResponseWriter, r *http.Request) {
	d := seconds(r, time.Second)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="trace"`)
	if err := trace.Start(w); err != nil {
		w.Header().Del("Content-Disposition")
		http.Error(w, "cannot trace: "+err.Error(), http.StatusInternalServerError)
		return
	}
	sleep(r.Context(), d)
	trace.Stop()
}

// seconds is the request's ?seconds=, or def.
func seconds(r *http.Request, def time.Duration) time.Duration {
	if s, err := strconv.ParseFloat(r.FormValue("seconds"), 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	return def
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
