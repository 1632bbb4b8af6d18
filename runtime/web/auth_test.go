package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/protomicro/micro/runtime/registry/memory"
	"github.com/protomicro/micro/runtime/web"
	"github.com/protomicro/micro/testdata/authtest"
	"github.com/protomicro/micro/testdata/golden/access"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestSignIn serves a dashboard with web.WithAuth in front of a service
// without auth of its own: nothing but the static files is served without
// a token; the sign-in form refuses a bad token and keeps a good one in an
// HttpOnly, SameSite=Strict cookie, with which the pages, the JSON and
// the calls through the dashboard's gateway work, the calls checked at the
// gateway by the method's declared access.
func TestSignIn(t *testing.T) {
	t.Parallel()
	keys := authtest.NewAuth(t)
	reg := memory.New()
	authtest.StartOrders(t, reg)
	base := serve(t, reg, web.WithAuth(keys.Verifier(t)))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path, body string, header ...string) (*http.Response, string) {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(testutil.Context(t), method, base+path, r)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(data)
	}

	if res, body := send("GET", "/", "", "Accept", "text/html"); res.StatusCode != http.StatusUnauthorized ||
		!strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(body, `<form method="post"`) || strings.Contains(body, "orders") {
		t.Errorf("GET / without a token = %d %q, want 401 with the sign-in form and nothing of the services", res.StatusCode, body)
	}
	for _, path := range []string{"/api/services", "/api/services/orders", "/events"} {
		if res, body := send("GET", path, ""); res.StatusCode != http.StatusUnauthorized || strings.Contains(body, "access.v1") {
			t.Errorf("GET %s without a token = %d %q, want 401 telling nothing", path, res.StatusCode, body)
		}
	}
	if res, _ := send("POST", "/rpc"+access.OrdersStatusProcedure, "{}", "Content-Type", "application/json"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a call through the dashboard without a token = %d, want 401", res.StatusCode)
	}
	if res, _ := send("GET", "/static/style.css", ""); res.StatusCode != http.StatusOK {
		t.Errorf("GET /static/style.css without a token = %d, want 200: the sign-in page needs it", res.StatusCode)
	}

	form := "application/x-www-form-urlencoded"
	if res, body := send("POST", "/login", "token=not-a-jwt", "Content-Type", form); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "token rejected") || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("sign in with a bad token = %d %q, want 401 saying it was rejected, and no cookie", res.StatusCode, body)
	}
	token := keys.Token(t, "orders:read")
	if res, _ := send("POST", "/login", "token="+url.QueryEscape(token), "Content-Type", form, "Sec-Fetch-Site", "cross-site"); res.StatusCode != http.StatusForbidden {
		t.Errorf("sign in from another site = %d, want 403", res.StatusCode)
	}
	res, _ := send("POST", "/login", "token="+url.QueryEscape(token), "Content-Type", form)
	cookies := res.Cookies()
	if res.StatusCode != http.StatusSeeOther || len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].MaxAge <= 0 {
		t.Fatalf("sign in with a good token = %d, cookies %v; want 303 and an HttpOnly, SameSite=Strict cookie that expires with the token", res.StatusCode, cookies)
	}
	cookie := cookies[0].Name + "=" + cookies[0].Value

	if res, body := send("GET", "/api/services", "", "Cookie", cookie); res.StatusCode != http.StatusOK || !strings.Contains(body, "orders") {
		t.Errorf("GET /api/services signed in = %d %q, want 200 listing orders", res.StatusCode, body)
	}
	if res, _ := send("GET", "/api/services", "", "Authorization", "Bearer "+token); res.StatusCode != http.StatusOK {
		t.Errorf("GET /api/services with Authorization = %d, want 200", res.StatusCode)
	}
	if res, body := send("POST", "/rpc"+access.OrdersGetProcedure, "{}", "Content-Type", "application/json", "Cookie", cookie); res.StatusCode != http.StatusOK {
		t.Errorf("a call signed in, with the scope the method needs = %d %s, want 200", res.StatusCode, body)
	}
	if res, body := send("POST", "/rpc"+access.OrdersCreateProcedure, "{}", "Content-Type", "application/json", "Cookie", cookie); res.StatusCode != http.StatusForbidden {
		t.Errorf("a call signed in, without the scope the method needs = %d %s, want 403 from the dashboard's gateway", res.StatusCode, body)
	}
}
