package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ssogate/ssogate/credentials"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// Errors of an email change. None of them tells whether another account
// has an address: that shows only to whoever confirms from the new
// address's mailbox (ErrEmailTaken).
var (
	// ErrEmailInvalid: the new address is not an email address.
	ErrEmailInvalid = errors.New("account: not an email address")
	// ErrEmailMismatch: the two copies of the new address differ.
	ErrEmailMismatch = errors.New("account: email addresses differ")
	// ErrEmailSame: the new address is the current one.
	ErrEmailSame = errors.New("account: email unchanged")
	// ErrEmailTaken: at confirmation, another account has the address.
	ErrEmailTaken = errors.New("account: email taken")
)

// emailChangesPerDay bounds the confirmation mails one account may have
// sent to addresses it names: enough for typos, too few to flood anyone.
const (
	emailChanges      = 5
	emailChangeWindow = 24 * time.Hour
)

// maxEmailBytes is RFC 5321's longest address.
const maxEmailBytes = 254

// NormalizeNewEmail returns the form an address is stored in (as logins
// are looked up: NFKC to ASCII, trimmed, lower-case), or ErrEmailInvalid
// when it is not one address of the shape local@domain.tld.
func NormalizeNewEmail(typed string) (string, error) {
	e := credentials.NormalizeEmail(typed)
	user, domain, ok := strings.Cut(e, "@")
	if !ok || user == "" || len(e) > maxEmailBytes || !strings.Contains(domain, ".") ||
		strings.Contains(domain, "@") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.Contains(domain, "..") {
		return "", ErrEmailInvalid
	}
	for _, r := range e {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' || r == '"' || r == ',' || r == ';' {
			return "", ErrEmailInvalid
		}
	}
	return e, nil
}

// RequestEmailChange asks to change the address of the signed-in user u
// to newEmail (typed twice; an account with a local password also gives
// it). Nothing changes yet: one transaction stores a confirmation ticket
// valid Policy.EmailChangeLinkTTL (dropping any earlier one), enqueues the
// link to the new address and a notice to the current one. The address
// changes when the link is used (ConfirmEmailChange). Errors:
// ErrEmailInvalid, ErrEmailMismatch, ErrEmailSame, ErrWrongPassword,
// ErrTooManyAttempts.
func (s *Service) RequestEmailChange(ctx context.Context, u *store.User, newEmail, confirm, password string, o Origin) error {
	now := s.now()
	fresh, err := s.st.GetUser(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("account: email change: %w", err)
	}
	e, err := newAddress(fresh, newEmail, confirm)
	if err != nil {
		return err
	}
	has, err := s.HasPassword(ctx, fresh.ID)
	if err != nil {
		return err
	}
	if has {
		if err := s.checkCurrent(ctx, fresh, password, "email_change_request", o, now); err != nil {
			return err
		}
	}
	n, _, err := s.st.Hit(ctx, "email_change:"+fresh.ID, now, emailChangeWindow)
	if err != nil {
		return fmt.Errorf("account: email change limit: %w", err)
	}
	if n > emailChanges {
		s.refused(ctx, "email_change_request", o, now, fresh.ID, "rate_limited")
		return ErrTooManyAttempts
	}

	b, err := s.emailChangeBatch(fresh, e, "", o, now)
	if err != nil {
		return err
	}
	return s.commit(ctx, b)
}

// newAddress is the new address typed twice for u's email change,
// normalised, or ErrEmailInvalid, ErrEmailMismatch or ErrEmailSame.
func newAddress(u *store.User, typed, confirm string) (string, error) {
	e, err := NormalizeNewEmail(typed)
	if err != nil {
		return "", err
	}
	if c, err := NormalizeNewEmail(confirm); err != nil || c != e {
		return "", ErrEmailMismatch
	}
	if e == u.Email {
		return "", ErrEmailSame
	}
	return e, nil
}

// emailChangeBatch is the writes that ask to change fresh's address to e
// (normalised): a confirmation ticket valid Policy.EmailChangeLinkTTL in
// place of any earlier one, the link to the new address, a notice to the
// current one, and the audit event (its detail prefixed by detail when
// set).
func (s *Service) emailChangeBatch(fresh *store.User, e, detail string, o Origin, now time.Time) (*store.Batch, error) {
	value, t, err := newLinkTicket(store.PurposeEmailChange, fresh.ID, now, s.pol.EmailChangeLinkTTL, []byte(e))
	if err != nil {
		return nil, err
	}
	lang := s.mailLang(fresh, o.Lang)
	data := notify.Data{Name: fresh.DisplayName, Email: fresh.Email, NewEmail: e, ClientIP: o.ClientIP,
		Time: s.mailTime(now, lang)}
	notice, err := s.comp.Mail(fresh.Email, lang, notify.TemplateEmailChangeNotice, fresh.ID, data)
	if err != nil {
		return nil, err
	}
	data.Link, data.Expires = s.link("/email/confirm", value), s.mailTime(t.ExpiresAt, lang)
	confirmMail, err := s.comp.Mail(e, lang, notify.TemplateEmailChangeConfirm, fresh.ID, data)
	if err != nil {
		return nil, err
	}
	ev := s.flowEvent("email_change_request", o, now)
	// The new address is no secret, and the audit trail needs it.
	ev.UserID, ev.Actor, ev.Outcome, ev.Detail = fresh.ID, fresh.Email, store.OutcomeSuccess, "new_email="+e
	if detail != "" {
		ev.Detail = detail + " " + ev.Detail
	}
	return &store.Batch{
		DropTickets: &store.TicketsDrop{UserID: fresh.ID, Purposes: []string{store.PurposeEmailChange}},
		Tickets:     []*store.Ticket{t},
		Messages:    []*store.Message{confirmMail, notice},
		Audit:       []*store.AuditEvent{ev},
	}, nil
}

// CheckEmailLink tells the confirmation page whether to show its button:
// nil, ErrLinkExpired or ErrLinkUsed. It does not use the link.
func (s *Service) CheckEmailLink(ctx context.Context, ticket string) error {
	_, _, err := s.checkLink(ctx, ticket)
	return err
}

// ConfirmEmailChange finishes an email change from the link sent to the
// new address. current is the session of the browser that confirms, or
// nil: when it is the same user's, it stays and every other session of
// the user ends; otherwise all of them end. One transaction uses the
// link, sets the address (ErrEmailTaken, with nothing changed and the
// link still usable, when another account took it meanwhile), drops the
// reset links sent to the old address, and tells the old address. For an
// account with a local password the 2-step hook then runs. It returns the
// updated user, or ErrLinkExpired, ErrLinkUsed, ErrEmailTaken, or an
// error.
func (s *Service) ConfirmEmailChange(ctx context.Context, ticket string, current *store.Session, o Origin) (*store.User, error) {
	u, data, err := s.checkLink(ctx, ticket)
	now := s.now()
	if err == nil && data == nil {
		err = ErrLinkUsed // a link of another flow
	}
	if err != nil {
		if errors.Is(err, ErrLinkExpired) || errors.Is(err, ErrLinkUsed) {
			s.refused(ctx, "email_change", o, now, "", "link_"+linkReason(err))
		}
		return nil, err
	}
	// The link carries the new address (bound to it by the ticket's
	// hash), so the transaction that uses the ticket can set it.
	newEmail, err := NormalizeNewEmail(string(data))
	if err != nil {
		return nil, ErrLinkUsed
	}
	has, err := s.HasPassword(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	next := *u
	old := u.Email
	next.Email = newEmail
	keep := ""
	if current != nil && current.UserID == u.ID {
		keep = current.ID
	}
	lang := s.mailLang(u, o.Lang)
	m, err := s.comp.Mail(old, lang, notify.TemplateEmailChanged, u.ID, notify.Data{Name: u.DisplayName, Email: old,
		NewEmail: newEmail, ClientIP: o.ClientIP, Time: s.mailTime(now, lang)})
	if err != nil {
		return nil, err
	}
	ev := s.flowEvent("email_change", o, now)
	ev.UserID, ev.Actor, ev.Outcome, ev.Detail = u.ID, old, store.OutcomeSuccess, "new_email="+newEmail
	_, err = s.apply(ctx, &store.Batch{
		Consume:     &store.TicketUse{Purpose: store.PurposeEmailChange, ID: linkTicketID(ticket), Now: now},
		User:        &next,
		EndSessions: &store.SessionsEnd{UserID: u.ID, Keep: keep},
		DropTickets: &store.TicketsDrop{UserID: u.ID, Purposes: []string{store.PurposeEmailChange, store.PurposePasswordReset}},
		Messages:    []*store.Message{m},
		Audit:       []*store.AuditEvent{ev},
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		s.refused(ctx, "email_change", o, now, u.ID, "email_taken")
		return nil, ErrEmailTaken
	case errors.Is(err, store.ErrNotFound):
		s.refused(ctx, "email_change", o, now, u.ID, "link_used")
		return nil, ErrLinkUsed
	case err != nil:
		return nil, fmt.Errorf("account: email change: %w", err)
	}
	s.logEvent(ctx, ev)
	if has {
		s.resetSecondFactor(ctx, u.ID, o)
	}
	return &next, nil
}
