package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const testIssuer = "http://127.0.0.1:8080"

// fakeClock is the injected clock: expiry and rate limits are tested by
// moving it, never by sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// jwksServer plays the gateway's /.well-known/jwks.json.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64

	mu     sync.Mutex
	keys   []jose.JSONWebKey
	status int
}

func newJWKSServer(t *testing.T, keys ...jose.JSONWebKey) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.status != http.StatusOK {
			http.Error(w, "unavailable", s.status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setKeys(keys ...jose.JSONWebKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func (s *jwksServer) setStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = code
}

// testKey is a gateway signing key.
type testKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

func newTestKey(t *testing.T, kid string) testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, priv: priv}
}

// jwk is the key as the gateway publishes it.
func (k testKey) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Use: "sig", Algorithm: string(jose.ES256)}
}

func (k testKey) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	return signToken(t, jose.ES256, k.priv, k.kid, claims)
}

func signToken(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// gatewayClaims are the claims the gateway sends, issued at now.
func gatewayClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss":       testIssuer,
		"aud":       "whoami",
		"sub":       "u-1001",
		"email":     "taro.yamada@example.co.jp",
		"name":      "山田 太郎",
		"groups":    []string{"admins", "経理"},
		"amr":       []string{"pwd", "otp"},
		"auth_time": now.Add(-10 * time.Minute).Unix(),
		"iat":       now.Unix(),
		"exp":       now.Add(60 * time.Second).Unix(),
		"jti":       "jti-1",
	}
}

func with(c map[string]any, kv ...any) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
			continue
		}
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func newTestVerifier(t *testing.T, jwksURL string, clock *fakeClock) *verifier {
	t.Helper()
	v := newVerifier(testIssuer, jwksURL, "whoami", 5*time.Second, slog.New(slog.NewTextHandler(t.Output(), nil)))
	v.now = clock.Now
	return v
}

func TestVerify(t *testing.T) {
	clock := newFakeClock()
	now := clock.Now()
	k1 := newTestKey(t, "k1")
	srv := newJWKSServer(t, k1.jwk())

	impostorSameKid := newTestKey(t, "k1")
	impostorOtherKid := newTestKey(t, "k9")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&k1.priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}

	valid := k1.sign(t, gatewayClaims(now))

	tests := []struct {
		name  string
		token string
		want  reason // "" means accepted
	}{
		{"valid", valid, ""},
		{"valid with aud array", k1.sign(t, with(gatewayClaims(now), "aud", []string{"other", "whoami"})), ""},
		{"expired within leeway", k1.sign(t, with(gatewayClaims(now), "exp", now.Add(-3*time.Second).Unix())), ""},
		{"surrounding whitespace", " " + valid + " ", ""},
		{"missing", "", reasonMissing},
		{"blank", "   ", reasonMissing},
		{"malformed garbage", "not-a-jwt", reasonMalformed},
		{"malformed two parts", b64(`{"alg":"ES256","kid":"k1"}`) + "." + b64(`{}`), reasonMalformed},
		{"malformed header", "!!!." + b64(`{}`) + ".sig", reasonMalformed},
		{"malformed signature encoding", strings.Join(strings.Split(valid, ".")[:2], ".") + ".***", reasonMalformed},
		{"typ not JWT", signWithTyp(t, k1, "at+jwt", gatewayClaims(now)), reasonMalformed},
		{"no exp", k1.sign(t, with(gatewayClaims(now), "exp", nil)), reasonMalformed},
		{"wrong audience", k1.sign(t, with(gatewayClaims(now), "aud", "billing")), reasonWrongAudience},
		{"wrong issuer", k1.sign(t, with(gatewayClaims(now), "iss", "http://evil.example")), reasonWrongIssuer},
		{"issuer with trailing slash", k1.sign(t, with(gatewayClaims(now), "iss", testIssuer+"/")), reasonWrongIssuer},
		{"expired beyond leeway", k1.sign(t, with(gatewayClaims(now),
			"iat", now.Add(-70*time.Second).Unix(), "exp", now.Add(-10*time.Second).Unix())), reasonExpired},
		{"not yet valid", k1.sign(t, with(gatewayClaims(now), "nbf", now.Add(30*time.Second).Unix())), reasonNotYetValid},
		{"issued in the future", k1.sign(t, with(gatewayClaims(now),
			"iat", now.Add(30*time.Second).Unix(), "exp", now.Add(90*time.Second).Unix())), reasonNotYetValid},
		{"other key same kid", impostorSameKid.sign(t, gatewayClaims(now)), reasonBadSignature},
		{"other key other kid", impostorOtherKid.sign(t, gatewayClaims(now)), reasonUnknownKey},
		{"no kid", signToken(t, jose.ES256, k1.priv, "", gatewayClaims(now)), reasonUnknownKey},
		{"tampered payload", tamper(t, valid, "sub", "u-1"), reasonBadSignature},
		{"tampered audience", tamper(t, k1.sign(t, with(gatewayClaims(now), "aud", "billing")), "aud", "whoami"), reasonBadSignature},
		{"alg none", b64(`{"alg":"none","kid":"k1","typ":"JWT"}`) + "." + b64(mustJSON(t, gatewayClaims(now))) + ".", reasonBadSignature},
		{"alg none uppercase", b64(`{"alg":"NONE","kid":"k1","typ":"JWT"}`) + "." + b64(mustJSON(t, gatewayClaims(now))) + ".", reasonBadSignature},
		{"HS256 keyed with the public key", signToken(t, jose.HS256, pubDER, "k1", gatewayClaims(now)), reasonBadSignature},
		{"RS256", signToken(t, jose.RS256, rsaKey, "k1", gatewayClaims(now)), reasonBadSignature},
		{"ES384 header on ES256 key", swapAlg(t, valid, "ES384"), reasonBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestVerifier(t, srv.URL, clock)
			a, err := v.Verify(t.Context(), tt.token)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				checkClaims(t, a)
				return
			}
			var verr *verifyError
			if !errors.As(err, &verr) {
				t.Fatalf("Verify error = %v, want reason %q", err, tt.want)
			}
			if verr.Reason != tt.want {
				t.Fatalf("reason = %q (%v), want %q", verr.Reason, err, tt.want)
			}
			if verr.Detail == "" {
				t.Error("rejection has no detail for the page")
			}
			if strings.Contains(verr.Error(), tt.token) && strings.TrimSpace(tt.token) != "" {
				t.Error("error message contains the token")
			}
			// The claims come back, for the page, exactly when the
			// signature verified and a claim check failed.
			claimCheck := tt.want == reasonWrongIssuer || tt.want == reasonWrongAudience ||
				tt.want == reasonExpired || tt.want == reasonNotYetValid || tt.name == "no exp"
			if claimCheck != (a != nil) {
				t.Errorf("assertion returned = %v, want %v", a != nil, claimCheck)
			}
		})
	}
}

func checkClaims(t *testing.T, a *assertion) {
	t.Helper()
	if a == nil {
		t.Fatal("no assertion")
	}
	c := a.Claims
	if a.KeyID != "k1" || c.Subject != "u-1001" || c.Email != "taro.yamada@example.co.jp" || c.Name != "山田 太郎" || c.ID != "jti-1" {
		t.Errorf("claims = %+v", c)
	}
	if strings.Join(c.Groups, "|") != "admins|経理" || strings.Join(c.AMR, "|") != "pwd|otp" {
		t.Errorf("groups = %q, amr = %q", c.Groups, c.AMR)
	}
	if c.AuthTime == nil || c.Expiry == nil || c.IssuedAt == nil {
		t.Errorf("auth_time, exp or iat missing: %+v", c)
	}
	if a.Raw["name"] != "山田 太郎" || a.Raw["iss"] != testIssuer {
		t.Errorf("raw claims = %v", a.Raw)
	}
	if _, ok := a.Raw["iat"].(json.Number); !ok {
		t.Errorf("raw iat = %T, want json.Number", a.Raw["iat"])
	}
}

func signWithTyp(t *testing.T, k testKey, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", k.kid)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tamper rewrites one claim of a signed token and keeps the old signature.
func tamper(t *testing.T, token, claim string, value any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	c[claim] = value
	parts[1] = b64(mustJSON(t, c))
	return strings.Join(parts, ".")
}

// swapAlg rewrites the header's alg and keeps payload and signature.
func swapAlg(t *testing.T, token, alg string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	h["alg"] = alg
	parts[0] = b64(mustJSON(t, h))
	return strings.Join(parts, ".")
}

func TestVerifyKeyRotation(t *testing.T) {
	clock := newFakeClock()
	k1, k2 := newTestKey(t, "k1"), newTestKey(t, "k2")
	srv := newJWKSServer(t, k1.jwk())
	v := newTestVerifier(t, srv.URL, clock)

	// Each step runs against the same verifier, so the order matters.
	steps := []struct {
		name     string
		advance  time.Duration
		setup    func()
		key      testKey
		want     reason
		wantHits int64
	}{
		{name: "first use fetches", key: k1, wantHits: 1},
		{name: "known kid is cached", advance: time.Second, key: k1, wantHits: 1},
		{name: "new kid within rate limit is not refetched", advance: time.Second,
			setup: func() { srv.setKeys(k1.jwk(), k2.jwk()) }, key: k2, want: reasonUnknownKey, wantHits: 1},
		{name: "new kid after rate limit refetches", advance: 9 * time.Second, key: k2, wantHits: 2},
		{name: "old kid still verifies", key: k1, wantHits: 2},
		{name: "made-up kids do not refetch", advance: 3 * time.Second, key: newTestKey(t, "k-flood"), want: reasonUnknownKey, wantHits: 2},
		{name: "again", key: newTestKey(t, "k-flood2"), want: reasonUnknownKey, wantHits: 2},
		{name: "unknown kid after the limit fetches once", advance: 8 * time.Second, key: newTestKey(t, "k-flood3"), want: reasonUnknownKey, wantHits: 3},
		{name: "stale cache is refreshed and a removed key stops verifying", advance: 5 * time.Minute,
			setup: func() { srv.setKeys(k2.jwk()) }, key: k1, want: reasonUnknownKey, wantHits: 4},
		{name: "current key after refresh", key: k2, wantHits: 4},
		{name: "failed refresh keeps the cached keys", advance: 5 * time.Minute,
			setup: func() { srv.setStatus(http.StatusServiceUnavailable) }, key: k2, wantHits: 5},
		{name: "unknown kid while the gateway is down", advance: 11 * time.Second, key: k1, want: reasonJWKSUnavailable, wantHits: 6},
		{name: "gateway back", advance: 11 * time.Second,
			setup: func() { srv.setStatus(http.StatusOK); srv.setKeys(k1.jwk(), k2.jwk()) }, key: k1, wantHits: 7},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clock.Advance(st.advance)
			if st.setup != nil {
				st.setup()
			}
			_, err := v.Verify(t.Context(), st.key.sign(t, gatewayClaims(clock.Now())))
			checkReason(t, err, st.want)
			if got := srv.hits.Load(); got != st.wantHits {
				t.Errorf("JWKS hits = %d, want %d", got, st.wantHits)
			}
		})
	}
}

func TestVerifyJWKSUnavailable(t *testing.T) {
	k1 := newTestKey(t, "k1")
	down := newJWKSServer(t, k1.jwk())
	down.setStatus(http.StatusInternalServerError)
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>login</html>"))
	}))
	t.Cleanup(garbage.Close)
	noUsable := newJWKSServer(t, jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "k1", Algorithm: "HS256"})
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name string
		url  string
	}{
		{"500", down.URL},
		{"not JSON", garbage.URL},
		{"no usable key", noUsable.URL},
		{"connection refused", closed.URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			v := newTestVerifier(t, tt.url, clock)
			_, err := v.Verify(t.Context(), k1.sign(t, gatewayClaims(clock.Now())))
			checkReason(t, err, reasonJWKSUnavailable)
		})
	}
}

func TestFetchSkipsUnusableKeys(t *testing.T) {
	good := newTestKey(t, "good")
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys := []jose.JSONWebKey{
		{Key: &p384.PublicKey, KeyID: "p384"},
		{Key: &rsaKey.PublicKey, KeyID: "rsa", Algorithm: "RS256", Use: "sig"},
		{Key: &newTestKey(t, "enc").priv.PublicKey, KeyID: "enc", Use: "enc"},
		{Key: &newTestKey(t, "").priv.PublicKey},
		good.jwk(),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var raw []json.RawMessage
		for _, k := range keys {
			b, err := k.MarshalJSON()
			if err != nil {
				t.Error(err)
			}
			raw = append(raw, b)
		}
		// A key type go-jose does not know must not spoil the set.
		raw = append(raw, json.RawMessage(`{"kty":"XYZ","kid":"future"}`))
		json.NewEncoder(w).Encode(map[string]any{"keys": raw})
	}))
	t.Cleanup(srv.Close)

	v := newTestVerifier(t, srv.URL, newFakeClock())
	got, err := v.fetch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["good"] == nil {
		t.Errorf("fetched keys = %v, want only \"good\"", got)
	}
}

func checkReason(t *testing.T, err error, want reason) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		return
	}
	var verr *verifyError
	if !errors.As(err, &verr) || verr.Reason != want {
		t.Fatalf("Verify error = %v, want reason %q", err, want)
	}
}
