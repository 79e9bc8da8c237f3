package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// reason says why an assertion was not accepted. The values are part of the
// JSON the gateway's tests read; do not rename them.
type reason string

const (
	reasonMissing         reason = "missing"
	reasonMalformed       reason = "malformed"
	reasonUnknownKey      reason = "unknown_key"
	reasonBadSignature    reason = "bad_signature"
	reasonWrongIssuer     reason = "wrong_issuer"
	reasonWrongAudience   reason = "wrong_audience"
	reasonExpired         reason = "expired"
	reasonNotYetValid     reason = "not_yet_valid"
	reasonJWKSUnavailable reason = "jwks_unavailable"
)

const (
	// jwksRefreshEvery is how old the cached key set may grow before a
	// verification fetches it again, so removed keys stop verifying.
	jwksRefreshEvery = 5 * time.Minute
	// jwksMinRefetch rate-limits fetches: a flood of tokens with made-up kids
	// must not turn into a flood of requests to the gateway.
	jwksMinRefetch = 10 * time.Second
	// jwksFetchTimeout bounds one JWKS request.
	jwksFetchTimeout = 5 * time.Second
	// jwksMaxBytes bounds the JWKS document; a real one is a few hundred bytes.
	jwksMaxBytes = 1 << 20
)

// allowedAlgs is the only signature algorithm the gateway uses. Anything
// else (none, HS256 keyed with the public key, RS256) is an attack or a
// misconfiguration.
var allowedAlgs = []jose.SignatureAlgorithm{jose.ES256}

// verifyError is a rejected assertion. Reason is for machines, Detail is a
// human explanation safe to show on the page (it never contains the token),
// and Err is the underlying cause for the log.
type verifyError struct {
	Reason reason
	Detail string
	Err    error
}

func (e *verifyError) Error() string {
	s := "whoami: assertion " + string(e.Reason) + ": " + e.Detail
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *verifyError) Unwrap() error { return e.Err }

func reject(r reason, err error, format string, args ...any) *verifyError {
	return &verifyError{Reason: r, Detail: fmt.Sprintf(format, args...), Err: err}
}

// assertionClaims are the claims the gateway puts in its assertion.
type assertionClaims struct {
	jwt.Claims
	Email        string           `json:"email,omitempty"`
	Name         string           `json:"name,omitempty"`
	Phone        string           `json:"phone,omitempty"`
	Mobile       string           `json:"mobile,omitempty"`
	Organization string           `json:"organization,omitempty"`
	Department   string           `json:"department,omitempty"`
	Groups       []string         `json:"groups,omitempty"`
	AMR          []string         `json:"amr,omitempty"`
	AuthTime     *jwt.NumericDate `json:"auth_time,omitempty"`
}

// assertion is an assertion whose signature verified.
type assertion struct {
	KeyID  string
	Claims assertionClaims
	// Raw holds every claim as sent, numbers kept exact, for display.
	Raw map[string]any
}

// verifier checks the gateway's assertions against the keys the gateway
// publishes as a JWKS. It is safe for concurrent use.
type verifier struct {
	issuer   string
	jwksURL  string
	audience string
	leeway   time.Duration
	client   *http.Client
	log      *slog.Logger
	now      func() time.Time

	refreshEvery time.Duration
	minRefetch   time.Duration

	// mu is held across a fetch, so concurrent verifications that miss
	// the cache wait for one request instead of each sending their own.
	mu          sync.Mutex
	keys        map[string]*ecdsa.PublicKey
	fetchedAt   time.Time // last successful fetch; zero before the first
	lastAttempt time.Time
	lastErr     error // error of the last attempt, nil if it succeeded
}

func newVerifier(issuer, jwksURL, audience string, leeway time.Duration, logger *slog.Logger) *verifier {
	return &verifier{
		issuer:       issuer,
		jwksURL:      jwksURL,
		audience:     audience,
		leeway:       leeway,
		client:       &http.Client{Timeout: jwksFetchTimeout},
		log:          logger,
		now:          time.Now,
		refreshEvery: jwksRefreshEvery,
		minRefetch:   jwksMinRefetch,
	}
}

// Verify checks token: ES256 only, signed by a key in the gateway's JWKS,
// iss equal to the configured issuer, aud containing the configured
// audience, and exp, nbf and iat within the leeway of now. exp is required.
//
// On success it returns the assertion and nil. Every rejection is a
// *verifyError. When the signature verified but a claim check failed
// (wrong_issuer, wrong_audience, expired, not_yet_valid, or malformed for a
// missing exp), Verify returns the assertion as well, so the page can show
// what the gateway sent; it must not be trusted.
func (v *verifier) Verify(ctx context.Context, token string) (*assertion, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, reject(reasonMissing, nil, "no assertion in the request")
	}

	// The header is read before parsing so that a token with a refused
	// algorithm is reported as such, not as unparseable.
	hdr, err := peekHeader(token)
	if err != nil {
		return nil, reject(reasonMalformed, err, "not a compact JWS (header.payload.signature)")
	}
	if hdr.Alg != string(jose.ES256) {
		return nil, reject(reasonBadSignature, nil, "alg %q is refused; only ES256 is accepted", hdr.Alg)
	}
	if hdr.Typ != "" && !strings.EqualFold(hdr.Typ, "JWT") {
		return nil, reject(reasonMalformed, nil, "typ %q is not JWT", hdr.Typ)
	}

	tok, err := jwt.ParseSigned(token, allowedAlgs)
	if err != nil {
		return nil, reject(reasonMalformed, err, "the JWS does not parse")
	}
	kid := tok.Headers[0].KeyID
	if kid == "" {
		return nil, reject(reasonUnknownKey, nil, "the assertion names no key (kid)")
	}

	key, verr := v.key(ctx, kid)
	if verr != nil {
		return nil, verr
	}

	var payload json.RawMessage
	if err := tok.Claims(key, &payload); err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return nil, reject(reasonBadSignature, err, "the signature does not match key %q", kid)
		}
		return nil, reject(reasonMalformed, err, "the signed payload is not a JSON object")
	}
	a := &assertion{KeyID: kid}
	if err := json.Unmarshal(payload, &a.Claims); err != nil {
		return nil, reject(reasonMalformed, err, "the claims do not decode")
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&a.Raw); err != nil || a.Raw == nil {
		return nil, reject(reasonMalformed, err, "the claims are not a JSON object")
	}

	now := v.now()
	expected := jwt.Expected{Issuer: v.issuer, AnyAudience: jwt.Audience{v.audience}, Time: now}
	if err := a.Claims.ValidateWithLeeway(expected, v.leeway); err != nil {
		return a, v.claimError(err, &a.Claims, now)
	}
	if a.Claims.Expiry == nil {
		return a, reject(reasonMalformed, nil, "the assertion has no exp claim")
	}
	return a, nil
}

func (v *verifier) claimError(err error, c *assertionClaims, now time.Time) *verifyError {
	switch {
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return reject(reasonWrongIssuer, err, "iss is %q, want %q", c.Issuer, v.issuer)
	case errors.Is(err, jwt.ErrInvalidAudience):
		return reject(reasonWrongAudience, err, "aud is %q, want it to contain %q", []string(c.Audience), v.audience)
	case errors.Is(err, jwt.ErrExpired):
		return reject(reasonExpired, err, "expired at %s, %s ago (leeway %s)",
			c.Expiry.Time().UTC().Format(time.RFC3339), now.Sub(c.Expiry.Time()).Round(time.Second), v.leeway)
	case errors.Is(err, jwt.ErrNotValidYet):
		return reject(reasonNotYetValid, err, "nbf is %s, %s from now (leeway %s)",
			c.NotBefore.Time().UTC().Format(time.RFC3339), c.NotBefore.Time().Sub(now).Round(time.Second), v.leeway)
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return reject(reasonNotYetValid, err, "iat is %s, %s from now (leeway %s); are the clocks in sync?",
			c.IssuedAt.Time().UTC().Format(time.RFC3339), c.IssuedAt.Time().Sub(now).Round(time.Second), v.leeway)
	default:
		return reject(reasonMalformed, err, "the claims do not validate")
	}
}

// jwsHeader is the part of the protected header Verify looks at first.
type jwsHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
}

func peekHeader(token string) (jwsHeader, error) {
	var h jwsHeader
	if strings.Count(token, ".") != 2 {
		return h, errors.New("want three dot-separated parts")
	}
	b, err := base64.RawURLEncoding.DecodeString(token[:strings.IndexByte(token, '.')])
	if err != nil {
		return h, fmt.Errorf("header: %w", err)
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("header: %w", err)
	}
	return h, nil
}

// key returns the public key named kid. It fetches the JWKS when the cache
// is empty, older than refreshEvery, or lacks kid (the gateway rotated its
// keys), but never more often than minRefetch.
func (v *verifier) key(ctx context.Context, kid string) (*ecdsa.PublicKey, *verifyError) {
	v.mu.Lock()
	defer v.mu.Unlock()

	now := v.now()
	k, known := v.keys[kid]
	fresh := !v.fetchedAt.IsZero() && now.Sub(v.fetchedAt) < v.refreshEvery
	if known && fresh {
		return k, nil
	}
	if v.lastAttempt.IsZero() || now.Sub(v.lastAttempt) >= v.minRefetch {
		v.lastAttempt = now
		keys, err := v.fetch(ctx)
		if err != nil {
			v.lastErr = err
			v.log.Warn("jwks fetch failed", "jwks_url", v.jwksURL, "err", err)
		} else {
			v.keys, v.fetchedAt, v.lastErr = keys, now, nil
			v.log.Info("jwks fetched", "jwks_url", v.jwksURL, "keys", len(keys))
		}
		k, known = v.keys[kid]
	}
	// A key from an older fetch still verifies when a refresh fails: the
	// gateway being briefly unreachable should not log everyone out.
	if known {
		return k, nil
	}
	if v.lastErr != nil {
		return nil, reject(reasonJWKSUnavailable, v.lastErr, "cannot fetch the gateway's keys from %s", v.jwksURL)
	}
	return nil, reject(reasonUnknownKey, nil, "key %q is not in the gateway's JWKS", kid)
}

// fetch downloads the JWKS and keeps the keys that can verify ES256:
// EC P-256 keys with a kid, use "sig" or unset, alg "ES256" or unset.
// Other keys are skipped, as RFC 7517 section 5 asks.
func (v *verifier) fetch(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.jwksURL, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: GET %s: status %s", v.jwksURL, resp.Status)
	}

	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, jwksMaxBytes)).Decode(&set); err != nil {
		return nil, fmt.Errorf("jwks: decode %s: %w", v.jwksURL, err)
	}

	keys := make(map[string]*ecdsa.PublicKey, len(set.Keys))
	for i, raw := range set.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			v.log.Debug("jwks key skipped", "index", i, "err", err)
			continue
		}
		if jwk.KeyID == "" || (jwk.Use != "" && jwk.Use != "sig") ||
			(jwk.Algorithm != "" && jwk.Algorithm != string(jose.ES256)) {
			v.log.Debug("jwks key skipped", "index", i, "kid", jwk.KeyID, "use", jwk.Use, "alg", jwk.Algorithm)
			continue
		}
		var pub *ecdsa.PublicKey
		switch key := jwk.Key.(type) {
		case *ecdsa.PublicKey:
			pub = key
		case *ecdsa.PrivateKey:
			v.log.Warn("jwks publishes private key material; using its public part only", "kid", jwk.KeyID)
			pub = &key.PublicKey
		}
		if pub == nil || pub.Curve != elliptic.P256() {
			v.log.Debug("jwks key skipped: not EC P-256", "index", i, "kid", jwk.KeyID)
			continue
		}
		if _, dup := keys[jwk.KeyID]; dup {
			v.log.Warn("jwks has two keys with one kid; keeping the first", "kid", jwk.KeyID)
			continue
		}
		keys[jwk.KeyID] = pub
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwks: %s has no usable ES256 key", v.jwksURL)
	}
	return keys, nil
}
