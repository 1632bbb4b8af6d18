package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/protomicro/micro/runtime/errors"
)

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		code, data = http.StatusInternalServerError, []byte(`{"code":13,"message":"encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(data, '\n'))
}

// writeStatus answers with e as google.rpc.Status JSON and the given HTTP
// status, as the transcoder answers a REST call's errors.
func writeStatus(w http.ResponseWriter, code int, e *errors.Error) {
	data, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(&spb.Status{Code: int32(e.Code()), Message: e.Message(), Details: e.Details()})
	if err != nil {
		data = []byte(`{"code":13,"message":"encode the error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(data)
}

// writeNotFound answers a request that matches no route, saying nothing of
// the routes there are (grpc-gateway's answer).
func writeNotFound(w http.ResponseWriter) {
	writeStatus(w, http.StatusNotFound, errors.Errorf(errors.CodeNotFound, "Not Found"))
}

// writeTooLarge answers a request whose body is over limit.
func writeTooLarge(w http.ResponseWriter, limit int64) {
	w.Header().Set("Connection", "close") // the rest of the body is not read
	writeStatus(w, http.StatusRequestEntityTooLarge, errors.Errorf(errors.CodeResourceExhausted, "request body over the gateway's limit of %d bytes", limit))
}

// streaming reports whether r is in a protocol that streams its request body
// (gRPC, gRPC-Web, Connect streaming), whose messages the transcoder limits
// one by one, rather than a body read whole (REST, Connect unary).
func streaming(r *http.Request) bool {
	contentType := r.Header.Get("Content-Type")
	return strings.HasPrefix(contentType, "application/grpc") || strings.HasPrefix(contentType, "application/connect+")
}

// rest reports whether r is in none of the RPC protocols the transcoder
// knows (gRPC, gRPC-Web, Connect), as it tells them apart.
func rest(r *http.Request) bool {
	return !streaming(r) && len(r.Header.Values("Connect-Protocol-Version")) == 0 && !strings.Contains(r.URL.RawQuery, "connect=v1")
}

// connectUnaryType reports whether contentType is a Connect unary call's:
// application/json or application/proto, with or without parameters.
func connectUnaryType(contentType string) bool {
	base, _, _ := strings.Cut(contentType, ";")
	base = strings.TrimSpace(base)
	return base == "application/json" || base == "application/proto"
}

// requestTimeout returns the timeout a request asks for in grpc-timeout or
// Connect-Timeout-Ms, whichever protocol it speaks: the transcoder reads
// them only for their own protocols, and a REST caller may send either.
func requestTimeout(h http.Header) (time.Duration, bool) {
	if v := h.Get("Connect-Timeout-Ms"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		return time.Duration(ms) * time.Millisecond, err == nil && ms > 0 && len(v) <= 10
	}
	if v := h.Get("Grpc-Timeout"); v != "" {
		d, err := parseGRPCTimeout(v)
		return d, err == nil
	}
	return 0, false
}

// parseGRPCTimeout parses a grpc-timeout value: up to 8 digits and a unit,
// "100m".
func parseGRPCTimeout(v string) (time.Duration, error) {
	if len(v) < 2 || len(v) > 9 {
		return 0, fmt.Errorf("malformed grpc-timeout %q", v)
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("malformed grpc-timeout %q", v)
	}
	units := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second, 'm': time.Millisecond, 'u': time.Microsecond, 'n': time.Nanosecond}
	unit, ok := units[v[len(v)-1]]
	if !ok {
		return 0, fmt.Errorf("malformed grpc-timeout %q", v)
	}
	return time.Duration(n) * unit, nil
}

// statusWriter makes the transcoder's own errors read as the services'
// do. It turns the plain-text errors it answers routing mistakes with (405
// Method Not Allowed, 415 Unsupported Media Type) into google.rpc.Status
// JSON, keeping the headers it set (Allow). And it answers a request the
// transcoder could not make a message of (malformed JSON, a field or query
// parameter the message does not have), which it reports as unknown (500),
// as the invalid argument it is: an unknown error before the gateway called
// any service is the request's.
type statusWriter struct {
	http.ResponseWriter
	reached  *atomic.Bool // set once a service is called
	takeover *takeover    // once taken, forward answers and the transcoder's writes are dropped
	state    uint8
	// whole is set for a request whose answer the transcoder writes whole
	// (REST, Connect unary): its flush at the end is dropped, so that the
	// server sends the answer in one write with its Content-Length rather
	// than chunked, in two.
	whole bool
}

const (
	passing  = iota // writes pass through
	replaced        // the answer was written here; the transcoder's is dropped
	held            // a 500 is held until its body says whether it is the request's
)

func (w *statusWriter) WriteHeader(code int) {
	if w.state != passing || w.takeover.taken.Load() {
		return
	}
	h := w.Header()
	if code == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		// RFC 6750: a 401 says which scheme it wants. The service's
		// error, in the body, says why.
		h.Set("WWW-Authenticate", `Bearer realm="micro"`)
	}
	switch {
	case code >= 400 && strings.HasPrefix(h.Get("Content-Type"), "text/plain"):
		w.state = replaced
		h.Del("X-Content-Type-Options")
		writeStatus(w.ResponseWriter, code, errors.Errorf(codeOfHTTP(code), "%s", http.StatusText(code)))
	case code == http.StatusInternalServerError && !w.reached.Load():
		w.state = held
	default:
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.takeover.taken.Load() {
		return len(p), nil
	}
	switch w.state {
	case replaced:
		return len(p), nil
	case held:
		w.state = passing
		code, body := http.StatusInternalServerError, p
		if fixed, ok := invalidArgument(p); ok {
			code, body = http.StatusBadRequest, fixed
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.ResponseWriter.WriteHeader(code)
		if _, err := w.ResponseWriter.Write(body); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// finish writes a held status that no body followed.
func (w *statusWriter) finish() {
	if w.state == held && !w.takeover.taken.Load() {
		w.state = passing
		w.ResponseWriter.WriteHeader(http.StatusInternalServerError)
	}
}

// Flush sends what is written so far: the transcoder needs it to stream.
func (w *statusWriter) Flush() {
	if w.takeover.taken.Load() || w.whole {
		return
	}
	w.finish()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// invalidArgument returns an unknown error's JSON body, a google.rpc.Status
// (REST) or a Connect error, as an invalid argument's.
func invalidArgument(body []byte) ([]byte, bool) {
	var e map[string]any
	if json.Unmarshal(body, &e) != nil {
		return nil, false
	}
	switch e["code"] {
	case float64(errors.CodeUnknown):
		e["code"] = int(errors.CodeInvalidArgument)
	case errors.CodeUnknown.String():
		e["code"] = errors.CodeInvalidArgument.String()
	default:
		return nil, false
	}
	fixed, err := json.Marshal(e)
	return fixed, err == nil
}

// codeOfHTTP returns the code of the errors the gateway answers with an HTTP
// status of its own, as grpc-gateway does.
func codeOfHTTP(status int) errors.Code {
	switch status {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType:
		return errors.CodeInvalidArgument
	case http.StatusNotFound:
		return errors.CodeNotFound
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return errors.CodeUnimplemented
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return errors.CodeResourceExhausted
	case http.StatusServiceUnavailable:
		return errors.CodeUnavailable
	case http.StatusGatewayTimeout:
		return errors.CodeDeadlineExceeded
	}
	return errors.CodeInternal
}
