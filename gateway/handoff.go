package gateway

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
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

// handoff is what one session hands one service: header names and values,
// ready to set. It is shared between requests and never modified.
type handoff struct {
	headers   [][2]string
	values    [][]string // headers' values as header-map slices, built once
	refreshAt time.Time  // re-sign the assertion from here on
	userStamp time.Time  // the user's UpdatedAt when built
}

// handoffCache keeps handoffs per session and service, so the hot path
// neither rebuilds headers nor signs a JWT on every request. An assertion
// is reused for the first half of its lifetime, so a service always
// receives one valid for at least TTL/2.
type handoffCache struct {
	mu sync.RWMutex
	m  map[string]map[string]*handoff // session id -> service id -> handoff
}

func (c *handoffCache) get(sid, svc string) *handoff {
	c.mu.RLock()
	h := c.m[sid][svc]
	c.mu.RUnlock()
	return h
}

func (c *handoffCache) put(sid, svc string, h *handoff) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]map[string]*handoff{}
	}
	bySvc := c.m[sid]
	if bySvc == nil {
		bySvc = map[string]*handoff{}
		c.m[sid] = bySvc
	}
	bySvc[svc] = h
	c.mu.Unlock()
}

// len is the number of cached (session, service) hand-offs.
func (c *handoffCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := 0
	for _, bySvc := range c.m {
		n += len(bySvc)
	}
	return n
}

// reset drops every cached hand-off.
func (c *handoffCache) reset() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

func (c *handoffCache) forget(sid string) {
	c.mu.Lock()
	delete(c.m, sid)
	c.mu.Unlock()
}

// sweep drops handoffs whose assertion has expired.
func (c *handoffCache) sweep(now time.Time, ttl time.Duration) {
	c.mu.Lock()
	for sid, bySvc := range c.m {
		for svc, h := range bySvc {
			if now.After(h.refreshAt.Add(ttl)) {
				delete(bySvc, svc)
			}
		}
		if len(bySvc) == 0 {
			delete(c.m, sid)
		}
	}
	c.mu.Unlock()
}

// handoffFor returns the identity headers sess hands svc, from the cache
// when still fresh.
func (g *Gateway) handoffFor(sess *store.Session, user *store.User, svc *service) (*handoff, error) {
	now := g.now()
	if h := g.handoffs.get(sess.ID, svc.cfg.ID); h != nil && now.Before(h.refreshAt) && h.userStamp.Equal(user.UpdatedAt) {
		return h, nil
	}
	hn := svc.headers
	h := &handoff{userStamp: user.UpdatedAt, refreshAt: now.Add(g.assertionTTL / 2)}
	add := func(name, value string) {
		if name != config.HeaderNone {
			h.headers = append(h.headers, [2]string{http.CanonicalHeaderKey(name), value})
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
		tok, err := g.signAssertion(sess, user, svc, now)
		if err != nil {
			return nil, err
		}
		add(hn.Assertion, tok)
	}
	for _, kv := range h.headers {
		h.values = append(h.values, []string{kv[1]})
	}
	g.handoffs.put(sess.ID, svc.cfg.ID, h)
	return h, nil
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
	tok, err := jwt.Signed(key.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign assertion: %w", err)
	}
	return tok, nil
}

// setHandoff writes the handoff's headers into h. The value slices are
// shared between requests; their capacity is their length, so an append
// by anyone copies rather than writes into them.
func setHandoff(h http.Header, ho *handoff) {
	for i, kv := range ho.headers {
		h[kv[0]] = ho.values[i][:1:1]
	}
}
