package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/store"
)

// countingStore counts the session and user reads the hot path makes.
type countingStore struct {
	store.Store
	sessions, users atomic.Int64
}

func (c *countingStore) GetSession(ctx context.Context, id string) (*store.Session, error) {
	c.sessions.Add(1)
	return c.Store.GetSession(ctx, id)
}

func (c *countingStore) GetUser(ctx context.Context, id string) (*store.User, error) {
	c.users.Add(1)
	return c.Store.GetUser(ctx, id)
}

func TestHotPathCachesSessionAndAssertion(t *testing.T) {
	var cs *countingStore
	h, _ := newHandoffHarness(t, func(s store.Store) store.Store {
		cs = &countingStore{Store: s}
		return cs
	})
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser()
	b.login("alice@example.co.jp", alicePW, "")
	expectStatus(t, b.get("/app/warm"), 200)

	authReq := func() *page {
		req, _ := http.NewRequest("GET", h.url+"/auth", nil)
		req.Header.Set("X-Forwarded-Host", "fwd.example.test:8081")
		req.Header.Set("X-Forwarded-Uri", "/x")
		return b.do(req)
	}
	first := authReq().Header.Get("X-Ssogate-Assertion")
	s0, u0 := cs.sessions.Load(), cs.users.Load()
	for range 100 {
		expectStatus(t, b.get("/app/x"), 200)
		p := authReq()
		expectStatus(t, p, 200)
		if p.Header.Get("X-Ssogate-Assertion") != first {
			t.Fatal("assertion re-signed within its reuse window")
		}
	}
	if ds, du := cs.sessions.Load()-s0, cs.users.Load()-u0; ds != 0 || du != 0 {
		t.Fatalf("200 hot-path requests read the store %d (sessions) + %d (users) times, want 0", ds, du)
	}

	// Past the cache TTL the session is read again, once.
	h.clock.Advance(h.app.cfg.Session.CacheTTL.D())
	authReq()
	authReq()
	if ds := cs.sessions.Load() - s0; ds != 1 {
		t.Fatalf("after the cache TTL: %d session reads, want 1", ds)
	}
	// Still reused just before three quarters of its life; past them a
	// fresh one is signed (a quarter of its life is always left).
	ttl := h.app.cfg.Assertion.TTL.D()
	h.clock.Advance(ttl/2 - time.Second)
	if p := authReq(); p.Header.Get("X-Ssogate-Assertion") != first {
		t.Fatal("assertion re-signed before three quarters of its lifetime")
	}
	h.clock.Advance(ttl/4 + time.Second)
	if p := authReq(); p.Header.Get("X-Ssogate-Assertion") == first {
		t.Fatal("assertion not renewed after three quarters of its lifetime")
	} else {
		verifyAssertion(t, h, p.Header.Get("X-Ssogate-Assertion"), "fwd")
	}

	// Revocation on this replica is immediate, despite the cache.
	b.get("/logout")
	b.post("/logout", map[string][]string{})
	expectStatus(t, authReq(), http.StatusUnauthorized)
}

func TestAssertionRejectedDownstream(t *testing.T) {
	h, _ := newHandoffHarness(t, nil)
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser()
	b.login("alice@example.co.jp", alicePW, "")
	req, _ := http.NewRequest("GET", h.url+"/auth", nil)
	req.Header.Set("X-Forwarded-Host", "fwd.example.test:8081")
	p := b.do(req)
	token := p.Header.Get("X-Ssogate-Assertion")
	now := h.clock.Now()
	if _, err := verifyWithJWKS(h, token, "fwd", now); err != nil {
		t.Fatalf("genuine token rejected: %v", err)
	}

	// The same claims under the gateway's kid, signed by another key.
	parsed, _ := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	var claims map[string]any
	parsed.UnsafeClaimsWithoutVerification(&claims)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256,
		Key: jose.JSONWebKey{Key: other, KeyID: parsed.Headers[0].KeyID}}, nil)
	forged, _ := jwt.Signed(signer).Claims(claims).Serialize()
	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("secret-secret-secret-secret-1234")}, nil)
	hmacForged, _ := jwt.Signed(hs).Claims(claims).Serialize()
	parts := strings.Split(token, ".")
	tampered := parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2]

	tests := []struct {
		name, token, aud string
		at               time.Time
	}{
		{"wrong audience", token, "app", now},
		{"expired", token, "fwd", now.Add(h.app.cfg.Assertion.TTL.D() + time.Second)},
		{"wrong key", forged, "fwd", now},
		{"HS256", hmacForged, "fwd", now},
		{"tampered payload", tampered, "fwd", now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := verifyWithJWKS(h, tt.token, tt.aud, tt.at); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestSigningKeyRotation(t *testing.T) {
	h, _ := newHandoffHarness(t, nil)
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser()
	b.login("alice@example.co.jp", alicePW, "")
	assertion := func() string {
		req, _ := http.NewRequest("GET", h.url+"/auth", nil)
		req.Header.Set("X-Forwarded-Host", "fwd.example.test:8081")
		return b.do(req).Header.Get("X-Ssogate-Assertion")
	}
	kid := func(tok string) string {
		p, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		return p.Headers[0].KeyID
	}
	oldTok := assertion()
	oldKid := kid(oldTok)

	// The key is persisted: a second gateway on the same store signs with it.
	keys, _ := h.app.store.ListSigningKeys(context.Background())
	if len(keys) != 1 || keys[0].ID != oldKid {
		t.Fatalf("stored keys = %v", keys)
	}
	if strings.Contains(string(keys[0].Private), "PRIVATE") || len(keys[0].Private) < 100 {
		t.Fatal("private key not sealed at rest")
	}

	// Rotate with a one-minute activation: the new key is published at
	// once but the old one keeps signing until then.
	newKids, err := gateway.RotateSigningKey(context.Background(), h.app.cfg, h.app.store, h.clock.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	newKid := newKids[0]
	if err := h.app.gateway.ReloadKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	set, _ := fetchJWKS(h)
	if len(set.Key(oldKid)) != 1 || len(set.Key(newKid)) != 1 {
		t.Fatalf("JWKS after rotation lacks a key: %+v", set)
	}
	h.clock.Advance(h.app.cfg.Assertion.TTL.D()/2 + time.Second)
	if tok := assertion(); kid(tok) != oldKid {
		t.Fatalf("signed with %s before the new key's activation", kid(tok))
	}
	if _, err := verifyWithJWKS(h, oldTok, "fwd", h.clock.Now()); err != nil {
		t.Fatalf("an assertion made before the rotation no longer verifies: %v", err)
	}
	h.clock.Advance(h.app.cfg.Assertion.TTL.D()/2 + time.Second)
	newTok := assertion()
	if kid(newTok) != newKid {
		t.Fatalf("new assertions signed by %s, want %s", kid(newTok), newKid)
	}
	if _, err := verifyWithJWKS(h, newTok, "fwd", h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// The old key leaves the JWKS once its last token has expired.
	for range 4 { // stay active so the session outlives the wait
		h.clock.Advance(time.Minute)
		assertion()
	}
	set, _ = fetchJWKS(h)
	if len(set.Key(oldKid)) != 0 || len(set.Key(newKid)) != 1 {
		t.Fatalf("JWKS long after rotation: %+v", set)
	}
	// The CLI rotates with the wall clock and lists the keys.
	out, _, err := runCLI(t, "", "--config", h.configPath, "keys", "rotate")
	if err != nil || !strings.HasPrefix(out, "new signing key ") {
		t.Fatalf("keys rotate: %v %q", err, out)
	}
	cliKid := strings.Fields(out)[3]
	out, _, _ = runCLI(t, "", "--config", h.configPath, "keys", "list")
	for _, want := range []string{oldKid, newKid, cliKid, "retired", "published, not yet signing"} {
		if !strings.Contains(out, want) {
			t.Fatalf("keys list lacks %q:\n%s", want, out)
		}
	}
}
