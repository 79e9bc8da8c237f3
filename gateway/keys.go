package gateway

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
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

// keyring holds the gateway's signing keys, in one family per algorithm:
// ES256 signs the assertions handed to services behind the gateway; RS256
// (made on first use) signs what the identity-provider side issues, OIDC
// ID tokens and SAML responses, since RS256 is what every relying party
// accepts. Each family has the key that signs now; every public key is
// published at /.well-known/jwks.json.
type keyring struct {
	store store.Store
	seal  cipher.AEAD
	ttl   time.Duration
	now   func() time.Time

	mu       sync.RWMutex
	keys     []*loadedKey // oldest ActiveAt first
	loadedAt time.Time

	// makeMu makes one process create a missing family's first key once.
	makeMu sync.Mutex
}

// loadedKey is a usable signing key.
type loadedKey struct {
	meta    *store.SigningKey
	signer  jose.Signer
	public  jose.JSONWebKey
	private crypto.Signer
	// cert is a self-signed certificate of an RS256 key, made the same
	// way from the same key on every replica (SAML metadata carries keys
	// as certificates); nil for ES256.
	cert *x509.Certificate
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
	if !hasSigner(metas, jose.ES256, now) {
		m, err := newSigningKey(k.seal, jose.ES256, now, now)
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

// hasSigner reports whether a key of alg signs at now or will sign later.
func hasSigner(metas []*store.SigningKey, alg jose.SignatureAlgorithm, now time.Time) bool {
	for _, m := range metas {
		if m.Algorithm == string(alg) && (m.RetiredAt.IsZero() || now.Before(m.RetiredAt)) {
			return true
		}
	}
	return false
}

// current returns the assertion key that signs at now: the newest active
// ES256 key.
func (k *keyring) current() (*loadedKey, error) {
	return k.signing(jose.ES256)
}

// signing returns the newest key of alg active at now.
func (k *keyring) signing(alg jose.SignatureAlgorithm) (*loadedKey, error) {
	now := k.now()
	k.mu.RLock()
	defer k.mu.RUnlock()
	for i := len(k.keys) - 1; i >= 0; i-- {
		m := k.keys[i].meta
		if m.Algorithm == string(alg) && !now.Before(m.ActiveAt) && (m.RetiredAt.IsZero() || now.Before(m.RetiredAt)) {
			return k.keys[i], nil
		}
	}
	return nil, fmt.Errorf("gateway: no active %s signing key", alg)
}

// currentAlg returns the key of alg that signs at now, making the
// family's first key when there is none yet (RS256 is made only once the
// identity-provider side needs it).
func (k *keyring) currentAlg(ctx context.Context, alg jose.SignatureAlgorithm) (*loadedKey, error) {
	if lk, err := k.signing(alg); err == nil {
		return lk, nil
	}
	k.makeMu.Lock()
	defer k.makeMu.Unlock()
	if lk, err := k.signing(alg); err == nil {
		return lk, nil
	}
	metas, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("gateway: list signing keys: %w", err)
	}
	now := k.now()
	// Another replica may have made one meanwhile: then reloading finds it.
	if !hasSigner(metas, alg, now) {
		m, err := newSigningKey(k.seal, alg, now, now)
		if err != nil {
			return nil, err
		}
		if err := k.store.AddSigningKey(ctx, m); err != nil {
			return nil, fmt.Errorf("gateway: add signing key: %w", err)
		}
	}
	if err := k.load(ctx); err != nil {
		return nil, err
	}
	return k.signing(alg)
}

// published returns the keys of alg that are published at now: those
// that sign, will sign, or signed something that may still be valid;
// oldest first. SAML metadata lists them all, so that a service provider
// learns a rotated-in key before it signs.
func (k *keyring) published(alg jose.SignatureAlgorithm) []*loadedKey {
	now := k.now()
	k.mu.RLock()
	defer k.mu.RUnlock()
	var out []*loadedKey
	for _, lk := range k.keys {
		m := lk.meta
		if m.Algorithm == string(alg) && (m.RetiredAt.IsZero() || now.Before(m.RetiredAt.Add(k.ttl+keyGrace))) {
			out = append(out, lk)
		}
	}
	return out
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

// rsaKeyBits is the size of RS256 keys: what SAML service providers and
// OIDC relying parties all accept.
const rsaKeyBits = 2048

// newSigningKey makes a key of alg (a P-256 key for ES256, an RSA key for
// RS256) that signs from activeAt, sealed for the store.
func newSigningKey(aead cipher.AEAD, alg jose.SignatureAlgorithm, now, activeAt time.Time) (*store.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaKeyBits)
	default:
		return nil, fmt.Errorf("gateway: signing key algorithm %q not supported", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("gateway: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
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
		ID: kid, Algorithm: string(alg), Private: sealed, Public: pub,
		CreatedAt: now, ActiveAt: activeAt,
	}, nil
}

// openSigningKey unseals m into a signer and its public JWK.
func openSigningKey(aead cipher.AEAD, m *store.SigningKey) (*loadedKey, error) {
	alg := jose.SignatureAlgorithm(m.Algorithm)
	if alg != jose.ES256 && alg != jose.RS256 {
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
	var priv crypto.Signer
	switch p := parsed.(type) {
	case *ecdsa.PrivateKey:
		if alg == jose.ES256 {
			priv = p
		}
	case *rsa.PrivateKey:
		if alg == jose.RS256 {
			priv = p
		}
	}
	if priv == nil {
		return nil, fmt.Errorf("gateway: signing key %s: not an %s key", m.ID, alg)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: priv, KeyID: m.ID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, err
	}
	lk := &loadedKey{meta: m, signer: signer, private: priv, public: jose.JSONWebKey{
		Key: priv.Public(), KeyID: m.ID, Algorithm: string(alg), Use: "sig",
	}}
	if alg == jose.RS256 {
		if lk.cert, err = keyCertificate(m, priv); err != nil {
			return nil, err
		}
	}
	return lk, nil
}

// keyCertificate makes the self-signed certificate of an RS256 key. Every
// field comes from the stored key (RSA PKCS #1 v1.5 signatures are
// deterministic), so every replica publishes the same certificate.
func keyCertificate(m *store.SigningKey, priv crypto.Signer) (*x509.Certificate, error) {
	sum := sha256.Sum256([]byte(m.ID))
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(sum[:16]),
		Subject:               pkix.Name{CommonName: "ssogate signing key " + m.ID},
		NotBefore:             m.CreatedAt.Add(-time.Hour).UTC().Truncate(time.Second),
		NotAfter:              m.CreatedAt.AddDate(20, 0, 0).UTC().Truncate(time.Second),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, fmt.Errorf("gateway: signing key %s: certificate: %w", m.ID, err)
	}
	return x509.ParseCertificate(der)
}

// RotateSigningKey adds, for every key family in use (ES256 always, RS256
// once made), a new key that signs from now+activateIn, and retires that
// family's current keys at that moment; they stay published until their
// last token has expired. It returns the new key ids, ES256's first.
func RotateSigningKey(ctx context.Context, cfg *config.Config, st store.Store, now time.Time, activateIn time.Duration) ([]string, error) {
	master, err := masterSecret(ctx, cfg, st)
	if err != nil {
		return nil, err
	}
	aead, err := sealer(master)
	if err != nil {
		return nil, err
	}
	activeAt := now.Add(activateIn)
	old, err := st.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.RS256} {
		inUse := alg == jose.ES256
		for _, o := range old {
			inUse = inUse || o.Algorithm == string(alg)
		}
		if !inUse {
			continue
		}
		m, err := newSigningKey(aead, alg, now, activeAt)
		if err != nil {
			return nil, err
		}
		if err := st.AddSigningKey(ctx, m); err != nil {
			return nil, fmt.Errorf("gateway: add signing key: %w", err)
		}
		for _, o := range old {
			if o.Algorithm == string(alg) && (o.RetiredAt.IsZero() || o.RetiredAt.After(activeAt)) {
				if err := st.RetireSigningKey(ctx, o.ID, activeAt); err != nil {
					return nil, fmt.Errorf("gateway: retire signing key %s: %w", o.ID, err)
				}
			}
		}
		ids = append(ids, m.ID)
	}
	return ids, nil
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
