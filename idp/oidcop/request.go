package oidcop

import (
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// AuthRequest is an authorization request, kept as a ticket while the
// person signs in and, once done, as the code's ticket. Its ID (the
// secret in the login step's URL) is not stored: the ticket's id is its
// SHA-256.
type AuthRequest struct {
	ID                  string                   `json:"-"`
	ClientID            string                   `json:"client_id"`
	RedirectURI         string                   `json:"redirect_uri"`
	State               string                   `json:"state,omitempty"`
	Nonce               string                   `json:"nonce,omitempty"`
	Scopes              []string                 `json:"scopes"`
	ResponseType        oidc.ResponseType        `json:"response_type"`
	ResponseMode        oidc.ResponseMode        `json:"response_mode,omitempty"`
	CodeChallenge       string                   `json:"code_challenge,omitempty"`
	CodeChallengeMethod oidc.CodeChallengeMethod `json:"code_challenge_method,omitempty"`
	Prompt              []string                 `json:"prompt,omitempty"`
	MaxAge              *uint                    `json:"max_age,omitempty"`
	ACRValues           []string                 `json:"acr_values,omitempty"`
	CreatedAt           time.Time                `json:"created_at"`
	ExpiresAt           time.Time                `json:"expires_at"`

	// Set when the person signed in (Complete).
	UserID    string    `json:"user_id,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	SID       string    `json:"sid,omitempty"`
	AMR       []string  `json:"amr,omitempty"`
	ACR       string    `json:"acr,omitempty"`
	AuthTime  time.Time `json:"auth_time,omitzero"`
	FamilyID  string    `json:"family_id,omitempty"`
	IsDone    bool      `json:"done,omitempty"`
}

var (
	_ op.AuthRequest  = (*AuthRequest)(nil)
	_ op.TokenRequest = (*AuthRequest)(nil)
)

// GetID implements op.AuthRequest.
func (a *AuthRequest) GetID() string { return a.ID }

// GetACR implements op.AuthRequest.
func (a *AuthRequest) GetACR() string { return a.ACR }

// GetAMR implements op.AuthRequest.
func (a *AuthRequest) GetAMR() []string { return a.AMR }

// GetAudience implements op.AuthRequest.
func (a *AuthRequest) GetAudience() []string { return []string{a.ClientID} }

// GetAuthTime implements op.AuthRequest.
func (a *AuthRequest) GetAuthTime() time.Time { return a.AuthTime }

// GetClientID implements op.AuthRequest.
func (a *AuthRequest) GetClientID() string { return a.ClientID }

// GetCodeChallenge implements op.AuthRequest.
func (a *AuthRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.CodeChallenge, Method: a.CodeChallengeMethod}
}

// GetNonce implements op.AuthRequest.
func (a *AuthRequest) GetNonce() string { return a.Nonce }

// GetRedirectURI implements op.AuthRequest.
func (a *AuthRequest) GetRedirectURI() string { return a.RedirectURI }

// GetResponseType implements op.AuthRequest.
func (a *AuthRequest) GetResponseType() oidc.ResponseType { return a.ResponseType }

// GetResponseMode implements op.AuthRequest.
func (a *AuthRequest) GetResponseMode() oidc.ResponseMode { return a.ResponseMode }

// GetScopes implements op.AuthRequest.
func (a *AuthRequest) GetScopes() []string { return a.Scopes }

// GetState implements op.AuthRequest.
func (a *AuthRequest) GetState() string { return a.State }

// GetSubject implements op.AuthRequest: the user id.
func (a *AuthRequest) GetSubject() string { return a.UserID }

// Done implements op.AuthRequest.
func (a *AuthRequest) Done() bool { return a.IsDone }

// PromptNone reports whether the app asked not to show any page.
func (a *AuthRequest) PromptNone() bool { return slices.Contains(a.Prompt, oidc.PromptNone) }

// PromptLogin reports whether the app asked for a fresh sign-in.
func (a *AuthRequest) PromptLogin() bool { return slices.Contains(a.Prompt, oidc.PromptLogin) }

// ACRs the provider understands in acr_values: each asks for a sign-in
// with a second factor.
const (
	ACRMFA       = "mfa"
	ACRPAPEMulti = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
)

// WantsMFA reports whether acr_values asks for a second factor.
func (a *AuthRequest) WantsMFA() bool {
	return slices.Contains(a.ACRValues, ACRMFA) || slices.Contains(a.ACRValues, ACRPAPEMulti)
}

// Grant is what the login step found: who signed in, how and when.
type Grant struct {
	UserID    string
	SessionID string
	// SID is the session id given to the app (derived, never the
	// gateway's own session id).
	SID      string
	AMR      []string
	AuthTime time.Time
	// MFA reports whether the sign-in used a second factor.
	MFA bool
}

// tokenData is the opaque part of a stored token.
type tokenData struct {
	SID string `json:"sid,omitempty"`
	ACR string `json:"acr,omitempty"`
}

// refreshRequest is a refresh token presented at the token endpoint.
type refreshRequest struct {
	secret string
	tok    tokenInfo
	scopes []string
}

// tokenInfo is the part of a stored token a refresh carries on.
type tokenInfo struct {
	FamilyID, ClientID, UserID, SessionID string
	Scopes, AMR                           []string
	AuthTime                              time.Time
	Data                                  tokenData
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string            { return r.tok.AMR }
func (r *refreshRequest) GetAudience() []string       { return []string{r.tok.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.tok.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.tok.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.tok.UserID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }
