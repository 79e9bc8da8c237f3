package portal

import (
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	Static().ServeHTTP(rec, req)
	return rec
}

func TestStatic(t *testing.T) {
	v := StaticVersion()
	tests := []struct {
		name, method, target string
		status               int
		ctype, cache         string
		body                 string
	}{
		{"css versioned", "GET", "/static/style.css?v=" + v, 200, "text/css; charset=utf-8", cacheVersioned, "prefers-color-scheme"},
		{"css unversioned", "GET", "/static/style.css", 200, "text/css; charset=utf-8", cacheUnversioned, "Hiragino Sans"},
		{"css old version", "GET", "/static/style.css?v=000000000000", 200, "text/css; charset=utf-8", cacheUnversioned, ""},
		{"favicon", "GET", "/static/favicon.svg?v=" + v, 200, "image/svg+xml", cacheVersioned, "<svg"},
		{"head", "HEAD", "/static/style.css", 200, "text/css; charset=utf-8", cacheUnversioned, ""},
		{"unknown", "GET", "/static/nope.css", 404, "", "", ""},
		{"directory", "GET", "/static/", 404, "", "", ""},
		{"no prefix", "GET", "/style.css", 404, "", "", ""},
		{"traversal", "GET", "/static/../portal.go", 404, "", "", ""},
		{"template", "GET", "/static/../templates/base.html", 404, "", "", ""},
		{"subpath", "GET", "/static/style.css/x", 404, "", "", ""},
		{"post", "POST", "/static/style.css", 405, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(tt.method, tt.target, nil)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			if tt.ctype != "" {
				if got := rec.Header().Get("Content-Type"); got != tt.ctype {
					t.Errorf("Content-Type = %q, want %q", got, tt.ctype)
				}
			}
			if tt.cache != "" {
				if got := rec.Header().Get("Cache-Control"); got != tt.cache {
					t.Errorf("Cache-Control = %q, want %q", got, tt.cache)
				}
			}
			if tt.body != "" && !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body lacks %q", tt.body)
			}
			if tt.method == "HEAD" && rec.Body.Len() != 0 {
				t.Error("HEAD returned a body")
			}
		})
	}
}

func TestStaticConditional(t *testing.T) {
	first := serve("GET", "/static/style.css", nil)
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if rec := serve("GET", "/static/style.css", map[string]string{"If-None-Match": etag}); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", rec.Code)
	}
}

func TestStaticVersion(t *testing.T) {
	v := StaticVersion()
	if len(v) != 12 {
		t.Errorf("StaticVersion() = %q, want 12 hex digits", v)
	}
	if _, err := hex.DecodeString(v); err != nil {
		t.Errorf("StaticVersion() = %q: %v", v, err)
	}
	if StaticVersion() != v {
		t.Error("StaticVersion is not stable")
	}
}

// TestPagesLinkServedAssets follows every /static/ link in every page.
func TestPagesLinkServedAssets(t *testing.T) {
	r := newRenderer(t)
	link := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)
	seen := map[string]bool{}
	for page, data := range samplePages("ja") {
		body := render(t, r, 0, page, data)
		for _, m := range link.FindAllStringSubmatch(body, -1) {
			seen[strings.ReplaceAll(m[1], "&amp;", "&")] = true
		}
	}
	for _, want := range []string{"/static/style.css?v=" + StaticVersion(), "/static/favicon.svg?v=" + StaticVersion()} {
		if !seen[want] {
			t.Errorf("pages do not link %s", want)
		}
	}
	for u := range seen {
		rec := serve("GET", u, nil)
		if rec.Code != 200 || rec.Header().Get("Cache-Control") != cacheVersioned {
			t.Errorf("%s: %d %q", u, rec.Code, rec.Header().Get("Cache-Control"))
		}
	}
	if _, err := assetURL("missing.css"); err == nil {
		t.Error("assetURL accepted a missing file")
	}
}
