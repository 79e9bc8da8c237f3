package oidcop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/ssogate/ssogate/config"
)

// TestClientSecret: the secret's hash is compared; a client without a
// secret accepts none.
func TestClientSecret(t *testing.T) {
	secret := strings.Repeat("s", 40)
	c, err := NewClient("app", config.ServiceOIDC{ClientID: "app", ClientSecretHash: config.HashClientSecret(secret)}, "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.checkSecret(secret) || c.checkSecret(secret+"x") || c.checkSecret("") {
		t.Fatal("checkSecret does not compare the secret")
	}
	public, _ := NewClient("spa", config.ServiceOIDC{ClientID: "spa", Public: true}, "", false, nil)
	if public.checkSecret("") || public.checkSecret(secret) {
		t.Fatal("a client without a secret accepted one")
	}
}

// TestClientKeysFromJWKSURI: a private_key_jwt client's keys are fetched
// from its jwks_uri, reused while fresh, and fetched again for an unknown
// kid (the app rotated its key).
func TestClientKeysFromJWKSURI(t *testing.T) {
	newKey := func(kid string) jose.JSONWebKey {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		return jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"}
	}
	var mu sync.Mutex
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{newKey("k1")}}
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	}))
	defer srv.Close()
	c, err := NewClient("app", config.ServiceOIDC{ClientID: "app", TokenEndpointAuthMethod: "private_key_jwt", JWKSURI: srv.URL},
		"", false, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if k, err := c.keys.key(ctx, "k1"); err != nil || k.KeyID != "k1" {
			t.Fatalf("k1: %v %v", k, err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for one fresh key set, want 1", n)
	}
	mu.Lock()
	set.Keys = append(set.Keys, newKey("k2"))
	mu.Unlock()
	// Right after a fetch an unknown kid does not fetch again.
	if _, err := c.keys.key(ctx, "k2"); err == nil || fetches.Load() != 1 {
		t.Fatalf("k2 within jwksMinRefetch: %v, %d fetches", err, fetches.Load())
	}
	c.keys.fetched = c.keys.fetched.Add(-jwksMinRefetch)
	if k, err := c.keys.key(ctx, "k2"); err != nil || k.KeyID != "k2" {
		t.Fatalf("k2 after the app's rotation: %v %v", k, err)
	}
	if _, err := c.keys.key(ctx, "k3"); err == nil || fetches.Load() != 2 {
		t.Fatalf("unknown kid k3: %v, %d fetches, want not found and no new fetch", err, fetches.Load())
	}
}
