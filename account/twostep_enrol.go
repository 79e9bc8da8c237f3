package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// beginEnrol starts setting up a factor of kind for u (phone as typed for
// SMS and voice) after an earlier enrolment prev (nil when none): the
// factor's prompt and state, and for a sending kind its code in a
// message to the normalised number.
func (s *Service) beginEnrol(ctx context.Context, u *store.User, kind, phone string, prev *enrolState, o Origin) (*enrolState, *store.Message, error) {
	f, ok := s.factor(kind)
	if !ok {
		return nil, nil, ErrMethodUnavailable
	}
	now := s.now()
	e := &enrolState{Kind: kind}
	if sends(kind) {
		region := s.twoStep.PhoneRegions[kind]
		if region == "" {
			region = "JP"
		}
		n, err := notify.E164(phone, region)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrInvalidPhone, err)
		}
		e.Phone = n
		var last int64
		if prev != nil {
			last = prev.SentAt
		}
		if err := s.sendAllowed(ctx, u, last, now, o); err != nil {
			return nil, nil, err
		}
	}
	prompt, state, err := s.beginEnrolPrompt(ctx, f, u, s.subject(u, e.Phone))
	if err != nil {
		return nil, nil, fmt.Errorf("account: begin enrolment %s: %w", kind, err)
	}
	e.State, e.URI, e.Secret, e.QR = state, prompt.URI, prompt.Secret, prompt.QRPNG
	e.Options = prompt.Options
	var m *store.Message
	if sends(kind) {
		if m, err = s.codeMessage(u, kind, e.Phone, prompt.Code, o); err != nil {
			return nil, nil, err
		}
		e.SentAt = now.UnixMilli()
	}
	return e, m, nil
}

// finishEnrol checks code against the enrolment e of u and, when right,
// stores the factor (its secret sealed) and returns it. A wrong code is
// ErrWrongCode, a sent code too old ErrCodeExpired.
func (s *Service) finishEnrol(ctx context.Context, u *store.User, e *enrolState, code, name string) (*store.Factor, error) {
	f, ok := s.factor(e.Kind)
	if !ok {
		return nil, ErrMethodUnavailable
	}
	now := s.now()
	if sends(e.Kind) && !now.Before(time.UnixMilli(e.SentAt).Add(s.twoStep.CodeTTL)) {
		return nil, ErrCodeExpired
	}
	if len(code) > maxCodeInput {
		code = ""
	}
	en, err := f.FinishEnrol(ctx, s.subject(u, e.Phone), e.State, code)
	switch {
	case errors.Is(err, mfa.ErrExpired):
		return nil, ErrCodeExpired
	case errors.Is(err, mfa.ErrInvalid), errors.Is(err, mfa.ErrMalformed), errors.Is(err, mfa.ErrReplayed):
		return nil, ErrWrongCode
	case err != nil:
		return nil, fmt.Errorf("account: finish enrolment %s: %w", e.Kind, err)
	}
	sf := &store.Factor{UserID: u.ID, Kind: e.Kind, Name: truncateRunes(strings.TrimSpace(orString(name, en.Name)), 100),
		Handle: en.Handle, Target: orString(en.Target, e.Phone), Counter: en.Counter, CreatedAt: now}
	if len(en.Secret) > 0 {
		if sf.Secret, err = s.factorSeal.seal(en.Secret, factorAD(u.ID, e.Kind)); err != nil {
			return nil, err
		}
	}
	if err := s.st.AddFactor(ctx, sf); err != nil {
		return nil, fmt.Errorf("account: add factor: %w", err)
	}
	return sf, nil
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// BeginSetup starts the first enrolment of a pending sign-in that must
// set up 2-step verification (StageSetup): method is a kind offered by
// EnrolMethods, phone the number for SMS and voice (a code goes there
// through the outbox). It returns the new token. ErrMethodUnavailable,
// ErrInvalidPhone, ErrResendTooSoon and ErrRateLimited change nothing.
func (s *Service) BeginSetup(ctx context.Context, token, method, phone string, o Origin) (string, error) {
	l, err := s.load(ctx, token)
	if err != nil {
		return "", err
	}
	if l.p.Stage != StageSetup {
		return "", ErrWrongStage
	}
	e, m, err := s.beginEnrol(ctx, l.user, method, phone, l.p.Enrol, o)
	if err != nil {
		return "", err
	}
	next := *l.p
	next.Enrol = e
	b := &store.Batch{Audit: []*store.AuditEvent{s.twoStepEvent("mfa_enrol_begin", o, l.user, store.OutcomeSuccess, "factor="+method)}}
	if m != nil {
		b.Messages = append(b.Messages, m)
	}
	return s.advance(ctx, l, &next, b)
}

// FinishSetup checks code against the enrolment under way in the
// pending sign-in of token. Right, the factor is stored ("mfa_enrolled")
// and, at a person's first enrolment, a set of recovery codes made: the
// pending sign-in moves to StageCodes (Step.Token) to show them, or is
// Passed when the person had codes already. Wrong, as VerifyCode: after
// MaxTries the enrolment is dropped and must begin again.
func (s *Service) FinishSetup(ctx context.Context, token, code string, remember bool, o Origin) (*Step, error) {
	return s.FinishSetupNamed(ctx, token, code, "", remember, o)
}

// FinishSetupNamed is FinishSetup with the name the person gives the
// factor (a passkey's: "Work iPhone"; code is then the browser's answer).
func (s *Service) FinishSetupNamed(ctx context.Context, token, code, name string, remember bool, o Origin) (*Step, error) {
	l, err := s.load(ctx, token)
	if err != nil {
		return nil, err
	}
	e := l.p.Enrol
	if l.p.Stage != StageSetup || e == nil {
		return nil, ErrWrongStage
	}
	if err := s.entryAllowed(ctx, l.user, "mfa_enrol_failed", o); err != nil {
		return nil, err
	}
	f, err := s.finishEnrol(ctx, l.user, e, code, name)
	if errors.Is(err, ErrWrongCode) || errors.Is(err, ErrCodeExpired) {
		next := *l.p
		ne := *e
		ne.Tries++
		next.Enrol = &ne
		ev := s.twoStepEvent("mfa_enrol_failed", o, l.user, store.OutcomeFailure, "wrong_code factor="+e.Kind)
		if errors.Is(err, ErrCodeExpired) {
			ev.Detail = "code_expired factor=" + e.Kind
		}
		if ne.Tries >= s.twoStep.MaxTries {
			next.Enrol = nil
			ev.Detail += " too_many_tries"
			err = ErrTooManyTries
		}
		token, aerr := s.advance(ctx, l, &next, &store.Batch{Audit: []*store.AuditEvent{ev}})
		if aerr != nil {
			return nil, aerr
		}
		return &Step{Token: token}, err
	}
	if err != nil {
		return nil, err
	}
	left, err := s.st.RecoveryCodesLeft(ctx, l.user.ID)
	if err != nil {
		return nil, fmt.Errorf("account: recovery codes: %w", err)
	}
	next := *l.p
	next.Enrol, next.Enrolled, next.Passed, next.Remember = nil, true, f.Kind, remember
	ev := s.twoStepEvent("mfa_enrolled", o, l.user, store.OutcomeSuccess, "factor="+f.Kind)
	if left > 0 {
		if err := s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{ev}}); err != nil {
			return nil, err
		}
		return s.pass(ctx, &loaded{id: l.id, p: &next, user: l.user}, f.Kind, remember, o)
	}
	if next.Codes, err = s.newRecoveryCodes(ctx, l.user.ID); err != nil {
		return nil, err
	}
	next.Stage = StageCodes
	token, err = s.advance(ctx, l, &next, &store.Batch{Audit: []*store.AuditEvent{ev}})
	if err != nil {
		return nil, err
	}
	return &Step{Token: token}, nil
}

// Methods of a signed-in person (/account/2fa).

// TwoStepStatus is what /account/2fa shows.
type TwoStepStatus struct {
	Factors      []FactorChoice
	RecoveryLeft int
	// Methods are the kinds that may be added, in the policy's order.
	Methods []string
	// Required is policy.two_factor.required.
	Required bool
}

// Status returns the person's registered factors and recovery codes.
func (s *Service) Status(ctx context.Context, userID string) (*TwoStepStatus, error) {
	fs, err := s.st.ListFactors(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("account: factors: %w", err)
	}
	st := &TwoStepStatus{Methods: s.EnrolMethods(), Required: s.required()}
	for _, f := range s.usable(fs) {
		st.Factors = append(st.Factors, choice(f))
	}
	if st.RecoveryLeft, err = s.st.RecoveryCodesLeft(ctx, userID); err != nil {
		return nil, fmt.Errorf("account: recovery codes: %w", err)
	}
	return st, nil
}

// purposeEnrol is the ticket of an enrolment a signed-in person began at
// /account/2fa: its token travels in the page's form, and its data names
// the session it belongs to.
const purposeEnrol = "twostep_enrol"

// addState is an enrolment of a signed-in person, sealed in its ticket.
type addState struct {
	UserID  string      `json:"u"`
	Session string      `json:"s"`
	Enrol   *enrolState `json:"e"`
}

// enrolAD binds sealed enrolment data to its purpose.
var enrolAD = []byte(purposeEnrol)

// Enrolment is an enrolment under way at /account/2fa, as its page
// shows it: the token its form posts back, and the prompt.
type Enrolment struct {
	Token  string
	Kind   string
	URI    string
	Secret string
	QR     []byte
	// Target is the masked number a code went to (SMS, voice).
	Target    string
	TriesLeft int
	// Options are a WebAuthn enrolment's creation options.
	Options []byte
}

// enrolmentView describes e under token.
func (s *Service) enrolmentView(token string, e *enrolState) *Enrolment {
	v := &Enrolment{Token: token, Kind: e.Kind, URI: e.URI, Secret: e.Secret, QR: e.QR,
		TriesLeft: max(0, s.twoStep.MaxTries-e.Tries), Options: e.Options}
	if e.Phone != "" {
		v.Target = notify.MaskPhone(e.Phone)
	}
	return v
}

// saveEnrolment seals a into a new ticket (replacing the ticket used,
// when used is set) with b's writes, and returns its view.
func (s *Service) saveEnrolment(ctx context.Context, a *addState, used string, b *store.Batch) (*Enrolment, error) {
	now := s.now()
	token, t, err := s.sealedTicket(a, enrolAD, purposeEnrol, a.UserID, now, s.twoStep.PendingTTL)
	if err != nil {
		return nil, err
	}
	b.Tickets = append(b.Tickets, t)
	if used != "" {
		b.Consume = &store.TicketUse{Purpose: purposeEnrol, ID: tokenID(used), Now: now}
	}
	if _, err := s.apply(ctx, b); errors.Is(err, store.ErrNotFound) {
		return nil, ErrPendingGone
	} else if err != nil {
		return nil, fmt.Errorf("account: enrolment: %w", err)
	}
	for _, ev := range b.Audit {
		s.logEvent(ctx, ev)
	}
	return s.enrolmentView(token, a.Enrol), nil
}

// loadEnrolment reads the enrolment of token, which must be u's in the
// session sessionID.
func (s *Service) loadEnrolment(ctx context.Context, u *store.User, sessionID, token string) (*addState, error) {
	if !s.TwoStepOn() || token == "" || len(token) > maxToken {
		return nil, ErrPendingGone
	}
	t, err := s.st.PeekTicket(ctx, purposeEnrol, tokenID(token), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrPendingGone
	}
	if err != nil {
		return nil, fmt.Errorf("account: enrolment: %w", err)
	}
	plain, err := s.pendingSeal.open(t.Data, enrolAD)
	if err != nil {
		return nil, ErrPendingGone
	}
	var a addState
	if err := json.Unmarshal(plain, &a); err != nil || a.UserID != u.ID || a.Session != sessionID || a.Enrol == nil {
		return nil, ErrPendingGone
	}
	return &a, nil
}

// BeginAdd starts adding a factor of kind method for u, signed in with
// the session sessionID (phone for SMS and voice). The returned
// Enrolment's Token goes into the page's form.
func (s *Service) BeginAdd(ctx context.Context, u *store.User, sessionID, method, phone string, o Origin) (*Enrolment, error) {
	e, m, err := s.beginEnrol(ctx, u, method, phone, nil, o)
	if err != nil {
		return nil, err
	}
	b := &store.Batch{Audit: []*store.AuditEvent{s.twoStepEvent("mfa_enrol_begin", o, u, store.OutcomeSuccess, "factor="+method)}}
	if m != nil {
		b.Messages = append(b.Messages, m)
	}
	return s.saveEnrolment(ctx, &addState{UserID: u.ID, Session: sessionID, Enrol: e}, "", b)
}

// Added is a factor added at /account/2fa.
type Added struct {
	Factor FactorChoice
	// Codes are the recovery codes made with a person's first factor, to
	// show once; nil when the person had some.
	Codes []string
}

// FinishAdd checks code against the enrolment of token and, right,
// stores the factor under name. Wrong, it returns the Enrolment to show
// again (its new token) with ErrWrongCode or ErrCodeExpired, or
// ErrTooManyTries (nil Enrolment: begin again).
func (s *Service) FinishAdd(ctx context.Context, u *store.User, sessionID, token, code, name string, o Origin) (*Added, *Enrolment, error) {
	a, err := s.loadEnrolment(ctx, u, sessionID, token)
	if err != nil {
		return nil, nil, err
	}
	if err := s.entryAllowed(ctx, u, "mfa_enrol_failed", o); err != nil {
		return nil, nil, err
	}
	f, err := s.finishEnrol(ctx, u, a.Enrol, code, name)
	if errors.Is(err, ErrWrongCode) || errors.Is(err, ErrCodeExpired) {
		ev := s.twoStepEvent("mfa_enrol_failed", o, u, store.OutcomeFailure, "wrong_code factor="+a.Enrol.Kind)
		ne := *a.Enrol
		ne.Tries++
		if ne.Tries >= s.twoStep.MaxTries {
			ev.Detail += " too_many_tries"
			b := &store.Batch{Consume: &store.TicketUse{Purpose: purposeEnrol, ID: tokenID(token), Now: s.now()},
				Audit: []*store.AuditEvent{ev}}
			if _, aerr := s.apply(ctx, b); aerr != nil && !errors.Is(aerr, store.ErrNotFound) {
				return nil, nil, fmt.Errorf("account: enrolment: %w", aerr)
			}
			s.logEvent(ctx, ev)
			return nil, nil, ErrTooManyTries
		}
		v, aerr := s.saveEnrolment(ctx, &addState{UserID: u.ID, Session: sessionID, Enrol: &ne}, token,
			&store.Batch{Audit: []*store.AuditEvent{ev}})
		if aerr != nil {
			return nil, nil, aerr
		}
		return nil, v, err
	}
	if err != nil {
		return nil, nil, err
	}
	out := &Added{Factor: choice(f)}
	left, err := s.st.RecoveryCodesLeft(ctx, u.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("account: recovery codes: %w", err)
	}
	if left == 0 {
		if out.Codes, err = s.newRecoveryCodes(ctx, u.ID); err != nil {
			return nil, nil, err
		}
	}
	ev := s.twoStepEvent("mfa_enrolled", o, u, store.OutcomeSuccess, "factor="+f.Kind)
	b := &store.Batch{Consume: &store.TicketUse{Purpose: purposeEnrol, ID: tokenID(token), Now: s.now()},
		Audit: []*store.AuditEvent{ev}}
	if _, err := s.apply(ctx, b); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Errorf("account: enrolment: %w", err)
	}
	s.logEvent(ctx, ev)
	return out, nil, nil
}

// RemoveFactor removes u's factor id ("mfa_removed"). While 2-step
// verification is required the last factor stays (ErrLastFactor). When
// the last one goes, the recovery codes and remembered browsers go with
// it: nothing is left that the step would ask.
func (s *Service) RemoveFactor(ctx context.Context, u *store.User, id string, o Origin) error {
	fs, err := s.st.ListFactors(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("account: factors: %w", err)
	}
	fs = s.usable(fs)
	var kind string
	for _, f := range fs {
		if f.ID == id {
			kind = f.Kind
		}
	}
	if kind == "" {
		return ErrNoSuchFactor
	}
	if len(fs) == 1 && s.required() {
		s.refused(ctx, "mfa_removed", o, s.now(), u.ID, "last_factor")
		return ErrLastFactor
	}
	if len(fs) == 1 {
		if err := s.st.ResetTwoStep(ctx, u.ID); err != nil {
			return fmt.Errorf("account: remove factor: %w", err)
		}
	} else if err := s.st.DeleteFactor(ctx, u.ID, id); errors.Is(err, store.ErrNotFound) {
		return ErrNoSuchFactor
	} else if err != nil {
		return fmt.Errorf("account: remove factor: %w", err)
	}
	return s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{s.twoStepEvent("mfa_removed", o, u, store.OutcomeSuccess, "factor="+kind)}})
}

// maxFactorName bounds a factor's name.
const maxFactorName = 100

// RenameFactor names u's factor id ("iPhone", "YubiKey").
func (s *Service) RenameFactor(ctx context.Context, u *store.User, id, name string, o Origin) error {
	name = truncateRunes(strings.TrimSpace(name), maxFactorName)
	if err := s.st.RenameFactor(ctx, u.ID, id, name); errors.Is(err, store.ErrNotFound) {
		return ErrNoSuchFactor
	} else if err != nil {
		return fmt.Errorf("account: rename factor: %w", err)
	}
	return s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{s.twoStepEvent("mfa_renamed", o, u, store.OutcomeSuccess, "")}})
}

// RenewRecoveryCodes replaces u's recovery codes with a fresh set and
// returns it to show once ("recovery_codes_renewed"). The person proves
// it is them first: an account with a local password gives it
// (ErrWrongPassword otherwise, audited); an account without one (a
// directory's or a federated one) must have signed in within
// reauthWindow (freshSignIn), which the caller checks from the session.
func (s *Service) RenewRecoveryCodes(ctx context.Context, u *store.User, password string, freshSignIn bool, o Origin) ([]string, error) {
	has, err := s.HasPassword(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	st, err := s.Status(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if len(st.Factors) == 0 {
		return nil, ErrNoSuchFactor
	}
	if has {
		if err := s.pw.Check(ctx, u.Email, password); err != nil {
			if errors.Is(err, ErrWrongPassword) {
				s.refused(ctx, "recovery_codes_renewed", o, s.now(), u.ID, "wrong_password")
			}
			return nil, err
		}
	} else if !freshSignIn {
		return nil, ErrReauthNeeded
	}
	codes, err := s.newRecoveryCodes(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	ev := s.twoStepEvent("recovery_codes_renewed", o, u, store.OutcomeSuccess, "")
	if err := s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{ev}}); err != nil {
		return nil, err
	}
	return codes, nil
}

// ErrReauthNeeded: an account without a local password must sign in
// again before this change.
var ErrReauthNeeded = errors.New("account: sign in again first")

// RememberedBrowsers returns u's remembered browsers, most recently used
// first.
func (s *Service) RememberedBrowsers(ctx context.Context, userID string) ([]*store.RememberedBrowser, error) {
	bs, err := s.st.ListRememberedBrowsers(ctx, userID, s.now())
	if err != nil {
		return nil, fmt.Errorf("account: remembered browsers: %w", err)
	}
	return bs, nil
}

// IsRememberedBrowser reports whether token (a remembered-browser
// cookie's) is the browser with id.
func IsRememberedBrowser(token, id string) bool {
	return token != "" && len(token) <= maxToken && tokenID(token) == id
}

// ForgetBrowser forgets u's remembered browser id ("browser_forgotten"):
// the step is asked there again. ErrNoSuchFactor when it is not u's.
func (s *Service) ForgetBrowser(ctx context.Context, u *store.User, id string, o Origin) error {
	if err := s.st.ForgetBrowser(ctx, u.ID, id); errors.Is(err, store.ErrNotFound) {
		return ErrNoSuchBrowser
	} else if err != nil {
		return fmt.Errorf("account: forget browser: %w", err)
	}
	return s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{s.twoStepEvent("browser_forgotten", o, u, store.OutcomeSuccess, "")}})
}

// ErrNoSuchBrowser: the remembered browser is not one of the person's.
var ErrNoSuchBrowser = errors.New("account: no such remembered browser")

// ResetTwoStep removes u's whole 2-step registration (factors, recovery
// codes, remembered browsers) and every sign-in of u pending at the
// second step, and audits it as "mfa_reset" with actor (the person's
// email, or "cli:<name>", "admin:<email>"). It is the hook of password
// reset and email change (Options.ResetSecondFactor), `ssogate user
// reset-2fa` and the admin console.
func (s *Service) ResetTwoStep(ctx context.Context, userID, actor string, o Origin) error {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("account: reset 2-step: %w", err)
	}
	if err := s.st.ResetTwoStep(ctx, userID); err != nil {
		return fmt.Errorf("account: reset 2-step: %w", err)
	}
	ev := s.twoStepEvent("mfa_reset", o, u, store.OutcomeSuccess, "")
	if actor != "" && actor != u.Email {
		ev.Actor, ev.Detail = actor, "email="+u.Email
	}
	return s.commit(ctx, &store.Batch{
		DropTickets: &store.TicketsDrop{UserID: userID, Purposes: []string{store.PurposeSignInPending, purposeEnrol}},
		Audit:       []*store.AuditEvent{ev},
	})
}
