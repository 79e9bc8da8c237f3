package gateway

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/gorilla/securecookie"
)

// cookieV2 starts every session cookie written since version 2 of the
// format. gorilla/securecookie's values (version 1) are base64 and never
// hold a '.', so the two never mix up.
const cookieV2 = "2."

// tokenBytes is the length of a session token before base64.
const tokenBytes = 32

// cookieCodec seals session tokens into cookie values and opens them.
//
// Version 2 is AES-256-GCM (under a key of its own, derived from the master
// secret like the others) over the raw token, with the cookie's name as
// additional data: encrypted and authenticated (GCM's tag is checked in
// constant time) in one pass, with no serializer. A value is
// "2." + base64url(nonce | ciphertext | tag), 82 bytes where version 1
// (gob inside securecookie's HMAC-SHA256 and AES-CTR) took about 250 and
// a fresh gob decoder per call. Version 1 cookies, written before, are
// still opened, so an upgrade signs nobody out.
type cookieCodec struct {
	name string
	ad   []byte // the name, GCM's additional data
	aead cipher.AEAD
	// legacy opens version 1 values.
	legacy *securecookie.SecureCookie
}

func newCookieCodec(name string, keys cookieKeys, maxAge int) (*cookieCodec, error) {
	block, err := aes.NewCipher(keys.seal)
	if err != nil {
		return nil, fmt.Errorf("gateway: cookie cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gateway: cookie cipher: %w", err)
	}
	legacy := securecookie.New(keys.hash, keys.block)
	legacy.MaxAge(maxAge)
	return &cookieCodec{name: name, ad: []byte(name), aead: aead, legacy: legacy}, nil
}

// seal returns the cookie value that carries tok, a base64url token of
// tokenBytes bytes.
func (c *cookieCodec) seal(tok string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != tokenBytes {
		return "", fmt.Errorf("gateway: seal cookie: malformed token")
	}
	ns := c.aead.NonceSize()
	buf := make([]byte, ns, ns+tokenBytes+c.aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("gateway: seal cookie: %w", err)
	}
	buf = c.aead.Seal(buf, buf[:ns], raw, c.ad)
	return cookieV2 + base64.RawURLEncoding.EncodeToString(buf), nil
}

// sealedLen is the length of a version 2 value after its prefix, in base64.
func (c *cookieCodec) sealedLen() int {
	return base64.RawURLEncoding.EncodedLen(c.aead.NonceSize() + tokenBytes + c.aead.Overhead())
}

// openID returns the store's session id for a cookie value, or "" when
// the value is not one this gateway sealed. A version 2 value costs one
// AES-GCM open and one SHA-256.
func (c *cookieCodec) openID(v string) string {
	var tok [43]byte
	if c.openV2(v, &tok) {
		return tokenID(tok[:])
	}
	if strings.HasPrefix(v, cookieV2) {
		return ""
	}
	t := c.openLegacy(v)
	if t == "" {
		return ""
	}
	return sessionID(t)
}

// openToken returns the token in a cookie value, or "".
func (c *cookieCodec) openToken(v string) string {
	var tok [43]byte
	if c.openV2(v, &tok) {
		return string(tok[:])
	}
	if strings.HasPrefix(v, cookieV2) {
		return ""
	}
	return c.openLegacy(v)
}

// openV2 opens a version 2 value into tok, base64url, and reports
// whether it was one.
func (c *cookieCodec) openV2(v string, tok *[43]byte) bool {
	body, ok := strings.CutPrefix(v, cookieV2)
	if !ok || len(body) != c.sealedLen() || base64.RawURLEncoding.EncodedLen(tokenBytes) != len(tok) {
		return false
	}
	// Copied to the stack, so the conversion does not allocate.
	var src [96]byte
	// The buffers handed to the AEAD (an interface, so they would escape
	// and be allocated on every request) come from a pool.
	sc := openScratch.Get().(*openBuffers)
	defer openScratch.Put(sc)
	n, err := base64.RawURLEncoding.Decode(sc.sealed[:], src[:copy(src[:], body)])
	if err != nil {
		return false
	}
	ns := c.aead.NonceSize()
	plain, err := c.aead.Open(sc.raw[:0], sc.sealed[:ns], sc.sealed[ns:n], c.ad)
	if err != nil || len(plain) != tokenBytes {
		return false
	}
	base64.RawURLEncoding.Encode(tok[:], plain)
	clear(sc.raw[:]) // the token does not linger in the pool
	return true
}

// openBuffers is openV2's scratch space: the sealed value and the token.
type openBuffers struct {
	sealed [64]byte
	raw    [tokenBytes]byte
}

var openScratch = sync.Pool{New: func() any { return new(openBuffers) }}

// openLegacy returns the token in a version 1 value, or "".
func (c *cookieCodec) openLegacy(v string) string {
	var values map[any]any
	if err := c.legacy.Decode(c.name, v, &values); err != nil {
		return ""
	}
	tok, _ := values["t"].(string)
	return tok
}

// sessionID turns a cookie token into the store's key: its SHA-256, in hex.
func sessionID(token string) string {
	return tokenID([]byte(token))
}

func tokenID(token []byte) string {
	sum := sha256.Sum256(token)
	var id [2 * sha256.Size]byte
	hex.Encode(id[:], sum[:])
	return string(id[:]) // one allocation; hex.EncodeToString makes two
}
