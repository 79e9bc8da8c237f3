package gateway

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/ssogate/ssogate/store"
)

// goOIDC is go-oidc and x/oauth2 set up as client rp of the env.
type goOIDC struct {
	p    *oidc.Provider
	conf oauth2.Config
	ver  *oidc.IDTokenVerifier
}

func newGoOIDC(t *testing.T, e *opEnv, client string, scopes ...string) *goOIDC {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	return &goOIDC{p: p, ver: p.Verifier(&oidc.Config{ClientID: client}), conf: oauth2.Config{
		ClientID: client, ClientSecret: e.secret, Endpoint: p.Endpoint(), RedirectURL: e.rp.URL + "/callback",
		Scopes: append([]string{oidc.ScopeOpenID}, scopes...)}}
}

// signInCode runs the browser through the authorization request and
// returns the code (the state and iss are checked).
func (r *goOIDC) signInCode(t *testing.T, e *opEnv, opts ...oauth2.AuthCodeOption) string {
	t.Helper()
	loc, _ := e.browse(r.conf.AuthCodeURL("st-rp", opts...))
	if !strings.HasPrefix(loc, e.rp.URL+"/callback?") {
		t.Fatalf("authorization ended at %q, want the RP's callback", loc)
	}
	q := query(t, loc)
	if q.Get("state") != "st-rp" || q.Get("iss") != e.issuer || q.Get("code") == "" {
		t.Fatalf("callback %q: want code, state st-rp and iss %s", loc, e.issuer)
	}
	return q.Get("code")
}

// TestOIDCProviderGoOIDC signs in with go-oidc as the relying party:
// discovery, code with PKCE S256, the ID token verified against the
// gateway's JWKS (RS256, nonce, sid, amr), UserInfo, refresh with
// rotation, reuse of a rotated refresh token revoking the family,
// introspection and revocation.
func TestOIDCProviderGoOIDC(t *testing.T) {
	e := newOPEnv(t, "")
	sess := e.signIn(e.user, "pwd")
	rp := newGoOIDC(t, e, "rp", "email", "profile", "groups", "phone", "offline_access")
	ctx := context.Background()

	var disc map[string]any
	if err := rp.p.Claims(&disc); err != nil {
		t.Fatal(err)
	}
	if disc["jwks_uri"] != e.issuer+"/.well-known/jwks.json" || disc["authorization_response_iss_parameter_supported"] != true ||
		disc["end_session_endpoint"] != e.issuer+"/oauth2/logout" || disc["introspection_endpoint"] != e.issuer+"/oauth2/introspect" {
		t.Fatalf("discovery: %v", disc)
	}
	if m, _ := json.Marshal(disc["code_challenge_methods_supported"]); string(m) != `["S256"]` {
		t.Fatalf("code_challenge_methods_supported %s, want only S256", m)
	}
	if m, _ := json.Marshal(disc["id_token_signing_alg_values_supported"]); string(m) != `["RS256"]` {
		t.Fatalf("id_token_signing_alg_values_supported %s, want only RS256", m)
	}

	verifier := oauth2.GenerateVerifier()
	code := rp.signInCode(t, e, oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-42"))
	tok, err := rp.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.ver.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token does not verify against the JWKS: %v", err)
	}
	var claims struct {
		Email    string   `json:"email"`
		Verified bool     `json:"email_verified"`
		Name     string   `json:"name"`
		Groups   []string `json:"groups"`
		Phone    string   `json:"phone_number"`
		AMR      []string `json:"amr"`
		SID      string   `json:"sid"`
		AuthTime int64    `json:"auth_time"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != e.user.ID || idt.Nonce != "n-42" || claims.Email != e.user.Email || !claims.Verified ||
		claims.Name != "山田 花子" || !slices.Equal(claims.Groups, []string{"staff"}) || claims.Phone != "+81312345678" ||
		!slices.Equal(claims.AMR, []string{"pwd"}) || claims.AuthTime != sess.AuthTime.Unix() {
		t.Fatalf("ID token sub %q nonce %q claims %+v", idt.Subject, idt.Nonce, claims)
	}
	if claims.SID == "" || claims.SID == sess.ID || strings.Contains(claims.SID, sess.ID) {
		t.Fatalf("sid %q must be set and must not be the session id", claims.SID)
	}
	if h := jwsHeader(t, raw); h.Algorithm != "RS256" || h.KeyID == "" {
		t.Fatalf("ID token header %+v, want RS256 with a kid", h)
	}

	ui, err := rp.p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	if ui.Subject != e.user.ID || ui.Email != e.user.Email {
		t.Fatalf("userinfo %+v", ui)
	}

	// Introspection needs the client's credentials and says active.
	if status, _ := e.post("/oauth2/introspect", url.Values{"token": {tok.AccessToken}}, "", ""); status == http.StatusOK {
		t.Fatal("introspection without client authentication answered 200")
	}
	_, intro := e.post("/oauth2/introspect", url.Values{"token": {tok.AccessToken}}, "rp", e.secret)
	if intro["active"] != true || intro["sub"] != e.user.ID || intro["client_id"] != "rp" {
		t.Fatalf("introspection %v", intro)
	}

	// Refresh rotates: the new refresh token differs, the old one then is
	// a replay that revokes the family (the new tokens included).
	first := tok.RefreshToken
	if first == "" {
		t.Fatal("no refresh token for offline_access")
	}
	tok2, err := rp.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: first, Expiry: time.Now().Add(-time.Minute)}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok2.RefreshToken == "" || tok2.RefreshToken == first {
		t.Fatalf("refresh did not rotate: %q", tok2.RefreshToken)
	}
	if _, err := rp.p.UserInfo(ctx, oauth2.StaticTokenSource(tok2)); err != nil {
		t.Fatalf("userinfo with the refreshed access token: %v", err)
	}
	if _, err := rp.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: first, Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil {
		t.Fatal("a rotated refresh token was accepted again")
	}
	if _, err := rp.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil {
		t.Fatal("after reuse, the family's newest refresh token still works")
	}
	if _, err := rp.p.UserInfo(ctx, oauth2.StaticTokenSource(tok2)); err == nil {
		t.Fatal("after reuse, the family's access token still works")
	}

	// Revocation (RFC 7009) of a fresh grant's refresh token ends its
	// access token too; an unknown token is no error.
	verifier = oauth2.GenerateVerifier()
	code = rp.signInCode(t, e, oauth2.S256ChallengeOption(verifier))
	tok3, err := rp.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := e.post("/oauth2/revoke", url.Values{"token": {"no-such-token"}}, "rp", e.secret); status != http.StatusOK {
		t.Fatalf("revoking an unknown token: %d, want 200", status)
	}
	if status, _ := e.post("/oauth2/revoke", url.Values{"token": {tok3.RefreshToken}, "token_type_hint": {"refresh_token"}}, "rp", e.secret); status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	_, intro = e.post("/oauth2/introspect", url.Values{"token": {tok3.AccessToken}}, "rp", e.secret)
	if intro["active"] == true {
		t.Fatal("the access token of a revoked grant is still active")
	}
	if _, err := rp.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok3.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil {
		t.Fatal("a revoked refresh token was accepted")
	}

	// The app sign-ins are audited, without a token in the record.
	evs, err := e.st.ListAudit(ctx, store.AuditFilter{Action: "oidc_authorize"})
	if err != nil || len(evs) < 2 || evs[0].Outcome != store.OutcomeSuccess || evs[0].UserID != e.user.ID {
		t.Fatalf("audit %v %+v", err, evs)
	}
	for _, ev := range evs {
		if strings.Contains(ev.Detail, code) || strings.Contains(ev.Detail, tok.AccessToken) {
			t.Fatalf("audit detail %q carries a secret", ev.Detail)
		}
	}
}

// jwsHeader is the protected header of a compact JWS.
func jwsHeader(t *testing.T, raw string) jose.Header {
	t.Helper()
	sig, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.HS256, "none"})
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return sig.Signatures[0].Header
}

// codeFor runs an authorization request of client through the browser
// and returns the code.
func (e *opEnv) codeFor(t testing.TB, client string, q url.Values) string {
	t.Helper()
	loc, status := e.browse(e.authorizeURL(client, q))
	if !strings.HasPrefix(loc, e.rp.URL+"/callback?") || query(t, loc).Get("code") == "" {
		t.Fatalf("authorization of %s ended at %q (%d), want a code", client, loc, status)
	}
	return query(t, loc).Get("code")
}

// pkce is a verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = oauth2.GenerateVerifier()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// exchange redeems code for client rp (basic auth) with extra form values.
func (e *opEnv) exchange(code string, extra url.Values) (int, map[string]any) {
	e.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.rp.URL + "/callback"}}
	for k, vs := range extra {
		form[k] = vs
	}
	return e.post("/oauth2/token", form, "rp", e.secret)
}

// TestOIDCBasicOPProfile are the OP-side checks of the OpenID
// Foundation's Basic OP profile, as Go tests against the real provider.
func TestOIDCBasicOPProfile(t *testing.T) {
	e := newOPEnv(t, "")
	sess := e.signIn(e.user, "pwd")
	ctx := context.Background()

	t.Run("nonce and state echoed, iss in the response, alg none never", func(t *testing.T) {
		loc, _ := e.browse(e.authorizeURL("rp", url.Values{"nonce": {"abc-nonce"}, "state": {"s-1"}}))
		q := query(t, loc)
		if q.Get("state") != "s-1" || q.Get("iss") != e.issuer {
			t.Fatalf("response %q: want state s-1 and iss", loc)
		}
		status, tok := e.exchange(q.Get("code"), nil)
		if status != 200 {
			t.Fatalf("exchange: %d %v", status, tok)
		}
		raw := tok["id_token"].(string)
		if h := jwsHeader(t, raw); h.Algorithm != "RS256" {
			t.Fatalf("alg %q", h.Algorithm)
		}
		var c struct {
			Nonce string `json:"nonce"`
		}
		parsed, _ := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		_ = parsed.UnsafeClaimsWithoutVerification(&c)
		if c.Nonce != "abc-nonce" {
			t.Fatalf("nonce %q", c.Nonce)
		}
	})

	t.Run("code reuse refused and the first redemption's tokens revoked", func(t *testing.T) {
		code := e.codeFor(t, "rp", url.Values{"scope": {"openid offline_access"}})
		status, tok := e.exchange(code, nil)
		if status != 200 {
			t.Fatalf("first redemption: %d %v", status, tok)
		}
		if status, body := e.exchange(code, nil); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("second redemption: %d %v, want 400 invalid_grant", status, body)
		}
		_, intro := e.post("/oauth2/introspect", url.Values{"token": {tok["access_token"].(string)}}, "rp", e.secret)
		if intro["active"] == true {
			t.Fatal("the first redemption's access token survived the reuse")
		}
		if status, _ := e.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, "rp", e.secret); status == 200 {
			t.Fatal("the first redemption's refresh token survived the reuse")
		}
		evs, _ := e.st.ListAudit(ctx, store.AuditFilter{Action: "oidc_token"})
		if len(evs) == 0 || evs[0].Outcome != store.OutcomeFailure || evs[0].UserID != e.user.ID || !strings.HasPrefix(evs[0].Detail, "code_reused") {
			t.Fatalf("the code replay was not audited: %+v", evs)
		}
	})

	t.Run("redirect_uri exact match", func(t *testing.T) {
		base := e.rp.URL + "/callback"
		u, _ := url.Parse(e.rp.URL)
		otherPort := "http://" + u.Hostname() + ":1/callback"
		for _, bad := range []string{base + "/more", e.rp.URL + "/callbac", otherPort, base + "#frag", base + "?x=1", strings.Replace(base, "http://", "https://", 1)} {
			resp, err := e.c.Get(e.authorizeURL("rp", url.Values{"redirect_uri": {bad}}))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); loc != "" || resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("redirect_uri %q: %d Location %q, want 400 and no redirect", bad, resp.StatusCode, loc)
			}
		}
	})

	t.Run("PKCE downgrade refused", func(t *testing.T) {
		verifier, challenge := pkce()
		// plain is refused at the authorization request.
		loc, _ := e.browse(e.authorizeURL("rp", url.Values{"code_challenge": {verifier}, "code_challenge_method": {"plain"}}))
		if q := query(t, loc); q.Get("error") != "invalid_request" || q.Get("code") != "" || q.Get("iss") != e.issuer {
			t.Fatalf("plain: %q", loc)
		}
		// A challenge without its verifier, or with a wrong one, is refused.
		code := e.codeFor(t, "rp", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		if status, _ := e.exchange(code, nil); status == 200 {
			t.Fatal("a code with a challenge was redeemed without the verifier")
		}
		code = e.codeFor(t, "rp", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		if status, _ := e.exchange(code, url.Values{"code_verifier": {verifier + "x"}}); status == 200 {
			t.Fatal("a wrong verifier was accepted")
		}
		// A verifier where no challenge was sent is refused.
		code = e.codeFor(t, "rp", nil)
		if status, _ := e.exchange(code, url.Values{"code_verifier": {verifier}}); status == 200 {
			t.Fatal("a verifier without a challenge was accepted")
		}
		// A public client must use PKCE.
		loc, _ = e.browse(e.authorizeURL("spa", nil))
		if q := query(t, loc); q.Get("error") != "invalid_request" || q.Get("code") != "" {
			t.Fatalf("public client without PKCE: %q", loc)
		}
		code = e.codeFor(t, "spa", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		status, body := e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"spa"},
			"redirect_uri": {e.rp.URL + "/callback"}, "code_verifier": {verifier}}, "", "")
		if status != 200 || body["id_token"] == nil {
			t.Fatalf("public client with PKCE: %d %v", status, body)
		}
	})

	t.Run("client authentication", func(t *testing.T) {
		// client_secret_post
		code := e.codeFor(t, "rppost", nil)
		status, body := e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"rppost"},
			"client_secret": {e.secret}, "redirect_uri": {e.rp.URL + "/callback"}}, "", "")
		if status != 200 {
			t.Fatalf("client_secret_post: %d %v", status, body)
		}
		// A wrong secret is refused, basic or post.
		code = e.codeFor(t, "rp", nil)
		if status, _ := e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {e.rp.URL + "/callback"}}, "rp", e.secret[:len(e.secret)-1]+"X"); status == 200 {
			t.Fatal("a wrong secret was accepted (basic)")
		}
		code = e.codeFor(t, "rppost", nil)
		if status, _ := e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"rppost"},
			"client_secret": {"wrong"}, "redirect_uri": {e.rp.URL + "/callback"}}, "", ""); status == 200 {
			t.Fatal("a wrong secret was accepted (post)")
		}
		// private_key_jwt: an assertion signed with the client's key.
		redeem := func(code, assertion string) (int, map[string]any) {
			return e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {e.rp.URL + "/callback"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion": {assertion}}, "", "")
		}
		code = e.codeFor(t, "rpjwt", nil)
		assertion := e.clientAssertion(t, "rpjwt", "rp-key-1")
		status, body = redeem(code, assertion)
		if status != 200 || body["id_token"] == nil {
			t.Fatalf("private_key_jwt: %d %v", status, body)
		}
		// The same assertion again, with a fresh code, is refused: an
		// assertion is used once (OpenID Connect Core §9).
		code = e.codeFor(t, "rpjwt", nil)
		status, body = redeem(code, assertion)
		if status == 200 || body["error"] != "invalid_client" {
			t.Fatalf("a client assertion used a second time: %d, error %v", status, body["error"])
		}
		evs, err := e.st.ListAudit(context.Background(), store.AuditFilter{Action: "oidc_token"})
		if err != nil || len(evs) == 0 {
			t.Fatalf("audit of the reused assertion: %v, %d events", err, len(evs))
		}
		if ev := evs[0]; ev.Outcome != store.OutcomeFailure || ev.Detail != "client_assertion_reused client=rpjwt" {
			t.Fatalf("audit of the reused assertion: newest %+v", *ev)
		}
		// That code is still good with a new assertion.
		status, body = redeem(code, e.clientAssertion(t, "rpjwt", "rp-key-1"))
		if status != 200 || body["id_token"] == nil {
			t.Fatalf("a new assertion after a refused copy: %d %v", status, body)
		}
		// An assertion without a jti cannot be held to one use: refused.
		code = e.codeFor(t, "rpjwt", nil)
		status, body = redeem(code, e.clientAssertionJTI(t, "rpjwt", "rp-key-1", ""))
		if status == 200 || body["error"] != "invalid_client" {
			t.Fatalf("a client assertion without jti: %d, error %v", status, body["error"])
		}
		// The same with the keys fetched from the client's jwks_uri.
		code = e.codeFor(t, "rpjwturi", nil)
		status, body = redeem(code, e.clientAssertion(t, "rpjwturi", "rp-key-1"))
		if status != 200 || body["id_token"] == nil {
			t.Fatalf("private_key_jwt with jwks_uri: %d %v", status, body)
		}
		// An assertion of another key is refused.
		code = e.codeFor(t, "rpjwt", nil)
		e2 := *e
		e2.jwtKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		status, _ = redeem(code, e2.clientAssertion(t, "rpjwt", "rp-key-1"))
		if status == 200 {
			t.Fatal("an assertion signed by a stranger's key was accepted")
		}
	})

	t.Run("prompt=none without a session is login_required", func(t *testing.T) {
		jar := e.c.Jar
		e.c.Jar = nil
		defer func() { e.c.Jar = jar }()
		loc, _ := e.browse(e.authorizeURL("rp", url.Values{"prompt": {"none"}}))
		if q := query(t, loc); q.Get("error") != "login_required" || q.Get("state") != "st-123" || q.Get("iss") != e.issuer {
			t.Fatalf("prompt=none: %q", loc)
		}
		// Without prompt=none the browser goes to the sign-in, back here after.
		loc, _ = e.browse(e.authorizeURL("rp", nil))
		if !strings.HasPrefix(loc, e.issuer+"/login?") || !strings.HasPrefix(query(t, loc).Get("return_to"), "/oauth2/login?id=") {
			t.Fatalf("no session: %q, want the login page returning to the login step", loc)
		}
	})

	t.Run("prompt=login and max_age ask for a fresh sign-in", func(t *testing.T) {
		loc, _ := e.browse(e.authorizeURL("rp", url.Values{"prompt": {"login"}}))
		if !strings.HasPrefix(loc, e.issuer+"/login?") || query(t, loc).Get("reauth") != "1" {
			t.Fatalf("prompt=login: %q, want /login?reauth=1", loc)
		}
		e.clock.Advance(10 * time.Minute)
		loc, _ = e.browse(e.authorizeURL("rp", url.Values{"max_age": {"300"}}))
		if query(t, loc).Get("reauth") != "1" {
			t.Fatalf("max_age exceeded: %q, want /login?reauth=1", loc)
		}
		// max_age still met: a code.
		e.codeFor(t, "rp", url.Values{"max_age": {"3600"}})
		// A sign-in after the request satisfies prompt=login: the login
		// step, visited again with a new session, answers with a code.
		resp, err := e.c.Get(e.authorizeURL("rp", url.Values{"prompt": {"login"}}))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loginStep := resp.Header.Get("Location")
		loc, _ = e.browse(loginStep)
		if query(t, loc).Get("reauth") != "1" {
			t.Fatalf("prompt=login: %q", loc)
		}
		e.clock.Advance(2 * time.Second)
		e.signIn(e.user, "pwd")
		loc, _ = e.browse(loginStep)
		if query(t, loc).Get("code") == "" {
			t.Fatalf("after a fresh sign-in: %q, want a code", loc)
		}
		e.signIn(e.user, "pwd")
	})

	t.Run("acr_values mfa and require_2fa step up", func(t *testing.T) {
		for _, acr := range []string{"mfa", "http://schemas.openid.net/pape/policies/2007/06/multi-factor"} {
			loc, _ := e.browse(e.authorizeURL("rp", url.Values{"acr_values": {acr}}))
			if !strings.HasPrefix(loc, e.issuer+stepUpPath+"?") || !strings.HasPrefix(query(t, loc).Get("return_to"), "/oauth2/login?id=") &&
				!strings.HasPrefix(query(t, loc).Get("return_to"), e.issuer+"/oauth2/login?id=") {
				t.Fatalf("acr_values %s: %q, want the step-up returning to the login step", acr, loc)
			}
		}
		loc, _ := e.browse(e.authorizeURL("vault", nil))
		if !strings.HasPrefix(loc, e.issuer+stepUpPath+"?") {
			t.Fatalf("require_2fa: %q, want the step-up", loc)
		}
		// With a second factor: a code, and acr/amr say so.
		e.signIn(e.user, "pwd", "otp", "mfa")
		defer e.signIn(e.user, "pwd")
		code := e.codeFor(t, "rp", url.Values{"acr_values": {"mfa"}})
		_, tok := e.exchange(code, nil)
		var c struct {
			ACR string   `json:"acr"`
			AMR []string `json:"amr"`
		}
		parsed, err := jwt.ParseSigned(tok["id_token"].(string), []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		_ = parsed.UnsafeClaimsWithoutVerification(&c)
		if c.ACR != "mfa" || !slices.Contains(c.AMR, "otp") {
			t.Fatalf("acr %q amr %v", c.ACR, c.AMR)
		}
	})

	t.Run("allowed_groups: access_denied, never a code", func(t *testing.T) {
		loc, _ := e.browse(e.authorizeURL("finance", nil))
		q := query(t, loc)
		if !strings.HasPrefix(loc, e.rp.URL+"/callback?") || q.Get("error") != "access_denied" || q.Get("code") != "" || q.Get("iss") != e.issuer {
			t.Fatalf("outside allowed_groups: %q", loc)
		}
		evs, _ := e.st.ListAudit(ctx, store.AuditFilter{Action: "oidc_authorize"})
		if len(evs) == 0 || evs[0].Outcome != store.OutcomeFailure {
			t.Fatalf("refusal not audited: %+v", evs)
		}
	})

	t.Run("an unknown or answered request at the login step", func(t *testing.T) {
		resp, err := e.c.Get(e.authorizeURL("rp", nil))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		step := resp.Header.Get("Location")
		e.codeFor(t, "rp", nil)
		if loc, _ := e.browse(step); !strings.Contains(loc, "code=") {
			t.Fatalf("first visit of the login step: %q", loc)
		}
		for _, u := range []string{step, e.issuer + "/oauth2/login?id=bogus"} {
			req, _ := http.NewRequest("GET", u, nil)
			req.Header.Set("Accept-Language", "ja")
			resp, err := e.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(string(body), "アプリからのサインイン要求") {
				t.Fatalf("%s: %d %q, want 400 with the message", u, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})

	t.Run("session_timeout asks for a fresh sign-in", func(t *testing.T) {
		e.signIn(e.user, "pwd", "otp", "mfa")
		defer e.signIn(e.user, "pwd")
		e.codeFor(t, "vault", nil)
		e.clock.Advance(16 * time.Minute)
		loc, _ := e.browse(e.authorizeURL("vault", nil))
		if query(t, loc).Get("reauth") != "1" {
			t.Fatalf("session_timeout exceeded: %q, want /login?reauth=1", loc)
		}
	})
	_ = sess
}

// clientAssertion is a private_key_jwt assertion of client (RFC 7523).
func (e *opEnv) clientAssertion(t *testing.T, client, kid string) string {
	t.Helper()
	return e.clientAssertionJTI(t, client, kid, newToken())
}

// clientAssertionJTI is clientAssertion with jti (none when empty).
func (e *opEnv) clientAssertionJTI(t *testing.T, client, kid, jti string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: e.jwtKey, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	raw, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: client, Subject: client, Audience: jwt.Audience{e.issuer},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute)), ID: jti}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestOIDCLogout: RP-initiated logout with id_token_hint ends the gateway
// session and returns to the registered post-logout URI with state; the
// back-channel logout token reaches the RP and verifies; the session's
// tokens are revoked; an unregistered post-logout URI is refused.
func TestOIDCLogout(t *testing.T) {
	e := newOPEnv(t, "")
	e.signIn(e.user, "pwd")
	ctx := context.Background()
	rp := newGoOIDC(t, e, "rp", "offline_access")
	verifier := oauth2.GenerateVerifier()
	code := rp.signInCode(t, e, oauth2.S256ChallengeOption(verifier))
	tok, err := rp.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw := tok.Extra("id_token").(string)
	idt, err := rp.ver.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var idc struct {
		SID string `json:"sid"`
	}
	_ = idt.Claims(&idc)

	// An unregistered post_logout_redirect_uri: refused, no redirect.
	resp, err := e.c.Get(e.issuer + "/oauth2/logout?" + url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {e.rp.URL + "/evil"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("unregistered post_logout_redirect_uri: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Without id_token_hint the person confirms at the gateway.
	resp, err = e.c.Get(e.issuer + "/oauth2/logout")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Location") != "/logout" {
		t.Fatalf("logout without id_token_hint: %d %q, want the confirmation page", resp.StatusCode, resp.Header.Get("Location"))
	}

	resp, err = e.c.Get(e.issuer + "/oauth2/logout?" + url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {e.rp.URL + "/bye"},
		"state": {"bye-state"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != e.rp.URL+"/bye?state=bye-state" {
		t.Fatalf("RP-initiated logout: %d %q", resp.StatusCode, loc)
	}
	// The session is gone.
	if loc, _ := e.browse(e.authorizeURL("rp", nil)); !strings.HasPrefix(loc, e.issuer+"/login?") {
		t.Fatalf("after logout, authorization went to %q, want the login page", loc)
	}

	// The back-channel logout token arrives and verifies.
	var lt string
	select {
	case lt = <-e.logoutTokens:
	case <-time.After(10 * time.Second):
		t.Fatal("no back-channel logout token")
	}
	verifyLogoutToken(t, e, lt, idt.Subject, idc.SID)

	// The tokens issued under the session are revoked.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, intro := e.post("/oauth2/introspect", url.Values{"token": {tok.AccessToken}}, "rp", e.secret)
		if intro["active"] != true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the session's access token is still active after logout")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// verifyLogoutToken checks a logout token as an RP must (OIDC
// Back-Channel Logout 1.0 §2.6).
func verifyLogoutToken(t *testing.T, e *opEnv, raw, sub, sid string) {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	// go-oidc checks signature (against the JWKS), iss, aud and exp.
	tok, err := p.Verifier(&oidc.Config{ClientID: "rp"}).Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("logout token does not verify: %v", err)
	}
	if h := jwsHeader(t, raw); h.ExtraHeaders["typ"] != "logout+jwt" || h.Algorithm != "RS256" {
		t.Fatalf("logout token header %+v", h)
	}
	var c struct {
		SID    string                     `json:"sid"`
		JTI    string                     `json:"jti"`
		IAT    int64                      `json:"iat"`
		Nonce  *string                    `json:"nonce"`
		Events map[string]json.RawMessage `json:"events"`
	}
	if err := tok.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if tok.Subject != sub || c.SID != sid || c.JTI == "" || c.IAT == 0 || c.Nonce != nil ||
		c.Events["http://schemas.openid.net/event/backchannel-logout"] == nil {
		t.Fatalf("logout token sub %q claims %+v; want sub %q sid %q", tok.Subject, c, sub, sid)
	}
}

// TestOIDCLaunchURL: a tile of a client with initiate_login_uri starts the
// app's login with iss and target_link_uri.
func TestOIDCLaunchURL(t *testing.T) {
	e := newOPEnv(t, "")
	for _, s := range e.g.services {
		got := e.g.oidcLaunchURL(s)
		switch s.cfg.ID {
		case "rp":
			want := e.rp.URL + "/start?" + url.Values{"iss": {e.issuer}, "target_link_uri": {e.rp.URL + "/"}}.Encode()
			if got != want {
				t.Fatalf("tile of rp: %q, want %q", got, want)
			}
		case "rppost":
			if got != e.rp.URL+"/post/" {
				t.Fatalf("tile without initiate_login_uri: %q", got)
			}
		}
	}
}

// TestOIDCMachineEndpointsFromServers: the token endpoint takes a
// cross-origin POST (a single-page app) and a bare server POST without a
// CSRF token, while the gateway's own forms still refuse cross-origin
// posts.
func TestOIDCMachineEndpointsFromServers(t *testing.T) {
	e := newOPEnv(t, "")
	req, _ := http.NewRequest("POST", e.issuer+"/oauth2/token", strings.NewReader("grant_type=authorization_code&code=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://spa.example.com")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusForbidden || !strings.Contains(string(body), "error") || strings.Contains(string(body), "csrf") {
		t.Fatalf("cross-origin token request: %d %s, want the provider's OAuth error", resp.StatusCode, body)
	}
	req, _ = http.NewRequest("POST", e.issuer+"/profile", strings.NewReader("x=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin POST /profile: %d, want 403", resp.StatusCode)
	}
}

// TestOIDCLineOnly: under policy.access_route line_only the provider's
// server-to-server endpoints answer apps calling from their own networks,
// while the authorization request and the login step stay behind the
// line check.
func TestOIDCLineOnly(t *testing.T) {
	e := newOPEnv(t, `providers:
  - id: local
    type: local
  - id: office
    type: network
    label: Office
    networks: [203.0.113.0/24]
policy:
  access_route: line_only
`)
	if status, body := e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"},
		"redirect_uri": {e.rp.URL + "/callback"}}, "rp", e.secret); status == http.StatusForbidden || body["error"] == nil {
		t.Fatalf("token endpoint off the line: %d %v, want the provider's OAuth error", status, body)
	}
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/jwks.json"} {
		resp, err := http.Get(e.issuer + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s off the line: %d", path, resp.StatusCode)
		}
	}
	for _, path := range []string{strings.TrimPrefix(e.authorizeURL("rp", nil), e.issuer), "/oauth2/login?id=x", "/oauth2/logout"} {
		resp, err := e.c.Get(e.issuer + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%s off the line: %d, want 403", path, resp.StatusCode)
		}
	}
}

// TestOIDCReplicas: two gateways on one store act as one provider: the
// code issued by one is redeemed at the other, whose access token the
// first one's UserInfo accepts.
func TestOIDCReplicas(t *testing.T) {
	e := newOPEnv(t, "")
	e.signIn(e.user, "pwd")
	ctx := context.Background()
	g2, err := New(ctx, Options{Config: e.g.cfg, Store: e.st, Providers: e.g.providers, Renderer: e.g.render,
		Logger: e.g.log, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g2.Close() })
	srv2 := httptest.NewServer(g2.Handler())
	t.Cleanup(srv2.Close)

	code := e.codeFor(t, "rp", nil)
	issuer := e.issuer
	e.issuer = srv2.URL // the token request goes to the second replica
	status, tok := e.exchange(code, nil)
	e.issuer = issuer
	if status != 200 {
		t.Fatalf("code of replica 1 redeemed at replica 2: %d %v", status, tok)
	}
	req, _ := http.NewRequest("GET", e.issuer+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), e.user.Email) {
		t.Fatalf("userinfo at replica 1 with replica 2's token: %d %s", resp.StatusCode, body)
	}
	// The ID token of replica 2 verifies against replica 1's JWKS.
	p, err := oidc.NewProvider(ctx, e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verifier(&oidc.Config{ClientID: "rp"}).Verify(ctx, tok["id_token"].(string)); err != nil {
		t.Fatalf("replica 2's ID token against replica 1's JWKS: %v", err)
	}
}

// TestOIDCAlgNone: an unsigned token (alg none) is accepted nowhere: not
// as id_token_hint at logout, not as a private_key_jwt client assertion.
func TestOIDCAlgNone(t *testing.T) {
	e := newOPEnv(t, "")
	e.signIn(e.user, "pwd")
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	now := time.Now().Unix()
	hint := b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(`{"iss":"`+e.issuer+`","sub":"`+e.user.ID+`","aud":"rp","exp":`+
		strconv.FormatInt(now+300, 10)+`,"iat":`+strconv.FormatInt(now, 10)+`}`) + "."
	resp, err := e.c.Get(e.issuer + "/oauth2/logout?" + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {e.rp.URL + "/bye"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("logout with an alg none id_token_hint: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, _, err := e.g.sessions.Resolve(context.Background(), func() *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		iu, _ := url.Parse(e.issuer)
		for _, c := range e.c.Jar.Cookies(iu) {
			r.AddCookie(c)
		}
		return r
	}()); err != nil {
		t.Fatalf("the session ended on an unsigned hint: %v", err)
	}
	code := e.codeFor(t, "rpjwt", nil)
	assertion := b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(`{"iss":"rpjwt","sub":"rpjwt","aud":"`+e.issuer+`","exp":`+
		strconv.FormatInt(now+60, 10)+`,"iat":`+strconv.FormatInt(now, 10)+`,"jti":"x"}`) + "."
	status, _ := e.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {e.rp.URL + "/callback"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {assertion}}, "", "")
	if status == 200 {
		t.Fatal("an alg none client assertion was accepted")
	}
}

// TestOIDCRouteClass: the provider's machine endpoints are counted as
// class oidc, its browser steps as sign-in.
func TestOIDCRouteClass(t *testing.T) {
	for path, want := range map[string]string{
		"/oauth2/token": ClassOIDC, "/oauth2/introspect": ClassOIDC, "/oauth2/revoke": ClassOIDC, "/oauth2/userinfo": ClassOIDC,
		"/.well-known/openid-configuration": ClassOIDC, "/oauth2/authorize": ClassLogin, "/oauth2/login": ClassLogin,
		"/oauth2/logout": ClassLogin, "/.well-known/jwks.json": ClassJWKS,
	} {
		if got := routeClass(httptest.NewRequest("GET", path, nil), &reqInfo{}); got != want {
			t.Errorf("routeClass(%s) = %s, want %s", path, got, want)
		}
	}
}
