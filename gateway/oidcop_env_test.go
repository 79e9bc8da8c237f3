package gateway

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/testclock"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/sqlite"
)

// opEnv is a gateway with the OpenID Provider on, served over loopback
// at its public URL, with relying-party endpoints (callback, post-logout
// page, back-channel logout receiver) on a second server, and a browser
// (cookie jar, redirects not followed) signed in as alice.
type opEnv struct {
	t      testing.TB
	g      *Gateway
	st     store.Store
	clock  *testclock.Clock
	issuer string
	rp     *httptest.Server
	c      *http.Client
	user   *store.User
	// secret is the secret of clients rp and rppost.
	secret string
	// jwtKey is the private key of client rpjwt (private_key_jwt).
	jwtKey *rsa.PrivateKey
	// logoutTokens receives each logout token posted to the RP.
	logoutTokens chan string
}

// opClientSecret is the test clients' secret (long enough).
const opClientSecret = "s3cret-s3cret-s3cret-s3cret-s3cret-0123456789"

func newOPEnv(t testing.TB, extra string) *opEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	e := &opEnv{t: t, secret: opClientSecret, logoutTokens: make(chan string, 8),
		clock: testclock.New(time.Now())}
	rpMux := http.NewServeMux()
	rpMux.HandleFunc("POST /backchannel", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		e.logoutTokens <- r.PostForm.Get("logout_token")
		w.WriteHeader(http.StatusOK)
	})
	rpMux.HandleFunc("GET /jwks.json", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &e.jwtKey.PublicKey, KeyID: "rp-key-1", Algorithm: "RS256", Use: "sig"}}})
	})
	rpMux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "rp page") })
	e.rp = httptest.NewServer(rpMux)
	t.Cleanup(e.rp.Close)
	rp := e.rp.URL

	if err := os.WriteFile(filepath.Join(dir, "rp-secret"), []byte(opClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.jwtKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &e.jwtKey.PublicKey, KeyID: "rp-key-1", Algorithm: "RS256", Use: "sig"}}})
	if err := os.WriteFile(filepath.Join(dir, "rp-jwks.json"), jwks, 0o600); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.issuer = "http://" + ln.Addr().String()
	yaml := `
server:
  listen: ` + ln.Addr().String() + `
  public_url: ` + e.issuer + `
store:
  dsn: ` + filepath.Join(dir, "db") + `
services:
  - id: rp
    name: RP
    url: ` + rp + `/
    oidc:
      client_id: rp
      client_secret_file: ` + filepath.Join(dir, "rp-secret") + `
      redirect_uris: [` + rp + `/callback]
      post_logout_redirect_uris: [` + rp + `/bye]
      backchannel_logout_uri: ` + rp + `/backchannel
      initiate_login_uri: ` + rp + `/start
  - id: rppost
    name: RP post
    url: ` + rp + `/post/
    oidc:
      client_secret_hash: ` + config.HashClientSecret(opClientSecret) + `
      token_endpoint_auth_method: client_secret_post
      redirect_uris: [` + rp + `/callback]
  - id: rpjwt
    name: RP jwt
    url: ` + rp + `/jwt/
    oidc:
      token_endpoint_auth_method: private_key_jwt
      jwks_file: ` + filepath.Join(dir, "rp-jwks.json") + `
      redirect_uris: [` + rp + `/callback]
  - id: rpjwturi
    name: RP jwks_uri
    url: ` + rp + `/jwturi/
    oidc:
      token_endpoint_auth_method: private_key_jwt
      jwks_uri: ` + rp + `/jwks.json
      redirect_uris: [` + rp + `/callback]
  - id: spa
    name: SPA
    url: ` + rp + `/spa/
    oidc:
      public: true
      redirect_uris: [` + rp + `/callback]
  - id: finance
    name: Finance
    url: ` + rp + `/finance/
    allowed_groups: [経理]
    oidc:
      client_secret_file: ` + filepath.Join(dir, "rp-secret") + `
      redirect_uris: [` + rp + `/callback]
  - id: vault
    name: Vault
    url: ` + rp + `/vault/
    require_2fa: true
    session_timeout: 15m
    oidc:
      client_secret_file: ` + filepath.Join(dir, "rp-secret") + `
      redirect_uris: [` + rp + `/callback]
` + extra
	cfg, err := config.Parse(filepath.Join(dir, "ssogate.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	sq, err := sqlite.Open(ctx, cfg.Store.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	e.st = sq
	r, err := portal.New(portal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.g, err = New(ctx, Options{Config: cfg, Store: sq, Providers: providers.NewRegistry(), Renderer: r,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.g.Close() })
	srv := &http.Server{Handler: e.g.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	e.user = &store.User{Email: "alice@example.co.jp", DisplayName: "山田 花子", Groups: []string{"staff"},
		Phone: "+81312345678", Role: store.RoleUser, Status: store.StatusActive, Language: "ja"}
	if err := sq.CreateUser(ctx, e.user); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	e.c = &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

// signIn gives the browser a session of u signed in with amr.
func (e *opEnv) signIn(u *store.User, amr ...string) *store.Session {
	e.t.Helper()
	w := httptest.NewRecorder()
	sess, err := e.g.sessions.Create(context.Background(), w, httptest.NewRequest("POST", "/login", nil), u, amr, "127.0.0.1", "")
	if err != nil {
		e.t.Fatal(err)
	}
	iu, _ := url.Parse(e.issuer)
	e.c.Jar.SetCookies(iu, w.Result().Cookies())
	return sess
}

// browse follows the gateway's own redirects from rawURL (the provider
// and its login step) and returns the first Location that leaves them:
// the app's redirect URI, or a gateway page such as /login; "" when the
// answer is not a redirect (status then tells what it was).
func (e *opEnv) browse(rawURL string) (loc string, status int) {
	e.t.Helper()
	for range 10 {
		resp, err := e.c.Get(rawURL)
		if err != nil {
			e.t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if loc == "" {
			return "", resp.StatusCode
		}
		next, err := resp.Request.URL.Parse(loc)
		if err != nil {
			e.t.Fatal(err)
		}
		if !strings.HasPrefix(next.String(), e.issuer+"/oauth2/") {
			return next.String(), resp.StatusCode
		}
		rawURL = next.String()
	}
	e.t.Fatal("too many redirects")
	return "", 0
}

// authorizeURL is an authorization request of client with q's parameters
// added to the usual ones (code flow, openid, redirect to the RP).
func (e *opEnv) authorizeURL(client string, q url.Values) string {
	v := url.Values{"client_id": {client}, "response_type": {"code"}, "scope": {"openid email profile"},
		"redirect_uri": {e.rp.URL + "/callback"}, "state": {"st-123"}}
	for k, vs := range q {
		v[k] = vs
	}
	return e.issuer + "/oauth2/authorize?" + v.Encode()
}

// query returns the query of a redirect target.
func query(t testing.TB, loc string) url.Values {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// tokenRequest posts form to the token endpoint (or another machine
// endpoint at path) as a server would: no cookies, no browser headers.
func (e *opEnv) post(path string, form url.Values, basicUser, basicPass string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	return resp.StatusCode, m
}
