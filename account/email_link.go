package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// SendEmailChangeLink mails user userID, at their current address, a link
// (valid Policy.ResetLinkTTL, as an administrator's reset link is) with
// which they enter a new address themselves at /email/change; the change
// then goes on as one the person asked for on /account/email: a
// confirmation link to the new address, a notice to the old one
// (どこでもBOX 2.2: the administrator sends, the person finishes it from
// the mail). Older such links stop working. An invited or disabled
// account gets nothing (an error says why).
func (s *Service) SendEmailChangeLink(ctx context.Context, a Admin, userID string) error {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("account: email-change link: %w", err)
	}
	if u.Status == store.StatusInvited || u.Status == store.StatusDisabled {
		return fmt.Errorf("account: email-change link: account is %s", u.Status)
	}
	now := s.now()
	value, t, err := newLinkTicket(store.PurposeEmailChangeLink, u.ID, now, s.pol.ResetLinkTTL, nil)
	if err != nil {
		return err
	}
	lang := s.mailLang(u, a.Origin.Lang)
	m, err := s.comp.Mail(u.Email, lang, notify.TemplateEmailChangeLink, u.ID, notify.Data{
		Name: u.DisplayName, Email: u.Email, Inviter: inviterName(a.User),
		Link: s.link("/email/change", value), Expires: s.mailTime(t.ExpiresAt, lang)})
	if err != nil {
		return err
	}
	return s.commit(ctx, &store.Batch{
		DropTickets: &store.TicketsDrop{UserID: u.ID, Purposes: []string{store.PurposeEmailChangeLink}},
		Tickets:     []*store.Ticket{t},
		Messages:    []*store.Message{m},
		Audit:       []*store.AuditEvent{s.adminEvent(a, "email_change_link", u, "")},
	})
}

// CheckEmailChangeLink reads an administrator's email-change link without
// using it: the person it is for, or ErrLinkExpired or ErrLinkUsed.
func (s *Service) CheckEmailChangeLink(ctx context.Context, ticket string) (*store.User, error) {
	u, _, err := s.checkLink(ctx, ticket)
	if err != nil {
		return nil, err
	}
	if u.Status == store.StatusInvited {
		return nil, ErrLinkUsed
	}
	return u, nil
}

// RequestEmailChangeByLink asks, from an administrator's email-change
// link, to change the address to newEmail (typed twice): in one
// transaction the link is used and the confirmation link to the new
// address, the notice to the current one and the audit event are
// written, as RequestEmailChange does for a signed-in person. Errors:
// ErrLinkExpired, ErrLinkUsed, ErrEmailInvalid, ErrEmailMismatch,
// ErrEmailSame (the link stays usable after the last three).
func (s *Service) RequestEmailChangeByLink(ctx context.Context, ticket, newEmail, confirm string, o Origin) error {
	u, err := s.CheckEmailChangeLink(ctx, ticket)
	if err != nil {
		return err
	}
	e, err := newAddress(u, newEmail, confirm)
	if err != nil {
		return err
	}
	now := s.now()
	b, err := s.emailChangeBatch(u, e, "by_link", o, now)
	if err != nil {
		return err
	}
	b.Consume = &store.TicketUse{Purpose: store.PurposeEmailChangeLink, ID: linkTicketID(ticket), Now: now}
	if _, err := s.apply(ctx, b); errors.Is(err, store.ErrNotFound) {
		return ErrLinkUsed
	} else if err != nil {
		return fmt.Errorf("account: email change by link: %w", err)
	}
	for _, ev := range b.Audit {
		s.logEvent(ctx, ev)
	}
	return nil
}
