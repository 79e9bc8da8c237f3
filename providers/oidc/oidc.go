// Package oidc is the OpenID Connect provider: the gateway as a relying
// party of any OP (Keycloak, Okta, HENNGE, ...) by the authorization code
// flow with PKCE, with presets for Google (Workspace domain enforced) and
// Microsoft Entra ID (one tenant, or several named tenants through the
// organizations and common endpoints).
//
// Begin sends the browser to the OP with a fresh state, nonce and PKCE
// verifier, which it returns as the opaque BeginResult.State; Complete
// checks the callback against that state, exchanges the code and
// verifies the ID token: signature, issuer, audience and authorized
// party, expiry, nonce, at_hash, and the preset's rules (hd, tid). Then
// claims become a providers.Identity.
//
// Discovery runs at Open, but an OP that cannot be reached then does not
// stop the gateway: the provider retries discovery when it is next used,
// at most once every few seconds, and fails meanwhile with
// providers.ErrUnavailable. Health says whether discovery has succeeded.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ssogate/ssogate/providers"
)

const (
	// discoveryTimeout bounds one discovery attempt.
	discoveryTimeout = 10 * time.Second
	// discoveryRetry is how long a failed discovery is remembered before
	// the next attempt, so that a down OP costs one request per interval,
	// not one per sign-in.
	discoveryRetry = 5 * time.Second
	// maxLoginHint caps the login_hint sent to the OP (an email is at
	// most 254 bytes).
	maxLoginHint = 320
	// maxErrorText caps OP-supplied error text kept for the log.
	maxErrorText = 256
)

// Provider signs people in at an OpenID Connect provider. It is safe for
// concurrent use.
type Provider struct {
	id string
	s  *settings

	mu       sync.Mutex
	disc     *discovery
	discErr  error
	discAt   time.Time
	inflight chan struct{} // closed when the running discovery ends
}

var (
	_ providers.RedirectAuthenticator = (*Provider)(nil)
	_ providers.HealthChecker         = (*Provider)(nil)
)

// discovery is what the OP's discovery document yields.
type discovery struct {
	op       *gooidc.Provider
	oauth2   *oauth2.Config
	verifier *gooidc.IDTokenVerifier
	// issParam is true when the OP promises an iss parameter in every
	// authorization response (RFC 9207).
	issParam bool
}

// Open returns an OIDC provider with the given id after validating cfg
// and running discovery. It fails when cfg is invalid or when the OP's
// discovery document contradicts it (another issuer); it does not fail
// when the OP cannot be reached: Begin and Complete retry discovery, and
// Discover reports whether it has succeeded. A discovery attempt takes
// at most 10 s; Open waits for it while ctx lasts, and the attempt goes
// on after ctx ends, since other callers may wait for its result.
func Open(ctx context.Context, id string, cfg Config) (*Provider, error) {
	if id == "" {
		return nil, errors.New("oidc: empty provider id")
	}
	s, err := cfg.resolve()
	if err != nil {
		return nil, fmt.Errorf("oidc: provider %q: %w", id, err)
	}
	p := &Provider{id: id, s: s}
	if err := p.Discover(ctx); err != nil {
		var cerr *configError
		if errors.As(err, &cerr) {
			return nil, fmt.Errorf("oidc: provider %q: %w", id, cerr)
		}
	}
	return p, nil
}

// ID returns the provider's configured id.
func (p *Provider) ID() string { return p.id }

// Type returns "oidc".
func (p *Provider) Type() string { return "oidc" }

// configError means the discovery document contradicts the
// configuration (another issuer, no UserInfo endpoint): a mistake to
// fix, not an outage to wait out.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// Discover reads the OP's discovery document unless it already has. It
// returns nil once discovery has succeeded, else an error wrapping
// providers.ErrUnavailable. A failure is remembered for a few seconds,
// during which Discover fails at once without asking the OP again. The
// gateway may call it to report an unreachable OP at start or in a
// health check; Begin and Complete call it themselves.
func (p *Provider) Discover(ctx context.Context) error {
	_, err := p.discovered(ctx)
	return err
}

func (p *Provider) discovered(ctx context.Context) (*discovery, error) {
	for {
		p.mu.Lock()
		if p.disc != nil {
			d := p.disc
			p.mu.Unlock()
			return d, nil
		}
		ch := p.inflight
		if ch == nil {
			if p.discErr != nil && p.s.Now().Sub(p.discAt) < discoveryRetry {
				err := p.discErr
				p.mu.Unlock()
				return nil, err
			}
			// The attempt runs on its own, bounded by discoveryTimeout:
			// every caller waits only as long as its ctx, and a health
			// check with a short one is not held by a hanging OP.
			ch = make(chan struct{})
			p.inflight = ch
			go p.runDiscovery(ch)
		}
		p.mu.Unlock()
		select {
		case <-ch:
			p.mu.Lock()
			d, err := p.disc, p.discErr
			p.mu.Unlock()
			if d != nil || err != nil {
				return d, err
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("oidc: provider %q: wait for discovery: %w: %w", p.id, providers.ErrUnavailable, ctx.Err())
		}
	}
}

// runDiscovery makes one discovery attempt, records its outcome and
// closes ch.
func (p *Provider) runDiscovery(ch chan struct{}) {
	d, err := p.discover()
	if err != nil {
		err = fmt.Errorf("oidc: provider %q: discovery at %s: %w: %w", p.id, p.s.discoveryURL, providers.ErrUnavailable, err)
	}
	p.mu.Lock()
	p.disc, p.discErr, p.discAt, p.inflight = d, err, p.s.Now(), nil
	p.mu.Unlock()
	close(ch)
}

// Health returns nil once discovery has succeeded. Until then it tries
// discovery as a sign-in would (at most every few seconds, waiting at
// most until ctx ends) and returns its error, which wraps
// providers.ErrUnavailable.
func (p *Provider) Health(ctx context.Context) error {
	return p.Discover(ctx)
}

// discover fetches and checks the discovery document, within
// discoveryTimeout.
func (p *Provider) discover() (*discovery, error) {
	ctx, cancel := context.WithTimeout(context.Background(), discoveryTimeout)
	defer cancel()
	ctx = gooidc.ClientContext(ctx, p.s.HTTPClient)
	if p.s.issuerTemplate != "" {
		// Entra ID's organizations and common documents name the issuer
		// "https://login.microsoftonline.com/{tenantid}/v2.0": go-oidc is
		// told not to compare it, and Complete checks each token's
		// issuer against its tid instead.
		ctx = gooidc.InsecureIssuerURLContext(ctx, p.s.issuerTemplate)
	}
	op, err := gooidc.NewProvider(ctx, p.s.discoveryURL)
	if err != nil {
		var mismatch *gooidc.IssuerMismatchError
		if errors.As(err, &mismatch) {
			return nil, &configError{fmt.Sprintf("the discovery document names issuer %q, not the configured %q; correct issuer", mismatch.Discovered, mismatch.Provided)}
		}
		return nil, err
	}
	var meta struct {
		Issuer   string `json:"issuer"`
		IssParam bool   `json:"authorization_response_iss_parameter_supported"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, fmt.Errorf("read discovery document: %w", err)
	}
	if p.s.issuerTemplate != "" && meta.Issuer != p.s.issuerTemplate {
		return nil, &configError{fmt.Sprintf("the discovery document names issuer %q, want %q; check tenant and microsoft_authority", meta.Issuer, p.s.issuerTemplate)}
	}
	ep := op.Endpoint()
	if ep.AuthURL == "" || ep.TokenURL == "" {
		return nil, &configError{"the discovery document lacks authorization_endpoint or token_endpoint; is issuer an OpenID Connect provider?"}
	}
	if p.s.UserInfo && op.UserInfoEndpoint() == "" {
		return nil, &configError{"userinfo is set but the discovery document has no userinfo_endpoint; unset userinfo"}
	}
	return &discovery{
		op: op,
		oauth2: &oauth2.Config{
			ClientID:     p.s.ClientID,
			ClientSecret: p.s.ClientSecret,
			Endpoint:     ep,
			Scopes:       p.s.Scopes,
		},
		verifier: op.Verifier(&gooidc.Config{
			ClientID:        p.s.ClientID,
			Now:             p.s.Now,
			SkipIssuerCheck: p.s.issuerTemplate != "",
		}),
		issParam: meta.IssParam,
	}, nil
}

// authState is what Begin hands the gateway to keep and Complete gets
// back. It holds secrets (the PKCE verifier), so the gateway keeps it
// server-side.
type authState struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Callback string `json:"c"`
}

// Begin starts a sign-in: it returns the OP's authorization URL with a
// fresh state, nonce and PKCE S256 challenge, and as State their values
// and the callback URL. LoginHint, when set, is passed on as login_hint;
// the google preset with HostedDomain also sends hd. Begin fails with an
// error wrapping providers.ErrUnavailable when discovery has not
// succeeded yet and fails again.
func (p *Provider) Begin(ctx context.Context, req providers.BeginRequest) (*providers.BeginResult, error) {
	if err := checkCallback(req.CallbackURL); err != nil {
		return nil, fmt.Errorf("oidc: provider %q: %w", p.id, err)
	}
	d, err := p.discovered(ctx)
	if err != nil {
		return nil, err
	}
	st := authState{
		Provider: p.id,
		State:    randomString(),
		Nonce:    randomString(),
		Verifier: oauth2.GenerateVerifier(),
		Callback: req.CallbackURL,
	}
	opts := []oauth2.AuthCodeOption{
		oauth2.SetAuthURLParam("redirect_uri", st.Callback),
		gooidc.Nonce(st.Nonce),
		oauth2.S256ChallengeOption(st.Verifier),
	}
	if hint := strings.TrimSpace(req.LoginHint); hint != "" && len(hint) <= maxLoginHint {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", hint))
	}
	if p.s.Preset == PresetGoogle && p.s.HostedDomain != "" {
		opts = append(opts, oauth2.SetAuthURLParam("hd", p.s.HostedDomain))
	}
	state, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("oidc: provider %q: encode state: %w", p.id, err)
	}
	return &providers.BeginResult{RedirectURL: d.oauth2.AuthCodeURL(st.State, opts...), State: state}, nil
}

// randomString returns 32 random bytes, base64url-encoded.
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// deniedCodes are the OP error codes that mean the person (or the OP's
// policy about the person) said no, rather than a broken exchange.
var deniedCodes = map[string]bool{
	"access_denied":        true,
	"consent_required":     true,
	"login_required":       true,
	"interaction_required": true,
}

// Complete finishes a sign-in from the callback and the State that Begin
// returned. It fails with an error wrapping
//
//   - providers.ErrDenied (in a *providers.ProviderError with the OP's
//     code) when the OP answered access_denied, consent_required,
//     login_required or interaction_required;
//   - providers.ErrInvalidResponse for any other OP error, a state,
//     nonce, PKCE, signature, issuer, audience, expiry or at_hash that
//     does not verify, a code already used, or UserInfo about someone
//     else;
//   - providers.ErrNotAllowed when the ID token is genuine but its hd
//     (google with HostedDomain) or tenant (microsoft) is not the one
//     configured;
//   - providers.ErrUnavailable when the OP cannot be reached.
//
// On success Identity.Subject is the ID token's sub, Claims holds the ID
// token's claims and, with UserInfo, those of UserInfo the ID token
// lacks, and AMR is "fed" followed by the token's amr values.
func (p *Provider) Complete(ctx context.Context, req providers.CompleteRequest) (*providers.Identity, error) {
	params := req.Query
	if params.Get("code") == "" && params.Get("error") == "" && len(req.Form) > 0 {
		params = req.Form // response_mode=form_post
	}
	var st authState
	if err := json.Unmarshal(req.State, &st); err != nil || st.Provider != p.id || st.State == "" || st.Nonce == "" || st.Verifier == "" {
		return nil, p.invalid("unreadable state, or state of another provider")
	}
	if code := params.Get("error"); code != "" {
		perr := &providers.ProviderError{Code: clip(code), Description: clip(params.Get("error_description")), Err: providers.ErrInvalidResponse}
		if deniedCodes[code] {
			perr.Err = providers.ErrDenied
		}
		return nil, fmt.Errorf("oidc: provider %q: authorization: %w", p.id, perr)
	}
	if subtle.ConstantTimeCompare([]byte(params.Get("state")), []byte(st.State)) != 1 {
		return nil, p.invalid("state parameter does not match this browser's sign-in")
	}
	if req.CallbackURL != "" && req.CallbackURL != st.Callback {
		return nil, p.invalid("callback URL differs from the one the sign-in began with")
	}
	d, err := p.discovered(ctx)
	if err != nil {
		return nil, err
	}
	// RFC 9207: an iss parameter names the OP that sent the browser
	// back; a different one means a mix-up attack, and the code must
	// not reach this OP's token endpoint.
	if iss, ok := params["iss"]; ok || d.issParam {
		if !ok {
			return nil, p.invalid("no iss parameter, though the OP promises one (RFC 9207)")
		}
		if len(iss) != 1 || !p.plausibleIssuer(iss[0]) {
			return nil, p.invalid("iss parameter %q is not this provider's issuer", clip(strings.Join(iss, ",")))
		}
	}
	code := params.Get("code")
	if code == "" {
		return nil, p.invalid("callback without code")
	}

	ctx = gooidc.ClientContext(ctx, p.s.HTTPClient)
	tok, err := d.oauth2.Exchange(ctx, code,
		oauth2.SetAuthURLParam("redirect_uri", st.Callback),
		oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return nil, p.exchangeError(err, code)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, p.invalid("token response without id_token")
	}
	idt, err := d.verifier.Verify(ctx, rawID)
	if err != nil {
		return nil, fmt.Errorf("oidc: provider %q: verify id token: %w: %w", p.id, providers.ErrInvalidResponse, err)
	}
	var raw json.RawMessage
	if err := idt.Claims(&raw); err != nil {
		return nil, p.invalid("id token claims: %v", err)
	}
	claims, err := decodeClaims(raw)
	if err != nil {
		return nil, p.invalid("id token claims: %v", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return nil, p.invalid("id token nonce does not match this sign-in")
	}
	if err := p.checkAudience(idt, claims); err != nil {
		return nil, err
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, fmt.Errorf("oidc: provider %q: %w: %w", p.id, providers.ErrInvalidResponse, err)
		}
	}
	if idt.Subject == "" {
		return nil, p.invalid("id token without sub")
	}
	if iss, ok := params["iss"]; ok && p.s.issuerTemplate != "" && iss[0] != idt.Issuer {
		return nil, p.invalid("iss parameter %q differs from the id token's issuer %q", clip(iss[0]), idt.Issuer)
	}
	if err := p.checkTenant(idt, claims); err != nil {
		return nil, err
	}
	if err := p.checkHostedDomain(claims); err != nil {
		return nil, err
	}
	if p.s.UserInfo {
		if err := p.mergeUserInfo(ctx, d, tok, idt.Subject, claims); err != nil {
			return nil, err
		}
	}
	return p.identity(idt.Subject, claims), nil
}

// invalid returns an error wrapping providers.ErrInvalidResponse.
func (p *Provider) invalid(format string, args ...any) error {
	return fmt.Errorf("oidc: provider %q: %w: %s", p.id, providers.ErrInvalidResponse, fmt.Sprintf(format, args...))
}

// notAllowed returns an error wrapping providers.ErrNotAllowed.
func (p *Provider) notAllowed(format string, args ...any) error {
	return fmt.Errorf("oidc: provider %q: %w: %s", p.id, providers.ErrNotAllowed, fmt.Sprintf(format, args...))
}

// clip shortens OP- or browser-supplied text kept for the log.
func clip(s string) string {
	if len(s) > maxErrorText {
		return s[:maxErrorText] + "..."
	}
	return s
}

// exchangeError classifies a failed token exchange: the OP's error codes
// (invalid_grant for a used code or a wrong verifier) are an invalid
// response, a 5xx or no answer is an outage. Some OPs repeat the code in
// their description; it is cut out, as codes are not for the log.
func (p *Provider) exchangeError(err error, code string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if re.ErrorCode != "" {
			return fmt.Errorf("oidc: provider %q: token exchange: %w", p.id, &providers.ProviderError{
				Code: clip(re.ErrorCode), Description: clip(strings.ReplaceAll(re.ErrorDescription, code, "[code]")), Err: providers.ErrInvalidResponse})
		}
		if status >= 500 {
			return fmt.Errorf("oidc: provider %q: token exchange: %w: HTTP %d", p.id, providers.ErrUnavailable, status)
		}
		return fmt.Errorf("oidc: provider %q: token exchange: %w: HTTP %d", p.id, providers.ErrInvalidResponse, status)
	}
	return fmt.Errorf("oidc: provider %q: token exchange: %w: %w", p.id, providers.ErrUnavailable, err)
}

// plausibleIssuer reports whether iss may be this provider's issuer:
// the configured one, or for a multi-tenant provider the template with
// some tenant id (which tenant is checked on the ID token).
func (p *Provider) plausibleIssuer(iss string) bool {
	if p.s.issuerTemplate == "" {
		return iss == p.s.Issuer
	}
	prefix, suffix, _ := strings.Cut(p.s.issuerTemplate, tenantPlaceholder)
	tid, ok := strings.CutPrefix(iss, prefix)
	if !ok {
		return false
	}
	tid, ok = strings.CutSuffix(tid, suffix)
	return ok && isGUID(tid)
}

// checkAudience applies OpenID Connect Core 3.1.3.7 beyond go-oidc's
// audience check: an ID token for several audiences must name this
// client as its authorized party, and an azp must be this client.
func (p *Provider) checkAudience(idt *gooidc.IDToken, claims map[string]any) error {
	azp, hasAZP := claims["azp"].(string)
	if hasAZP && azp != p.s.ClientID {
		return p.invalid("id token authorized party %q is not this client", clip(azp))
	}
	if len(idt.Audience) > 1 && !hasAZP {
		return p.invalid("id token for several audiences without azp")
	}
	return nil
}

// checkTenant enforces the microsoft preset's tenant rules. For one
// tenant the issuer already pins it; with organizations or common the
// issuer must be the template with the token's tid, and tid must be
// allowed.
func (p *Provider) checkTenant(idt *gooidc.IDToken, claims map[string]any) error {
	if p.s.Preset != PresetMicrosoft {
		return nil
	}
	tid, _ := claims["tid"].(string)
	if p.s.issuerTemplate == "" {
		if tid != "" && !strings.EqualFold(tid, p.s.Tenant) {
			return p.invalid("id token tid %q is not tenant %s", clip(tid), p.s.Tenant)
		}
		return nil
	}
	if !isGUID(strings.ToLower(tid)) {
		return p.invalid("id token without a tenant id (tid %q)", clip(tid))
	}
	want := strings.Replace(p.s.issuerTemplate, tenantPlaceholder, tid, 1)
	if idt.Issuer != want {
		return p.invalid("id token issuer %q is not %q, the issuer of its tid", clip(idt.Issuer), want)
	}
	if !p.s.allowed[strings.ToLower(tid)] {
		return p.notAllowed("tenant %s is not in allowed_tenants", tid)
	}
	return nil
}

// checkHostedDomain enforces the google preset's HostedDomain on the
// ID token: requesting hd only preselects accounts, anyone can remove it
// from the URL.
func (p *Provider) checkHostedDomain(claims map[string]any) error {
	if p.s.Preset != PresetGoogle || p.s.HostedDomain == "" {
		return nil
	}
	hd, _ := claims["hd"].(string)
	if hd == "" {
		return p.notAllowed("account of no Workspace domain; hosted_domain is %s", p.s.HostedDomain)
	}
	if !strings.EqualFold(hd, p.s.HostedDomain) {
		return p.notAllowed("account of Workspace domain %q; hosted_domain is %s", clip(hd), p.s.HostedDomain)
	}
	return nil
}

// mergeUserInfo adds the UserInfo claims that the ID token lacks to
// claims. The ID token wins every conflict: it is signed and bound to
// this sign-in by the nonce. An email and the claim that says it is
// verified are taken together, from the source that supplied the email.
func (p *Provider) mergeUserInfo(ctx context.Context, d *discovery, tok *oauth2.Token, subject string, claims map[string]any) error {
	ui, err := d.op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("oidc: provider %q: userinfo: %w: %w", p.id, providers.ErrUnavailable, err)
		}
		return fmt.Errorf("oidc: provider %q: userinfo: %w: %w", p.id, providers.ErrInvalidResponse, err)
	}
	if ui.Subject == "" {
		return p.invalid("userinfo response without sub")
	}
	if ui.Subject != subject {
		// OpenID Connect Core 5.3.2: the UserInfo sub must be verified
		// to equal the ID token's, else the response must not be used.
		return p.invalid("userinfo sub %q is not the id token's sub", clip(ui.Subject))
	}
	var raw json.RawMessage
	if err := ui.Claims(&raw); err != nil {
		return p.invalid("userinfo claims: %v", err)
	}
	uc, err := decodeClaims(raw)
	if err != nil {
		return p.invalid("userinfo claims: %v", err)
	}
	email, verified := p.s.Claims.Email, p.s.Claims.EmailVerified
	_, tokenHasEmail := claims[email]
	for k, v := range uc {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	if !tokenHasEmail {
		if v, ok := uc[verified]; ok {
			claims[verified] = v
		} else {
			delete(claims, verified)
		}
	}
	return nil
}
