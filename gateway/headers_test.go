package gateway

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/config"
)

// sampleName is a header name entry e matches: e's name, or for a prefix
// the prefix with a name after it.
func sampleName(e StrippedHeader) string {
	stem, prefix := e.Prefix()
	if !prefix {
		return e.Name
	}
	if strings.HasSuffix(stem, "-") {
		return stem + "User"
	}
	return stem + "-Name"
}

func TestHeaderSetMatchesEverySpelling(t *testing.T) {
	set := newHeaderSet(append(strippedHeaderNames(), "X-Auth-User", config.HeaderNone))
	for _, e := range strippedHeaders {
		stem, _ := e.Prefix()
		for _, name := range []string{sampleName(e), stem} {
			for _, sp := range []string{name, strings.ToLower(name), strings.ToUpper(name),
				strings.ReplaceAll(name, "-", "_"), strings.Replace(strings.ToLower(name), "-", "_", 1)} {
				if !set.has(sp) {
					t.Errorf("%s (entry %s) is not stripped", sp, e.Name)
				}
			}
		}
	}
	for _, name := range []string{"X-Auth-User", "x_auth_user", "X-AUTH-USER"} {
		if !set.has(name) {
			t.Errorf("configured name %s is not stripped", name)
		}
	}
	// Headers a request needs, and names that only look alike.
	for _, name := range []string{
		"Accept", "Cookie", "Authorization", "Content-Type", "User-Agent", "X-Requested-With",
		"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Auth-Token", "X-Csrf-Token",
		"Remote", "X-Remote", "X-Ms-Client", "X-Ms-Client-Princip", "Cf-Ray", "X-Real", "X-Forwarded-Users",
		"Oidc", "X", "", "none", "Forwarded-", "X-Original-Urls", "Ｘ-Forwarded-User",
	} {
		if set.has(name) {
			t.Errorf("%q is stripped, but is not in the list", name)
		}
	}
}

func TestHeaderSetStripNoAllocation(t *testing.T) {
	set := newHeaderSet(strippedHeaderNames())
	h := http.Header{
		"Accept": {"text/html"}, "Accept-Language": {"ja"}, "Cookie": {"a=b"}, "User-Agent": {"x"},
		"X-Requested-With": {"XMLHttpRequest"}, "X-Forwarded-For": {"192.0.2.1"}, "Sec-Fetch-Mode": {"navigate"},
	}
	if n := testing.AllocsPerRun(100, func() { set.strip(h) }); n != 0 {
		t.Errorf("strip allocates %v times per request with nothing to strip", n)
	}
	if len(h) != 7 {
		t.Errorf("strip removed a header it must keep: %v", h)
	}
	h["X_Authentik_Username"] = []string{"mallory"}
	h["cf-access-jwt-assertion"] = []string{"x"}
	set.strip(h)
	if len(h) != 7 {
		t.Errorf("strip kept a forged header: %v", h)
	}
}

func TestRoutePath(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"/app/x", "/app/x", true},
		{"/app/file.txt", "/app/file.txt", true},
		{"/app/.well-known/x", "/app/.well-known/x", true},
		{"/app/a..b", "/app/a..b", true},
		{"/", "/", true},
		{"/app/x;jsessionid=1", "/app/x", true},
		{"/staff;jsessionid=1/x", "/staff/x", true},
		{"/app/group%2Fproject", "/app/group/project", true},
		{"/app/%E7%B5%8C%E7%90%86/", "/app/経理/", true},
		{"/app/100%25", "/app/100%", true},
		{"/app/100%25off", "/app/100%off", true},
		{"/app//staff/x", "/app/staff/x", true},
		{"/app///staff//", "/app/staff/", true},
		{"//", "/", true},
		{"/app/%2Fstaff/x", "/app/staff/x", true},
		{"/app/;x/staff", "/app/staff", true},
		{"/app/../staff", "", false},
		{"/app/./x", "", false},
		{"/app/..", "", false},
		{"/app/..;/staff", "", false},
		{"/app/..;x=1/staff", "", false},
		{"/app/.;x/y", "", false},
		{"/app/%2e%2e/staff", "", false},
		{"/app/%2E./staff", "", false},
		{"/app/.%2E/staff", "", false},
		{"/app/%2e", "", false},
		{"/app/..%2fstaff", "", false},
		{"/app/%2e%2e%2fstaff", "", false},
		{"/app/..%5cstaff", "", false},
		{"/app/a%5cb", "", false},
		{`/app/a\b`, "", false},
		{"/app/%252e%252e/staff", "", false},
		{"/app/%252E%252E%252Fstaff", "", false},
		{"/app/%25252e%25252e/staff", "", false},
		{"/app/%255c", "", false},
		{"/app/%zz", "", false},
		{"/app/%2", "", false},
	} {
		got, ok := routePath(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("routePath(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSetCookieName(t *testing.T) {
	for line, want := range map[string]string{
		"ssogate=x; Path=/":        "ssogate",
		" ssogate = x":             "ssogate",
		"=ssogate=x; Path=/":       "ssogate",
		"= ssogate=x":              "ssogate",
		" =ssogate=x":              "ssogate",
		"=  __Host-ssogate_csrf=x": "__Host-ssogate_csrf",
		"app=1; Path=/":            "app",
		"=app=1":                   "app",
		"ssogate":                  "ssogate",
		"=x":                       "x",
	} {
		if got := setCookieName(line); got != want {
			t.Errorf("setCookieName(%q) = %q, want %q", line, got, want)
		}
	}
}

// headerTable is the Markdown table of the stripped-header list that
// docs/headers.md shows.
func headerTable() string {
	var b strings.Builder
	b.WriteString("| header | kind | set by |\n|---|---|---|\n")
	for _, e := range strippedHeaders {
		b.WriteString("| `" + e.Name + "` | " + string(e.Kind) + " | " + e.Who + " |\n")
	}
	return b.String()
}

// TestHeadersDoc keeps docs/headers.md's table equal to the Go list.
func TestHeadersDoc(t *testing.T) {
	b, err := os.ReadFile("../docs/headers.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- stripped-headers:begin -->\n", "<!-- stripped-headers:end -->"
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("docs/headers.md has no %q … %q block", begin, end)
	}
	if got, want := doc[i+len(begin):j], headerTable(); got != want {
		t.Errorf("docs/headers.md's table is not the list in gateway/headerlist.go; replace it with:\n%s", want)
	}
}
