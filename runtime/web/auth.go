package web

import (
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/protomicro/micro/runtime/auth"
)

// tokenCookie is the cookie a signed-in browser keeps its bearer token in.
const tokenCookie = "micro_token"

var loginPage = template.Must(template.ParseFS(assets, "assets/login.html"))

// loginPageData is what the sign-in page is given.
type loginPageData struct {
	Prefix  string
	Problem string
}

// guard lets through the requests that carry a token the verifier accepts,
// in Authorization or the token cookie, and the static files; it answers
// the sign-in form's posts, and refuses the rest. A request with the
// cookie and no credential of its own calls the services with the
// cookie's token.
func (d *Dashboard) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/static/") && r.Method == http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/login" && r.Method == http.MethodPost {
			d.login(w, r)
			return
		}
		token, fromCookie := requestToken(r)
		err := auth.ErrNoToken
		if token != "" {
			_, err = d.config.verifier.Verify(r.Context(), token)
		}
		if err != nil {
			d.refuse(w, r, err)
			return
		}
		if fromCookie && r.Header.Get("Grpc-Metadata-Authorization") == "" {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Bearer "+token)
		}
		next.ServeHTTP(w, r)
	})
}

// requestToken returns the bearer token of r's Authorization, else of its
// token cookie, and whether it came from the cookie.
func requestToken(r *http.Request) (string, bool) {
	if header := r.Header.Get("Authorization"); header != "" {
		token, _ := auth.BearerToken(header)
		return token, false
	}
	if c, err := r.Cookie(tokenCookie); err == nil && c.Value != "" {
		return c.Value, true
	}
	return "", false
}

// refuse answers a request without an acceptable token: 401 with a Bearer
// challenge, the sign-in page for a page, JSON for the rest.
func (d *Dashboard) refuse(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="micro"`)
	if r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") {
		problem := ""
		if !errors.Is(err, auth.ErrNoToken) {
			problem = "token rejected: " + err.Error()
		}
		d.renderLogin(w, http.StatusUnauthorized, problem)
		return
	}
	writeJSON(w, http.StatusUnauthorized, problem{"the dashboard needs a bearer token: " + err.Error()})
}

// login answers the sign-in form: with a token the verifier accepts, it
// keeps the token in an HttpOnly, SameSite=Strict cookie until the token
// expires and goes to the services; with any other, it shows the form
// again, saying why. A post from another site is refused, so that no page
// can sign a browser in with a token of its choosing.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		writeJSON(w, http.StatusForbidden, problem{"sign in from the dashboard itself"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	token := strings.TrimSpace(r.PostFormValue("token"))
	if bearer, ok := auth.BearerToken(token); ok {
		token = bearer
	}
	if token == "" {
		d.renderLogin(w, http.StatusUnauthorized, "give a token")
		return
	}
	claims, err := d.config.verifier.Verify(r.Context(), token)
	if err != nil {
		d.renderLogin(w, http.StatusUnauthorized, "token rejected: "+err.Error())
		return
	}
	c := &http.Cookie{Name: tokenCookie, Value: token, Path: d.config.prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
	if !claims.ExpiresAt.IsZero() {
		c.MaxAge = max(1, int(time.Until(claims.ExpiresAt).Seconds()))
	}
	http.SetCookie(w, c)
	http.Redirect(w, r, d.config.prefix, http.StatusSeeOther)
}

func (d *Dashboard) renderLogin(w http.ResponseWriter, code int, problem string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := loginPage.ExecuteTemplate(w, "login", loginPageData{Prefix: d.config.prefix, Problem: problem}); err != nil {
		d.config.logger.Error("web: render page", "page", "login", "error", err)
	}
}
