package gateway

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/store/sqlite"
)

// TestKeyringRS256Family checks the identity-provider side's key family:
// made once on first use (two replicas on one store share it), its
// certificate the same on every replica, both families published and
// rotated, and the ES256 assertion key untouched by it.
func TestKeyringRS256Family(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	master := []byte("0123456789abcdef0123456789abcdef")
	clock := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	a, err := newKeyring(ctx, st, master, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newKeyring(ctx, st, master, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.published(jose.RS256); len(got) != 0 {
		t.Fatalf("RS256 keys before first use = %d; want none (made only when needed)", len(got))
	}
	ra, err := a.currentAlg(ctx, jose.RS256)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.currentAlg(ctx, jose.RS256)
	if err != nil {
		t.Fatal(err)
	}
	if ra.meta.ID != rb.meta.ID {
		t.Fatalf("replicas sign with RS256 keys %s and %s; want one shared key", ra.meta.ID, rb.meta.ID)
	}
	if ra.cert == nil || !bytes.Equal(ra.cert.Raw, rb.cert.Raw) {
		t.Fatal("the RS256 key's certificate differs between replicas; SAML metadata must be the same on every replica")
	}
	if err := ra.cert.CheckSignature(ra.cert.SignatureAlgorithm, ra.cert.RawTBSCertificate, ra.cert.Signature); err != nil {
		t.Fatalf("certificate is not self-signed by its key: %v", err)
	}
	es, err := a.current()
	if err != nil || es.meta.Algorithm != string(jose.ES256) {
		t.Fatalf("assertion key = %v, %v; want the ES256 key", es, err)
	}
	if n := len(a.jwks().Keys); n != 2 {
		t.Fatalf("JWKS holds %d keys; want 2 (ES256 and RS256)", n)
	}

	cfg := &config.Config{}
	cfg.Session.Secret = string(master)
	kids, err := RotateSigningKey(ctx, cfg, st, clock, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(kids) != 2 {
		t.Fatalf("rotation made %d keys; want one per family in use (2)", len(kids))
	}
	if err := a.load(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.published(jose.RS256); len(got) != 2 {
		t.Fatalf("RS256 keys published after rotation = %d; want the old and the new", len(got))
	}
	if cur, _ := a.currentAlg(ctx, jose.RS256); cur.meta.ID != ra.meta.ID {
		t.Fatal("the new RS256 key signs before its activation")
	}
	clock = clock.Add(2 * time.Minute)
	if cur, _ := a.currentAlg(ctx, jose.RS256); cur.meta.ID != kids[1] {
		t.Fatalf("after activation RS256 signs with %s; want the new key %s", cur.meta.ID, kids[1])
	}
	if cur, _ := a.current(); cur.meta.ID != kids[0] {
		t.Fatalf("after activation ES256 signs with %s; want the new key %s", cur.meta.ID, kids[0])
	}
}
