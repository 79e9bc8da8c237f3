package gateway

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/store"
)

// headerSet recognises the names of headers to strip, exact names and
// prefixes (a name ending in "*"), in any case and with '_' or '-',
// without allocating. Entries are indexed by their first letter (by the
// letter after "x-" for the many X- names), so a request header is
// compared only with the few entries that start like it.
type headerSet struct {
	first [256][]headerEntry
}

// headerEntry is one name or prefix, lower-case, in its '-' spelling.
type headerEntry struct {
	name   string
	prefix bool
}

func newHeaderSet(names []string) *headerSet {
	s := &headerSet{}
	seen := map[headerEntry]bool{}
	for _, n := range names {
		if n == "" || n == config.HeaderNone {
			continue
		}
		e := headerEntry{name: strings.ToLower(strings.ReplaceAll(n, "_", "-"))}
		e.name, e.prefix = strings.CutSuffix(e.name, "*")
		if e.name == "" || seen[e] {
			continue
		}
		seen[e] = true
		i := bucket(e.name)
		s.first[i] = append(s.first[i], e)
	}
	return s
}

// has reports whether k names a header to strip.
func (s *headerSet) has(k string) bool {
	for _, e := range s.first[bucket(k)] {
		if len(k) == len(e.name) || e.prefix && len(k) > len(e.name) {
			if foldHeaderEqual(k[:len(e.name)], e.name) {
				return true
			}
		}
	}
	return false
}

// bucket is the index of the entries a name may match: its first letter,
// or 128 + the letter after "x-". A name and every header it matches
// share the bucket: prefixes are longer than "x-".
func bucket(k string) int {
	if len(k) == 0 || k[0] >= 128 {
		return 0
	}
	c := lowerDash(k[0])
	if c == 'x' && len(k) > 2 && lowerDash(k[1]) == '-' && k[2] < 128 {
		return 128 + int(lowerDash(k[2]))
	}
	return int(c)
}

// lowerDash folds an ASCII letter to lower case and '_' to '-'.
func lowerDash(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	if c == '_' {
		return '-'
	}
	return c
}

// strip deletes every header of the set from h, whatever its spelling.
func (s *headerSet) strip(h http.Header) {
	for k := range h {
		if s.has(k) {
			delete(h, k)
		}
	}
}

// foldHeaderEqual compares k with the lower-case, '-' spelled name of the
// same length.
func foldHeaderEqual(k, lower string) bool {
	for i := 0; i < len(k); i++ {
		if lowerDash(k[i]) != lower[i] {
			return false
		}
	}
	return true
}

// pctEncode percent-encodes every byte of s but RFC 3986's unreserved
// characters, so a UTF-8 name (山田 太郎) is safe in a header.
func pctEncode(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// assertionClaims is the payload of X-Ssogate-Assertion.
type assertionClaims struct {
	jwt.Claims
	Email        string   `json:"email,omitempty"`
	Name         string   `json:"name,omitempty"`
	Phone        string   `json:"phone,omitempty"`
	Mobile       string   `json:"mobile,omitempty"`
	Organization string   `json:"organization,omitempty"`
	Department   string   `json:"department,omitempty"`
	Groups       []string `json:"groups"`
	AMR          []string `json:"amr,omitempty"`
	AuthTime     int64    `json:"auth_time"`
}

// handoff is what one session hands one service: the user's headers
// (shared by all of the user's sessions) and the signed assertion. It is
// shared between requests and never modified.
type handoff struct {
	base *userHeaders
	// assertion is X-Ssogate-Assertion's value, set as a header-map
	// slice of this array; empty when the service takes none.
	assertion [1]string
	refreshAt int64 // unix nanoseconds: re-sign the assertion from here on
}

// userHeaders are the identity headers built from one user record for one
// service, ready to set.
type userHeaders struct {
	userID    string
	names     []string   // canonical header names
	values    [][]string // their values as header-map slices, built once
	assertion string     // the assertion header's canonical name, or ""
	stamp     time.Time  // the user's UpdatedAt when built
}

// handoffKey is a (session, service) or (user, service) pair. The
// service is this Gateway's: after a reload, hand-offs built for the
// services of before are never found (and the cache is reset).
type handoffKey struct {
	id  string
	svc *service
}

// handoffCache keeps hand-offs per session and service, so the hot path
// neither rebuilds headers nor signs a JWT on every request. An assertion
// is reused for the first three quarters of its lifetime (assertionReuse),
// so a service always receives one valid for at least TTL/4 (15 s at the
// default 60 s: more than a request takes, and within the minute of clock
// skew verifiers allow). Both maps are bounded (see
// sieve); a hand-off is built when first asked for.
type handoffCache struct {
	bySession *sieve[handoffKey, handoff]
	byUser    *sieve[handoffKey, userHeaders]
	// svcs are the service ids hand-offs were built for, so that a
	// session's hand-offs are found without an index per session.
	mu   sync.Mutex
	svcs atomic.Pointer[[]*service]
}

func newHandoffCache(size int) *handoffCache {
	return &handoffCache{
		bySession: newSieve[handoffKey, handoff](size),
		byUser:    newSieve[handoffKey, userHeaders](size),
	}
}

func (c *handoffCache) get(sid string, svc *service) *handoff {
	return c.bySession.get(handoffKey{sid, svc})
}

func (c *handoffCache) put(sid string, svc *service, h *handoff) {
	if p := c.svcs.Load(); p == nil || !slices.Contains(*p, svc) {
		c.mu.Lock()
		var svcs []*service
		if p := c.svcs.Load(); p != nil {
			svcs = *p
		}
		if !slices.Contains(svcs, svc) {
			svcs = append(slices.Clip(svcs), svc)
			c.svcs.Store(&svcs)
		}
		c.mu.Unlock()
	}
	c.bySession.put(handoffKey{sid, svc}, h)
}

// len is the number of cached (session, service) hand-offs.
func (c *handoffCache) len() int {
	return c.bySession.len()
}

// reset drops every cached hand-off.
func (c *handoffCache) reset() {
	c.bySession.reset()
	c.byUser.reset()
	c.mu.Lock()
	c.svcs.Store(nil)
	c.mu.Unlock()
}

// forget drops the hand-offs of session sid.
func (c *handoffCache) forget(sid string) {
	if p := c.svcs.Load(); p != nil {
		for _, svc := range *p {
			c.bySession.delete(handoffKey{sid, svc})
		}
	}
}

// forgetUser drops every hand-off of user userID.
func (c *handoffCache) forgetUser(userID string) {
	c.bySession.prune(func(_ handoffKey, h *handoff) bool { return h.base.userID == userID })
	c.byUser.prune(func(k handoffKey, _ *userHeaders) bool { return k.id == userID })
}

// sweep drops hand-offs whose assertion would be signed anew and user
// headers no hand-off uses, and gives the memory back.
func (c *handoffCache) sweep(now time.Time) {
	ns := now.UnixNano()
	used := map[*userHeaders]bool{}
	c.bySession.prune(func(_ handoffKey, h *handoff) bool {
		if ns >= h.refreshAt {
			return true
		}
		used[h.base] = true
		return false
	})
	c.byUser.prune(func(_ handoffKey, b *userHeaders) bool { return !used[b] })
}

// assertionReuse is how long an assertion of lifetime ttl is handed out
// again: until a quarter of its life is left. Each (session, service)
// thus costs one ES256 signature per three quarters of the lifetime,
// whatever its request rate.
func assertionReuse(ttl time.Duration) time.Duration { return ttl - ttl/4 }

// handoffFor returns the identity headers sess hands svc, from the cache
// when still fresh.
func (g *Gateway) handoffFor(sess *store.Session, user *store.User, svc *service) (*handoff, error) {
	now := g.now()
	if h := g.handoffs.get(sess.ID, svc); h != nil && now.UnixNano() < h.refreshAt && h.base.stamp.Equal(user.UpdatedAt) {
		return h, nil
	}
	h := &handoff{base: g.userHeaders(user, svc), refreshAt: now.Add(assertionReuse(g.assertionTTL)).UnixNano()}
	if h.base.assertion != "" {
		tok, err := g.signAssertion(sess, user, svc, now)
		if err != nil {
			return nil, err
		}
		h.assertion[0] = tok
	}
	g.handoffs.put(sess.ID, svc, h)
	return h, nil
}

// userHeaders returns the headers user hands svc, built once per user
// record and service.
func (g *Gateway) userHeaders(user *store.User, svc *service) *userHeaders {
	k := handoffKey{user.ID, svc}
	if b := g.handoffs.byUser.get(k); b != nil && b.stamp.Equal(user.UpdatedAt) {
		return b
	}
	hn := svc.headers
	b := &userHeaders{userID: user.ID, stamp: user.UpdatedAt}
	add := func(name, value string) {
		if name != config.HeaderNone {
			b.names = append(b.names, http.CanonicalHeaderKey(name))
			b.values = append(b.values, []string{value})
		}
	}
	add(hn.User, user.Email)
	add(hn.RemoteUser, user.Email)
	add(hn.Email, user.Email)
	groups := make([]string, len(user.Groups))
	for i, gr := range user.Groups {
		groups[i] = pctEncode(gr)
	}
	add(hn.Groups, strings.Join(groups, ","))
	add(hn.Name, pctEncode(user.DisplayName))
	add(hn.Phone, pctEncode(user.Phone))
	add(hn.Mobile, pctEncode(user.Mobile))
	add(hn.Organization, pctEncode(user.Organization))
	add(hn.Department, pctEncode(user.Department))
	if hn.Assertion != config.HeaderNone {
		b.assertion = http.CanonicalHeaderKey(hn.Assertion)
	}
	g.handoffs.byUser.put(k, b)
	return b
}

// signAssertion issues a short-lived JWT for svc about user.
func (g *Gateway) signAssertion(sess *store.Session, user *store.User, svc *service, now time.Time) (string, error) {
	key, err := g.keys.current()
	if err != nil {
		return "", err
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	groups := user.Groups
	if groups == nil {
		groups = []string{}
	}
	claims := assertionClaims{
		Claims: jwt.Claims{
			Issuer:   g.issuer,
			Subject:  user.ID,
			Audience: jwt.Audience{svc.cfg.ID},
			IssuedAt: jwt.NewNumericDate(now),
			Expiry:   jwt.NewNumericDate(now.Add(g.assertionTTL)),
			ID:       base64.RawURLEncoding.EncodeToString(jti),
		},
		Email: user.Email, Name: user.DisplayName, Groups: groups, AMR: sess.AMR,
		Phone: user.Phone, Mobile: user.Mobile, Organization: user.Organization, Department: user.Department,
		AuthTime: sess.AuthTime.Unix(),
	}
	// The claims are marshalled once and signed as they are: go-jose's
	// jwt builder would marshal, unmarshal and marshal them again, which
	// at 100,000 sessions is a third of the cost of re-signing.
	payload, err := json.Marshal(&claims)
	if err != nil {
		return "", fmt.Errorf("sign assertion: %w", err)
	}
	jws, err := key.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign assertion: %w", err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("sign assertion: %w", err)
	}
	return tok, nil
}

// setHandoff writes the handoff's headers into h. The value slices are
// shared between requests; their capacity is their length, so an append
// by anyone copies rather than writes into them.
func setHandoff(h http.Header, ho *handoff) {
	for i, name := range ho.base.names {
		h[name] = ho.base.values[i][:1:1]
	}
	if ho.base.assertion != "" {
		h[ho.base.assertion] = ho.assertion[:1:1]
	}
}
