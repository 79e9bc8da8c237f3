// Package oidcop is ssogate's OpenID Provider: zitadel/oidc's provider
// with a storage over ssogate's store. Authorization requests and codes
// are store tickets and tokens are store.Federation records, so several
// replicas act as one provider. The gateway owns the sign-in (the login
// step sends the person through its own pipeline and then calls
// Complete); this package owns the protocol.
package oidcop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/ssogate/ssogate/store"
)

// Paths of the provider's endpoints on the gateway.
const (
	PathAuthorize  = "/oauth2/authorize"
	PathToken      = "/oauth2/token"
	PathIntrospect = "/oauth2/introspect"
	PathRevoke     = "/oauth2/revoke"
	PathUserinfo   = "/oauth2/userinfo"
	PathLogout     = "/oauth2/logout"
	PathLogin      = "/oauth2/login"
	PathJWKS       = "/.well-known/jwks.json"
	PathDiscovery  = "/.well-known/openid-configuration"
)

// Config configures a Provider.
type Config struct {
	// Issuer is the gateway's public URL, without a path.
	Issuer string
	Store  store.Store
	// Clients are the registered clients.
	Clients []*Client
	Keys    KeySource
	// CryptoKey seals access tokens; the same on every replica.
	CryptoKey [32]byte
	Now       func() time.Time
	Logger    *slog.Logger
	// OnReplay is told of a code redeemed twice or a rotated refresh
	// token presented again (ReplayCode, ReplayRefreshToken); the tokens
	// concerned are revoked already. clientID may be empty.
	OnReplay func(ctx context.Context, what, clientID, userID string)
}

// Provider is the OpenID Provider.
type Provider struct {
	// Handler serves discovery and the /oauth2/ endpoints of the library.
	Handler http.Handler

	op      *op.Provider
	st      *storage
	issuer  string
	clients map[string]*Client
}

// LoginURL is the login step's URL for a request id, under issuer.
func LoginURL(issuer string) string { return issuer + PathLogin + "?id=" }

// New builds the provider.
func New(c Config) (*Provider, error) {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	clients := make(map[string]*Client, len(c.Clients))
	for _, cl := range c.Clients {
		clients[cl.GetID()] = cl
	}
	st := &storage{st: c.Store, clients: clients, keys: c.Keys, now: c.Now, log: c.Logger, onReplay: c.OnReplay}
	conf := &op.Config{
		CryptoKey:                         c.CryptoKey,
		DefaultLogoutRedirectURI:          "/login?logged_out=1",
		CodeMethodS256:                    true,
		AuthMethodPost:                    true,
		AuthMethodPrivateKeyJWT:           true,
		GrantTypeRefreshToken:             true,
		SupportedUILocales:                []language.Tag{language.Japanese, language.English},
		SupportedScopes:                   []string{"openid", "profile", "email", "phone", "groups", "offline_access"},
		SupportedClaims:                   []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash", "c_hash", "name", "preferred_username", "locale", "email", "email_verified", "phone_number", "groups"},
		BackChannelLogoutSupported:        true,
		BackChannelLogoutSessionSupported: true,
	}
	// The library logs its refusals (never a token) through slog's
	// default logger; its WithLogger option is a no-op in v3.
	opts := []op.Option{
		op.WithCustomAuthEndpoint(op.NewEndpoint(PathAuthorize)),
		op.WithCustomTokenEndpoint(op.NewEndpoint(PathToken)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(PathIntrospect)),
		op.WithCustomRevocationEndpoint(op.NewEndpoint(PathRevoke)),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint(PathUserinfo)),
		op.WithCustomEndSessionEndpoint(op.NewEndpoint(PathLogout)),
		op.WithCustomKeysEndpoint(op.NewEndpoint(PathJWKS)),
	}
	if strings.HasPrefix(c.Issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	p, err := op.NewProvider(conf, st, op.StaticIssuer(c.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidcop: %w", err)
	}
	pr := &Provider{op: p, st: st, issuer: c.Issuer, clients: clients}
	pr.Handler = pr.withIss(p)
	return pr, nil
}

// Client returns the client with id, or nil.
func (p *Provider) Client(id string) *Client { return p.clients[id] }

// Clients returns every client.
func (p *Provider) Clients() []*Client {
	out := make([]*Client, 0, len(p.clients))
	for _, c := range p.clients {
		out = append(out, c)
	}
	return out
}

// AuthRequest takes the waiting request id (its ticket is consumed: put
// it back with Keep while the person signs in).
func (p *Provider) AuthRequest(ctx context.Context, id string) (*AuthRequest, error) {
	a, err := p.st.takeAuthRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnknownRequest
	}
	return a, err
}

// ErrUnknownRequest is AuthRequest's answer for a request that is
// unknown, expired or already answered.
var ErrUnknownRequest = errors.New("oidcop: unknown or expired authorization request")

// Keep stores a taken request again for a later visit of the login step.
func (p *Provider) Keep(ctx context.Context, a *AuthRequest) error {
	return p.st.putAuthRequest(ctx, a)
}

// Complete answers request a for the person of g: it issues a code and
// returns the redirect to the app (code, state and iss).
func (p *Provider) Complete(ctx context.Context, a *AuthRequest, g Grant) (string, error) {
	a.UserID, a.SessionID, a.SID, a.AMR, a.AuthTime, a.IsDone = g.UserID, g.SessionID, g.SID, g.AMR, g.AuthTime, true
	if g.MFA {
		a.ACR = ACRMFA
		for _, v := range a.ACRValues {
			if v == ACRPAPEMulti || v == ACRMFA {
				a.ACR = v
				break
			}
		}
	}
	code := newSecret()
	if err := p.st.saveCode(ctx, a, code); err != nil {
		return "", err
	}
	return p.redirect(a, url.Values{"code": {code}}), nil
}

// ErrorRedirect is the redirect that answers a with the OAuth error code
// (access_denied, login_required, interaction_required…).
func (p *Provider) ErrorRedirect(a *AuthRequest, code, description string) string {
	return p.redirect(a, url.Values{"error": {code}, "error_description": {description}})
}

// redirect is a's redirect URI with v, state and iss (RFC 9207).
func (p *Provider) redirect(a *AuthRequest, v url.Values) string {
	if a.State != "" {
		v.Set("state", a.State)
	}
	v.Set("iss", p.issuer)
	u, _ := url.Parse(a.RedirectURI)
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// withIss adds iss (RFC 9207) to every authorization response the
// library sends from the authorize endpoint (its error redirects), and
// advertises it in discovery.
func (p *Provider) withIss(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case PathAuthorize:
			next.ServeHTTP(&issWriter{ResponseWriter: w, issuer: p.issuer}, r)
		case PathDiscovery:
			p.discovery(w, r)
		case PathToken, PathIntrospect, PathRevoke:
			if p.assertionUsedOnce(w, r) {
				next.ServeHTTP(w, r)
			}
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// issWriter rewrites the Location of a redirect back to an app.
type issWriter struct {
	http.ResponseWriter
	issuer string
}

func (w *issWriter) WriteHeader(code int) {
	if code == http.StatusFound || code == http.StatusSeeOther {
		if loc := w.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, w.issuer+"/") {
			if u, err := url.Parse(loc); err == nil {
				q := u.Query()
				if q.Has("error") || q.Has("code") {
					q.Set("iss", w.issuer)
					u.RawQuery = q.Encode()
					w.Header().Set("Location", u.String())
				}
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// discovery serves the library's discovery document with what the
// library does not say: iss in authorization responses, and only the
// features offered here.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	ctx := op.ContextWithIssuer(r.Context(), p.issuer)
	cfg := op.CreateDiscoveryConfig(ctx, p.op, p.st)
	cfg.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	cfg.ResponseModesSupported = []string{string(oidc.ResponseModeQuery)}
	cfg.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	cfg.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
	cfg.ACRValuesSupported = []string{ACRMFA, ACRPAPEMulti}
	cfg.DeviceAuthorizationEndpoint = ""
	cfg.RequestURIParameterSupported = false
	doc := struct {
		*oidc.DiscoveryConfiguration
		IssParameter bool `json:"authorization_response_iss_parameter_supported"`
	}{cfg, true}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_ = json.NewEncoder(w).Encode(doc)
}

// VerifyIDTokenHint checks an ID token the provider issued (expired ones
// included, as RP-initiated logout allows) and returns its claims.
func (p *Provider) VerifyIDTokenHint(ctx context.Context, hint string) (*oidc.IDTokenClaims, error) {
	ctx = op.ContextWithIssuer(ctx, p.issuer)
	claims, err := op.VerifyIDTokenHint[*oidc.IDTokenClaims](ctx, hint, p.op.IDTokenHintVerifier(ctx))
	if err != nil && !errors.As(err, &op.IDTokenHintExpiredError{}) {
		return nil, err
	}
	return claims, nil
}

// RevokeSession revokes every token issued under the gateway session id.
func (p *Provider) RevokeSession(ctx context.Context, sessionID string) (int, error) {
	if sessionID == "" {
		return 0, nil
	}
	return p.st.st.DeleteOAuthTokens(ctx, store.OAuthTokenFilter{SessionID: sessionID})
}

// LogoutToken signs a logout token (OIDC Back-Channel Logout 1.0 §2.4)
// for client c about sub and sid.
func (p *Provider) LogoutToken(ctx context.Context, c *Client, sub, sid string) (string, error) {
	kid, key, err := p.st.keys.SigningKey(ctx)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		return "", fmt.Errorf("oidcop: logout token signer: %w", err)
	}
	// The wall clock, as for the library's ID tokens: the app checks
	// iat and exp against its own.
	now := time.Now()
	claims := map[string]any{
		"iss": p.issuer, "aud": c.GetID(), "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": newSecret(), "sub": sub, "sid": sid,
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("oidcop: encode logout token: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("oidcop: sign logout token: %w", err)
	}
	return jws.CompactSerialize()
}
