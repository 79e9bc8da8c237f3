package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/testclock"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/sqlite"
)

// readCounter counts the session and user reads made through it. It
// embeds only store.Store, so a store behind it offers no change feed:
// the caches fall back to cache_ttl.
type readCounter struct {
	store.Store
	sessions, users atomic.Int64
}

func (c *readCounter) GetSession(ctx context.Context, id string) (*store.Session, error) {
	c.sessions.Add(1)
	return c.Store.GetSession(ctx, id)
}

func (c *readCounter) GetUser(ctx context.Context, id string) (*store.User, error) {
	c.users.Add(1)
	return c.Store.GetUser(ctx, id)
}

// testUser creates an active user in st.
func testUser(t testing.TB, st store.Store, email string) *store.User {
	t.Helper()
	u := &store.User{Email: email, DisplayName: "山田 太郎", Groups: []string{"staff"}, Role: store.RoleUser, Status: store.StatusActive}
	if err := st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// signIn creates a session for u and returns a request carrying its cookie.
func signIn(t testing.TB, m *sessionManager, u *store.User) *http.Request {
	t.Helper()
	w := httptest.NewRecorder()
	if _, err := m.Create(context.Background(), w, httptest.NewRequest("POST", "/login", nil), u, []string{"pwd"}, "127.0.0.1", ""); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/auth", nil)
	r.Header.Set("Cookie", strings.SplitN(w.Header().Get("Set-Cookie"), ";", 2)[0])
	return r
}

func openStore(t testing.TB) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ssogate.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

var testKeys, _, _ = deriveKeys([]byte("0123456789abcdef0123456789abcdef"))

// TestSessionCacheRefreshesInPlace: without a change feed, a session used
// after cache_ttl is read again (one session read), but its user record,
// shared with the user's other sessions, is read once for all of them.
func TestSessionCacheRefreshesInPlace(t *testing.T) {
	st, _ := openStore(t)
	rc := &readCounter{Store: st}
	clock := testclock.New(time.Now())
	m := newSessionManager(rc, testKeys, "ssogate", "", false, 30*time.Minute, 12*time.Hour, 5*time.Second, clock.Now)
	u := testUser(t, st, "a@example.co.jp")
	var reqs []*http.Request
	for range 10 {
		reqs = append(reqs, signIn(t, m, u))
	}
	ctx := context.Background()
	resolveAll := func() {
		t.Helper()
		for _, r := range reqs {
			if _, _, err := m.Resolve(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	resolveAll()
	if s, us := rc.sessions.Load(), rc.users.Load(); s != 10 || us != 1 {
		t.Fatalf("first round: %d session reads, %d user reads; want 10, 1 (one user record shared)", s, us)
	}
	resolveAll()
	if s, us := rc.sessions.Load(), rc.users.Load(); s != 10 || us != 1 {
		t.Fatalf("second round within cache_ttl: %d session reads, %d user reads; want 10, 1", s, us)
	}
	clock.Advance(6 * time.Second)
	resolveAll()
	if s, us := rc.sessions.Load(), rc.users.Load(); s != 20 || us != 2 {
		t.Fatalf("after cache_ttl: %d session reads, %d user reads; want 20, 2", s, us)
	}
	if n := m.cache.len(); n != 10 {
		t.Fatalf("cache holds %d sessions, want 10", n)
	}
	// A revocation made elsewhere is seen within cache_ttl.
	if _, err := st.DeleteUserSessions(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(6 * time.Second)
	if _, _, err := m.Resolve(ctx, reqs[0]); err != errNoSession {
		t.Fatalf("Resolve after revocation and cache_ttl = %v, want errNoSession", err)
	}
}

// TestSessionCacheBounded: the cache holds at most its size, however many
// sessions are in use, and evicts the ones not used again.
func TestSessionCacheBounded(t *testing.T) {
	st, _ := openStore(t)
	m := newSessionManager(st, testKeys, "ssogate", "", false, 30*time.Minute, 12*time.Hour, 5*time.Second, time.Now)
	m.setCacheSize(64)
	u := testUser(t, st, "a@example.co.jp")
	ctx := context.Background()
	hot := signIn(t, m, u)
	for range 500 {
		if _, _, err := m.Resolve(ctx, signIn(t, m, u)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.Resolve(ctx, hot); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.cache.len(); n > 64 {
		t.Fatalf("cache holds %d sessions, want at most 64", n)
	}
	before := m.misses.Load()
	if _, _, err := m.Resolve(ctx, hot); err != nil {
		t.Fatal(err)
	}
	if m.misses.Load() != before {
		t.Fatal("the session used all along was evicted")
	}
}

// TestSessionCacheMemory: a cached session, with its hand-off to one
// service, costs under 1 KB, and the sweep gives the memory back when the
// sessions expire.
func TestSessionCacheMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 20,000 sessions")
	}
	const n = 20_000
	g, clock := testGateway(t, "5s")
	cookies := rotatingSessions(t, g, n)
	perSession, cached := cachedBytesPerSession(t, g, cookies)
	t.Logf("%.0f bytes per cached session (session, shared user, hand-off with its assertion)", perSession)
	if cached != n {
		t.Fatalf("%d sessions cached, want %d", cached, n)
	}
	if perSession >= 1024 {
		t.Errorf("%.0f bytes per cached session, want under 1024", perSession)
	}

	var full, swept runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&full)
	clock.Advance(g.cfg.Session.IdleTimeout.D() + time.Second)
	g.handoffs.sweep(clock.Now())
	if _, err := g.sessions.sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&swept)
	if st := g.shared.CacheStats(); st.Sessions != 0 || st.Handoffs != 0 {
		t.Fatalf("after the sessions expired and the sweep: %+v, want empty caches", st)
	}
	freed := float64(int64(full.HeapAlloc)-int64(swept.HeapAlloc)) / n
	t.Logf("%.0f bytes per session freed by the sweep", freed)
	if freed < 0.8*perSession {
		t.Errorf("the sweep freed %.0f bytes per session of the %.0f cached", freed, perSession)
	}
}

// testGateway is a gateway on a real SQLite store with a clock tests move.
func testGateway(t testing.TB, cacheTTL string) (*Gateway, *testclock.Clock) {
	t.Helper()
	g, clock := newTestGateway(t, cacheTTL, nil)
	return g, clock
}

func newTestGateway(t testing.TB, cacheTTL string, wrap func(store.Store) store.Store) (*Gateway, *testclock.Clock) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	yaml := `
server:
  listen: 127.0.0.1:18080
  public_url: http://127.0.0.1:18080
store:
  dsn: ` + filepath.Join(dir, "db") + `
session:
  cache_ttl: ` + cacheTTL + `
services:
  - id: fwd
    name: Forward
    url: http://fwd.example.test/
`
	cfg, err := config.Parse(filepath.Join(dir, "ssogate.yaml"), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	var st store.Store
	sq, err := sqlite.Open(ctx, cfg.Store.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	st = sq
	if wrap != nil {
		st = wrap(sq)
	}
	clock := testclock.New(time.Now())
	r, err := portal.New(portal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(ctx, Options{Config: cfg, Store: st, Providers: providers.NewRegistry(), Renderer: r,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	testUser(t, st, "alice@example.co.jp")
	return g, clock
}

// TestCookieVersions: new cookies are version 2 and open without gob;
// version 1 cookies, written by gorilla/securecookie before the upgrade,
// still resolve; a tampered value of either resolves to nothing.
func TestCookieVersions(t *testing.T) {
	st, _ := openStore(t)
	m := newSessionManager(st, testKeys, "ssogate", "", false, 30*time.Minute, 12*time.Hour, 5*time.Second, time.Now)
	u := testUser(t, st, "a@example.co.jp")
	ctx := context.Background()

	r := signIn(t, m, u)
	v := cookieValue(r, "ssogate")
	if !strings.HasPrefix(v, cookieV2) || len(v) > 100 {
		t.Fatalf("new cookie %q: want version 2, under 100 bytes", v)
	}
	if _, _, err := m.Resolve(ctx, r); err != nil {
		t.Fatalf("version 2 cookie: %v", err)
	}

	tok := newToken()
	now := time.Now()
	if err := st.CreateSession(ctx, &store.Session{ID: sessionID(tok), UserID: u.ID, AMR: []string{"pwd"}, AuthTime: now,
		CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	old, err := securecookie.EncodeMulti("ssogate", map[any]any{"t": tok}, securecookie.New(testKeys.hash, testKeys.block))
	if err != nil {
		t.Fatal(err)
	}
	r1 := httptest.NewRequest("GET", "/", nil)
	r1.Header.Set("Cookie", "ssogate="+old)
	sess, _, err := m.Resolve(ctx, r1)
	if err != nil {
		t.Fatalf("version 1 cookie: %v", err)
	}
	if sess.ID != sessionID(tok) {
		t.Fatalf("version 1 cookie resolved to %s", sess.ID)
	}

	// other changes the character at i, in the middle of the encoding
	// where every bit counts, to a different one (a fixed replacement
	// equals the original one time in 64: CI once "tampered" 2.x… into
	// itself).
	other := func(s string, i int) string {
		c := byte('A')
		if s[i] == c {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	for _, bad := range []string{other(v, len(v)/2), other(v, len(cookieV2)), other(old, len(old)/2), "2.", "2"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", "ssogate="+bad)
		if _, _, err := m.Resolve(ctx, r); err != errNoSession {
			t.Errorf("tampered cookie %q: %v, want errNoSession", bad, err)
		}
	}
}

// TestChangeFeedRevokesAtOnce: with a store that has a change feed (the
// SQLite file is one), a revocation made by another process on the same
// store (here the CLI's own Store on the file) reaches the cache at once,
// though cache_ttl is a minute, and while the feed is live cached
// sessions are served past cache_ttl without reading the store.
func TestChangeFeedRevokesAtOnce(t *testing.T) {
	g, clock := testGateway(t, "1m")
	waitLive(t, g)
	cookies := rotatingSessions(t, g, 3)
	ctx := context.Background()
	req := func(i int) *http.Request {
		r := httptest.NewRequest("GET", "/auth", nil)
		r.Header.Set("Cookie", cookies[i])
		return r
	}
	for i := range cookies {
		if _, _, err := g.sessions.Resolve(ctx, req(i)); err != nil {
			t.Fatal(err)
		}
	}
	// Past cache_ttl, still served from the cache: the feed is live.
	clock.Advance(2 * time.Minute)
	misses := g.sessions.misses.Load()
	if _, _, err := g.sessions.Resolve(ctx, req(2)); err != nil {
		t.Fatal(err)
	}
	if g.sessions.misses.Load() != misses {
		t.Fatal("a cached session was read again past cache_ttl while the feed is live")
	}

	cli, err := sqlite.Open(ctx, g.cfg.Store.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	gone := func(what string, i int) {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for {
			_, _, err := g.sessions.Resolve(ctx, req(i))
			if err == errNoSession {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: session still resolves after 1 s (err %v)", what, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := cli.DeleteSession(ctx, g.sessions.id(req(0))); err != nil {
		t.Fatal(err)
	}
	gone("session deleted by another process", 0)
	if _, _, err := g.sessions.Resolve(ctx, req(1)); err != nil {
		t.Fatalf("another session of the user: %v", err)
	}
	u, err := cli.GetUserByEmail(ctx, "alice@example.co.jp")
	if err != nil {
		t.Fatal(err)
	}
	u.Status = store.StatusDisabled
	if err := cli.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	gone("user disabled by another process", 1)

	// New signing keys are loaded when announced.
	kids, err := RotateSigningKey(ctx, g.cfg, cli, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	kid := kids[0]
	deadline := time.Now().Add(time.Second)
	for !strings.Contains(string(must(g.keys.jwksJSON())), kid) {
		if time.Now().After(deadline) {
			t.Fatal("rotated key not published within 1 s")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Back from a loss of the feed, nothing cached is trusted.
	g.sessions.setLive(false)
	g.sessions.setLive(true)
	if st := g.shared.CacheStats(); st.Sessions != 0 || st.Handoffs != 0 {
		t.Fatalf("after the feed came back: %+v, want empty caches", st)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// waitLive waits until g's change feed is live.
func waitLive(t testing.TB, g *Gateway) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !g.sessions.live.Load() {
		if time.Now().After(deadline) {
			t.Fatal("change feed not live within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// slowTouches holds every TouchSession until release is closed.
type slowTouches struct {
	store.Store
	release chan struct{}
	touched atomic.Int64
}

func (s *slowTouches) TouchSession(ctx context.Context, id string, seen, idle time.Time) error {
	<-s.release
	s.touched.Add(1)
	return s.Store.TouchSession(ctx, id, seen, idle)
}

// TestResolveWritesNothing: sliding a session's idle expiry does not make
// the request wait for the store's write: the sweeper writes it.
func TestResolveWritesNothing(t *testing.T) {
	slow := &slowTouches{release: make(chan struct{})}
	g, clock := newTestGateway(t, "5s", func(s store.Store) store.Store { slow.Store = s; return slow })
	defer close(slow.release)
	cookies := rotatingSessions(t, g, 1)
	r := httptest.NewRequest("GET", "/auth", nil)
	r.Header.Set("Cookie", cookies[0])
	ctx := context.Background()
	if _, _, err := g.sessions.Resolve(ctx, r); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute) // a touch is due
	done := make(chan error, 1)
	go func() {
		sess, _, err := g.sessions.Resolve(ctx, r)
		if err == nil && !sess.IdleExpiresAt.Equal(clock.Now().Add(g.cfg.Session.IdleTimeout.D()).UTC()) {
			err = errNoSession
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Resolve with a touch due: %v (or the idle expiry did not slide)", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Resolve waited for the store's write")
	}
	if n := slow.touched.Load(); n != 0 {
		t.Fatalf("%d touches written during the request", n)
	}
}

// TestSweepDropsEndedWindows: the sweeper's work deletes throttle and
// rate-limit windows that have ended, and keeps the current ones.
func TestSweepDropsEndedWindows(t *testing.T) {
	g, clock := testGateway(t, "5s")
	ctx := context.Background()
	st := g.store
	if _, _, err := st.Hit(ctx, "login_ip:192.0.2.1", clock.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Hit(ctx, "login_ip:192.0.2.2", clock.Now().Add(50*time.Second), time.Minute); err != nil {
		t.Fatal(err)
	}
	clock.Advance(61 * time.Second) // the first window has ended, the second has not
	g.shared.sweepOnce()
	if n, err := st.DeleteExpiredHits(ctx, clock.Now()); err != nil || n != 0 {
		t.Fatalf("after the sweep, %d ended windows were left (err %v)", n, err)
	}
	if c, _, err := st.HitCount(ctx, "login_ip:192.0.2.2", clock.Now()); err != nil || c != 1 {
		t.Fatalf("the current window counts %d after the sweep (err %v), want 1", c, err)
	}
}

// TestSweepDropsExpiredBrowsers: the sweeper's work deletes remembered
// browsers that have expired, and keeps the others.
func TestSweepDropsExpiredBrowsers(t *testing.T) {
	g, clock := testGateway(t, "5s")
	ctx := context.Background()
	st := g.store
	u := testUser(t, st, "browser@example.com")
	for _, b := range []*store.RememberedBrowser{
		{ID: "old", UserID: u.ID, CreatedAt: clock.Now(), LastUsedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Minute)},
		{ID: "new", UserID: u.ID, CreatedAt: clock.Now(), LastUsedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)},
	} {
		if err := st.RememberBrowser(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(61 * time.Second) // the first has expired, the second has not
	g.shared.sweepOnce()
	if n, err := st.DeleteExpiredBrowsers(ctx, clock.Now()); err != nil || n != 0 {
		t.Fatalf("after the sweep, %d expired browsers were left (err %v)", n, err)
	}
	list, err := st.ListRememberedBrowsers(ctx, u.ID, clock.Now())
	if err != nil || len(list) != 1 || list[0].ID != "new" {
		t.Fatalf("browsers after the sweep = %v, %v; want the unexpired one", list, err)
	}
}

// TestSweepDropsExpiredFederation: the sweeper's work deletes OAuth
// tokens and session clients (the apps a session signed in to) that have
// expired, and keeps the others.
func TestSweepDropsExpiredFederation(t *testing.T) {
	g, clock := testGateway(t, "5s")
	ctx := context.Background()
	st := g.store
	u := testUser(t, st, "federation@example.com")
	for _, tok := range []*store.OAuthToken{
		{ID: "old", Kind: store.TokenAccess, ClientID: "app-1", UserID: u.ID, CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Minute)},
		{ID: "new", Kind: store.TokenRefresh, FamilyID: "f1", ClientID: "app-1", UserID: u.ID, CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)},
	} {
		if err := st.CreateOAuthToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*store.SessionClient{
		{SessionID: "s-old", Protocol: store.ProtocolOIDC, ClientID: "app-1", UserID: u.ID, CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Minute)},
		{SessionID: "s-new", Protocol: store.ProtocolSAML, ClientID: "sp-1", UserID: u.ID, CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)},
	} {
		if err := st.AddSessionClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(61 * time.Second) // the first of each has expired, the second has not
	g.shared.sweepOnce()
	if n, err := st.DeleteExpiredOAuthTokens(ctx, clock.Now()); err != nil || n != 0 {
		t.Fatalf("after the sweep, %d expired tokens were left (err %v)", n, err)
	}
	if n, err := st.DeleteExpiredSessionClients(ctx, clock.Now()); err != nil || n != 0 {
		t.Fatalf("after the sweep, %d expired session clients were left (err %v)", n, err)
	}
	if _, err := st.GetOAuthToken(ctx, "new"); err != nil {
		t.Fatalf("the unexpired token after the sweep: %v", err)
	}
	if list, err := st.ListSessionClients(ctx, "s-new"); err != nil || len(list) != 1 {
		t.Fatalf("the unexpired session client after the sweep = %v, %v; want it kept", list, err)
	}
}
