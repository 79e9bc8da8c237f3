// Package providers defines the contract between the gateway and the things
// that prove who someone is: small capability interfaces, the Identity they
// yield, the errors they return and a registry of configured providers.
//
// A provider implements Provider and one or more capability interfaces:
//
//   - PasswordAuthenticator: credentials in, Identity or ErrInvalidCredentials out
//     (local passwords, LDAP / Active Directory);
//   - RedirectAuthenticator: Begin sends the browser elsewhere with opaque state,
//     Complete turns the callback into an Identity (OIDC, SAML);
//   - RequestAuthenticator: facts about the request in, a verdict out
//     (line authentication by client IP).
//
// Two optional capabilities let the gateway look after a provider:
// HealthChecker says whether it can answer now (for /readyz and the
// login page), and Refresher re-reads what it caches from its peer (for
// a configuration reload).
//
// No *http.Request crosses these interfaces, so the same contract can be
// served over gRPC by out-of-process plugins. This package imports nothing
// from the rest of ssogate.
package providers

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"sort"
	"sync"
	"time"
)

// Sentinel errors. Providers wrap them with %w so that the gateway can tell
// a result (wrong password) from a failure (directory down).
var (
	// ErrInvalidCredentials means the login id or the secret was wrong. It is
	// deliberately not more specific: callers must not learn which.
	ErrInvalidCredentials = errors.New("providers: invalid credentials")
	// ErrAccountDisabled means the credentials were right but the account may
	// not sign in (disabled, locked, expired).
	ErrAccountDisabled = errors.New("providers: account disabled")
	// ErrUnavailable means the provider could not answer (a directory is down,
	// a plugin crashed); other providers keep working.
	ErrUnavailable = errors.New("providers: provider unavailable")
	// ErrBusy means the provider refused the call to protect itself (too many
	// password hashes in flight); the caller may retry later.
	ErrBusy = errors.New("providers: too busy, try again")
	// ErrDenied means the external provider refused or the person cancelled
	// (OIDC error=access_denied, a SAML Responder status).
	ErrDenied = errors.New("providers: sign-in denied at the provider")
	// ErrNotAllowed means the identity is genuine but outside what the
	// configuration accepts (another Google Workspace domain, a tenant not
	// in the allow-list).
	ErrNotAllowed = errors.New("providers: identity not allowed here")
	// ErrInvalidResponse means a callback failed verification (bad state,
	// signature, audience, expiry, a replayed assertion): an attack or a
	// misconfiguration, never the person's fault.
	ErrInvalidResponse = errors.New("providers: invalid response from the provider")
)

// AccountError is a directory's verdict on an account whose password was
// right or could not be checked: Reason is one of the Reason* constants.
// It matches ErrAccountDisabled with errors.Is, so callers that need no
// detail can treat every reason alike.
type AccountError struct {
	Reason string
	// Detail is for the log (the directory's own message), never the page.
	Detail string
}

// Account error reasons, for the message the person sees.
const (
	ReasonLocked             = "locked"               // too many wrong passwords (AD 775)
	ReasonDisabled           = "disabled"             // disabled by an admin (AD 533)
	ReasonExpired            = "expired"              // account expired (AD 701)
	ReasonPasswordExpired    = "password_expired"     // password expired (AD 532)
	ReasonMustChangePassword = "must_change_password" // must change at next logon (AD 773)
)

func (e *AccountError) Error() string {
	return "providers: account " + e.Reason
}

// Is makes errors.Is(err, ErrAccountDisabled) true for every AccountError.
func (e *AccountError) Is(target error) bool { return target == ErrAccountDisabled }

// ProviderError carries an error code the external provider returned
// (OIDC "error", SAML status), for the log; it wraps ErrDenied or
// ErrInvalidResponse.
type ProviderError struct {
	Code        string
	Description string
	Err         error
}

func (e *ProviderError) Error() string {
	s := "providers: provider returned " + e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

func (e *ProviderError) Unwrap() error { return e.Err }

// ReplayCache remembers one-time identifiers (SAML assertion ids) until
// they expire, across gateway replicas. Remember reports false when id was
// already remembered: a replay.
type ReplayCache interface {
	Remember(ctx context.Context, id string, until time.Time) (first bool, err error)
}

// Identity is what a provider asserts about a person after a successful
// sign-in. ProviderID and Subject together identify the person stably;
// Email and the profile fields are informational and may change.
type Identity struct {
	ProviderID    string
	Subject       string
	Email         string
	EmailVerified bool
	DisplayName   string
	Phone         string
	Mobile        string
	Organization  string
	Department    string
	Groups        []string
	// Claims holds the provider's raw attributes (ID token claims, SAML
	// attributes, LDAP attributes) for mapping rules; values are strings or
	// lists of strings.
	Claims map[string][]string
	// AMR lists the authentication methods used (RFC 8176 values where one
	// fits: "pwd", "otp", "fed", "net").
	AMR []string
}

// Provider is implemented by every provider.
type Provider interface {
	// ID returns the provider's id from the configuration ("local", "google").
	ID() string
	// Type returns the provider's kind ("local", "oidc", "ldap", "network").
	Type() string
}

// PasswordAuthenticator verifies a login id and a password.
type PasswordAuthenticator interface {
	Provider
	// Authenticate returns the Identity for login and password, or an error
	// wrapping ErrInvalidCredentials when either is wrong. An unknown login
	// and a wrong password must be indistinguishable to the caller, in both
	// result and time taken.
	Authenticate(ctx context.Context, login, password string) (*Identity, error)
}

// BeginRequest carries what a redirect-style provider needs to start a login.
type BeginRequest struct {
	// CallbackURL is where the external provider must send the browser back.
	CallbackURL string
	// LoginHint is an optional email the person typed.
	LoginHint string
}

// BeginResult tells the gateway where to send the browser. State is opaque
// to the gateway; it keeps it bound to the browser and hands it back to
// Complete unchanged.
type BeginResult struct {
	RedirectURL string
	// PostForm, when not nil, asks the gateway to send the browser by an
	// auto-submitted POST form (SAML HTTP-POST binding) to RedirectURL.
	PostForm url.Values
	State    []byte
}

// CompleteRequest carries the callback the browser brought back.
type CompleteRequest struct {
	CallbackURL string
	Query       url.Values
	Form        url.Values
	State       []byte
}

// RedirectAuthenticator signs people in by sending them to an external
// identity provider and back.
type RedirectAuthenticator interface {
	Provider
	Begin(ctx context.Context, req BeginRequest) (*BeginResult, error)
	Complete(ctx context.Context, req CompleteRequest) (*Identity, error)
}

// MetadataPublisher is a redirect-style provider that publishes metadata
// the external provider needs: SAML SP metadata, served by the gateway at
// /saml/<id>/metadata.
type MetadataPublisher interface {
	Metadata(ctx context.Context) ([]byte, error)
}

// HealthChecker is a provider that can say whether it can answer now:
// its peer reachable, its metadata or discovery document loaded.
type HealthChecker interface {
	// Health returns nil when the provider can serve sign-ins, else an
	// error wrapping ErrUnavailable that says why (for the log and the
	// operator, never the person). It must be cheap and must not hang:
	// it answers from a result cached for a few seconds, checks the peer
	// with a short timeout of its own, and returns once ctx ends. The
	// gateway calls it for /readyz and for every login page.
	Health(ctx context.Context) error
}

// Refresher is a provider that caches something from its peer (SAML IdP
// metadata) and can fetch it again at once. A configuration reload calls
// Refresh on every provider it keeps, so that a reload picks up a change
// at the peer (a new signing certificate) without waiting for the next
// scheduled refresh.
type Refresher interface {
	// Refresh fetches again; on failure the provider keeps what it had
	// and the error wraps ErrUnavailable.
	Refresh(ctx context.Context) error
}

// RequestFacts are the facts about one request a request-style provider
// may judge. ClientIP is already resolved past trusted proxies.
type RequestFacts struct {
	ClientIP netip.Addr
}

// Verdict is a request-style provider's answer.
type Verdict struct {
	// Matched is true when the request satisfies the provider.
	Matched bool
	// Name names what matched (the office line), for display and audit.
	Name string
}

// RequestAuthenticator judges a request by its facts.
type RequestAuthenticator interface {
	Provider
	Check(ctx context.Context, facts RequestFacts) (Verdict, error)
}

// Registry holds the configured providers in configuration order. It is safe
// for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	order []string
	byID  map[string]Provider
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{byID: map[string]Provider{}}
}

// Add registers p. It returns an error if a provider with the same id exists.
func (r *Registry) Add(p Provider) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.byID[p.ID()]; dup {
		return errors.New("providers: duplicate provider id " + p.ID())
	}
	r.byID[p.ID()] = p
	r.order = append(r.order, p.ID())
	return nil
}

// Get returns the provider with the given id.
func (r *Registry) Get(id string) (Provider, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.byID[id]
	return p, ok
}

// All returns the providers in registration order.
func (r *Registry) All() []Provider {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Provider, 0, len(r.order))
	for _, id := range r.order {
		out = append(out, r.byID[id])
	}
	return out
}

// IDs returns the registered ids, sorted.
func (r *Registry) IDs() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := append([]string(nil), r.order...)
	sort.Strings(ids)
	return ids
}
