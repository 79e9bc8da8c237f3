package store

import (
	"context"
	"errors"
	"time"
)

// ErrTokenReused is returned by RotateRefreshToken when the refresh token
// was already rotated once: someone replays a stolen token, or a client
// retries. The whole family is revoked by the same call (RFC 9700 §4.14.2).
var ErrTokenReused = errors.New("store: refresh token reused")

// Kinds of OAuthToken.
const (
	TokenAccess  = "access"
	TokenRefresh = "refresh"
)

// Ticket purposes of the identity-provider side (issue 11): the
// authorization request an app started and its one-time code.
const (
	// PurposeOIDCAuthRequest is an authorization request waiting for the
	// person to sign in; Data is the request, opaque to the store.
	PurposeOIDCAuthRequest = "oidc_authreq"
	// PurposeOIDCCode is an authorization code (one-time, about a minute).
	PurposeOIDCCode = "oidc_code"
	// PurposeOIDCCodeUsed remembers a redeemed code for its lifetime, so
	// that a second redemption revokes the tokens the first one got
	// (RFC 6749 §4.1.2). Data is the family id.
	PurposeOIDCCodeUsed = "oidc_code_used"
	// PurposeOIDCClientAssertion remembers a private_key_jwt client
	// assertion (by its client and jti) for as long as it could be
	// accepted, so that it is used once (OpenID Connect Core §9).
	PurposeOIDCClientAssertion = "oidc_client_assertion"
)

// Protocols of a SessionClient.
const (
	ProtocolOIDC = "oidc"
	ProtocolSAML = "saml"
)

// OAuthToken is an access or refresh token the OpenID Provider issued to
// a client. ID is the SHA-256 (hex) of the token's secret part, never the
// secret itself.
type OAuthToken struct {
	ID string
	// Kind is TokenAccess or TokenRefresh.
	Kind string
	// FamilyID ties a refresh token to the ones it was rotated into and to
	// the access tokens issued with them: revoking a family revokes all.
	FamilyID  string
	ClientID  string
	UserID    string
	SessionID string // the gateway session it was issued under; may be empty
	Scopes    []string
	Audience  []string
	AMR       []string
	AuthTime  time.Time
	CreatedAt time.Time
	// ExpiresAt is required: every token expires.
	ExpiresAt time.Time
	// UsedAt is when a refresh token was rotated; zero while it is usable.
	UsedAt time.Time
	// Data is opaque to the store (claims requested, nonce…).
	Data []byte
}

// OAuthTokenFilter selects tokens; every non-empty field must match. An
// empty filter matches nothing (DeleteOAuthTokens refuses it).
type OAuthTokenFilter struct {
	ID        string
	FamilyID  string
	ClientID  string
	UserID    string
	SessionID string
}

// SessionClient records that an app signed in through a gateway session,
// so that the session's end reaches the app (OIDC back-channel logout,
// SAML single logout). (SessionID, Protocol, ClientID) is unique.
type SessionClient struct {
	SessionID string
	Protocol  string // ProtocolOIDC or ProtocolSAML
	ClientID  string // the service id
	UserID    string
	// Data is opaque to the store: the OIDC sid, the SAML NameID and
	// SessionIndex.
	Data      []byte
	CreatedAt time.Time
	// ExpiresAt is when the record may be dropped (the session's absolute
	// expiry); required.
	ExpiresAt time.Time
}

// Federation holds the identity-provider side's state: tokens issued to
// apps and the apps each session signed in to. Authorization requests and
// codes are tickets (PurposeOIDCAuthRequest, PurposeOIDCCode).
type Federation interface {
	// CreateOAuthToken stores t. ErrConflict if t.ID exists.
	CreateOAuthToken(ctx context.Context, t *OAuthToken) error
	// GetOAuthToken returns the token with id, expired or not (callers
	// check ExpiresAt), or ErrNotFound.
	GetOAuthToken(ctx context.Context, id string) (*OAuthToken, error)
	// RotateRefreshToken marks the refresh token id used at now and stores
	// next (in the same family) in one transaction, returning the old
	// token. ErrNotFound when id is missing, expired at now or not a
	// refresh token; ErrTokenReused when it was used before, in which
	// case every token of its family is deleted. Of concurrent callers
	// with one id exactly one succeeds.
	RotateRefreshToken(ctx context.Context, id string, next *OAuthToken, now time.Time) (*OAuthToken, error)
	// DeleteOAuthTokens removes the tokens matching f and returns how
	// many. An empty filter is an error.
	DeleteOAuthTokens(ctx context.Context, f OAuthTokenFilter) (int, error)
	// DeleteExpiredOAuthTokens removes tokens expired at now.
	DeleteExpiredOAuthTokens(ctx context.Context, now time.Time) (int, error)

	// AddSessionClient stores c, replacing Data and ExpiresAt of an
	// existing (SessionID, Protocol, ClientID) record.
	AddSessionClient(ctx context.Context, c *SessionClient) error
	// ListSessionClients returns the apps the session signed in to,
	// oldest first.
	ListSessionClients(ctx context.Context, sessionID string) ([]*SessionClient, error)
	// DeleteSessionClients removes the session's records.
	DeleteSessionClients(ctx context.Context, sessionID string) error
	// MoveSessionClients hands the records and tokens of session from to
	// session to, in one transaction: the same person signed in again in
	// the same browser (a re-authentication or a step-up replaced the
	// session), and the apps they entered belong to the new session now.
	// A record of to for the same app is replaced by from's.
	MoveSessionClients(ctx context.Context, from, to string) error
	// DeleteExpiredSessionClients removes records expired at now.
	DeleteExpiredSessionClients(ctx context.Context, now time.Time) (int, error)
}
