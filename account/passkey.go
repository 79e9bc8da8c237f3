package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/store"
)

// Passwordless sign-in with a passkey: the browser offers any passkey it
// holds for the portal (a discoverable WebAuthn credential), the answer
// names the credential, and the credential names its person. Nothing is
// typed, so nothing tells whether an account exists: an unknown passkey
// and a wrong answer are refused alike.

// purposePasskey is the ticket of a passwordless ceremony: the factor's
// state (its challenge) and where the browser goes at the end, sealed,
// found by the token in the browser's cookie.
const purposePasskey = "passkey_signin"

// PasskeyTTL is how long a passwordless ceremony may take, from the page
// to its answer (the WebAuthn factor's own limit is the same).
const PasskeyTTL = 5 * time.Minute

// passkeyAD binds sealed passkey ceremony data to its purpose.
var passkeyAD = []byte(purposePasskey)

// Errors of the passwordless sign-in.
var (
	// ErrPasskeyGone: the ceremony expired, was used, or never began:
	// the page starts a new one.
	ErrPasskeyGone = errors.New("account: passkey sign-in no longer pending")
	// ErrPasskeyRefused: the answer is not a registered passkey's valid,
	// fresh assertion. Unknown, wrong and replayed answers are one error.
	ErrPasskeyRefused = errors.New("account: passkey refused")
)

// userVerifier is a factor that tells whether an accepted answer also
// verified the person on the device (a passkey unlocked by a PIN or a
// fingerprint: WebAuthn's UV flag).
type userVerifier interface {
	UserVerified(response string) bool
}

// userVerified reports whether f's accepted answer response verified the
// person.
func userVerified(f mfa.Factor, response string) bool {
	uv, ok := f.(userVerifier)
	return ok && uv.UserVerified(response)
}

// withUser adds RFC 8176's "user" (user presence and verification on the
// device) to amr after "hwk", once.
func withUser(amr []string) []string {
	if slices.Contains(amr, "user") {
		return amr
	}
	i := slices.Index(amr, "hwk")
	return slices.Insert(slices.Clone(amr), i+1, "user")
}

// enrolExcluder is a factor whose enrolment can name the person's
// registered credentials of its kind, so that an authenticator holding
// one does not register again (a passkey: WebAuthn's excludeCredentials).
type enrolExcluder interface {
	BeginEnrolExcluding(ctx context.Context, s mfa.Subject, existing []*mfa.Enrolment) (mfa.Prompt, []byte, error)
}

// beginEnrolPrompt begins an enrolment of f for u as subj, naming u's
// registered factors of f's kind when f can exclude them.
func (s *Service) beginEnrolPrompt(ctx context.Context, f mfa.Factor, u *store.User, subj mfa.Subject) (mfa.Prompt, []byte, error) {
	ex, ok := f.(enrolExcluder)
	if !ok {
		return f.BeginEnrol(ctx, subj)
	}
	fs, err := s.st.ListFactors(ctx, u.ID)
	if err != nil {
		return mfa.Prompt{}, nil, fmt.Errorf("account: factors: %w", err)
	}
	var existing []*mfa.Enrolment
	for _, sf := range fs {
		if sf.Kind != string(f.Kind()) {
			continue
		}
		e, err := s.enrolment(sf)
		if err != nil {
			// Not named, so not excluded: the enrolment still works.
			s.log.Warn("factor record does not open", "user_id", u.ID, "factor_id", sf.ID, "err", err)
			continue
		}
		existing = append(existing, e)
	}
	return ex.BeginEnrolExcluding(ctx, subj, existing)
}

type passkeyState struct {
	State    []byte `json:"s"`
	ReturnTo string `json:"r,omitempty"`
}

// discoverer returns the WebAuthn factor when the policy offers it and
// it can sign in without a password.
func (s *Service) discoverer() (mfa.Factor, mfa.Discoverer, bool) {
	f, ok := s.factor(store.FactorWebAuthn)
	if !ok {
		return nil, nil, false
	}
	d, ok := f.(mfa.Discoverer)
	return f, d, ok
}

// PasskeyOn reports whether people may sign in with a passkey: WebAuthn
// is among policy.two_factor.methods and wired.
func (s *Service) PasskeyOn() bool {
	_, _, ok := s.discoverer()
	return ok
}

// PasskeyCeremony is a passwordless ceremony begun: the options for the
// page's script and the token for the browser's cookie.
type PasskeyCeremony struct {
	Options []byte
	Token   string
}

// BeginPasskey starts a passwordless sign-in that goes to returnTo (a
// validated target, or "") when it succeeds. ErrMethodUnavailable when
// passkeys are off.
func (s *Service) BeginPasskey(ctx context.Context, returnTo string) (*PasskeyCeremony, error) {
	_, d, ok := s.discoverer()
	if !ok {
		return nil, ErrMethodUnavailable
	}
	prompt, state, err := d.Discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("account: passkey: %w", err)
	}
	token, t, err := s.sealedTicket(passkeyState{State: state, ReturnTo: returnTo}, passkeyAD, purposePasskey, "", s.now(), PasskeyTTL)
	if err != nil {
		return nil, err
	}
	if err := s.st.CreateTicket(ctx, t); err != nil {
		return nil, fmt.Errorf("account: passkey: %w", err)
	}
	return &PasskeyCeremony{Options: prompt.Options, Token: token}, nil
}

// PasskeySignIn is a passwordless sign-in that passed: the person, the
// session's amr and where the browser goes.
type PasskeySignIn struct {
	User *store.User
	// AMR is "hwk", "user", "mfa": the passkey's device, and the PIN or
	// fingerprint that unlocked it (the factor refuses an answer without
	// that user verification), are two factors.
	AMR      []string
	ReturnTo string
}

// FinishPasskey checks response (the browser's assertion, JSON) against
// the ceremony of token, which it uses up whatever the outcome: the
// credential it names must be a registered passkey, the assertion valid
// for the ceremony's challenge and its signature count fresh (the
// factor's counter moves, so the same assertion never passes twice).
// ErrPasskeyGone when the ceremony is not pending; ErrPasskeyRefused for
// any answer that does not pass, audited ("passkey_failed") with the
// reason; the caller counts it against the client's throttle.
func (s *Service) FinishPasskey(ctx context.Context, token, response string, o Origin) (*PasskeySignIn, error) {
	fac, d, ok := s.discoverer()
	if !ok {
		return nil, ErrMethodUnavailable
	}
	if token == "" || len(token) > maxToken {
		return nil, ErrPasskeyGone
	}
	now := s.now()
	t, err := s.apply(ctx, &store.Batch{Consume: &store.TicketUse{Purpose: purposePasskey, ID: tokenID(token), Now: now}})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrPasskeyGone
	}
	if err != nil {
		return nil, fmt.Errorf("account: passkey: %w", err)
	}
	var ps passkeyState
	plain, err := s.pendingSeal.open(t.Data, passkeyAD)
	if err != nil || json.Unmarshal(plain, &ps) != nil {
		return nil, ErrPasskeyGone
	}
	refuse := func(userID, reason string) (*PasskeySignIn, error) {
		s.refused(ctx, "passkey_failed", o, now, userID, reason)
		return nil, ErrPasskeyRefused
	}
	if len(response) > maxCodeInput {
		return refuse("", "malformed")
	}
	handle, err := d.Identify(response)
	if err != nil {
		return refuse("", "malformed")
	}
	f, err := s.st.FactorByHandle(ctx, store.FactorWebAuthn, handle)
	if errors.Is(err, store.ErrNotFound) {
		return refuse("", "unknown_credential")
	}
	if err != nil {
		return nil, fmt.Errorf("account: passkey: %w", err)
	}
	u, err := s.st.GetUser(ctx, f.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return refuse("", "unknown_credential")
	}
	if err != nil {
		return nil, fmt.Errorf("account: passkey user: %w", err)
	}
	e, err := s.enrolment(f)
	if err != nil {
		return nil, err
	}
	counter, err := fac.Verify(ctx, s.subject(u, ""), e, ps.State, response)
	switch {
	case errors.Is(err, mfa.ErrExpired):
		return nil, ErrPasskeyGone
	case errors.Is(err, mfa.ErrReplayed):
		return refuse(u.ID, "replayed")
	case errors.Is(err, mfa.ErrInvalid), errors.Is(err, mfa.ErrMalformed):
		s.log.Info("passkey assertion refused", "request_id", o.RequestID, "user_id", u.ID, "err", err)
		return refuse(u.ID, "invalid")
	case err != nil:
		return nil, fmt.Errorf("account: passkey: %w", err)
	}
	if err := s.st.UseFactor(ctx, f.ID, counter, now); errors.Is(err, store.ErrConflict) {
		return refuse(u.ID, "replayed")
	} else if err != nil {
		return nil, fmt.Errorf("account: use factor: %w", err)
	}
	return &PasskeySignIn{User: u, AMR: []string{"hwk", "user", "mfa"}, ReturnTo: ps.ReturnTo}, nil
}
