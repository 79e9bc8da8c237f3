package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// csrfField is the hidden form field that carries the token.
const csrfField = "csrf_token"

// csrf protects every state-changing form with two independent checks:
//
//  1. net/http's CrossOriginProtection refuses non-safe requests whose
//     Sec-Fetch-Site or Origin shows they come from another origin;
//  2. a synchronizer token: HMAC-SHA256 over a random per-browser cookie
//     and the session id, compared in constant time. A forged form cannot
//     know it, and it changes at every sign-in.
type csrf struct {
	key    []byte
	cookie string // name of the per-browser random cookie
	secure bool
}

// browserID returns the per-browser CSRF cookie value, setting a new one on
// w when the request has none.
func (c *csrf) browserID(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(c.cookie); err == nil && len(ck.Value) >= 32 {
		return ck.Value
	}
	v := newToken()
	http.SetCookie(w, &http.Cookie{
		Name: c.cookie, Value: v, Path: "/", HttpOnly: true,
		Secure: c.secure, SameSite: http.SameSiteLaxMode,
	})
	// Make the new value visible to later reads in this request.
	r.AddCookie(&http.Cookie{Name: c.cookie, Value: v})
	return v
}

// token returns the CSRF token for this browser and session id ("" when
// signed out).
func (c *csrf) token(w http.ResponseWriter, r *http.Request, sessionID string) string {
	return c.mac(c.browserID(w, r), sessionID)
}

func (c *csrf) mac(browser, sessionID string) string {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte("csrf\x00"))
	h.Write([]byte(browser))
	h.Write([]byte{0})
	h.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// valid reports whether the submitted form token matches this browser and
// one of the given session ids ("" for signed out). The form must already
// be parsed.
func (c *csrf) valid(r *http.Request, sessionIDs ...string) bool {
	ck, err := r.Cookie(c.cookie)
	if err != nil || len(ck.Value) < 32 {
		return false
	}
	got := []byte(r.PostFormValue(csrfField))
	if len(got) == 0 {
		return false
	}
	ok := false
	for _, sid := range sessionIDs {
		// Evaluate every candidate so the time taken does not depend on
		// which one matched.
		if hmac.Equal(got, []byte(c.mac(ck.Value, sid))) {
			ok = true
		}
	}
	return ok
}
