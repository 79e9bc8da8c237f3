package gateway

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/store"
)

// keyGrace is how long past its retirement (beyond the assertion TTL) a
// key stays in the JWKS, for clock skew and caches.
const keyGrace = time.Minute

// DefaultKeyActivation is how long a rotated-in key is published before it
// signs, so that verifiers (and other replicas, which reload keys every
// keyReload) learn it before the first token it signs arrives.
const DefaultKeyActivation = 2 * keyReload

// keyReload is how often a gateway rereads the signing keys from the store.
const keyReload = 30 * time.Second

// keyring holds the assertion signing keys: the one that signs now and the
// public keys published at /.well-known/jwks.json.
type keyring struct {
	store store.Store
	seal  cipher.AEAD
	ttl   time.Duration
	now   func() time.Time

	mu       sync.RWMutex
	keys     []*loadedKey // oldest ActiveAt first
	loadedAt time.Time
}

// loadedKey is a usable signing key.
type loadedKey struct {
	meta   *store.SigningKey
	signer jose.Signer
	public jose.JSONWebKey
}

// sealer returns the AEAD that encrypts private keys at rest, keyed from
// the gateway's master secret.
func sealer(master []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, master, nil, "ssogate signing key seal", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func newKeyring(ctx context.Context, st store.Store, master []byte, ttl time.Duration, now func() time.Time) (*keyring, error) {
	aead, err := sealer(master)
	if err != nil {
		return nil, fmt.Errorf("gateway: key seal: %w", err)
	}
	k := &keyring{store: st, seal: aead, ttl: ttl, now: now}
	if err := k.load(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// load rereads the keys, creating the first one when there is none and
// deleting keys whose last token expired long ago.
func (k *keyring) load(ctx context.Context) error {
	metas, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("gateway: list signing keys: %w", err)
	}
	now := k.now()
	if !hasSigner(metas, now) {
		m, err := newSigningKey(k.seal, now, now)
		if err != nil {
			return err
		}
		if err := k.store.AddSigningKey(ctx, m); err != nil {
			return fmt.Errorf("gateway: add signing key: %w", err)
		}
		if metas, err = k.store.ListSigningKeys(ctx); err != nil {
			return fmt.Errorf("gateway: list signing keys: %w", err)
		}
	}
	// Keys already open are kept: unsealing and parsing each key again
	// every reload is work for nothing when only one was added.
	k.mu.RLock()
	open := make(map[string]*loadedKey, len(k.keys))
	for _, lk := range k.keys {
		open[lk.meta.ID] = lk
	}
	k.mu.RUnlock()
	var keys []*loadedKey
	for _, m := range metas {
		if !m.RetiredAt.IsZero() && now.After(m.RetiredAt.Add(k.ttl+keyGrace+time.Hour)) {
			_ = k.store.DeleteSigningKey(ctx, m.ID)
			continue
		}
		if lk := open[m.ID]; lk != nil && sameKey(lk.meta, m) {
			keys = append(keys, lk)
			continue
		}
		lk, err := openSigningKey(k.seal, m)
		if err != nil {
			return err
		}
		keys = append(keys, lk)
	}
	k.mu.Lock()
	k.keys, k.loadedAt = keys, now
	k.mu.Unlock()
	return nil
}

// sameKey reports whether a and b are the same stored key in the same state.
func sameKey(a, b *store.SigningKey) bool {
	return a.ID == b.ID && a.Algorithm == b.Algorithm && a.ActiveAt.Equal(b.ActiveAt) && a.RetiredAt.Equal(b.RetiredAt) &&
		bytes.Equal(a.Private, b.Private)
}

func hasSigner(metas []*store.SigningKey, now time.Time) bool {
	for _, m := range metas {
		if m.RetiredAt.IsZero() || now.Before(m.RetiredAt) {
			return true
		}
	}
	return false
}

// current returns the key that signs at now: the newest active one.
func (k *keyring) current() (*loadedKey, error) {
	now := k.now()
	k.mu.RLock()
	defer k.mu.RUnlock()
	for i := len(k.keys) - 1; i >= 0; i-- {
		m := k.keys[i].meta
		if !now.Before(m.ActiveAt) && (m.RetiredAt.IsZero() || now.Before(m.RetiredAt)) {
			return k.keys[i], nil
		}
	}
	return nil, errors.New("gateway: no active signing key")
}

// jwks returns the published key set: every key that signs, will sign, or
// signed a token that may still be valid.
func (k *keyring) jwks() jose.JSONWebKeySet {
	now := k.now()
	k.mu.RLock()
	defer k.mu.RUnlock()
	var set jose.JSONWebKeySet
	for _, lk := range k.keys {
		m := lk.meta
		if m.RetiredAt.IsZero() || now.Before(m.RetiredAt.Add(k.ttl+keyGrace)) {
			set.Keys = append(set.Keys, lk.public)
		}
	}
	return set
}

// newSigningKey makes a P-256 key that signs from activeAt, sealed for the
// store.
func newSigningKey(aead cipher.AEAD, now, activeAt time.Time) (*store.SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("gateway: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	kidBytes := make([]byte, 9)
	if _, err := rand.Read(kidBytes); err != nil {
		return nil, err
	}
	kid := now.UTC().Format("20060102") + "-" + base64.RawURLEncoding.EncodeToString(kidBytes)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	sealed := aead.Seal(nonce, nonce, der, []byte(kid))
	return &store.SigningKey{
		ID: kid, Algorithm: string(jose.ES256), Private: sealed, Public: pub,
		CreatedAt: now, ActiveAt: activeAt,
	}, nil
}

// openSigningKey unseals m into a signer and its public JWK.
func openSigningKey(aead cipher.AEAD, m *store.SigningKey) (*loadedKey, error) {
	if m.Algorithm != string(jose.ES256) {
		return nil, fmt.Errorf("gateway: signing key %s: unsupported algorithm %q", m.ID, m.Algorithm)
	}
	ns := aead.NonceSize()
	if len(m.Private) < ns {
		return nil, fmt.Errorf("gateway: signing key %s: sealed key too short", m.ID)
	}
	der, err := aead.Open(nil, m.Private[:ns], m.Private[ns:], []byte(m.ID))
	if err != nil {
		return nil, fmt.Errorf("gateway: signing key %s: cannot unseal (was session.secret changed?): %w", m.ID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("gateway: signing key %s: %w", m.ID, err)
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("gateway: signing key %s: not an ECDSA key", m.ID)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: priv, KeyID: m.ID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, err
	}
	return &loadedKey{meta: m, signer: signer, public: jose.JSONWebKey{
		Key: &priv.PublicKey, KeyID: m.ID, Algorithm: string(jose.ES256), Use: "sig",
	}}, nil
}

// RotateSigningKey adds a new signing key that signs from now+activateIn
// and retires the current keys at that moment; they stay published until
// their last assertion has expired. It returns the new key id.
func RotateSigningKey(ctx context.Context, cfg *config.Config, st store.Store, now time.Time, activateIn time.Duration) (string, error) {
	master, err := masterSecret(ctx, cfg, st)
	if err != nil {
		return "", err
	}
	aead, err := sealer(master)
	if err != nil {
		return "", err
	}
	activeAt := now.Add(activateIn)
	m, err := newSigningKey(aead, now, activeAt)
	if err != nil {
		return "", err
	}
	old, err := st.ListSigningKeys(ctx)
	if err != nil {
		return "", err
	}
	if err := st.AddSigningKey(ctx, m); err != nil {
		return "", fmt.Errorf("gateway: add signing key: %w", err)
	}
	for _, o := range old {
		if o.RetiredAt.IsZero() || o.RetiredAt.After(activeAt) {
			if err := st.RetireSigningKey(ctx, o.ID, activeAt); err != nil {
				return "", fmt.Errorf("gateway: retire signing key %s: %w", o.ID, err)
			}
		}
	}
	return m.ID, nil
}

// jwksJSON renders the key set for /.well-known/jwks.json.
func (k *keyring) jwksJSON() ([]byte, error) {
	return json.Marshal(k.jwks())
}

// SealedSecret returns the named secret, creating it with generate on first
// use and keeping it in the store encrypted (AES-GCM under a key derived
// from the master secret), e.g. a SAML SP's private key.
func SealedSecret(ctx context.Context, cfg *config.Config, st store.Store, name string, generate func() ([]byte, error)) ([]byte, error) {
	master, err := masterSecret(ctx, cfg, st)
	if err != nil {
		return nil, err
	}
	aead, err := sealer(master)
	if err != nil {
		return nil, err
	}
	sealed, err := st.Secret(ctx, "sealed:"+name, func() ([]byte, error) {
		plain, err := generate()
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		return aead.Seal(nonce, nonce, plain, []byte(name)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: secret %s: %w", name, err)
	}
	ns := aead.NonceSize()
	if len(sealed) < ns {
		return nil, fmt.Errorf("gateway: secret %s: too short", name)
	}
	plain, err := aead.Open(nil, sealed[:ns], sealed[ns:], []byte(name))
	if err != nil {
		return nil, fmt.Errorf("gateway: secret %s: cannot unseal (was session.secret changed?): %w", name, err)
	}
	return plain, nil
}

// TicketReplayCache remembers one-time ids (SAML assertion ids) as store
// tickets, so every replica refuses a replay.
type TicketReplayCache struct {
	Store   store.Store
	Purpose string
	Now     func() time.Time
}

// Remember reports false when id was remembered before and has not expired.
func (c TicketReplayCache) Remember(ctx context.Context, id string, until time.Time) (bool, error) {
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	err := c.Store.CreateTicket(ctx, &store.Ticket{ID: ticketID(c.Purpose + "\x00" + id), Purpose: c.Purpose,
		CreatedAt: now, ExpiresAt: until})
	if errors.Is(err, store.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}
