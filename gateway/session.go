package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssogate/ssogate/store"
)

// errNoSession means the request carries no valid session.
var errNoSession = errors.New("gateway: no session")

// cookieKeys are the secrets that seal the session cookie: hash signs
// (HMAC-SHA256) and block encrypts (AES-256) version 1 cookies; seal, a
// key of its own, seals version 2 (AES-256-GCM, see cookieCodec).
type cookieKeys struct {
	hash  []byte // 64 bytes
	block []byte // 32 bytes
	seal  []byte // 32 bytes
}

// Sizes of the in-memory caches. A cached session costs about 500 bytes
// and a cached hand-off about as much again (most of it the signed
// assertion), so the defaults bound both at a few hundred megabytes.
const (
	defaultSessionCacheSize = 1 << 18
	// legacyCookieCacheSize bounds the version 1 cookie values kept
	// decoded (a gob decode each is worth keeping, for a while).
	legacyCookieCacheSize = 1 << 14
	// liveTrust is how long a cached session is trusted while the store's
	// change feed is live: revocations arrive as notices, and this only
	// bounds the damage of a notice lost by a bug.
	liveTrust = 10 * time.Minute
)

// sessionManager issues, resolves and revokes server-side sessions. The
// browser's cookie holds only a random token, sealed (see cookieCodec);
// the store keys the session by the token's SHA-256, so a copy of the
// database holds no usable session.
//
// Resolved sessions are cached, bounded (SIEVE eviction), and trusted for
// cacheTTL from when they were read: the bound on how late a revocation
// made elsewhere is seen. A session used after that is re-read in place
// (refresh on use): its cache entry, its decoded cookie and its hand-offs
// stay. While the store's change feed is live, revocations arrive as
// notices and entries are trusted for liveTrust instead. The user record
// is cached once per user and shared by that user's sessions.
type sessionManager struct {
	store    store.Store
	codec    *cookieCodec
	name     string
	opts     http.Cookie // attributes of the cookie written
	idle     time.Duration
	absolute time.Duration
	cacheTTL time.Duration
	now      func() time.Time

	cache  *sieve[string, cachedSession] // session id
	users  *sieve[string, cachedUser]    // user id
	legacy *sieve[string, string]        // version 1 cookie value -> session id
	// handoffs, when set, loses a session's hand-offs with the session.
	handoffs *handoffCache
	// gen counts invalidations: an entry read from the store is cached
	// only if no invalidation happened meanwhile, so a revocation noticed
	// during the read is not undone by the read's stale answer.
	gen atomic.Uint64
	// live is whether the store's change feed is delivering notices.
	live atomic.Bool
	// touches, when set, queues idle-expiry writes for the sweeper.
	touches chan touchReq
	// amrs interns the few distinct AMR lists shared by all sessions
	// (string key: *amrList).
	amrs sync.Map

	// hits and misses count resolutions served from the cache and from
	// the store, for metrics.
	hits, misses atomic.Uint64
}

// cachedSession is a resolved session as of loadedAt, in the few fields
// requests need (the user agent and creation time are not kept: the
// session list reads them from the store), times in unix nanoseconds. It
// is shared between requests and replaced, never modified.
type cachedSession struct {
	id             string
	user           *cachedUser
	amr            *amrList // shared, see internAMR
	clientIP, line string
	authTime       int64
	idleExpires    int64
	absExpires     int64
	loadedAt       int64
	// touchedAt is when LastSeenAt was last written to the store; writes
	// are spaced out so that activity does not write on every request.
	touchedAt int64
}

// expired reports whether the session is no longer valid at now.
func (c *cachedSession) expired(now int64) bool {
	return now >= c.idleExpires || now >= c.absExpires
}

// session returns the session as the store would, less its user agent
// and creation and last-seen times.
func (c *cachedSession) session() *store.Session {
	return &store.Session{
		ID: c.id, UserID: c.user.u.ID, AMR: c.amr.methods, AuthTime: fromNano(c.authTime),
		ClientIP: c.clientIP, Line: c.line,
		IdleExpiresAt: fromNano(c.idleExpires), AbsoluteExpiresAt: fromNano(c.absExpires),
	}
}

// toNano is t in unix nanoseconds; the zero time is 0.
func toNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNano is the inverse of toNano, in UTC.
func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// cachedUser is a user record as of loadedAt, shared by the user's
// cached sessions.
type cachedUser struct {
	u        *store.User
	loadedAt int64
}

func newSessionManager(st store.Store, keys cookieKeys, name, domain string, secure bool, idle, absolute, cacheTTL time.Duration, now func() time.Time) *sessionManager {
	codec, err := newCookieCodec(name, keys, int(absolute/time.Second))
	if err != nil {
		// Keys come from deriveKeys, of the lengths AES wants.
		panic(err)
	}
	m := &sessionManager{
		store: st, codec: codec, name: name,
		opts: http.Cookie{Path: "/", Domain: domain, MaxAge: int(absolute / time.Second),
			Secure: secure, HttpOnly: true, SameSite: http.SameSiteLaxMode},
		idle: idle, absolute: absolute, cacheTTL: cacheTTL, now: now,
	}
	m.setCacheSize(defaultSessionCacheSize)
	return m
}

// setCacheSize bounds the caches (and empties them).
func (m *sessionManager) setCacheSize(n int) {
	m.cache = newSieve[string, cachedSession](n)
	m.users = newSieve[string, cachedUser](n)
	m.legacy = newSieve[string, string](min(n, legacyCookieCacheSize))
}

// newToken returns 256 random bits, URL-safe.
func newToken() string {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		panic("gateway: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// id returns the store's session id behind r's cookie, or "".
func (m *sessionManager) id(r *http.Request) string {
	raw := cookieValue(r, m.name)
	if raw == "" {
		return ""
	}
	if strings.HasPrefix(raw, cookieV2) {
		return m.codec.openID(raw)
	}
	if id := m.legacy.get(raw); id != nil {
		return *id
	}
	id := m.codec.openID(raw)
	if id != "" && m.cacheTTL > 0 {
		// A copy: raw points into the request's whole Cookie header.
		m.legacy.put(strings.Clone(raw), &id)
	}
	return id
}

// token returns the session token from r's cookie, or "".
func (m *sessionManager) token(r *http.Request) string {
	raw := cookieValue(r, m.name)
	if raw == "" {
		return ""
	}
	return m.codec.openToken(raw)
}

// Resolve returns the live session and active user behind r, or errNoSession.
// Other errors are store failures. The session carries no UserAgent.
func (m *sessionManager) Resolve(ctx context.Context, r *http.Request) (*store.Session, *store.User, error) {
	sess, user, _, err := m.resolve(ctx, r)
	return sess, user, err
}

// resolve is Resolve that also tells whether the session's amr holds a
// second factor (hasSecondFactor), worked out once per distinct amr list
// rather than on every request.
func (m *sessionManager) resolve(ctx context.Context, r *http.Request) (*store.Session, *store.User, bool, error) {
	id := m.id(r)
	if id == "" {
		return nil, nil, false, errNoSession
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

// trust is how long an entry read from the store is served without
// reading it again.
func (m *sessionManager) trust() time.Duration {
	if m.live.Load() {
		return max(liveTrust, m.cacheTTL)
	}
	return m.cacheTTL
}

func (m *sessionManager) resolveID(ctx context.Context, id string) (*store.Session, *store.User, bool, error) {
	now := m.now()
	var c *cachedSession
	if m.cacheTTL > 0 {
		c = m.cache.get(id)
	}
	// An entry that says the session expired is checked against the
	// store: another process may have moved the idle deadline.
	if c != nil && now.UnixNano()-c.loadedAt < int64(m.trust()) && !c.expired(now.UnixNano()) {
		m.hits.Add(1)
	} else {
		m.misses.Add(1)
		var err error
		if c, err = m.load(ctx, id, c, now); err != nil {
			return nil, nil, false, err
		}
	}
	// A locked account's sessions go on: the lock stops new sign-ins
	// from browsers it does not know, so that someone guessing the
	// password cannot sign the owner out.
	if st := c.user.u.Status; c.expired(now.UnixNano()) || st != store.StatusActive && st != store.StatusLocked {
		// The sweeper deletes expired sessions: a read writes nothing.
		m.forget(id)
		return nil, nil, false, errNoSession
	}
	c, err := m.touch(ctx, id, c, now)
	if err != nil {
		return nil, nil, false, err
	}
	return c.session(), c.user.u, c.amr.secondFactor, nil
}

// load reads session id and its user from the store (the user from the
// shared user cache while fresh) and caches the result in place of old.
func (m *sessionManager) load(ctx context.Context, id string, old *cachedSession, now time.Time) (*cachedSession, error) {
	gen := m.gen.Load()
	sess, err := m.store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		m.forget(id)
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	cu, err := m.user(ctx, sess.UserID, now, gen)
	if errors.Is(err, store.ErrNotFound) {
		m.forget(id)
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	c := &cachedSession{
		id: id, user: cu, amr: m.internAMR(sess.AMR), clientIP: sess.ClientIP, line: sess.Line,
		authTime:    toNano(sess.AuthTime),
		idleExpires: toNano(sess.IdleExpiresAt), absExpires: toNano(sess.AbsoluteExpiresAt),
		loadedAt: now.UnixNano(), touchedAt: toNano(sess.LastSeenAt),
	}
	if old != nil && old.touchedAt > c.touchedAt {
		// A touch of this process may still be on its way to the store.
		c.touchedAt = old.touchedAt
		c.idleExpires = max(c.idleExpires, old.idleExpires)
	}
	if m.cacheTTL > 0 && m.gen.Load() == gen {
		m.cache.put(id, c)
	}
	return c, nil
}

// user returns user id from the shared cache while fresh, else from the
// store.
func (m *sessionManager) user(ctx context.Context, id string, now time.Time, gen uint64) (*cachedUser, error) {
	if m.cacheTTL > 0 {
		if cu := m.users.get(id); cu != nil && now.UnixNano()-cu.loadedAt < int64(m.trust()) {
			return cu, nil
		}
	}
	u, err := m.store.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	cu := &cachedUser{u: u, loadedAt: now.UnixNano()}
	if m.cacheTTL > 0 && m.gen.Load() == gen {
		m.users.put(id, cu)
	}
	return cu, nil
}

// amrList is a session's amr, shared by every session with the same
// list, with what the hot path asks of it worked out once.
type amrList struct {
	methods      []string
	secondFactor bool // hasSecondFactor(methods)
}

// internAMR returns the shared amrList of amr, cleaned as Create cleans
// it: a session stored before, or by another version, hands services no
// value outside RFC 8176 and ssogate's own either.
func (m *sessionManager) internAMR(amr []string) *amrList {
	k := strings.Join(amr, "\x00")
	if v, ok := m.amrs.Load(k); ok {
		return v.(*amrList)
	}
	amr = cleanAMR(amr)
	if len(amr) == 0 {
		amr = nil
	}
	l := &amrList{methods: slices.Clip(amr), secondFactor: hasSecondFactor(amr)}
	v, _ := m.amrs.LoadOrStore(k, l)
	return v.(*amrList)
}

// touchQueue is how many idle-expiry writes may wait for the sweeper.
const touchQueue = 4096

// touchReq asks the store to record activity on a session.
type touchReq struct {
	id         string
	seen, idle time.Time
}

// touch slides the idle expiry. The store is written at most once per
// idle/10 (and at most once a minute), so a busy session costs no write per
// request; the idle deadline is thus exact to within that interval.
// With a queue (m.touches, drained by the Shared's sweeper) the write
// happens off the request: a read writes nothing itself. Cached entries
// are shared between requests, so they are replaced, never modified.
func (m *sessionManager) touch(ctx context.Context, id string, c *cachedSession, now time.Time) (*cachedSession, error) {
	every := min(m.idle/10, time.Minute)
	if now.UnixNano()-c.touchedAt < int64(every) {
		return c, nil
	}
	idle := now.Add(m.idle)
	next := *c
	next.touchedAt = now.UnixNano()
	if m.touches != nil {
		select {
		case m.touches <- touchReq{id: id, seen: now, idle: idle}:
			next.idleExpires = idle.UnixNano()
		default:
			// The queue is full: the next request tries again.
			return c, nil
		}
	} else {
		switch err := m.store.TouchSession(ctx, id, now, idle); {
		case errors.Is(err, store.ErrUnavailable):
			// The store cannot save the later deadline now (a full disk):
			// the session stays valid until the deadline it has, rather than
			// every signed-in request failing, and the next touch is tried
			// one interval later.
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("touch session: %w", err)
		default:
			next.idleExpires = idle.UnixNano()
		}
	}
	if m.cacheTTL > 0 {
		m.cache.swap(id, c, &next)
	}
	return &next, nil
}

// touchBatch is the most touches written in one store transaction.
const touchBatch = 512

// writeTouches records queued touches in the store, in one transaction.
// Sessions gone from the store are dropped from the cache; a store that
// cannot write now (store.ErrUnavailable) keeps the deadlines they have.
func (m *sessionManager) writeTouches(ctx context.Context, batch []touchReq) error {
	touches := make([]store.SessionTouch, len(batch))
	for i, t := range batch {
		touches[i] = store.SessionTouch{ID: t.id, Seen: t.seen, Idle: t.idle}
	}
	missing, err := m.store.TouchSessions(ctx, touches)
	for _, id := range missing {
		m.forget(id)
	}
	return err
}

// Create starts a new session for user and writes its cookie. A fresh token
// is issued at every sign-in, so a token planted before sign-in is useless.
// The session records amr's RFC 8176 values and ssogate's own (cleanAMR).
func (m *sessionManager) Create(ctx context.Context, w http.ResponseWriter, r *http.Request, user *store.User, amr []string, clientIP, line string) (*store.Session, error) {
	now := m.now()
	tok := newToken()
	s := &store.Session{
		ID: sessionID(tok), UserID: user.ID, AMR: cleanAMR(amr), AuthTime: now,
		ClientIP: clientIP, UserAgent: truncate(r.UserAgent(), 512), Line: line,
		CreatedAt: now, LastSeenAt: now,
		IdleExpiresAt: now.Add(m.idle), AbsoluteExpiresAt: now.Add(m.absolute),
	}
	if err := m.store.CreateSession(ctx, s); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	if err := m.writeCookie(w, tok); err != nil {
		return nil, err
	}
	return s, nil
}

func (m *sessionManager) writeCookie(w http.ResponseWriter, tok string) error {
	v, err := m.codec.seal(tok)
	if err != nil {
		return fmt.Errorf("write session cookie: %w", err)
	}
	c := m.opts
	c.Name, c.Value = m.name, v
	if c.MaxAge > 0 {
		c.Expires = m.now().Add(time.Duration(c.MaxAge) * time.Second).UTC()
	}
	http.SetCookie(w, &c)
	return nil
}

// Destroy deletes the session behind r in the store and in the browser.
func (m *sessionManager) Destroy(ctx context.Context, w http.ResponseWriter, r *http.Request) (string, error) {
	id := m.id(r)
	if id != "" {
		if err := m.store.DeleteSession(ctx, id); err != nil {
			return id, fmt.Errorf("delete session: %w", err)
		}
		m.forget(id)
	}
	m.clearCookie(w)
	return id, nil
}

func (m *sessionManager) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: m.name, Value: "", Path: m.opts.Path, Domain: m.opts.Domain, MaxAge: -1,
		Secure: m.opts.Secure, HttpOnly: true, SameSite: m.opts.SameSite,
	})
}

// forget drops session id and its hand-offs from the caches (after a
// change made on this replica, or noticed through the change feed).
func (m *sessionManager) forget(id string) {
	m.gen.Add(1)
	m.cache.delete(id)
	if m.handoffs != nil {
		m.handoffs.forget(id)
	}
}

// forgetUser drops user userID and every cached session and hand-off of
// theirs.
func (m *sessionManager) forgetUser(userID string) {
	m.gen.Add(1)
	m.users.delete(userID)
	m.cache.prune(func(_ string, c *cachedSession) bool { return c.user.u.ID == userID })
	if m.handoffs != nil {
		m.handoffs.forgetUser(userID)
	}
}

// reset drops everything cached (after the change feed was down: notices
// may have been missed).
func (m *sessionManager) reset() {
	m.gen.Add(1)
	m.cache.reset()
	m.users.reset()
	m.legacy.reset()
	if m.handoffs != nil {
		m.handoffs.reset()
	}
}

// setLive records whether the change feed delivers notices. Coming back
// drops everything cached, since notices were missed meanwhile; going
// down makes entries trusted for cacheTTL again.
func (m *sessionManager) setLive(live bool) {
	if live {
		m.reset()
	}
	m.live.Store(live)
}

// sweep drops cache entries of expired sessions and entries not used for
// a while (a used entry is re-read at least every trust period), gives the
// memory back, and deletes expired sessions from the store.
func (m *sessionManager) sweep(ctx context.Context) (int, error) {
	now := m.now()
	old := now.Add(-m.trust() - time.Minute).UnixNano()
	m.cache.prune(func(_ string, c *cachedSession) bool {
		return c.loadedAt < old || c.expired(now.UnixNano())
	})
	m.users.prune(func(_ string, cu *cachedUser) bool { return cu.loadedAt < old })
	m.legacy.prune(func(_ string, id *string) bool { return m.cache.get(*id) == nil })
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

// What the caches are allowed in memory per cached session and per cached
// (session, service) hand-off: twice what each holds live, rounded up (a
// session about 280 bytes with its share of the maps, a hand-off about
// 730, most of it the signed assertion), the collector's usual headroom
// (TestCacheAllowanceCoversLiveSize measures both).
const (
	cachedSessionAllowance = 640
	cachedHandoffAllowance = 1536
)

// MemoryAllowance is what the soft memory limit should leave the caches
// holding st. A limit that counted sessions alone sat under the heap the
// collector aims for once sessions were handed to several services, and
// the collector then ran without pause: at 100,000 sessions handed to two
// services, /auth and the proxy fell to 0.68x and 0.74x of their
// one-session rates.
func (st CacheStats) MemoryAllowance() int64 {
	return int64(st.Sessions)*cachedSessionAllowance + int64(st.Handoffs)*cachedHandoffAllowance
}

// CacheStats reports the session and hand-off caches' counters and sizes.
func (sh *Shared) CacheStats() CacheStats {
	m := sh.sessions
	return CacheStats{SessionHits: m.hits.Load(), SessionMisses: m.misses.Load(), Sessions: m.cache.len(), Handoffs: sh.handoffs.len()}
}
