package gateway

import (
	"net/http"
	"slices"
	"strconv"
)

// handle adds the policy's headers to the answer to a cross-origin request
// from an allowed origin, and answers a preflight request itself, reporting
// that it did.
func (p *CORS) handle(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	anyOrigin := slices.Contains(p.AllowedOrigins, "*")
	if !anyOrigin && !slices.Contains(p.AllowedOrigins, origin) {
		return false
	}
	if anyOrigin && !p.AllowCredentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		if p.AllowCredentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
	}
	method := r.Header.Get("Access-Control-Request-Method")
	if r.Method != http.MethodOptions || method == "" {
		// gRPC-Web and Connect callers read their status from these.
		h.Set("Access-Control-Expose-Headers", "Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin")
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", method)
	if headers := r.Header.Get("Access-Control-Request-Headers"); headers != "" {
		h.Set("Access-Control-Allow-Headers", headers)
	}
	if p.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(p.MaxAge.Seconds())))
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}
