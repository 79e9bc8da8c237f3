package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/ssogate/ssogate/store"
)

// errNoSession means the request carries no valid session.
var errNoSession = errors.New("gateway: no session")

// cookieKeys are the secrets that sign (HMAC-SHA256) and encrypt (AES-256)
// the session cookie.
type cookieKeys struct {
	hash  []byte // 64 bytes
	block []byte // 32 bytes
}

// sessionManager issues, resolves and revokes server-side sessions. The
// browser's cookie holds only a random token, signed and encrypted by
// gorilla/sessions; the store keys the session by the token's SHA-256, so a
// copy of the database holds no usable session. Resolved sessions are cached
// in memory for cacheTTL, which bounds how late a revocation made elsewhere
// (another replica, the CLI) is noticed.
type sessionManager struct {
	store    store.Store
	cookies  *sessions.CookieStore
	name     string
	idle     time.Duration
	absolute time.Duration
	cacheTTL time.Duration
	now      func() time.Time

	mu    sync.RWMutex
	cache map[string]*cachedSession
	// ids maps a cookie value already verified and decoded to its session
	// id, so the hot path does not decode (gob, AES, HMAC) on every
	// request. Only values that decoded are added; sweep drops entries
	// whose session is no longer cached.
	ids map[string]string

	// hits and misses count resolutions served from the cache and from
	// the store, for metrics.
	hits, misses atomic.Uint64
}

// cachedSession is a resolved session and its user as of loadedAt.
type cachedSession struct {
	sess     *store.Session
	user     *store.User
	loadedAt time.Time
	// touchedAt is when LastSeenAt was last written to the store; writes
	// are spaced out so that activity does not write on every request.
	touchedAt time.Time
}

func newSessionManager(st store.Store, keys cookieKeys, name, domain string, secure bool, idle, absolute, cacheTTL time.Duration, now func() time.Time) *sessionManager {
	cs := sessions.NewCookieStore(keys.hash, keys.block)
	cs.Options = &sessions.Options{
		Path:     "/",
		Domain:   domain,
		MaxAge:   int(absolute / time.Second),
		Secure:   secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	cs.MaxAge(int(absolute / time.Second))
	return &sessionManager{
		store: st, cookies: cs, name: name,
		idle: idle, absolute: absolute, cacheTTL: cacheTTL, now: now,
		cache: map[string]*cachedSession{},
		ids:   map[string]string{},
	}
}

// sessionID turns a cookie token into the store's key.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// newToken returns 256 random bits, URL-safe.
func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("gateway: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// token returns the session token from r's cookie, or "".
func (m *sessionManager) token(r *http.Request) string {
	raw := cookieValue(r, m.name)
	if raw == "" {
		return ""
	}
	return m.decode(raw)
}

// decode verifies and decrypts a cookie value and returns its token, or "".
func (m *sessionManager) decode(raw string) string {
	var values map[any]any
	if err := securecookie.DecodeMulti(m.name, raw, &values, m.cookies.Codecs...); err != nil {
		return ""
	}
	tok, _ := values["t"].(string)
	return tok
}

// Resolve returns the live session and active user behind r, or errNoSession.
// Other errors are store failures.
func (m *sessionManager) Resolve(ctx context.Context, r *http.Request) (*store.Session, *store.User, error) {
	raw := cookieValue(r, m.name)
	if raw == "" {
		return nil, nil, errNoSession
	}
	m.mu.RLock()
	id, ok := m.ids[raw]
	m.mu.RUnlock()
	if !ok {
		tok := m.decode(raw)
		if tok == "" {
			return nil, nil, errNoSession
		}
		id = sessionID(tok)
		if m.cacheTTL > 0 {
			m.mu.Lock()
			m.ids[raw] = id
			m.mu.Unlock()
		}
	}
	return m.resolveID(ctx, id)
}

// cookieValue returns the value of the named cookie without parsing the
// others (and without allocating), or "".
func cookieValue(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if ok && k == name {
				return strings.Trim(v, `"`)
			}
		}
	}
	return ""
}

func (m *sessionManager) resolveID(ctx context.Context, id string) (*store.Session, *store.User, error) {
	now := m.now()
	m.mu.RLock()
	c := m.cache[id]
	m.mu.RUnlock()
	if c == nil || now.Sub(c.loadedAt) >= m.cacheTTL {
		m.misses.Add(1)
		sess, err := m.store.GetSession(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			m.forget(id)
			return nil, nil, errNoSession
		}
		if err != nil {
			return nil, nil, err
		}
		user, err := m.store.GetUser(ctx, sess.UserID)
		if errors.Is(err, store.ErrNotFound) {
			m.forget(id)
			return nil, nil, errNoSession
		}
		if err != nil {
			return nil, nil, err
		}
		touched := sess.LastSeenAt
		if c != nil && c.touchedAt.After(touched) {
			touched = c.touchedAt
		}
		c = &cachedSession{sess: sess, user: user, loadedAt: now, touchedAt: touched}
		if m.cacheTTL > 0 {
			m.mu.Lock()
			m.cache[id] = c
			m.mu.Unlock()
		}
	} else {
		m.hits.Add(1)
	}
	if c.sess.Expired(now) || c.user.Status != store.StatusActive {
		if c.sess.Expired(now) {
			_ = m.store.DeleteSession(ctx, id)
		}
		m.forget(id)
		return nil, nil, errNoSession
	}
	c, err := m.touch(ctx, id, c, now)
	if err != nil {
		return nil, nil, err
	}
	return c.sess, c.user, nil
}

// touch slides the idle expiry. The store is written at most once per
// idle/10 (and at most once a minute), so a busy session costs no write per
// request; the idle deadline is thus exact to within that interval.
// Cached entries are shared between requests, so they are replaced, never
// modified.
func (m *sessionManager) touch(ctx context.Context, id string, c *cachedSession, now time.Time) (*cachedSession, error) {
	every := min(m.idle/10, time.Minute)
	if now.Sub(c.touchedAt) < every {
		return c, nil
	}
	idle := now.Add(m.idle)
	s := *c.sess
	switch err := m.store.TouchSession(ctx, id, now, idle); {
	case errors.Is(err, store.ErrUnavailable):
		// The store cannot save the later deadline now (a full disk):
		// the session stays valid until the deadline it has, rather than
		// every signed-in request failing, and the next touch is tried
		// one interval later.
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("touch session: %w", err)
	default:
		s.LastSeenAt, s.IdleExpiresAt = now, idle
	}
	next := &cachedSession{sess: &s, user: c.user, loadedAt: c.loadedAt, touchedAt: now}
	if m.cacheTTL > 0 {
		m.mu.Lock()
		if cur, ok := m.cache[id]; ok && cur == c {
			m.cache[id] = next
		}
		m.mu.Unlock()
	}
	return next, nil
}

// Create starts a new session for user and writes its cookie. A fresh token
// is issued at every sign-in, so a token planted before sign-in is useless.
func (m *sessionManager) Create(ctx context.Context, w http.ResponseWriter, r *http.Request, user *store.User, amr []string, clientIP, line string) (*store.Session, error) {
	now := m.now()
	tok := newToken()
	s := &store.Session{
		ID: sessionID(tok), UserID: user.ID, AMR: amr, AuthTime: now,
		ClientIP: clientIP, UserAgent: truncate(r.UserAgent(), 512), Line: line,
		CreatedAt: now, LastSeenAt: now,
		IdleExpiresAt: now.Add(m.idle), AbsoluteExpiresAt: now.Add(m.absolute),
	}
	if err := m.store.CreateSession(ctx, s); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	if err := m.writeCookie(w, r, tok); err != nil {
		return nil, err
	}
	return s, nil
}

func (m *sessionManager) writeCookie(w http.ResponseWriter, r *http.Request, tok string) error {
	sess := sessions.NewSession(m.cookies, m.name)
	opts := *m.cookies.Options
	sess.Options = &opts
	sess.Values["t"] = tok
	if err := m.cookies.Save(r, w, sess); err != nil {
		return fmt.Errorf("write session cookie: %w", err)
	}
	return nil
}

// Destroy deletes the session behind r in the store and in the browser.
func (m *sessionManager) Destroy(ctx context.Context, w http.ResponseWriter, r *http.Request) (string, error) {
	var id string
	if tok := m.token(r); tok != "" {
		id = sessionID(tok)
		if err := m.store.DeleteSession(ctx, id); err != nil {
			return id, fmt.Errorf("delete session: %w", err)
		}
		m.forget(id)
	}
	m.clearCookie(w)
	return id, nil
}

func (m *sessionManager) clearCookie(w http.ResponseWriter) {
	o := m.cookies.Options
	http.SetCookie(w, &http.Cookie{
		Name: m.name, Value: "", Path: o.Path, Domain: o.Domain, MaxAge: -1,
		Secure: o.Secure, HttpOnly: true, SameSite: o.SameSite,
	})
}

// forget drops id from the cache (after a change made on this replica).
func (m *sessionManager) forget(id string) {
	m.mu.Lock()
	delete(m.cache, id)
	m.mu.Unlock()
}

// forgetUser drops every cached session of userID.
func (m *sessionManager) forgetUser(userID string) {
	m.mu.Lock()
	for id, c := range m.cache {
		if c.sess.UserID == userID {
			delete(m.cache, id)
		}
	}
	m.mu.Unlock()
}

// sweep drops stale cache entries and deletes expired sessions from the store.
func (m *sessionManager) sweep(ctx context.Context) (int, error) {
	now := m.now()
	m.mu.Lock()
	for id, c := range m.cache {
		if now.Sub(c.loadedAt) >= m.cacheTTL || c.sess.Expired(now) {
			delete(m.cache, id)
		}
	}
	for raw, id := range m.ids {
		if _, ok := m.cache[id]; !ok {
			delete(m.ids, raw)
		}
	}
	m.mu.Unlock()
	return m.store.DeleteExpiredSessions(ctx, now)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// CacheStats is what the in-memory caches hold and how well they serve.
type CacheStats struct {
	SessionHits, SessionMisses uint64 // resolutions from the cache, from the store
	Sessions                   int    // sessions cached now
	Handoffs                   int    // (session, service) hand-offs cached now
}

// CacheStats reports the session and hand-off caches' counters and sizes.
func (sh *Shared) CacheStats() CacheStats {
	m := sh.sessions
	m.mu.RLock()
	n := len(m.cache)
	m.mu.RUnlock()
	return CacheStats{SessionHits: m.hits.Load(), SessionMisses: m.misses.Load(), Sessions: n, Handoffs: sh.handoffs.len()}
}
