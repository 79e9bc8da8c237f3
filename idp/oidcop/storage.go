package oidcop

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/ssogate/ssogate/store"
)

// Lifetimes of what the provider issues.
const (
	// AuthRequestLifetime bounds a sign-in started by an app (2-step and
	// a forgotten password included).
	AuthRequestLifetime = 30 * time.Minute
	// CodeLifetime is an authorization code's.
	CodeLifetime = time.Minute
	// AccessTokenLifetime is an access token's.
	AccessTokenLifetime = 15 * time.Minute
	// RefreshTokenLifetime is a refresh token's; each use rotates it.
	RefreshTokenLifetime = 30 * 24 * time.Hour
	// IDTokenLifetime is an ID token's.
	IDTokenLifetime = time.Hour
	// codeUsedLifetime is how long a redeemed code is remembered, so that
	// a replay revokes what it got.
	codeUsedLifetime = 10 * time.Minute
)

var errNotFound = errors.New("oidcop: not found")

// KeySource gives the provider its signing keys: the gateway's key ring.
type KeySource interface {
	// SigningKey returns the RS256 key that signs now and its key id.
	SigningKey(ctx context.Context) (kid string, key crypto.Signer, err error)
	// PublicKeys returns every published RS256 key (signing, about to
	// sign, or retired while its tokens may be valid).
	PublicKeys() []jose.JSONWebKey
}

// storage implements op.Storage over store.Store.
type storage struct {
	st       store.Store
	clients  map[string]*Client
	keys     KeySource
	now      func() time.Time
	log      *slog.Logger
	onReplay func(ctx context.Context, what, clientID, userID string)
}

// What a replay was, for Config.OnReplay.
const (
	ReplayCode         = "code_reused"
	ReplayRefreshToken = "refresh_token_reused"
)

// replay reports a replayed code or refresh token (its tokens are
// already revoked).
func (s *storage) replay(ctx context.Context, what, clientID, userID string) {
	if s.onReplay != nil {
		s.onReplay(ctx, what, clientID, userID)
	}
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

// hashID is the store id of a secret: its SHA-256 in hex.
func hashID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// newSecret is a random URL-safe secret of 32 bytes.
func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// client returns the registered client with id.
func (s *storage) client(id string) (*Client, error) {
	if c := s.clients[id]; c != nil {
		return c, nil
	}
	return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
}

// CreateAuthRequest implements op.AuthStorage: it applies the provider's
// own policy on top of the library's checks (PKCE S256 only, and
// required of public clients; scopes limited to the client's) and keeps
// the request as a ticket.
func (s *storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c, err := s.client(r.ClientID)
	if err != nil {
		return nil, err
	}
	if r.CodeChallenge != "" && r.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if r.CodeChallenge == "" && c.cfg.Public {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE (code_challenge with S256) is required of this client")
	}
	if r.ResponseMode != "" && r.ResponseMode != oidc.ResponseModeQuery {
		return nil, oidc.ErrInvalidRequest().WithDescription("response_mode must be query")
	}
	scopes := slices.DeleteFunc(slices.Clone(r.Scopes), func(sc string) bool { return !c.IsScopeAllowed(sc) })
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		return nil, oidc.ErrInvalidScope().WithDescription("scope openid is required")
	}
	now := s.now()
	a := &AuthRequest{
		ID: newSecret(), ClientID: r.ClientID, RedirectURI: r.RedirectURI, State: r.State, Nonce: r.Nonce,
		Scopes: scopes, ResponseType: r.ResponseType, ResponseMode: r.ResponseMode,
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: r.CodeChallengeMethod,
		Prompt: r.Prompt, MaxAge: r.MaxAge, ACRValues: r.ACRValues,
		CreatedAt: now, ExpiresAt: now.Add(AuthRequestLifetime),
	}
	if err := s.putAuthRequest(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// putAuthRequest stores a as its ticket.
func (s *storage) putAuthRequest(ctx context.Context, a *AuthRequest) error {
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("oidcop: encode auth request: %w", err)
	}
	t := &store.Ticket{ID: hashID(a.ID), Purpose: store.PurposeOIDCAuthRequest, UserID: a.UserID, Data: data,
		CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt}
	if err := s.st.CreateTicket(ctx, t); err != nil {
		return fmt.Errorf("oidcop: store auth request: %w", err)
	}
	return nil
}

// takeAuthRequest consumes the ticket of auth request id.
func (s *storage) takeAuthRequest(ctx context.Context, id string) (*AuthRequest, error) {
	t, err := s.st.ConsumeTicket(ctx, store.PurposeOIDCAuthRequest, hashID(id), s.now())
	if err != nil {
		return nil, err
	}
	a := new(AuthRequest)
	if err := json.Unmarshal(t.Data, a); err != nil {
		return nil, fmt.Errorf("oidcop: decode auth request: %w", err)
	}
	a.ID = id
	return a, nil
}

// AuthRequestByID implements op.AuthStorage. Tickets are one-time, so
// reading one takes it and puts it back.
func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a, err := s.takeAuthRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.putAuthRequest(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// SaveAuthCode implements op.AuthStorage: the finished request id becomes
// the code's ticket.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	a, err := s.takeAuthRequest(ctx, id)
	if err != nil {
		return err
	}
	return s.saveCode(ctx, a, code)
}

// saveCode stores the finished request a as the ticket of code.
func (s *storage) saveCode(ctx context.Context, a *AuthRequest, code string) error {
	if !a.IsDone {
		return oidc.ErrServerError().WithDescription("the sign-in is not finished")
	}
	if a.FamilyID == "" {
		a.FamilyID = newSecret()
	}
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("oidcop: encode code: %w", err)
	}
	now := s.now()
	t := &store.Ticket{ID: hashID(code), Purpose: store.PurposeOIDCCode, UserID: a.UserID, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(CodeLifetime)}
	if err := s.st.CreateTicket(ctx, t); err != nil {
		return fmt.Errorf("oidcop: store code: %w", err)
	}
	return nil
}

// AuthRequestByCode implements op.AuthStorage: it redeems code once. A
// second redemption finds the code's remembered family and revokes every
// token the first one got (RFC 6749 §4.1.2).
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	id, now := hashID(code), s.now()
	t, err := s.st.ConsumeTicket(ctx, store.PurposeOIDCCode, id, now)
	if errors.Is(err, store.ErrNotFound) {
		if used, uerr := s.st.ConsumeTicket(ctx, store.PurposeOIDCCodeUsed, id, now); uerr == nil {
			n, derr := s.st.DeleteOAuthTokens(ctx, store.OAuthTokenFilter{FamilyID: string(used.Data)})
			if derr != nil {
				return nil, fmt.Errorf("oidcop: revoke tokens of a reused code: %w", derr)
			}
			s.log.Warn("oidc: authorization code redeemed twice; its tokens revoked", "user_id", used.UserID, "tokens", n)
			s.replay(ctx, ReplayCode, "", used.UserID)
			return nil, errors.New("oidcop: code reused")
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	a := new(AuthRequest)
	if err := json.Unmarshal(t.Data, a); err != nil {
		return nil, fmt.Errorf("oidcop: decode code: %w", err)
	}
	used := &store.Ticket{ID: id, Purpose: store.PurposeOIDCCodeUsed, UserID: a.UserID, Data: []byte(a.FamilyID),
		CreatedAt: now, ExpiresAt: now.Add(codeUsedLifetime)}
	if err := s.st.CreateTicket(ctx, used); err != nil {
		return nil, fmt.Errorf("oidcop: remember redeemed code: %w", err)
	}
	return a, nil
}

// DeleteAuthRequest implements op.AuthStorage. The code's ticket was
// consumed by its redemption; a request still waiting is dropped.
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	_, err := s.takeAuthRequest(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// requestInfo is what a token request carries into the tokens it gets.
func requestInfo(r op.TokenRequest) (tokenInfo, error) {
	switch r := r.(type) {
	case *AuthRequest:
		return tokenInfo{FamilyID: r.FamilyID, ClientID: r.ClientID, UserID: r.UserID, SessionID: r.SessionID,
			Scopes: r.Scopes, AMR: r.AMR, AuthTime: r.AuthTime, Data: tokenData{SID: r.SID, ACR: r.ACR}}, nil
	case *refreshRequest:
		ti := r.tok
		ti.Scopes = r.scopes
		return ti, nil
	}
	return tokenInfo{}, oidc.ErrServerError().WithDescription("unsupported token request")
}

// newToken makes a token of kind for ti; the secret is returned, the
// token holds its hash.
func (s *storage) newToken(kind string, ti tokenInfo, life time.Duration) (string, *store.OAuthToken, error) {
	data, err := json.Marshal(ti.Data)
	if err != nil {
		return "", nil, fmt.Errorf("oidcop: encode token: %w", err)
	}
	secret, now := newSecret(), s.now()
	return secret, &store.OAuthToken{
		ID: hashID(secret), Kind: kind, FamilyID: ti.FamilyID, ClientID: ti.ClientID, UserID: ti.UserID,
		SessionID: ti.SessionID, Scopes: ti.Scopes, Audience: []string{ti.ClientID}, AMR: ti.AMR,
		AuthTime: ti.AuthTime, CreatedAt: now, ExpiresAt: now.Add(life), Data: data,
	}, nil
}

// CreateAccessToken implements op.AuthStorage. The returned id is the
// token's secret; the library seals it (with the subject) into the
// opaque access token.
func (s *storage) CreateAccessToken(ctx context.Context, r op.TokenRequest) (string, time.Time, error) {
	ti, err := requestInfo(r)
	if err != nil {
		return "", time.Time{}, err
	}
	secret, t, err := s.newToken(store.TokenAccess, ti, AccessTokenLifetime)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := s.st.CreateOAuthToken(ctx, t); err != nil {
		return "", time.Time{}, fmt.Errorf("oidcop: store access token: %w", err)
	}
	// The library turns this into expires_in with the wall clock, which
	// an injected clock (tests, a replica's skew) need not agree with:
	// the lifetime is what counts.
	return secret, time.Now().Add(t.ExpiresAt.Sub(s.now())), nil
}

// CreateAccessAndRefreshTokens implements op.AuthStorage. A refresh
// rotates current into the new refresh token in one step of the store:
// a current token used before revokes its whole family.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, r op.TokenRequest, current string) (string, string, time.Time, error) {
	ti, err := requestInfo(r)
	if err != nil {
		return "", "", time.Time{}, err
	}
	refresh, rt, err := s.newToken(store.TokenRefresh, ti, RefreshTokenLifetime)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if current == "" {
		err = s.st.CreateOAuthToken(ctx, rt)
	} else {
		_, err = s.st.RotateRefreshToken(ctx, hashID(current), rt, s.now())
	}
	switch {
	case errors.Is(err, store.ErrTokenReused):
		s.log.Warn("oidc: refresh token reused; its family revoked", "client_id", ti.ClientID, "user_id", ti.UserID)
		s.replay(ctx, ReplayRefreshToken, ti.ClientID, ti.UserID)
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token already used")
	case errors.Is(err, store.ErrNotFound):
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token invalid")
	case err != nil:
		return "", "", time.Time{}, fmt.Errorf("oidcop: store refresh token: %w", err)
	}
	access, exp, err := s.CreateAccessToken(ctx, r)
	if err != nil {
		return "", "", time.Time{}, err
	}
	return access, refresh, exp, nil
}

// TokenRequestByRefreshToken implements op.AuthStorage. A token already
// rotated is a replay: its family is revoked here.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, refresh string) (op.RefreshTokenRequest, error) {
	t, err := s.st.GetOAuthToken(ctx, hashID(refresh))
	if errors.Is(err, store.ErrNotFound) {
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token invalid")
	}
	if err != nil {
		return nil, fmt.Errorf("oidcop: get refresh token: %w", err)
	}
	if t.Kind != store.TokenRefresh || !s.now().Before(t.ExpiresAt) {
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token invalid")
	}
	if !t.UsedAt.IsZero() {
		if _, err := s.st.DeleteOAuthTokens(ctx, store.OAuthTokenFilter{FamilyID: t.FamilyID}); err != nil {
			return nil, fmt.Errorf("oidcop: revoke family: %w", err)
		}
		s.log.Warn("oidc: refresh token reused; its family revoked", "client_id", t.ClientID, "user_id", t.UserID)
		s.replay(ctx, ReplayRefreshToken, t.ClientID, t.UserID)
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token already used")
	}
	if err := s.userActive(ctx, t.UserID); err != nil {
		return nil, err
	}
	var d tokenData
	_ = json.Unmarshal(t.Data, &d)
	return &refreshRequest{secret: refresh, scopes: t.Scopes, tok: tokenInfo{FamilyID: t.FamilyID, ClientID: t.ClientID,
		UserID: t.UserID, SessionID: t.SessionID, Scopes: t.Scopes, AMR: t.AMR, AuthTime: t.AuthTime, Data: d}}, nil
}

// userActive refuses tokens for a user who is gone or disabled.
func (s *storage) userActive(ctx context.Context, id string) error {
	u, err := s.st.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return oidc.ErrInvalidGrant().WithDescription("the user no longer exists")
	}
	if err != nil {
		return fmt.Errorf("oidcop: get user: %w", err)
	}
	if u.Status != store.StatusActive {
		return oidc.ErrInvalidGrant().WithDescription("the user is not active")
	}
	return nil
}

// TerminateSession implements op.AuthStorage: the user's tokens of the
// client are revoked.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	if userID == "" || clientID == "" {
		return nil
	}
	_, err := s.st.DeleteOAuthTokens(ctx, store.OAuthTokenFilter{UserID: userID, ClientID: clientID})
	return err
}

// RevokeToken implements op.AuthStorage (RFC 7009): an access token ends
// alone, a refresh token with its family. An unknown token is no error.
func (s *storage) RevokeToken(ctx context.Context, token, _, clientID string) *oidc.Error {
	t, err := s.st.GetOAuthToken(ctx, hashID(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	if t.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
	}
	f := store.OAuthTokenFilter{ID: t.ID}
	if t.Kind == store.TokenRefresh {
		f = store.OAuthTokenFilter{FamilyID: t.FamilyID}
	}
	if _, err := s.st.DeleteOAuthTokens(ctx, f); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// GetRefreshTokenInfo implements op.AuthStorage.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	t, err := s.st.GetOAuthToken(ctx, hashID(token))
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.Kind != store.TokenRefresh) {
		return "", "", op.ErrInvalidRefreshToken
	}
	if err != nil {
		return "", "", err
	}
	return t.UserID, token, nil
}

// signingKey is the key ring's RS256 key as the library wants it.
type signingKey struct {
	id  string
	key crypto.Signer
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

// SigningKey implements op.AuthStorage.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	kid, key, err := s.keys.SigningKey(ctx)
	if err != nil {
		return nil, err
	}
	return signingKey{id: kid, key: key}, nil
}

// SignatureAlgorithms implements op.AuthStorage: RS256 only (never none).
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// publicKey is a published key as the library wants it.
type publicKey struct{ k jose.JSONWebKey }

func (k publicKey) ID() string                         { return k.k.KeyID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.SignatureAlgorithm(k.k.Algorithm) }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.k.Key }

// KeySet implements op.AuthStorage: the RS256 keys of the ring (the
// gateway serves the whole ring at /.well-known/jwks.json).
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	var out []op.Key
	for _, k := range s.keys.PublicKeys() {
		out = append(out, publicKey{k})
	}
	return out, nil
}

// GetClientByClientID implements op.OPStorage.
func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	return s.client(id)
}

// AuthorizeClientIDSecret implements op.OPStorage, comparing in constant
// time (an unknown client costs the same comparison).
func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c := s.clients[id]
	if c == nil {
		(&Client{}).checkSecret(secret)
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	if !c.checkSecret(secret) {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return nil
}

// SetUserinfoFromScopes implements op.OPStorage (the ID token's claims).
func (s *storage) SetUserinfoFromScopes(ctx context.Context, ui *oidc.UserInfo, userID, _ string, scopes []string) error {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("oidcop: get user: %w", err)
	}
	setUserinfo(ui, u, scopes)
	return nil
}

// SetUserinfoFromRequest implements op.CanSetUserinfoFromRequest: the ID
// token carries the session's sid (OIDC Back-Channel Logout 1.0 §2.1).
func (s *storage) SetUserinfoFromRequest(_ context.Context, ui *oidc.UserInfo, r op.IDTokenRequest, _ []string) error {
	var sid string
	switch r := r.(type) {
	case *AuthRequest:
		sid = r.SID
	case *refreshRequest:
		sid = r.tok.Data.SID
	}
	if sid != "" {
		ui.AppendClaims("sid", sid)
	}
	return nil
}

// activeToken returns the access token with secret id, valid at now.
func (s *storage) activeToken(ctx context.Context, id string) (*store.OAuthToken, error) {
	t, err := s.st.GetOAuthToken(ctx, hashID(id))
	if err != nil {
		return nil, err
	}
	if t.Kind != store.TokenAccess || !s.now().Before(t.ExpiresAt) {
		return nil, errNotFound
	}
	return t, nil
}

// SetUserinfoFromToken implements op.OPStorage (the UserInfo endpoint).
func (s *storage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, _, _ string) error {
	t, err := s.activeToken(ctx, tokenID)
	if err != nil {
		return oidc.ErrInvalidRequest().WithDescription("access token invalid or expired")
	}
	u, err := s.st.GetUser(ctx, t.UserID)
	if err != nil || u.Status != store.StatusActive {
		return oidc.ErrInvalidRequest().WithDescription("access token invalid or expired")
	}
	setUserinfo(ui, u, t.Scopes)
	return nil
}

// SetIntrospectionFromToken implements op.OPStorage (RFC 7662): a token
// is active only for the client it was issued to.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, ir *oidc.IntrospectionResponse, tokenID, _, clientID string) error {
	t, err := s.activeToken(ctx, tokenID)
	if err != nil || !slices.Contains(t.Audience, clientID) {
		return oidc.ErrInvalidRequest().WithDescription("token inactive")
	}
	u, err := s.st.GetUser(ctx, t.UserID)
	if err != nil || u.Status != store.StatusActive {
		return oidc.ErrInvalidRequest().WithDescription("token inactive")
	}
	ui := new(oidc.UserInfo)
	setUserinfo(ui, u, t.Scopes)
	ir.SetUserInfo(ui)
	ir.Active = true
	ir.Scope = t.Scopes
	ir.ClientID = t.ClientID
	ir.TokenType = oidc.BearerToken
	ir.Expiration = oidc.FromTime(t.ExpiresAt)
	ir.IssuedAt = oidc.FromTime(t.CreatedAt)
	ir.AuthTime = oidc.FromTime(t.AuthTime)
	ir.Audience = t.Audience
	ir.Subject = t.UserID
	ir.Username = u.Email
	return nil
}

// GetPrivateClaimsFromScopes implements op.OPStorage: nothing beyond the
// userinfo claims goes into a JWT access token (the provider issues
// opaque ones).
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID implements op.OPStorage: a private_key_jwt
// client's public key.
func (s *storage) GetKeyByIDAndClientID(ctx context.Context, kid, clientID string) (*jose.JSONWebKey, error) {
	c := s.clients[clientID]
	if c == nil || c.keys == nil {
		return nil, oidc.ErrInvalidClient().WithDescription("client has no keys")
	}
	return c.keys.key(ctx, kid)
}

// ValidateJWTProfileScopes implements op.OPStorage. The JWT bearer grant
// is not offered, so no scope is granted through it.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnauthorizedClient().WithDescription("the JWT bearer grant is not supported")
}

// Health implements op.Storage: a read of a user that does not exist
// proves the store answers.
func (s *storage) Health(ctx context.Context) error {
	_, err := s.st.GetUser(ctx, "health-check")
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// setUserinfo fills ui with u's claims of scopes.
func setUserinfo(ui *oidc.UserInfo, u *store.User, scopes []string) {
	ui.Subject = u.ID
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeProfile:
			ui.Name = u.DisplayName
			ui.PreferredUsername = u.Email
			if u.Language != "" {
				ui.Locale = oidc.NewLocale(language.Make(u.Language))
			}
		case oidc.ScopeEmail:
			ui.Email = u.Email
			// The gateway's accounts are made by an administrator or by an
			// invitation sent to the address, so the address is the user's.
			ui.EmailVerified = oidc.Bool(true)
		case oidc.ScopePhone:
			phone := u.Mobile
			if phone == "" {
				phone = u.Phone
			}
			ui.PhoneNumber = phone
		case "groups":
			groups := u.Groups
			if groups == nil {
				groups = []string{}
			}
			ui.AppendClaims("groups", groups)
		}
	}
}
