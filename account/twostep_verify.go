package account

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/mfa/recovery"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// maxCodeInput bounds a code read from a form: a pasted recovery code
// with spaces, a WebAuthn assertion's JSON.
const maxCodeInput = 16 << 10

// Limits of codes sent by SMS or voice for one account: each costs the
// operator money and rings someone's phone.
const (
	codeSendsPerUser = 10
	codeSendWindow   = time.Hour
)

// factorFor returns u's usable factor with id, its enrolment (the secret
// opened) and the wired factor.
func (s *Service) factorFor(ctx context.Context, u *store.User, id string) (*store.Factor, *mfa.Enrolment, mfa.Factor, error) {
	fs, err := s.st.ListFactors(ctx, u.ID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("account: factors: %w", err)
	}
	for _, f := range s.usable(fs) {
		if f.ID != id {
			continue
		}
		e, err := s.enrolment(f)
		if err != nil {
			return nil, nil, nil, err
		}
		return f, e, s.factors[mfa.Kind(f.Kind)], nil
	}
	return nil, nil, nil, ErrNoSuchFactor
}

// factorAD binds a factor's sealed secret to its user and kind.
func factorAD(userID, kind string) []byte {
	return []byte("factor\x00" + userID + "\x00" + kind)
}

// enrolment is f as its factor sees it, the secret opened.
func (s *Service) enrolment(f *store.Factor) (*mfa.Enrolment, error) {
	e := &mfa.Enrolment{Kind: mfa.Kind(f.Kind), Name: f.Name, Handle: f.Handle, Target: f.Target, Counter: f.Counter}
	if len(f.Secret) > 0 {
		secret, err := s.factorSeal.open(f.Secret, factorAD(f.UserID, f.Kind))
		if err != nil {
			return nil, fmt.Errorf("account: factor %s: %w", f.ID, err)
		}
		e.Secret = secret
	}
	return e, nil
}

// choose makes f the factor p asks, with a fresh challenge. A factor
// that sends its code is challenged when the person asks to send it;
// any other (an authenticator app, a passkey) at once.
func (s *Service) choose(ctx context.Context, u *store.User, p *pending, f *store.Factor) error {
	p.Factor, p.State, p.Options, p.Tries, p.SentAt = f.ID, nil, nil, 0, 0
	if sends(f.Kind) {
		return nil
	}
	e, err := s.enrolment(f)
	if errors.Is(err, errSealed) {
		// The key that sealed it is not this gateway's (the master
		// secret changed): the factor cannot pass, but the step is still
		// asked, and a recovery code or a reset gets the person in.
		s.log.Error("a 2-step factor's secret does not open; was the master secret changed?", "user_id", u.ID, "factor_id", f.ID)
		return nil
	}
	if err != nil {
		return err
	}
	prompt, state, err := s.factors[mfa.Kind(f.Kind)].Challenge(ctx, s.subject(u, f.Target), e)
	if err != nil {
		return fmt.Errorf("account: challenge %s: %w", f.Kind, err)
	}
	p.State, p.Options = state, prompt.Options
	return nil
}

// ChooseFactor makes the person's factor id the one the pending sign-in
// of token asks, and returns the new token.
func (s *Service) ChooseFactor(ctx context.Context, token, id string, o Origin) (string, error) {
	l, err := s.load(ctx, token)
	if err != nil {
		return "", err
	}
	if l.p.Stage != StageVerify {
		return "", ErrWrongStage
	}
	f, _, _, err := s.factorFor(ctx, l.user, id)
	if err != nil {
		return "", err
	}
	next := *l.p
	if err := s.choose(ctx, l.user, &next, f); err != nil {
		return "", err
	}
	return s.advance(ctx, l, &next, &store.Batch{})
}

// SendCode sends a code to the chosen SMS or voice factor of the pending
// sign-in of token, through the outbox in the same transaction as the
// new pending state, and returns the new token. A code sent less than
// ResendAfter ago gives ErrResendTooSoon; the earlier code stays valid.
func (s *Service) SendCode(ctx context.Context, token string, o Origin) (string, error) {
	l, err := s.load(ctx, token)
	if err != nil {
		return "", err
	}
	if l.p.Stage != StageVerify {
		return "", ErrWrongStage
	}
	f, e, fac, err := s.factorFor(ctx, l.user, l.p.Factor)
	if err != nil {
		return "", err
	}
	if !sends(f.Kind) {
		return "", ErrWrongStage
	}
	now := s.now()
	if err := s.sendAllowed(ctx, l.user, l.p.SentAt, now, o); err != nil {
		return "", err
	}
	prompt, state, err := fac.Challenge(ctx, s.subject(l.user, f.Target), e)
	if err != nil {
		return "", fmt.Errorf("account: challenge %s: %w", f.Kind, err)
	}
	m, err := s.codeMessage(l.user, f.Kind, f.Target, prompt.Code, o)
	if err != nil {
		return "", err
	}
	next := *l.p
	next.State, next.Tries, next.SentAt = state, 0, now.UnixMilli()
	ev := s.twoStepEvent("mfa_code_sent", o, l.user, store.OutcomeSuccess, "factor="+f.Kind)
	return s.advance(ctx, l, &next, &store.Batch{Messages: []*store.Message{m}, Audit: []*store.AuditEvent{ev}})
}

// sendAllowed refuses a code sent less than ResendAfter after the last
// one (sentAt, unix ms), and more than codeSendsPerUser an hour.
func (s *Service) sendAllowed(ctx context.Context, u *store.User, sentAt int64, now time.Time, o Origin) error {
	if sentAt != 0 && now.Before(time.UnixMilli(sentAt).Add(s.twoStep.ResendAfter)) {
		return ErrResendTooSoon
	}
	n, _, err := s.st.Hit(ctx, "mfa_send_user:"+u.ID, now, codeSendWindow)
	if err != nil {
		return fmt.Errorf("account: send limit: %w", err)
	}
	if n > codeSendsPerUser {
		s.refused(ctx, "mfa_code_sent", o, now, u.ID, "rate_limited")
		return ErrRateLimited
	}
	return nil
}

// codeMessage is the SMS or voice message that carries code to target.
func (s *Service) codeMessage(u *store.User, kind, target, code string, o Origin) (*store.Message, error) {
	ch := store.ChannelSMS
	if kind == store.FactorVoice {
		ch = store.ChannelVoice
	}
	lang := s.mailLang(u, o.Lang)
	return s.comp.Message(ch, target, lang, notify.TemplateSecondFactorCode, u.ID,
		notify.Data{Code: code, Expires: notify.CodeValidity(s.twoStep.CodeTTL, lang)})
}

// entryAllowed counts one code entry for u and o's client and refuses it
// (audited under action) when either is over its limit.
func (s *Service) entryAllowed(ctx context.Context, u *store.User, action string, o Origin) error {
	now := s.now()
	n, _, err := s.st.Hit(ctx, "mfa_user:"+u.ID, now, CodeEntryWindow)
	if err != nil {
		return fmt.Errorf("account: code limit: %w", err)
	}
	nc := 0
	if ip, perr := netip.ParseAddr(o.ClientIP); perr == nil {
		// Keyed as the sign-in throttle keys addresses: an IPv6 client
		// is its /64.
		key := "mfa_" + strings.TrimPrefix(throttleKey(Client{IP: ip}), "login_")
		if nc, _, err = s.st.Hit(ctx, key, now, CodeEntryWindow); err != nil {
			return fmt.Errorf("account: code limit: %w", err)
		}
	}
	if n > CodeEntriesPerUser || nc > CodeEntriesPerClient {
		s.refused(ctx, action, o, now, u.ID, "rate_limited")
		return ErrRateLimited
	}
	return nil
}

// VerifyCode checks code against the chosen factor of the pending
// sign-in of token. Right, it returns the sign-in as Passed (with a
// remembered-browser token when remember is set and the policy allows)
// and the ticket is used up. Wrong, it returns the Step with the new
// token and ErrWrongCode or ErrCodeUsed; after MaxTries wrong codes
// ErrTooManyTries: a sent code is void (Step.Token waits for a new one)
// and any other factor's sign-in ends (Step.Token ""). ErrCodeExpired
// when a sent code is too old or none was sent; ErrRateLimited when over
// the entry limits (nothing changes). Every attempt is audited
// ("mfa_ok", "mfa_failed"), never the code.
func (s *Service) VerifyCode(ctx context.Context, token, code string, remember bool, o Origin) (*Step, error) {
	l, err := s.load(ctx, token)
	if err != nil {
		return nil, err
	}
	if l.p.Stage != StageVerify {
		return nil, ErrWrongStage
	}
	f, e, fac, err := s.factorFor(ctx, l.user, l.p.Factor)
	if errors.Is(err, ErrNoSuchFactor) {
		// Removed meanwhile (a reset): the sign-in starts again.
		return nil, ErrPendingGone
	}
	if err != nil {
		return nil, err
	}
	if err := s.entryAllowed(ctx, l.user, "mfa_failed", o); err != nil {
		return nil, err
	}
	now := s.now()
	detail := "factor=" + f.Kind
	if sends(f.Kind) && (l.p.SentAt == 0 || !now.Before(time.UnixMilli(l.p.SentAt).Add(s.twoStep.CodeTTL))) {
		s.refused(ctx, "mfa_failed", o, now, l.user.ID, "code_expired "+detail)
		return &Step{Token: token}, ErrCodeExpired
	}
	if len(code) > maxCodeInput {
		code = ""
	}
	counter, verr := fac.Verify(ctx, s.subject(l.user, f.Target), e, l.p.State, code)
	if verr == nil {
		if err := s.st.UseFactor(ctx, f.ID, counter, now); errors.Is(err, store.ErrConflict) {
			verr = mfa.ErrReplayed
		} else if err != nil {
			return nil, fmt.Errorf("account: use factor: %w", err)
		}
	}
	if verr == nil {
		st, err := s.pass(ctx, l, f.Kind, remember, o)
		if err == nil && userVerified(fac, code) {
			st.Passed.AMR = withUser(st.Passed.AMR)
		}
		return st, err
	}
	if errors.Is(verr, mfa.ErrExpired) {
		s.refused(ctx, "mfa_failed", o, now, l.user.ID, "code_expired "+detail)
		return &Step{Token: token}, ErrCodeExpired
	}
	reason, wrong := "wrong_code", ErrWrongCode
	if errors.Is(verr, mfa.ErrReplayed) {
		reason, wrong = "code_replayed", ErrCodeUsed
	} else if !errors.Is(verr, mfa.ErrInvalid) && !errors.Is(verr, mfa.ErrMalformed) {
		return nil, fmt.Errorf("account: verify %s: %w", f.Kind, verr)
	}
	return s.wrongCode(ctx, l, f.Kind, reason, wrong, o)
}

// wrongCode counts a wrong code (or recovery code, kind "recovery") of
// the pending sign-in l and writes what follows: the same step with one
// try fewer, a sent code voided after MaxTries, or the end of the
// sign-in.
func (s *Service) wrongCode(ctx context.Context, l *loaded, kind, reason string, wrong error, o Origin) (*Step, error) {
	next := *l.p
	next.Tries++
	action := "mfa_failed"
	if kind == "recovery" {
		action = "recovery_failed"
	}
	ev := s.twoStepEvent(action, o, l.user, store.OutcomeFailure, reason+" factor="+kind)
	if next.Tries < s.twoStep.MaxTries {
		token, err := s.advance(ctx, l, &next, &store.Batch{Audit: []*store.AuditEvent{ev}})
		if err != nil {
			return nil, err
		}
		return &Step{Token: token}, wrong
	}
	ev.Detail += " too_many_tries"
	if sends(kind) {
		next.State, next.SentAt, next.Tries = nil, 0, 0
		token, err := s.advance(ctx, l, &next, &store.Batch{Audit: []*store.AuditEvent{ev}})
		if err != nil {
			return nil, err
		}
		return &Step{Token: token}, ErrTooManyTries
	}
	if _, err := s.advance(ctx, l, nil, &store.Batch{Audit: []*store.AuditEvent{ev}}); err != nil {
		return nil, err
	}
	return &Step{}, ErrTooManyTries
}

// pass ends the pending sign-in l as passed with a factor of kind: the
// ticket is used up, the browser remembered when asked, and "mfa_ok"
// audited.
func (s *Service) pass(ctx context.Context, l *loaded, kind string, remember bool, o Origin) (*Step, error) {
	now := s.now()
	p := l.p
	out := &Passed{User: l.user, Provider: p.Provider, AMR: passedAMR(p.AMR, kind), Line: p.Line,
		ClientIP: p.ClientIP, ReturnTo: p.ReturnTo, StepUp: p.StepUp, Enrolled: p.Enrolled, Factor: kind}
	action := "mfa_ok"
	if p.Enrolled {
		action = "mfa_setup_done"
	}
	ev := s.twoStepEvent(action, o, l.user, store.OutcomeSuccess, "factor="+kind)
	if _, err := s.advance(ctx, l, nil, &store.Batch{Audit: []*store.AuditEvent{ev}}); err != nil {
		return nil, err
	}
	if remember && s.twoStep.RememberBrowser > 0 && p.StepUp == "" {
		tok, err := s.rememberBrowser(ctx, l.user, o, now)
		if err != nil {
			// The sign-in stands; the step is asked again next time.
			s.log.Error("remembering the browser failed", "request_id", o.RequestID, "user_id", l.user.ID, "err", err)
		} else {
			out.RememberToken = tok
		}
	}
	return &Step{Passed: out}, nil
}

// rememberBrowser stores a remembered browser for u and returns its
// cookie's token.
func (s *Service) rememberBrowser(ctx context.Context, u *store.User, o Origin, now time.Time) (string, error) {
	tok, err := newToken()
	if err != nil {
		return "", err
	}
	b := &store.RememberedBrowser{ID: tokenID(tok), UserID: u.ID, UserAgent: truncateRunes(o.UserAgent, 512),
		ClientIP: o.ClientIP, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(s.twoStep.RememberBrowser)}
	if err := s.st.RememberBrowser(ctx, b); err != nil {
		return "", fmt.Errorf("account: remember browser: %w", err)
	}
	ev := s.twoStepEvent("browser_remembered", o, u, store.OutcomeSuccess, "")
	if err := s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{ev}}); err != nil {
		s.log.Error("audit write failed", "request_id", o.RequestID, "action", ev.Action, "err", err)
	}
	return tok, nil
}

// UseRecoveryCode passes the pending sign-in of token with one of the
// person's recovery codes (accepted as pasted: spaces, dashes, case).
// The code is used up and a fresh set replaces every other at once; the
// new set waits in the pending sign-in (StageCodes) to be shown, and the
// new token is returned. A wrong code counts as a wrong code does
// (ErrWrongCode, ErrTooManyTries), audited as "recovery_failed".
func (s *Service) UseRecoveryCode(ctx context.Context, token, code string, remember bool, o Origin) (*Step, error) {
	l, err := s.load(ctx, token)
	if err != nil {
		return nil, err
	}
	if l.p.Stage != StageVerify {
		return nil, ErrWrongStage
	}
	if err := s.entryAllowed(ctx, l.user, "recovery_failed", o); err != nil {
		return nil, err
	}
	hash, err := recovery.Check(code)
	if err == nil {
		err = s.st.UseRecoveryCode(ctx, l.user.ID, hash)
	} else {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return s.wrongCode(ctx, l, "recovery", "wrong_code", ErrWrongCode, o)
	}
	if err != nil {
		return nil, fmt.Errorf("account: recovery code: %w", err)
	}
	codes, err := s.newRecoveryCodes(ctx, l.user.ID)
	if err != nil {
		return nil, err
	}
	next := *l.p
	next.Stage, next.Codes, next.Passed, next.Remember = StageCodes, codes, "recovery", remember
	next.Factor, next.State, next.Options, next.Tries, next.SentAt = "", nil, nil, 0, 0
	ev := s.twoStepEvent("recovery_used", o, l.user, store.OutcomeSuccess, "renewed")
	token, err = s.advance(ctx, l, &next, &store.Batch{Audit: []*store.AuditEvent{ev}})
	if err != nil {
		return nil, err
	}
	return &Step{Token: token}, nil
}

// newRecoveryCodes replaces every recovery code of the user with a fresh
// set and returns it, to be shown once.
func (s *Service) newRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes, hashes, err := recovery.Generate(RecoveryCodeCount)
	if err != nil {
		return nil, fmt.Errorf("account: recovery codes: %w", err)
	}
	if err := s.st.SetRecoveryCodes(ctx, userID, hashes); err != nil {
		return nil, fmt.Errorf("account: recovery codes: %w", err)
	}
	return codes, nil
}

// CodesSaved ends a pending sign-in that showed recovery codes
// (StageCodes): the person saved them, and the sign-in is Passed.
func (s *Service) CodesSaved(ctx context.Context, token string, o Origin) (*Passed, error) {
	l, err := s.load(ctx, token)
	if err != nil {
		return nil, err
	}
	if l.p.Stage != StageCodes {
		return nil, ErrWrongStage
	}
	st, err := s.pass(ctx, l, l.p.Passed, l.p.Remember, o)
	if err != nil {
		return nil, err
	}
	return st.Passed, nil
}
