package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/internal/testpeers"
)

// followPostForms submits the gateway's auto-submitting SAML form (its
// page has other forms before it: the header's) as its script would, and
// any that follow, and returns the final page.
func followPostForms(t *testing.T, c *http.Client, resp *http.Response) (*http.Response, []byte) {
	t.Helper()
	for range 10 {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(string(body), `<form id="post-form"`)
		if i < 0 {
			return resp, body
		}
		f, ok := testpeers.ParseForm(resp.Request.URL, body[i:])
		if !ok {
			return resp, body
		}
		if resp, err = f.Submit(c, nil); err != nil {
			t.Fatalf("post the form to %s: %v", f.Action, err)
		}
	}
	t.Fatal("more than 10 forms in a row")
	return nil, nil
}

// startExampleApp builds examples/<name> and runs it on addr with args
// (after -listen).
func startExampleApp(t *testing.T, name, addr string, args ...string) *childProc {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	build := exec.Command("go", "build", "-o", bin, "./examples/"+name)
	build.Dir = moduleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	p := startChildProc(t, name, exec.Command(bin, append([]string{"-listen", addr}, args...)...))
	p.waitListening(t, addr)
	return p
}

// TestDemoOIDCApp runs the demo's OIDC app (examples/oidcapp, a go-oidc
// relying party) against the gateway as `make run` wires it: the launcher
// tile opens it signed in through third-party-initiated login, its
// sign-out ends the gateway session (RP-initiated logout), and a sign-out
// at the gateway ends its session (back-channel logout).
func TestDemoOIDCApp(t *testing.T) {
	addr := freeLoopbackAddr(t)
	app := "http://" + addr
	h := newHarness(t, func(s string) string {
		return strings.Replace(s, "services:\n", `services:
  - id: oidcapp
    name: OIDC app
    url: `+app+`/
    oidc:
      public: true
      redirect_uris: [`+app+`/callback]
      post_logout_redirect_uris: [`+app+`/]
      backchannel_logout_uri: `+app+`/backchannel-logout
      initiate_login_uri: `+app+`/initiate
`, 1)
	})
	// The app checks ID tokens by the wall clock.
	h.clock.Set(time.Now())
	p := startExampleApp(t, "oidcapp", addr, "-issuer", h.url, "-client-id", "oidcapp")

	h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/"), "/")
	home := b.get("/")
	m := regexp.MustCompile(`href="(` + regexp.QuoteMeta(app) + `/initiate\?[^"]+)"`).FindStringSubmatch(home.body)
	if m == nil {
		t.Fatalf("the launcher has no tile leading to %s/initiate?…\n%s", app, snippet(home.body))
	}
	tile := strings.ReplaceAll(m[1], "&amp;", "&")
	if u, _ := url.Parse(tile); u.Query().Get("iss") != h.url {
		t.Fatalf("tile %s does not name the issuer %s", tile, h.url)
	}
	// A browser that follows redirects, with the same cookies.
	fc := &http.Client{Jar: b.jar, Transport: b.c.Transport, Timeout: 30 * time.Second}
	get := func(u string) (string, string) {
		t.Helper()
		resp, err := fc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.Request.URL.String(), string(body)
	}
	final, body := get(tile)
	if final != app+"/" || !strings.Contains(body, "signed in as Alice Example") {
		t.Fatalf("the tile led to %s, want the app signed in\n%s", final, snippet(body))
	}

	// A key rotation (what `ssogate keys rotate --activate-in 30s` does):
	// the app signs in again before the new key signs and after, with no
	// failure; go-oidc fetches the JWKS again for the new key's kid.
	ctx := context.Background()
	if _, err := gateway.RotateSigningKey(ctx, h.app.cfg, h.app.store, h.clock.Now(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"before the new key signs", "after"} {
		if err := h.app.gateway.ReloadKeys(ctx); err != nil {
			t.Fatal(err)
		}
		if final, body := get(app + "/login"); final != app+"/" || !strings.Contains(body, "signed in as Alice Example") {
			t.Fatalf("sign-in %s the rotation ended at %s\n%s", step, final, snippet(body))
		}
		h.clock.Advance(31 * time.Second)
	}

	// The app's sign-out ends the gateway session too: back at the app,
	// its sign-in lands on the gateway's login page.
	final, _ = get(app + "/logout")
	if !strings.HasPrefix(final, h.url+"/login?") {
		t.Fatalf("after the app's sign-out the browser is at %s, want the gateway's login page", final)
	}
	if loc := b.get("/").Header.Get("Location"); !strings.HasPrefix(loc, "/login") {
		t.Fatalf("the gateway session survived the app's sign-out: / answers %q", loc)
	}

	// Signed in again at the gateway and in the app, then signed out at
	// the gateway: the app's session ends by back-channel logout.
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/"), "/")
	if final, body = get(tile); !strings.Contains(body, "signed in as Alice Example") {
		t.Fatalf("second sign-in through the tile ended at %s", final)
	}
	expectStatus(t, b.get("/logout"), http.StatusOK)
	b.post("/logout", url.Values{})
	noFollow := &http.Client{Jar: b.jar, Transport: b.c.Transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := noFollow.Get(app + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusFound && resp.Header.Get("Location") == "/login" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app still shows the person 10 s after the gateway sign-out (%d)\n%s", resp.StatusCode, p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDemoSAMLApp runs the demo's SAML app (examples/samlapp, crewjam's
// samlsp) against the gateway as `make run` wires it: the gateway fetches
// its SP metadata, the launcher tile opens it signed in (IdP-initiated),
// and a sign-out at the gateway ends its session through the single-logout
// round, which comes back to the gateway's signed-out page.
func TestDemoSAMLApp(t *testing.T) {
	addr := freeLoopbackAddr(t)
	app := "http://" + addr
	h := newHarness(t, func(s string) string {
		return strings.Replace(s, "services:\n", `services:
  - id: samlapp
    name: SAML app
    url: `+app+`/
    saml:
      metadata_url: `+app+`/saml/metadata
      attributes: {mail: email, displayName: display_name}
`, 1)
	})
	// The app checks assertions by the wall clock.
	h.clock.Set(time.Now())
	p := startExampleApp(t, "samlapp", addr, "-idp-metadata", h.url+"/idp/saml/metadata", "-data", filepath.Join(t.TempDir(), "sp"))

	h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/"), "/")
	if home := b.get("/"); !strings.Contains(home.body, `href="`+h.url+`/idp/saml/init/samlapp"`) {
		t.Fatalf("the launcher has no tile leading to /idp/saml/init/samlapp\n%s", snippet(home.body))
	}
	fc := &http.Client{Jar: b.jar, Transport: b.c.Transport, Timeout: 30 * time.Second}
	resp, err := fc.Get(h.url + "/idp/saml/init/samlapp")
	if err != nil {
		t.Fatal(err)
	}
	resp, body := followPostForms(t, fc, resp)
	if resp.Request.URL.String() != app+"/" || !strings.Contains(string(body), "signed in as <code>alice@example.co.jp</code>") ||
		!strings.Contains(string(body), "Alice Example") {
		t.Fatalf("the tile led to %s, want the app signed in as alice with her name\n%s", resp.Request.URL, snippet(string(body)))
	}

	// Sign-out at the gateway: the single-logout round passes through the
	// app and ends on the gateway's signed-out page.
	expectStatus(t, b.get("/logout"), http.StatusOK)
	req, _ := http.NewRequest("POST", h.url+"/logout", strings.NewReader(url.Values{"csrf_token": {b.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", h.url)
	resp, err = fc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = followPostForms(t, fc, resp)
	if got := resp.Request.URL; got.Host != strings.TrimPrefix(h.url, "http://") || got.Path != "/login" {
		b2, _ := io.ReadAll(resp.Body)
		t.Fatalf("the sign-out ended at %s (%d %s), want the gateway's login page", got, resp.StatusCode, b2)
	}
	noFollow := &http.Client{Jar: b.jar, Transport: b.c.Transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(app + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, h.url+"/idp/saml/sso?") {
		t.Fatalf("after the sign-out the app answers %d %q, want a new sign-in at the gateway\n%s", resp.StatusCode, loc, p.out)
	}
}
