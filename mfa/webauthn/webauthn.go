// Package webauthn is the passkey and security key factor (WebAuthn) of
// 2-step verification, with github.com/go-webauthn/webauthn: a second
// factor after a password, and (as an mfa.Discoverer) a sign-in without a
// password at all.
//
// The gateway's public URL is the relying party: its host is the RP ID,
// its origin the only origin a browser's response may come from. A
// credential stays an opaque record to the rest of ssogate: the
// Enrolment's Secret is the library's credential record as JSON (public
// key, AAGUID, transports, flags, attestation), its Handle the credential
// id (base64url) and its Counter the authenticator's signature count.
//
// A configuration (cmd/ssogate builds it from ssogate.yaml):
//
//	server:
//	  public_url: https://sso.example.co.jp   # RP ID sso.example.co.jp
//	portal:
//	  title: サンプル社 ポータル                # what the authenticator shows
//	policy:
//	  two_factor:
//	    methods: [totp, webauthn]
package webauthn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	lib "github.com/go-webauthn/webauthn/webauthn"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/ssogate/ssogate/mfa"
)

// DefaultTimeout is how long a ceremony may take, from the options the
// page receives to the response it posts back, when Config.Timeout is 0.
const DefaultTimeout = 5 * time.Minute

// Config configures the factor.
type Config struct {
	// PublicURL is the gateway's public URL (server.public_url): its host
	// (without port) is the RP ID and its scheme://host[:port] the one
	// origin a response is accepted from.
	PublicURL string
	// DisplayName is the relying party's name an authenticator shows (the
	// portal title). Empty means the RP ID.
	DisplayName string
	// Timeout bounds a ceremony; 0 means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock that ages a ceremony's state; nil means time.Now.
	Now func() time.Time
}

// Factor is the WebAuthn factor: mfa.Factor for enrolment and the second
// step, mfa.Discoverer for the passwordless sign-in.
type Factor struct {
	wa      *lib.WebAuthn
	timeout time.Duration
	now     func() time.Time
}

var (
	_ mfa.Factor     = (*Factor)(nil)
	_ mfa.Discoverer = (*Factor)(nil)
)

// New validates c and returns the factor.
func New(c Config) (*Factor, error) {
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("webauthn: public url %q: want http(s)://host[:port]", c.PublicURL)
	}
	rpID := strings.ToLower(u.Hostname())
	name := strings.TrimSpace(c.DisplayName)
	if name == "" {
		name = rpID
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	wa, err := lib.New(&lib.Config{
		RPID:          rpID,
		RPDisplayName: name,
		RPOrigins:     []string{strings.ToLower(u.Scheme + "://" + u.Host)},
		// "none": ssogate trusts what the person registers while signed
		// in; an attestation would only reveal the authenticator's make.
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		},
		// The browser is told the timeout; the state's age is checked
		// here against the injected clock instead of the library's.
		Timeouts: lib.TimeoutsConfig{
			Login:        lib.TimeoutConfig{Timeout: timeout, TimeoutUVD: timeout},
			Registration: lib.TimeoutConfig{Timeout: timeout, TimeoutUVD: timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	return &Factor{wa: wa, timeout: timeout, now: now}, nil
}

// Kind is mfa.KindWebAuthn.
func (f *Factor) Kind() mfa.Kind { return mfa.KindWebAuthn }

// state is what a half-finished ceremony keeps server-side: the
// library's session data, whether it is a passwordless (discoverable)
// sign-in, and when it was begun.
type state struct {
	Session      lib.SessionData `json:"session"`
	Discoverable bool            `json:"discoverable,omitempty"`
	Begun        time.Time       `json:"begun"`
}

func (f *Factor) seal(s *lib.SessionData, discoverable bool) ([]byte, error) {
	b, err := json.Marshal(state{Session: *s, Discoverable: discoverable, Begun: f.now()})
	if err != nil {
		return nil, fmt.Errorf("webauthn: state: %w", err)
	}
	return b, nil
}

func (f *Factor) open(b []byte) (*state, error) {
	var st state
	if err := json.Unmarshal(b, &st); err != nil || st.Session.Challenge == "" {
		return nil, fmt.Errorf("webauthn: state unreadable: %w", mfa.ErrExpired)
	}
	if age := f.now().Sub(st.Begun); age > f.timeout || age < -time.Minute {
		return nil, fmt.Errorf("webauthn: ceremony begun %s ago: %w", age.Round(time.Second), mfa.ErrExpired)
	}
	return &st, nil
}

// user is the library's view of a person: the Subject and, at the
// second step, the one credential being asked.
type user struct {
	s     mfa.Subject
	creds []lib.Credential
}

// WebAuthnID is the user handle: the store's user id, a random value
// that names nobody (the spec asks for no personal data here).
func (u *user) WebAuthnID() []byte { return []byte(u.s.UserID) }

func (u *user) WebAuthnName() string { return u.s.Email }

func (u *user) WebAuthnDisplayName() string {
	if u.s.DisplayName != "" {
		return u.s.DisplayName
	}
	return u.s.Email
}

func (u *user) WebAuthnCredentials() []lib.Credential { return u.creds }

// BeginEnrol returns the creation options (Prompt.Options, the JSON for
// navigator.credentials.create's publicKey) and the state to keep.
func (f *Factor) BeginEnrol(ctx context.Context, s mfa.Subject) (mfa.Prompt, []byte, error) {
	return f.BeginEnrolExcluding(ctx, s, nil)
}

// BeginEnrolExcluding is BeginEnrol for a person who registered the
// passkeys existing already: the options name them (excludeCredentials),
// so that an authenticator holding one declines to register a second
// passkey for the same person, which would replace the first on the
// device and leave its record unusable.
func (f *Factor) BeginEnrolExcluding(ctx context.Context, s mfa.Subject, existing []*mfa.Enrolment) (mfa.Prompt, []byte, error) {
	if s.UserID == "" {
		return mfa.Prompt{}, nil, errors.New("webauthn: subject has no user id")
	}
	var exclude []protocol.CredentialDescriptor
	for _, e := range existing {
		if cred, err := record(e); err == nil {
			exclude = append(exclude, cred.Descriptor())
		}
	}
	creation, session, err := f.wa.BeginRegistration(&user{s: s}, lib.WithExclusions(exclude))
	if err != nil {
		return mfa.Prompt{}, nil, fmt.Errorf("webauthn: begin registration: %w", err)
	}
	return f.prompt(creation.Response, session, false)
}

func (f *Factor) prompt(options any, session *lib.SessionData, discoverable bool) (mfa.Prompt, []byte, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return mfa.Prompt{}, nil, fmt.Errorf("webauthn: options: %w", err)
	}
	st, err := f.seal(session, discoverable)
	if err != nil {
		return mfa.Prompt{}, nil, err
	}
	return mfa.Prompt{Options: opts}, st, nil
}

// FinishEnrol checks the browser's response to the creation options (the
// PublicKeyCredential as JSON, binary fields base64url) against state and
// returns the Enrolment: Handle the credential id, Secret the credential
// record, Counter its signature count.
func (f *Factor) FinishEnrol(ctx context.Context, s mfa.Subject, stateBytes []byte, response string) (*mfa.Enrolment, error) {
	st, err := f.open(stateBytes)
	if err != nil {
		return nil, err
	}
	if st.Discoverable || len(st.Session.AllowedCredentialIDs) > 0 {
		return nil, fmt.Errorf("webauthn: state is not an enrolment's: %w", mfa.ErrInvalid)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(response))
	if err != nil {
		return nil, fmt.Errorf("webauthn: creation response: %w: %s", mfa.ErrMalformed, detail(err))
	}
	cred, err := f.wa.CreateCredential(&user{s: s}, st.Session, parsed)
	if err != nil {
		return nil, fmt.Errorf("webauthn: creation response: %w: %s", mfa.ErrInvalid, detail(err))
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return nil, fmt.Errorf("webauthn: credential record: %w", err)
	}
	return &mfa.Enrolment{
		Kind:    mfa.KindWebAuthn,
		Handle:  base64.RawURLEncoding.EncodeToString(cred.ID),
		Secret:  record,
		Counter: int64(cred.Authenticator.SignCount),
	}, nil
}

// Challenge returns the request options for e (Prompt.Options, the JSON
// for navigator.credentials.get's publicKey) and the state to keep.
func (f *Factor) Challenge(ctx context.Context, s mfa.Subject, e *mfa.Enrolment) (mfa.Prompt, []byte, error) {
	cred, err := record(e)
	if err != nil {
		return mfa.Prompt{}, nil, err
	}
	assertion, session, err := f.wa.BeginLogin(&user{s: s, creds: []lib.Credential{*cred}})
	if err != nil {
		return mfa.Prompt{}, nil, fmt.Errorf("webauthn: begin login: %w", err)
	}
	return f.prompt(assertion.Response, session, false)
}

// Discover returns request options that name no credential, so that the
// browser offers any passkey it holds for this site, and ask the
// authenticator to verify the person (a PIN, a fingerprint): that is what
// makes a passkey alone a sign-in of two factors.
func (f *Factor) Discover(ctx context.Context) (mfa.Prompt, []byte, error) {
	assertion, session, err := f.wa.BeginDiscoverableLogin(lib.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return mfa.Prompt{}, nil, fmt.Errorf("webauthn: begin discoverable login: %w", err)
	}
	// An answer without user verification is refused (the state keeps
	// "required"): a passkey alone must be two factors, and the same
	// passkey cannot then be the second step of its own sign-in.
	return f.prompt(assertion.Response, session, true)
}

// Identify returns the credential id (base64url, the Enrolment's Handle)
// of an assertion response, for the flow to find the Enrolment and its
// person. It checks nothing else: Verify does.
func (f *Factor) Identify(response string) (string, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(response))
	if err != nil {
		return "", fmt.Errorf("webauthn: assertion: %w: %s", mfa.ErrMalformed, detail(err))
	}
	return base64.RawURLEncoding.EncodeToString(parsed.RawID), nil
}

// Verify checks an assertion response (the PublicKeyCredential as JSON)
// for e against the state of Challenge or Discover, and returns the
// authenticator's new signature count. A count that did not move forward
// from e.Counter is mfa.ErrReplayed (a cloned authenticator, or an
// assertion seen before); an authenticator that keeps no count reports 0
// every time, which is accepted (0 after 0) since each state's challenge
// is good for one response only.
func (f *Factor) Verify(ctx context.Context, s mfa.Subject, e *mfa.Enrolment, stateBytes []byte, response string) (int64, error) {
	st, err := f.open(stateBytes)
	if err != nil {
		return 0, err
	}
	cred, err := record(e)
	if err != nil {
		return 0, err
	}
	if e.Counter < 0 || e.Counter > int64(^uint32(0)) {
		return 0, fmt.Errorf("webauthn: stored counter %d out of range", e.Counter)
	}
	cred.Authenticator.SignCount = uint32(e.Counter)
	cred.Authenticator.CloneWarning = false
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(response))
	if err != nil {
		return 0, fmt.Errorf("webauthn: assertion: %w: %s", mfa.ErrMalformed, detail(err))
	}
	if base64.RawURLEncoding.EncodeToString(parsed.RawID) != e.Handle {
		return 0, fmt.Errorf("webauthn: assertion by another credential: %w", mfa.ErrInvalid)
	}
	u := &user{s: s, creds: []lib.Credential{*cred}}
	var got *lib.Credential
	if st.Discoverable {
		_, got, err = f.wa.ValidatePasskeyLogin(func(_, _ []byte) (lib.User, error) { return u, nil }, st.Session, parsed)
	} else {
		got, err = f.wa.ValidateLogin(u, st.Session, parsed)
	}
	if err != nil {
		return 0, fmt.Errorf("webauthn: assertion: %w: %s", mfa.ErrInvalid, detail(err))
	}
	if got.Authenticator.CloneWarning {
		return 0, fmt.Errorf("webauthn: signature count %d not above %d: %w",
			parsed.Response.AuthenticatorData.Counter, e.Counter, mfa.ErrReplayed)
	}
	return int64(got.Authenticator.SignCount), nil
}

// UserVerified reports whether the authenticator verified the person (the
// UV flag) in an assertion response. It is meaningful only after Verify
// accepted the same response, since only then is the flag known to be
// signed by the credential.
func (f *Factor) UserVerified(response string) bool {
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(response))
	return err == nil && parsed.Response.AuthenticatorData.Flags.HasUserVerified()
}

// record reads the credential record of e.
func record(e *mfa.Enrolment) (*lib.Credential, error) {
	if e == nil || e.Kind != mfa.KindWebAuthn {
		return nil, errors.New("webauthn: not a webauthn enrolment")
	}
	var cred lib.Credential
	if err := json.Unmarshal(e.Secret, &cred); err != nil || len(cred.ID) == 0 || len(cred.PublicKey) == 0 {
		return nil, fmt.Errorf("webauthn: credential record of %s unreadable", e.Handle)
	}
	return &cred, nil
}

// detail is the library's reason for refusing a response, for the log:
// its errors carry a short message and, apart, the specific cause.
func detail(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		if pe.DevInfo != "" {
			return pe.Details + " (" + pe.DevInfo + ")"
		}
		return pe.Details
	}
	return err.Error()
}
