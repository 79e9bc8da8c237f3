package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// oidcFlowApp is a client of the OpenID Provider whose redirect URI
// nothing serves: the tests read the code from the redirect.
const oidcFlowApp = "https://app.example.test/cb"

// withOIDCFlowApp registers client flowapp with secret file path.
func withOIDCFlowApp(secretFile string) harnessOption {
	return func(s string) string {
		return strings.Replace(s, "services:\n", `services:
  - id: flowapp
    name: Flow app
    url: https://app.example.test/
    oidc:
      client_secret_file: `+secretFile+`
      redirect_uris: [`+oidcFlowApp+`]
`, 1)
	}
}

// oidcFollow follows the provider's redirects (authorize, the login step)
// from rawURL and returns the first Location outside /oauth2/.
func oidcFollow(t *testing.T, h *harness, b *browser, rawURL string) string {
	t.Helper()
	for range 5 {
		p := b.do(newRequest(t, "GET", rawURL))
		loc := p.Header.Get("Location")
		if loc == "" {
			t.Fatalf("GET %s: %d, not a redirect\n%s", rawURL, p.StatusCode, snippet(p.body))
		}
		if strings.HasPrefix(loc, "/") {
			loc = h.url + loc
		}
		if !strings.HasPrefix(loc, h.url+"/oauth2/") {
			return loc
		}
		rawURL = loc
	}
	t.Fatal("too many redirects")
	return ""
}

// flowAppPost posts form to the provider's endpoint path as flowapp
// (client_secret_basic) and decodes the JSON answer into v.
func flowAppPost(t *testing.T, h *harness, path, secret string, form url.Values, v any) {
	t.Helper()
	req, _ := http.NewRequest("POST", h.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("flowapp", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %v", path, resp.StatusCode, err)
	}
}

// TestOIDCThroughTheSignInPipeline runs the provider's login step through
// the gateway's real pages: with no session the login form (and back),
// prompt=login a fresh sign-in (reauth) whose auth_time the ID token
// carries, acr_values=mfa the step-up with an authenticator app, after
// which the ID token says acr mfa and amr otp.
func TestOIDCThroughTheSignInPipeline(t *testing.T) {
	secret := "flow-app-secret-0123456789abcdefghijklmnop"
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, withOIDCFlowApp(secretFile))
	alice := h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	b := h.browser()
	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, h.url)
	if err != nil {
		t.Fatal(err)
	}
	verifier := p.Verifier(&oidc.Config{ClientID: "flowapp", Now: h.clock.Now})
	authorize := func(extra url.Values) string {
		q := url.Values{"client_id": {"flowapp"}, "response_type": {"code"}, "scope": {"openid email"},
			"redirect_uri": {oidcFlowApp}, "state": {"s1"}}
		for k, v := range extra {
			q[k] = v
		}
		return h.url + "/oauth2/authorize?" + q.Encode()
	}
	// idToken redeems the code in a redirect to the app and verifies the
	// ID token against the gateway's JWKS.
	type claims struct {
		AMR      []string `json:"amr"`
		ACR      string   `json:"acr"`
		AuthTime int64    `json:"auth_time"`
	}
	idToken := func(loc string) claims {
		t.Helper()
		u, _ := url.Parse(loc)
		if !strings.HasPrefix(loc, oidcFlowApp+"?") || u.Query().Get("code") == "" || u.Query().Get("state") != "s1" {
			t.Fatalf("redirect %q, want the app with a code and state", loc)
		}
		var tok struct {
			IDToken string `json:"id_token"`
		}
		flowAppPost(t, h, "/oauth2/token", secret, url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
			"redirect_uri": {oidcFlowApp}}, &tok)
		idt, err := verifier.Verify(ctx, tok.IDToken)
		if err != nil {
			t.Fatal(err)
		}
		var c claims
		if err := idt.Claims(&c); err != nil || idt.Subject != alice.ID {
			t.Fatalf("ID token sub %s: %v", idt.Subject, err)
		}
		return c
	}

	// No session: the login form, then back to the login step.
	loc := oidcFollow(t, h, b, authorize(nil))
	lu, _ := url.Parse(loc)
	back := lu.Query().Get("return_to")
	if lu.Path != "/login" || !strings.HasPrefix(back, "/oauth2/login?id=") {
		t.Fatalf("without a session: %q, want the login page returning to the login step", loc)
	}
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, back), back)
	first := idToken(oidcFollow(t, h, b, h.url+back))
	if !slices.Equal(first.AMR, []string{"pwd"}) || first.AuthTime != h.clock.Now().Unix() {
		t.Fatalf("first sign-in: %+v", first)
	}

	// prompt=login: a fresh sign-in (reauth), even with a session.
	h.clock.Advance(time.Minute)
	loc = oidcFollow(t, h, b, authorize(url.Values{"prompt": {"login"}}))
	lu, _ = url.Parse(loc)
	back = lu.Query().Get("return_to")
	if lu.Path != "/login" || lu.Query().Get("reauth") != "1" {
		t.Fatalf("prompt=login: %q, want /login?reauth=1", loc)
	}
	expectStatus(t, b.get(strings.TrimPrefix(loc, h.url)), http.StatusOK)
	expectRedirect(t, b.post("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {alicePW}, "return_to": {back}}), back)
	again := idToken(oidcFollow(t, h, b, h.url+back))
	if again.AuthTime != first.AuthTime+60 {
		t.Fatalf("after prompt=login auth_time %d, want the new sign-in's %d", again.AuthTime, first.AuthTime+60)
	}

	// acr_values=mfa: the step-up with an authenticator app, then a code.
	totp := h.enrolTOTPAtAccount(b)
	loc = oidcFollow(t, h, b, authorize(url.Values{"acr_values": {"mfa"}}))
	if !strings.HasPrefix(loc, h.url+"/login/2fa/step-up?") {
		t.Fatalf("acr_values=mfa: %q, want the step-up", loc)
	}
	expectRedirect(t, b.do(newRequest(t, "GET", loc)), "/login/2fa")
	expectStatus(t, b.get("/login/2fa"), http.StatusOK)
	p2 := b.post("/login/2fa", url.Values{"code": {h.totpCode(totp, 0)}})
	stepped := p2.Header.Get("Location")
	if !strings.Contains(stepped, "/oauth2/login?id=") {
		t.Fatalf("after the step: %d %q, want the login step", p2.StatusCode, stepped)
	}
	if strings.HasPrefix(stepped, "/") {
		stepped = h.url + stepped
	}
	mfa := idToken(oidcFollow(t, h, b, stepped))
	if mfa.ACR != "mfa" || !slices.Contains(mfa.AMR, "otp") {
		t.Fatalf("after the step-up: %+v, want acr mfa and amr otp", mfa)
	}
}

// TestOIDCAppsFollowTheNewSession: a person enters an app, then signs in
// again in the same browser (a re-authentication, as the console or an
// app asks); signing out of the new session still sends the app its
// back-channel logout token for the sid it knows, and revokes the tokens
// it got. Before the apps were handed over, they stayed with the replaced
// session and heard nothing.
func TestOIDCAppsFollowTheNewSession(t *testing.T) {
	secret := "flow-app-secret-0123456789abcdefghijklmnop"
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens := make(chan string, 4)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens <- r.PostFormValue("logout_token")
	}))
	defer rp.Close()
	h := newHarness(t, withOIDCFlowApp(secretFile), func(s string) string {
		return strings.Replace(s, "      redirect_uris: ["+oidcFlowApp+"]\n",
			"      redirect_uris: ["+oidcFlowApp+"]\n      backchannel_logout_uri: "+rp.URL+"/bc\n", 1)
	})
	h.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/"), "/")

	q := url.Values{"client_id": {"flowapp"}, "response_type": {"code"}, "scope": {"openid email"},
		"redirect_uri": {oidcFlowApp}, "state": {"s1"}}
	loc := oidcFollow(t, h, b, h.url+"/oauth2/authorize?"+q.Encode())
	u, _ := url.Parse(loc)
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	flowAppPost(t, h, "/oauth2/token", secret, url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"redirect_uri": {oidcFlowApp}}, &tok)
	p, err := oidc.NewProvider(context.Background(), h.url)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: "flowapp", Now: h.clock.Now}).Verify(context.Background(), tok.IDToken)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	if err := idt.Claims(&c); err != nil || c.SID == "" {
		t.Fatalf("ID token sid %q: %v", c.SID, err)
	}

	// The same person signs in again in this browser: a new session.
	h.clock.Advance(time.Minute)
	expectStatus(t, b.get("/login?reauth=1&return_to=%2Fme"), http.StatusOK)
	expectRedirect(t, b.post("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {alicePW}, "return_to": {"/me"}}), "/me")

	expectStatus(t, b.get("/logout"), http.StatusOK)
	b.post("/logout", url.Values{})
	var lt string
	select {
	case lt = <-tokens:
	case <-time.After(10 * time.Second):
		t.Fatal("signing out of the new session sent the app no back-channel logout token")
	}
	parts := strings.Split(lt, ".")
	if len(parts) != 3 {
		t.Fatalf("logout token %q is not a JWS", lt)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var ltc struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(payload, &ltc); err != nil || ltc.SID != c.SID {
		t.Fatalf("logout token sid %q, want the app's %q (%v)", ltc.SID, c.SID, err)
	}
	// The token the app got under the replaced session is revoked too.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var intro map[string]any
		flowAppPost(t, h, "/oauth2/introspect", secret, url.Values{"token": {tok.AccessToken}}, &intro)
		if intro["active"] != true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the app's access token is still active after signing out of the new session")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
