package gateway

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestRedirectsSafe(t *testing.T) {
	r := NewRedirects(mustURL(t, "https://sso.example.co.jp"),
		[]*url.URL{mustURL(t, "https://wiki.example.co.jp/wiki/"), mustURL(t, "http://127.0.0.1:9001/")})
	tests := []struct {
		in   string
		want string // "" means refused
	}{
		{"/", "/"},
		{"/me", "/me"},
		{"/me?tab=1#x", "/me?tab=1#x"},
		{"/%E7%A4%BE%E5%86%85", "/%E7%A4%BE%E5%86%85"},
		{"https://sso.example.co.jp/me", "https://sso.example.co.jp/me"},
		{"https://SSO.example.co.jp:443/me", "https://SSO.example.co.jp:443/me"},
		{"https://wiki.example.co.jp/wiki/page", "https://wiki.example.co.jp/wiki/page"},
		{"http://127.0.0.1:9001/x", "http://127.0.0.1:9001/x"},

		// Other hosts and schemes.
		{"https://evil.example.com/", ""},
		{"http://sso.example.co.jp/", ""}, // scheme downgrade is another origin
		{"https://sso.example.co.jp.evil.com/", ""},
		{"https://sso.example.co.jp@evil.com/", ""},
		{"https://evil.com@sso.example.co.jp/", ""}, // userinfo is never legitimate
		{"http://127.0.0.1:9002/", ""},
		{"javascript:alert(1)", ""},
		{"JavaScript:alert(1)", ""},
		{"data:text/html,<script>alert(1)</script>", ""},
		{"vbscript:x", ""},
		{"ftp://sso.example.co.jp/", ""},
		{"https:evil.com", ""},
		{"https:/evil.com", ""},
		{"https:///evil.com", ""},

		// Scheme-relative and backslash tricks.
		{"//evil.com", ""},
		{"///evil.com", ""},
		{"////evil.com", ""},
		{"/\\evil.com", ""},
		{"\\\\evil.com", ""},
		{"\\/evil.com", ""},
		{"/\\/evil.com", ""},

		// Encoded variants.
		{"/%2F%2Fevil.com", ""},
		{"/%2fevil.com", ""},
		{"%2F%2Fevil.com", ""},
		{"/%5Cevil.com", ""},
		{"/%252F%252Fevil.com", ""},
		{"%2F%5Cevil.com", ""},
		{"/%09/evil.com", ""},
		{"/%0d%0aLocation:%20https://evil.com", ""},
		{"java%0ascript:alert(1)", ""},

		// Control characters and whitespace.
		{"/\t/evil.com", ""},
		{"/\n/evil.com", ""},
		{" /me", ""},
		{"\x00/me", ""},
		{"/me\r\nSet-Cookie: x=1", ""},

		// Not a path at all.
		{"me", ""},
		{"evil.com", ""},
		{"", ""},
		{"/" + string(make([]byte, 3000)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := r.Safe(tt.in)
			if tt.want == "" {
				if ok {
					t.Fatalf("Safe(%q) = %q, want refused", tt.in, got)
				}
				if r.SafeOr(tt.in, "/") != "/" {
					t.Fatalf("SafeOr(%q) did not fall back to the launcher", tt.in)
				}
				return
			}
			if !ok || got != tt.want {
				t.Fatalf("Safe(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
			}
		})
	}
}

// TestRedirectsRefuseFlowPages checks that a sign-in never returns to a
// step of a flow: back after sign-out, then sign in, must not land on
// "sign out?" again. The language switch may still return to them.
func TestRedirectsRefuseFlowPages(t *testing.T) {
	r := NewRedirects(mustURL(t, "https://sso.example.co.jp"), []*url.URL{mustURL(t, "https://sso.example.co.jp/app/")})
	for _, target := range []string{
		"/logout", "/logout?x=1", "/%6Cogout", "https://sso.example.co.jp/logout", "/login", "/login?return_to=%2Fme",
		"/login/google", "/callback/google?code=1&state=2", "/lang", "/auth", "/saml/adfs/metadata",
		"/healthz", "/readyz", "/static/style.css", "/.well-known/jwks.json",
	} {
		if got, ok := r.Safe(target); ok {
			t.Errorf("Safe(%q) = %q, want refused", target, got)
		}
	}
	for _, target := range []string{"/", "/me", "/app/logout", "/login-help", "/logouts", "https://sso.example.co.jp/me"} {
		if got, ok := r.Safe(target); !ok || got != target {
			t.Errorf("Safe(%q) = %q, %v; want it kept", target, got, ok)
		}
	}
	for in, want := range map[string]string{
		"/login?return_to=%2Fme":          "/login?return_to=%2Fme",
		"/logout":                         "/logout",
		"/me":                             "/me",
		"/lang":                           "/",
		"https://evil.example/":           "/",
		"https://sso.example.co.jp/app/x": "https://sso.example.co.jp/app/x",
	} {
		if got := r.SamePage(in); got != want {
			t.Errorf("SamePage(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOriginalURLFastPathMatchesParse checks originalURL's shortcut for
// plain hosts against what url.Parse makes of the whole URL: same host,
// path, query and routing path, and the same refusals.
func TestOriginalURLFastPathMatchesParse(t *testing.T) {
	hosts := []string{"fwd.example.test", "FWD.Example.Test:8443", "127.0.0.1:18081", "a-b.c", "x:", "x:1a", ":80",
		"a@b", "a b", "[::1]:80", "経理.example.jp", "a/b", "a\\b", "a%2eb"}
	uris := []string{"/", "/page", "/a/b?x=1&y=%2F", "/a%2Fb", "/%e7%b5%8c/", "/a;b", "/a/../b", "/a?q=#f",
		"/a#/../admin", "//evil.test/x", "/a b", "/a%zz", "*"}
	for _, host := range hosts {
		for _, uri := range uris {
			r := httptest.NewRequest("GET", "/auth", nil)
			r.Header.Set("X-Forwarded-Host", host)
			r.Header.Set("X-Forwarded-Uri", uri)
			got, gotPath, _, gotOK := originalURL(r)
			want, err := url.Parse("http://" + host + uri)
			wantOK := err == nil && want.Host != "" && want.User == nil && strings.HasPrefix(uri, "/") &&
				!strings.Contains(host, ",") && !strings.ContainsAny(host+uri, " \t") // singleValue refuses whitespace
			var wantPath string
			if wantOK {
				wantPath, wantOK = routePath(want.EscapedPath())
			}
			if gotOK != wantOK {
				// The shortcut may only be stricter, never laxer.
				if gotOK {
					t.Errorf("%q %q: accepted, url.Parse refuses", host, uri)
				} else if plainHost(host) && !strings.Contains(uri, "#") {
					t.Errorf("%q %q: refused, url.Parse accepts (path %q)", host, uri, wantPath)
				}
				continue
			}
			if !gotOK {
				continue
			}
			if got.Host != want.Host || got.EscapedPath() != want.EscapedPath() || got.RawQuery != want.RawQuery || gotPath != wantPath {
				t.Errorf("%q %q: got host %q path %q query %q route %q; url.Parse: %q %q %q %q", host, uri,
					got.Host, got.EscapedPath(), got.RawQuery, gotPath, want.Host, want.EscapedPath(), want.RawQuery, wantPath)
			}
			if got.String() != want.String() {
				t.Errorf("%q %q: String %q, url.Parse %q", host, uri, got.String(), want.String())
			}
		}
	}
}
