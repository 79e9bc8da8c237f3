package oidcop

import (
	"errors"
	"net/http"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/ssogate/ssogate/store"
)

// What a replay was, for Config.OnReplay: a private_key_jwt client
// assertion presented a second time.
const ReplayClientAssertion = "client_assertion_reused"

// The library's own bounds on a client assertion (op.Provider's
// JWTProfileVerifier): issued at most an hour ago, a second of clock skew.
const (
	assertionMaxAge = time.Hour
	assertionSkew   = time.Second
)

// assertionUsedOnce lets a request at the token, introspection or
// revocation endpoint through unless it authenticates with a
// private_key_jwt client assertion that was used before: an assertion is
// used once (OpenID Connect Core §9, "jti ... MUST only be used once"),
// which the library does not check. The assertion is verified here in full
// (signature, audience, expiry, age) before its jti is remembered, in the
// store, so every replica refuses a copy, and for as long as the library
// would accept it. One the library would refuse anyway is passed on for
// the library's own refusal. It reports whether the request goes on;
// otherwise it has answered.
func (p *Provider) assertionUsedOnce(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		return true
	}
	if err := r.ParseForm(); err != nil {
		return true // the library refuses the same form
	}
	if r.PostForm.Get("client_assertion_type") != oidc.ClientAssertionTypeJWTAssertion {
		return true
	}
	ctx := r.Context()
	v := op.NewJWTProfileVerifier(p.st, p.issuer, assertionMaxAge, assertionSkew)
	req, err := op.VerifyJWTAssertion(ctx, r.PostForm.Get("client_assertion"), v)
	if err != nil {
		return true
	}
	if req.JWTID == "" {
		op.RequestError(w, r, oidc.ErrInvalidClient().WithDescription("the client assertion has no jti"), p.st.log)
		return false
	}
	now := p.st.now()
	// Accepted until it expires or its iat is an hour old, whichever is
	// first, give or take the skew.
	until := req.ExpiresAt.AsTime()
	if last := req.IssuedAt.AsTime().Add(assertionMaxAge); last.Before(until) {
		until = last
	}
	t := &store.Ticket{ID: hashID(req.Issuer + "\x00" + req.JWTID), Purpose: store.PurposeOIDCClientAssertion,
		CreatedAt: now, ExpiresAt: until.Add(assertionSkew)}
	switch err := p.st.st.CreateTicket(ctx, t); {
	case err == nil:
		return true
	case errors.Is(err, store.ErrConflict):
		p.st.replay(ctx, ReplayClientAssertion, req.Issuer, "")
		op.RequestError(w, r, oidc.ErrInvalidClient().WithDescription("the client assertion was used before"), p.st.log)
	default:
		p.st.log.Error("oidc: remember client assertion", "client", req.Issuer, "err", err)
		op.RequestError(w, r, oidc.ErrServerError().WithDescription("the store is unavailable; try again"), p.st.log)
	}
	return false
}
