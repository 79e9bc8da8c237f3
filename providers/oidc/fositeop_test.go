package oidc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/storage"
	"github.com/ory/fosite/token/jwt"
)

// The fosite OP's clients. Both have the example store's secret.
const (
	opClientID     = "ssogate"
	opOtherClient  = "other-app"
	opClientSecret = "foobar"
	opKeyID        = "k1"
)

// opLogin is what the fosite OP asserts at one sign-in: the test chooses
// the claims, and may tamper with the finished ID token.
type opLogin struct {
	Subject string
	// Issuer overrides the ID token's iss (a tenant's issuer, a wrong one).
	Issuer string
	// Claims are added to the ID token.
	Claims map[string]any
	// UserInfo is served by the UserInfo endpoint beside "sub" (which it
	// may override).
	UserInfo map[string]any
	// Deny makes /auth redirect back with this error.
	Deny *fosite.RFC6749Error
	// Mutate changes the final ID token claims (nonce, aud, exp ...)
	// after fosite built them; the token is then signed again.
	Mutate func(claims map[string]any)
	// SignWith signs the ID token with another key, under the OP's kid.
	SignWith *rsa.PrivateKey
}

// fositeOP is an OpenID Connect provider built on ory/fosite: code flow,
// PKCE S256 enforced, one-time codes, client_secret_basic, RS256 ID
// tokens, a JWKS, UserInfo, and Entra ID-style tenant discovery at
// /<tenant>/v2.0 whose organizations and common documents name the
// templated issuer <url>/{tenantid}/v2.0.
type fositeOP struct {
	t     *testing.T
	srv   *httptest.Server
	URL   string
	oauth fosite.OAuth2Provider
	key   *rsa.PrivateKey
	// Down makes discovery answer 503.
	Down atomic.Bool
	// IssParam advertises authorization_response_iss_parameter_supported
	// (fosite sends no iss parameter, so such an OP is lying).
	IssParam    atomic.Bool
	discoveries atomic.Int32

	mu    sync.Mutex
	queue []*opLogin
	byReq map[string]*opLogin
}

var (
	opKeyOnce sync.Once
	opKeys    [2]*rsa.PrivateKey
)

// testKeys returns two RSA keys, made once per test binary.
func testKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	opKeyOnce.Do(func() {
		for i := range opKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			opKeys[i] = k
		}
	})
	return opKeys[0], opKeys[1]
}

// newFositeOP starts an OP on loopback whose client ssogate may use
// callback.
func newFositeOP(t *testing.T, callback string) *fositeOP {
	t.Helper()
	key, _ := testKeys(t)
	op := &fositeOP{t: t, key: key, byReq: map[string]*opLogin{}}
	mux := http.NewServeMux()
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	op.URL = op.srv.URL

	secret := make([]byte, 32)
	rand.Read(secret)
	cfg := &fosite.Config{
		GlobalSecret:               secret,
		IDTokenIssuer:              op.URL,
		AccessTokenLifespan:        time.Hour,
		IDTokenLifespan:            time.Hour,
		EnforcePKCE:                true,
		SendDebugMessagesToClients: true,
	}
	store := storage.NewExampleStore()
	example := store.Clients["my-client"].(*fosite.DefaultClient)
	for _, id := range []string{opClientID, opOtherClient} {
		store.Clients[id] = &fosite.DefaultClient{
			ID:            id,
			Secret:        example.Secret, // "foobar"
			RedirectURIs:  []string{callback},
			ResponseTypes: []string{"code"},
			GrantTypes:    []string{"authorization_code", "refresh_token"},
			Scopes:        []string{"openid", "email", "profile", "groups", "offline"},
		}
	}
	getKey := func(context.Context) (any, error) { return key, nil }
	op.oauth = compose.Compose(cfg, store, &compose.CommonStrategy{
		CoreStrategy:               compose.NewOAuth2HMACStrategy(cfg),
		OpenIDConnectTokenStrategy: &opIDTokens{op: op, inner: compose.NewOpenIDConnectStrategy(getKey, cfg)},
		Signer:                     &jwt.DefaultSigner{GetPrivateKey: getKey},
	},
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OAuth2PKCEFactory,
		compose.OAuth2TokenIntrospectionFactory,
	)

	mux.HandleFunc("GET /jwks", op.jwks)
	mux.HandleFunc("GET /auth", op.authorize)
	mux.HandleFunc("POST /token", op.token)
	mux.HandleFunc("GET /userinfo", op.userinfo)
	mux.HandleFunc("GET /", op.discovery)
	return op
}

// Queue makes l the next sign-in's answer.
func (op *fositeOP) Queue(l *opLogin) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.queue = append(op.queue, l)
}

func (op *fositeOP) login(requestID string) *opLogin {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.byReq[requestID]
}

// TenantIssuer is the issuer of tenant tid at this OP.
func (op *fositeOP) TenantIssuer(tid string) string { return op.URL + "/" + tid + "/v2.0" }

func (op *fositeOP) discovery(w http.ResponseWriter, r *http.Request) {
	const wellKnown = "/.well-known/openid-configuration"
	prefix, ok := strings.CutSuffix(r.URL.Path, wellKnown)
	if !ok {
		http.NotFound(w, r)
		return
	}
	op.discoveries.Add(1)
	if op.Down.Load() {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	issuer := op.URL
	if tenant, ok := strings.CutSuffix(strings.TrimPrefix(prefix, "/"), "/v2.0"); ok && tenant != "" {
		if tenant == "organizations" || tenant == "common" {
			tenant = "{tenantid}"
		}
		issuer = op.TenantIssuer(tenant)
	} else if prefix != "" {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, map[string]any{
		"issuer":                                         issuer,
		"authorization_endpoint":                         op.URL + "/auth",
		"token_endpoint":                                 op.URL + "/token",
		"jwks_uri":                                       op.URL + "/jwks",
		"userinfo_endpoint":                              op.URL + "/userinfo",
		"response_types_supported":                       []string{"code"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"RS256"},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic"},
		"authorization_response_iss_parameter_supported": op.IssParam.Load(),
	})
}

func (op *fositeOP) jwks(w http.ResponseWriter, r *http.Request) {
	pub := op.key.PublicKey
	writeJSON(w, map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": opKeyID,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func (op *fositeOP) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := op.oauth.NewAuthorizeRequest(ctx, r)
	if err != nil {
		op.oauth.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	op.mu.Lock()
	var l *opLogin
	if len(op.queue) > 0 {
		l, op.queue = op.queue[0], op.queue[1:]
	}
	op.mu.Unlock()
	if l == nil {
		op.t.Errorf("fosite OP: sign-in with no queued login")
		http.Error(w, "no login queued", http.StatusInternalServerError)
		return
	}
	if l.Deny != nil {
		op.oauth.WriteAuthorizeError(ctx, w, ar, l.Deny)
		return
	}
	for _, s := range ar.GetRequestedScopes() {
		ar.GrantScope(s)
	}
	now := time.Now().UTC()
	extra := map[string]any{}
	for k, v := range l.Claims {
		extra[k] = v
	}
	amr, _ := extra["amr"].([]string) // fosite writes amr from its own field
	sess := &openid.DefaultSession{
		Claims: &jwt.IDTokenClaims{
			Issuer:                          l.Issuer,
			Subject:                         l.Subject,
			AuthTime:                        now,
			RequestedAt:                     now,
			AuthenticationMethodsReferences: amr,
			Extra:                           extra,
		},
		Headers: &jwt.Headers{Extra: map[string]any{"kid": opKeyID}},
		Subject: l.Subject,
	}
	resp, err := op.oauth.NewAuthorizeResponse(ctx, ar, sess)
	if err != nil {
		op.oauth.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	op.mu.Lock()
	op.byReq[ar.GetID()] = l
	op.mu.Unlock()
	op.oauth.WriteAuthorizeResponse(ctx, w, ar, resp)
}

func (op *fositeOP) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := op.oauth.NewAccessRequest(ctx, r, &openid.DefaultSession{})
	if err != nil {
		op.oauth.WriteAccessError(ctx, w, ar, err)
		return
	}
	resp, err := op.oauth.NewAccessResponse(ctx, ar)
	if err != nil {
		op.oauth.WriteAccessError(ctx, w, ar, err)
		return
	}
	op.oauth.WriteAccessResponse(ctx, w, ar, resp)
}

func (op *fositeOP) userinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_, ar, err := op.oauth.IntrospectToken(ctx, fosite.AccessTokenFromRequest(r), fosite.AccessToken, &openid.DefaultSession{})
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	l := op.login(ar.GetID())
	if l == nil {
		http.Error(w, "unknown sign-in", http.StatusInternalServerError)
		return
	}
	out := map[string]any{"sub": l.Subject}
	for k, v := range l.UserInfo {
		out[k] = v
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// opIDTokens lets a test tamper with the ID tokens fosite makes.
type opIDTokens struct {
	op    *fositeOP
	inner openid.OpenIDConnectTokenStrategy
}

func (s *opIDTokens) GenerateIDToken(ctx context.Context, lifespan time.Duration, req fosite.Requester) (string, error) {
	tok, err := s.inner.GenerateIDToken(ctx, lifespan, req)
	if err != nil {
		return "", err
	}
	l := s.op.login(req.GetID())
	if l == nil || (l.Mutate == nil && l.SignWith == nil) {
		return tok, nil
	}
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	claims := map[string]any{}
	if err := dec.Decode(&claims); err != nil {
		return "", err
	}
	if l.Mutate != nil {
		l.Mutate(claims)
	}
	key := s.op.key
	if l.SignWith != nil {
		key = l.SignWith
	}
	signer := &jwt.DefaultSigner{GetPrivateKey: func(context.Context) (any, error) { return key, nil }}
	tok, _, err = signer.Generate(ctx, jwt.MapClaims(claims), &jwt.Headers{Extra: map[string]any{"kid": opKeyID}})
	return tok, err
}
