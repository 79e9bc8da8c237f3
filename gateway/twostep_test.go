package gateway

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/testclock"
	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/mfa/totp"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/sqlite"
)

// stepUpEnv is a gateway with the TOTP factor on a moved clock, served
// over loopback, and a browser with a password-only session of alice.
type stepUpEnv struct {
	t     *testing.T
	g     *Gateway
	st    store.Store
	clock *testclock.Clock
	srv   *httptest.Server
	c     *http.Client
	user  *store.User
	sess  *store.Session
	csrf  string
}

var stepUpCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func newStepUpEnv(t *testing.T) *stepUpEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cfg, err := config.Parse(filepath.Join(dir, "ssogate.yaml"), []byte(`
server:
  listen: 127.0.0.1:18080
  public_url: http://127.0.0.1:18080
store:
  dsn: `+filepath.Join(dir, "db")+`
services:
  - id: vault
    name: Vault
    url: http://vault.example.test/
`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, cfg.Store.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := portal.New(portal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &stepUpEnv{t: t, st: st, clock: testclock.New(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))}
	// The store is given without its change feed: the last step deletes
	// sessions in the store behind this replica's back and needs its
	// cache not to hear of it (the feed's 50 ms poll raced the test).
	e.g, err = New(ctx, Options{Config: cfg, Store: struct{ store.Store }{st}, Providers: providers.NewRegistry(), Renderer: r,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: e.clock.Now,
		Factors: []mfa.Factor{totp.New(totp.Options{Now: e.clock.Now})}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.g.Close() })
	e.user = &store.User{Email: "alice@example.co.jp", DisplayName: "Alice", Role: store.RoleUser, Status: store.StatusActive}
	if err := st.CreateUser(ctx, e.user); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	// The step-up's entry as a service would reach it: the session, and
	// where to go back to.
	mux.HandleFunc("GET /test/step-up", func(w http.ResponseWriter, r *http.Request) {
		sess, user, err := e.g.sessions.Resolve(r.Context(), r)
		if err != nil {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		e.g.stepUp(w, r, sess, user, "/account")
	})
	mux.Handle("/", e.g.Handler())
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	jar, _ := cookiejar.New(nil)
	e.c = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	w := httptest.NewRecorder()
	if e.sess, err = e.g.sessions.Create(ctx, w, httptest.NewRequest("POST", "/login", nil), e.user, []string{"pwd"}, "127.0.0.1", ""); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(e.srv.URL)
	jar.SetCookies(u, w.Result().Cookies())
	return e
}

// do sends a request and returns the status, Location and body.
func (e *stepUpEnv) do(method, path string, form url.Values) (int, string, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		form.Set("csrf_token", e.csrf)
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := e.c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := stepUpCSRF.FindSubmatch(b); m != nil {
		e.csrf = html.UnescapeString(string(m[1]))
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func (e *stepUpEnv) code(secret string) string {
	e.t.Helper()
	c, err := totp.Code(secret, totp.Step(e.clock.Now()))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// sessions returns alice's sessions' amr lists, by id.
func (e *stepUpEnv) sessions() map[string]string {
	e.t.Helper()
	ss, err := e.st.ListUserSessions(context.Background(), e.user.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range ss {
		out[s.ID] = strings.Join(s.AMR, ",")
	}
	return out
}

func TestStepUpReplacesSession(t *testing.T) {
	e := newStepUpEnv(t)

	// Not enrolled: the step-up begins with the enrolment, and the
	// password-only session stays until it is passed.
	if status, loc, _ := e.do("GET", "/test/step-up", nil); status != http.StatusSeeOther || loc != "/login/2fa/setup" {
		t.Fatalf("step-up: %d %s", status, loc)
	}
	e.do("GET", "/login/2fa/setup", nil)
	if status, loc, _ := e.do("POST", "/login/2fa/setup", url.Values{"method": {"totp"}}); loc != "/login/2fa/setup" {
		t.Fatalf("begin enrolment: %d %s", status, loc)
	}
	_, _, body := e.do("GET", "/login/2fa/setup", nil)
	m := regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no key shown:\n%s", body)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	if got := e.sessions(); len(got) != 1 || got[e.sess.ID] != "pwd" {
		t.Fatalf("sessions during the step-up = %v", got)
	}
	if _, loc, _ := e.do("POST", "/login/2fa/setup", url.Values{"code": {e.code(secret)}}); loc != "/login/2fa/codes" {
		t.Fatalf("finish enrolment: %s", loc)
	}
	e.do("GET", "/login/2fa/codes", nil)
	status, _, body := e.do("POST", "/login/2fa/codes", url.Values{"saved": {"1"}})
	if status != http.StatusOK || !strings.Contains(body, `href="/account"`) {
		t.Fatalf("completion: %d\n%s", status, body)
	}
	got := e.sessions()
	if _, ok := got[e.sess.ID]; ok || len(got) != 1 {
		t.Fatalf("sessions after the step-up = %v: the old one must be replaced", got)
	}
	for id, amr := range got {
		if amr != "pwd,otp,mfa" {
			t.Fatalf("new session %s amr %s, want pwd,otp,mfa", id, amr)
		}
		e.sess.ID = id
	}

	// Enrolled: the code, then back to where the person was going.
	e.clock.Advance(30 * time.Second)
	e.do("GET", "/test/step-up", nil)
	e.do("GET", "/login/2fa", nil)
	if _, loc, _ := e.do("POST", "/login/2fa", url.Values{"code": {e.code(secret)}}); loc != "/account" {
		t.Fatalf("second step-up: Location %s, want /account", loc)
	}
	if got := e.sessions(); len(got) != 1 || got[e.sess.ID] != "" {
		t.Fatalf("sessions after the second step-up = %v", got)
	}

	// A session ended meanwhile is not brought back by passing the step.
	e.clock.Advance(30 * time.Second)
	e.do("GET", "/test/step-up", nil)
	e.do("GET", "/login/2fa", nil)
	// Deleted in the store only (as another replica would, its notice not
	// yet here), so this replica's cache still lets the form's CSRF token
	// through and the refusal is the step-up's own.
	if _, err := e.st.DeleteUserSessions(context.Background(), e.user.ID); err != nil {
		t.Fatal(err)
	}
	status, _, body = e.do("POST", "/login/2fa", url.Values{"code": {e.code(secret)}})
	if got := e.sessions(); len(got) != 0 || status != http.StatusBadRequest || !strings.Contains(body, "ログイン中のセッションが終了しています") {
		t.Fatalf("step-up of an ended session: %d, sessions %v\n%s", status, got, body)
	}
}
