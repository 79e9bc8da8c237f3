package testpeers

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// unverifiedUser is a mockoidc user whose ID token says
// "email_verified": false (mockoidc's own leaves a false claim out, and
// oauth2-proxy takes a missing claim as verified).
type unverifiedUser struct{ *mockoidc.MockUser }

func (u unverifiedUser) Claims(_ []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return &struct {
		*mockoidc.IDTokenClaims
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}{c, u.Email, false}, nil
}

// recordingOP is mockoidc with a record of the authorization and token
// requests it received.
type recordingOP struct {
	*mockoidc.MockOIDC
	mu        sync.Mutex
	authorize []url.Values
	token     []tokenRequest
}

// tokenRequest is a request to the token endpoint.
type tokenRequest struct {
	form          url.Values
	authorization string
}

func newRecordingOP(t *testing.T) *recordingOP {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	op := &recordingOP{MockOIDC: m}
	m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case mockoidc.AuthorizationEndpoint:
				op.mu.Lock()
				op.authorize = append(op.authorize, r.URL.Query())
				op.mu.Unlock()
			case mockoidc.TokenEndpoint:
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				form, _ := url.ParseQuery(string(body))
				op.mu.Lock()
				op.token = append(op.token, tokenRequest{form, r.Header.Get("Authorization")})
				op.mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return op
}

func (op *recordingOP) tokenRequests() []tokenRequest {
	op.mu.Lock()
	defer op.mu.Unlock()
	return append([]tokenRequest(nil), op.token...)
}

func (op *recordingOP) authorizations() []url.Values {
	op.mu.Lock()
	defer op.mu.Unlock()
	return append([]url.Values(nil), op.authorize...)
}

// TestOAuth2ProxySignIn signs in through the real oauth2-proxy against a
// real OpenID Provider (mockoidc): the upstream receives the person's
// identity, PKCE S256 was used, a person outside allowed_groups is
// refused and sign-out ends the session.
func TestOAuth2ProxySignIn(t *testing.T) {
	op := newRecordingOP(t)
	cfg := op.Config()
	p := OAuth2Proxy(t, OAuth2ProxyConfig{
		IssuerURL: op.Issuer(), ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		CodeChallengeMethod: "S256", AllowedGroups: []string{"engineering"}, VerifyNonce: true,
	})

	alice := &mockoidc.MockUser{Subject: "u-1", Email: "alice@example.co.jp", EmailVerified: true,
		PreferredUsername: "alice", Groups: []string{"engineering", "経理"}}
	op.QueueUser(alice)
	browser := Browser()
	got := p.GetUpstream(t, browser, "/app/page?x=1")
	h := got.Header
	if got.Path != "/app/page?x=1" || h.Get("X-Forwarded-Email") != alice.Email || h.Get("X-Forwarded-User") != "u-1" ||
		h.Get("X-Forwarded-Preferred-Username") != "alice" || h.Get("X-Forwarded-Groups") != "engineering,経理" {
		t.Errorf("the upstream received %s with %v; want alice's identity on /app/page?x=1", got.Path, h)
	}
	auths := op.authorizations()
	if len(auths) != 1 {
		t.Fatalf("%d authorization requests; want 1", len(auths))
	}
	a := auths[0]
	if a.Get("code_challenge_method") != "S256" || len(a.Get("code_challenge")) != 43 || a.Get("redirect_uri") != p.RedirectURL ||
		a.Get("scope") != "openid email profile groups" || a.Get("client_id") != cfg.ClientID || a.Get("state") == "" ||
		a.Get("nonce") == "" || a.Get("response_type") != "code" {
		t.Errorf("authorization request %v; want a code request with PKCE S256, the redirect URI %s, the scope, a state and a nonce", a, p.RedirectURL)
	}
	// Signed in: no new authorization request. Identity headers the
	// browser sends are replaced, not passed on.
	req, err := http.NewRequest(http.MethodGet, p.URL+"/again", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-Email", "mallory@example.com")
	req.Header.Set("X-Forwarded-Groups", "admins")
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	again := p.Received()
	if len(again) != 2 || again[1].Path != "/again" {
		t.Fatalf("the upstream received %d requests; want 2, the second /again", len(again))
	}
	if h := again[1].Header; !slices.Equal(h.Values("X-Forwarded-Email"), []string{alice.Email}) ||
		!slices.Equal(h.Values("X-Forwarded-Groups"), []string{"engineering,経理"}) {
		t.Errorf("with forged identity headers the upstream received %v; want alice's only", h)
	}
	if n := len(op.authorizations()); n != 1 {
		t.Errorf("%d authorization requests after a second page; want the session to be kept (1)", n)
	}

	// Signing out clears the session: the next page asks the OP again.
	// (Not following sign_out's redirect to "/", which would sign in anew.)
	noFollow := *browser
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = noFollow.Get(p.URL + "/oauth2/sign_out")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("sign_out answered %s; want 302 Found", resp.Status)
	}
	bob := &mockoidc.MockUser{Subject: "u-2", Email: "bob@example.co.jp", EmailVerified: true,
		PreferredUsername: "bob", Groups: []string{"sales"}}
	op.QueueUser(bob)
	resp, err = browser.Get(p.URL + "/app/page")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("bob (not in engineering) got %s at %s; want 403 Forbidden", resp.Status, resp.Request.URL)
	}
	if n := len(op.authorizations()); n != 2 {
		t.Errorf("%d authorization requests after sign-out; want 2", n)
	}
	if n := len(p.Received()); n != 2 {
		t.Errorf("the upstream received %d requests; want 2 (alice's), none of bob's", n)
	}
}

// TestOAuth2ProxyUnverifiedEmail: oauth2-proxy refuses an ID token whose
// email_verified is false unless told to accept it.
func TestOAuth2ProxyUnverifiedEmail(t *testing.T) {
	op := newRecordingOP(t)
	cfg := op.Config()
	user := unverifiedUser{&mockoidc.MockUser{Subject: "u-3", Email: "carol@example.co.jp"}}
	for _, allow := range []bool{false, true} {
		p := OAuth2Proxy(t, OAuth2ProxyConfig{IssuerURL: op.Issuer(), ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			InsecureAllowUnverifiedEmail: allow})
		op.QueueUser(user)
		resp, err := Browser().Get(p.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		reached := resp.StatusCode == http.StatusOK && len(p.Received()) == 1
		if reached != allow {
			t.Errorf("insecure_oidc_allow_unverified_email=%t: %s at %s, upstream reached %t", allow, resp.Status, resp.Request.URL, reached)
		}
	}
}

// TestOAuth2ProxyRefreshAndLogout: the token request authenticates with
// client_secret_basic; with CookieRefresh the session is refreshed with
// the refresh token, and a refused refresh (a session the OP ended)
// signs the person out; sign-out calls BackendLogoutURL with the ID
// token.
func TestOAuth2ProxyRefreshAndLogout(t *testing.T) {
	op := newRecordingOP(t)
	cfg := op.Config()
	var logoutMu sync.Mutex
	var logouts []url.Values
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logoutMu.Lock()
		logouts = append(logouts, r.URL.Query())
		logoutMu.Unlock()
	}))
	t.Cleanup(backend.Close)
	p := OAuth2Proxy(t, OAuth2ProxyConfig{IssuerURL: op.Issuer(), ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		CookieRefresh: time.Second, BackendLogoutURL: backend.URL + "/logout?id_token_hint={id_token}"})
	noFollow := func(c *http.Client) *http.Client {
		nf := *c
		nf.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return &nf
	}

	// oauth2-proxy compares the session's age, truncated to the second,
	// with cookie_refresh: 1s is reached in 2s at most.
	const refreshWait = 2100 * time.Millisecond
	browser := Browser()
	p.GetUpstream(t, browser, "/")
	// golang.org/x/oauth2 tries client_secret_basic first; mockoidc knows
	// only client_secret_post, so it retries with that.
	toks := op.tokenRequests()
	if len(toks) != 2 || toks[0].form.Get("grant_type") != "authorization_code" || !strings.HasPrefix(toks[0].authorization, "Basic ") ||
		toks[0].form.Get("client_secret") != "" || toks[1].form.Get("client_secret") != cfg.ClientSecret || toks[1].authorization != "" {
		t.Fatalf("token requests %+v; want an authorization_code grant with client_secret_basic, then with client_secret_post", toks)
	}
	time.Sleep(refreshWait)
	p.GetUpstream(t, browser, "/later")
	toks = op.tokenRequests()
	if len(toks) < 3 || toks[len(toks)-1].form.Get("grant_type") != "refresh_token" || toks[len(toks)-1].form.Get("refresh_token") == "" {
		t.Fatalf("token requests %+v; want a refresh_token grant after cookie_refresh", toks)
	}

	// The OP refuses the next refresh (both tries, basic and post): the
	// session ends, and the browser is sent to sign in again.
	for range 2 {
		op.QueueError(&mockoidc.ServerError{Code: http.StatusBadRequest, Error: "invalid_grant", Description: "session ended"})
	}
	time.Sleep(refreshWait)
	resp, err := noFollow(browser).Get(p.URL + "/after-logout")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, op.AuthorizationEndpoint()) {
		t.Errorf("after a refused refresh: %s to %q; want a redirect to the OP's authorization endpoint", resp.Status, loc)
	}
	if n := len(p.Received()); n != 2 {
		t.Errorf("the upstream received %d requests; want 2 (none after the refused refresh)", n)
	}

	// Sign-out calls the backend logout URL with the session's ID token.
	browser = Browser()
	p.GetUpstream(t, browser, "/")
	resp, err = noFollow(browser).Get(p.URL + "/oauth2/sign_out")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	logoutMu.Lock()
	defer logoutMu.Unlock()
	if len(logouts) != 1 || strings.Count(logouts[0].Get("id_token_hint"), ".") != 2 {
		t.Errorf("backend logout requests %v; want one with the ID token (a JWT) as id_token_hint", logouts)
	}
}

// TestOAuth2ProxyTwoInOneBrowser: two peers on 127.0.0.1 keep their
// sessions apart in one browser (cookies do not tell ports apart).
func TestOAuth2ProxyTwoInOneBrowser(t *testing.T) {
	op := newRecordingOP(t)
	cfg := op.Config()
	c := OAuth2ProxyConfig{IssuerURL: op.Issuer(), ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret}
	a, b := OAuth2Proxy(t, c), OAuth2Proxy(t, c)
	browser := Browser()
	a.GetUpstream(t, browser, "/")
	b.GetUpstream(t, browser, "/")
	a.GetUpstream(t, browser, "/again")
	b.GetUpstream(t, browser, "/again")
	if n := len(op.authorizations()); n != 2 {
		t.Errorf("%d authorization requests; want 2, one sign-in per peer", n)
	}
}
