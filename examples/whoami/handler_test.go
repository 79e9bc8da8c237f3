package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	yamadaEncoded = "%E5%B1%B1%E7%94%B0%20%E5%A4%AA%E9%83%8E"
	yamada        = "山田 太郎"
)

// testApp is the demo wired to a fake gateway JWKS and a fake clock.
type testApp struct {
	app   *app
	key   testKey
	clock *fakeClock
}

func newTestApp(t *testing.T) testApp {
	t.Helper()
	clock := newFakeClock()
	key := newTestKey(t, "k1")
	srv := newJWKSServer(t, key.jwk())
	cfg := config{
		Listen:          "127.0.0.1:0",
		Issuer:          testIssuer,
		JWKSURL:         srv.URL,
		Audience:        "whoami",
		AssertionHeader: defaultAssertionHeader,
		Leeway:          5 * time.Second,
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	v := newTestVerifier(t, srv.URL, clock)
	a := newApp(cfg, v, logger)
	a.now = clock.Now
	return testApp{app: a, key: key, clock: clock}
}

// gatewayRequest is a request as the gateway forwards it for Taro Yamada.
func (ta testApp) gatewayRequest(t *testing.T, target string, claims map[string]any) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("X-Forwarded-User", "taro.yamada@example.co.jp")
	r.Header.Set("Remote-User", "taro.yamada@example.co.jp")
	r.Header.Set("X-Forwarded-Email", "taro.yamada@example.co.jp")
	r.Header.Set("X-Forwarded-Groups", "admins,%E7%B5%8C%E7%90%86,R%26D%2C%20Tokyo")
	r.Header.Set("X-Forwarded-Name", yamadaEncoded)
	if claims != nil {
		r.Header.Set("X-Ssogate-Assertion", ta.key.sign(t, claims))
	}
	return r
}

// jsonReport mirrors the JSON shape the gateway's tests decode.
type jsonReport struct {
	Method    string              `json:"method"`
	Path      string              `json:"path"`
	Host      string              `json:"host"`
	Headers   map[string][]string `json:"headers"`
	User      string              `json:"user"`
	Email     string              `json:"email"`
	Name      string              `json:"name"`
	Groups    []string            `json:"groups"`
	Assertion struct {
		Present bool           `json:"present"`
		Valid   bool           `json:"valid"`
		Reason  string         `json:"reason"`
		Claims  map[string]any `json:"claims"`
	} `json:"assertion"`
}

func serve(t *testing.T, h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestWhoamiJSON(t *testing.T) {
	ta := newTestApp(t)
	h := ta.app.routes()
	now := ta.clock.Now()

	tests := []struct {
		name        string
		target      string
		accept      string
		claims      map[string]any
		wantPresent bool
		wantValid   bool
		wantReason  string
		wantClaims  bool
	}{
		{"accept json, valid", "/some/path", "application/json", gatewayClaims(now), true, true, "", true},
		{"format=json, valid", "/some/path?format=json", "", gatewayClaims(now), true, true, "", true},
		{"accept with params", "/some/path", "application/json; charset=utf-8", gatewayClaims(now), true, true, "", true},
		{"expired shows its claims", "/some/path", "application/json",
			with(gatewayClaims(now), "iat", now.Add(-2*time.Minute).Unix(), "exp", now.Add(-time.Minute).Unix()), true, false, "expired", true},
		{"other service's assertion", "/some/path", "application/json",
			with(gatewayClaims(now), "aud", "billing"), true, false, "wrong_audience", true},
		{"no assertion", "/some/path", "application/json", nil, false, false, "missing", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ta.gatewayRequest(t, tt.target, tt.claims)
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			w := serve(t, h, r)
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d", w.Code)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type = %q", ct)
			}
			var got jsonReport
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("decode: %v\n%s", err, w.Body)
			}
			if got.Method != "GET" || got.Path != "/some/path" || got.Host != "example.com" {
				t.Errorf("method, path, host = %q %q %q", got.Method, got.Path, got.Host)
			}
			if got.User != "taro.yamada@example.co.jp" || got.Email != "taro.yamada@example.co.jp" {
				t.Errorf("user, email = %q, %q", got.User, got.Email)
			}
			if got.Name != yamada {
				t.Errorf("name = %q, want %q", got.Name, yamada)
			}
			if want := []string{"admins", "経理", "R&D, Tokyo"}; !slices.Equal(got.Groups, want) {
				t.Errorf("groups = %q, want %q", got.Groups, want)
			}
			if v := got.Headers["X-Forwarded-Name"]; len(v) != 1 || v[0] != yamadaEncoded {
				t.Errorf("headers[X-Forwarded-Name] = %q, want the raw value", v)
			}
			as := got.Assertion
			if as.Present != tt.wantPresent || as.Valid != tt.wantValid || as.Reason != tt.wantReason {
				t.Errorf("assertion = present %v valid %v reason %q, want %v %v %q",
					as.Present, as.Valid, as.Reason, tt.wantPresent, tt.wantValid, tt.wantReason)
			}
			if (as.Claims != nil) != tt.wantClaims {
				t.Fatalf("claims = %v, want present %v", as.Claims, tt.wantClaims)
			}
			if tt.wantClaims {
				if as.Claims["name"] != yamada || as.Claims["sub"] != "u-1001" {
					t.Errorf("claims = %v", as.Claims)
				}
				if iat, ok := as.Claims["iat"].(float64); !ok || int64(iat) != tt.claims["iat"].(int64) {
					t.Errorf("claims.iat = %v, want %v", as.Claims["iat"], tt.claims["iat"])
				}
			}
		})
	}
}

func TestWhoamiHTML(t *testing.T) {
	ta := newTestApp(t)
	h := ta.app.routes()
	now := ta.clock.Now()

	tests := []struct {
		name        string
		claims      map[string]any
		accept      string
		wantVerdict string
	}{
		{"verified", gatewayClaims(now), "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
			"Assertion verified ✓ for audience whoami"},
		{"browser listing json too", gatewayClaims(now), "text/html, application/json", "Assertion verified ✓ for audience whoami"},
		{"no accept header", gatewayClaims(now), "", "Assertion verified ✓ for audience whoami"},
		{"expired", with(gatewayClaims(now), "exp", now.Add(-time.Minute).Unix()), "", "Assertion rejected ✗ expired"},
		{"missing", nil, "", "No assertion received ✗ (missing)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ta.gatewayRequest(t, "/", tt.claims)
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			r.Header.Set("X-Evil", `<script>alert("x")</script>`)
			r.Header.Add("X-Multi", "one")
			r.Header.Add("X-Multi", "two")
			w := serve(t, h, r)
			body := w.Body.String()

			if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Fatalf("Content-Type = %q", ct)
			}
			if !strings.Contains(body, tt.wantVerdict) {
				t.Errorf("page lacks verdict %q", tt.wantVerdict)
			}
			if strings.Contains(body, "<script") {
				t.Error("page contains <script: a header value was not escaped")
			}
			if !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
				t.Error("page lacks the escaped X-Evil value")
			}
			if !strings.Contains(body, yamada) {
				t.Errorf("page lacks the decoded name %q", yamada)
			}
			if !strings.Contains(body, `<tr class="identity"><th>X-Forwarded-Name</th>`) {
				t.Error("X-Forwarded-Name is not highlighted")
			}
			if strings.Contains(body, `<tr class="identity"><th>X-Evil</th>`) {
				t.Error("X-Evil is highlighted")
			}
			if !strings.Contains(body, "one<br>two") {
				t.Error("both X-Multi values are not shown")
			}
			var order []int
			for _, name := range []string{"Remote-User", "X-Evil", "X-Forwarded-Email", "X-Forwarded-User", "X-Multi"} {
				order = append(order, strings.Index(body, "<th>"+name+"</th>"))
			}
			if order[0] < 0 || !slices.IsSorted(order) {
				t.Errorf("headers not sorted by name: positions %v", order)
			}
			if (tt.claims != nil) != strings.Contains(body, `&#34;jti&#34;: &#34;jti-1&#34;`) {
				t.Error("claims shown wrongly")
			}
		})
	}
}

func TestPageCSP(t *testing.T) {
	ta := newTestApp(t)
	w := serve(t, ta.app.routes(), ta.gatewayRequest(t, "/", nil))
	body := w.Body.String()
	start := strings.Index(body, "<style>") + len("<style>")
	end := strings.Index(body, "</style>")
	if start < len("<style>") || end < start {
		t.Fatal("no <style> block")
	}
	sum := sha256.Sum256([]byte(body[start:end]))
	want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, want) || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q, want it to allow the style block (%s) and nothing else", csp, want)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Error("identity page may be cached")
	}
}

func TestDecodeGroups(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"admins", []string{"admins"}},
		{"admins, users ,", []string{"admins", "users"}},
		{"%E7%B5%8C%E7%90%86,%E5%96%B6%E6%A5%AD", []string{"経理", "営業"}},
		{"a%2Cb,c", []string{"a,b", "c"}},
		{"a+b", []string{"a+b"}},
		{"bad%zz", []string{"bad%zz"}},
		{"%FF", []string{"%FF"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := decodeGroups(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("decodeGroups(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWantsJSON(t *testing.T) {
	tests := []struct {
		target string
		accept string
		want   bool
	}{
		{"/", "", false},
		{"/", "application/json", true},
		{"/", "Application/JSON", true},
		{"/", "text/html,application/xhtml+xml,*/*;q=0.8", false},
		{"/", "text/html, application/json", false},
		{"/", "application/json;q=0", false},
		{"/", "*/*", false},
		{"/?format=json", "text/html", true},
		{"/?format=html", "application/json", false},
	}
	for _, tt := range tests {
		t.Run(tt.target+" "+tt.accept, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			if got := wantsJSON(r); got != tt.want {
				t.Errorf("wantsJSON = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	ta := newTestApp(t)
	w := serve(t, ta.app.routes(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	body, _ := io.ReadAll(w.Body)
	if w.Code != http.StatusOK || string(body) != "ok" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\"", w.Code, body)
	}
	if w.Header().Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
}
