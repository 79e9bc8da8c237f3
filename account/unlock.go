package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssogate/ssogate/store"
)

// ErrInvalidLink means a mailed link's ticket is unknown, used or expired.
var ErrInvalidLink = errors.New("account: link is invalid, used or expired")

// Unlock uses the unlock link's ticket: in one transaction it consumes the
// ticket, makes a locked account active again, clears every failure count
// of the account, drops its other unlock links and records
// "account_unlocked" with clientIP. An account
// that is no longer locked (a password reset unlocked it, an administrator
// disabled it) keeps its status. It returns the account, or an error
// wrapping ErrInvalidLink when the ticket cannot be used.
func (s *Service) Unlock(ctx context.Context, ticket, clientIP string) (*store.User, error) {
	uid, ok := ticketUser(ticket)
	if !ok {
		return nil, ErrInvalidLink
	}
	u, err := s.st.GetUser(ctx, uid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidLink
	}
	if err != nil {
		return nil, fmt.Errorf("account: unlock: %w", err)
	}
	b := s.unlockBatch(u, "", clientIP)
	b.Consume = &store.TicketUse{Purpose: store.PurposeUnlock, ID: ticketID(ticket), Now: s.now()}
	// The ticket's id hashes the user id with the secret, so a ticket
	// that is consumed here was made for u.
	_, err = s.apply(ctx, b)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidLink
	}
	if err != nil {
		return nil, fmt.Errorf("account: unlock: %w", err)
	}
	s.log.InfoContext(ctx, "account unlocked from the mailed link", "user_id", u.ID)
	return u, nil
}

// UnlockUser unlocks the account u by an administrator's hand (actor, such
// as "cli"): the same writes as Unlock, in one transaction.
func (s *Service) UnlockUser(ctx context.Context, u *store.User, actor string) error {
	b := s.unlockBatch(u, actor, "")
	if _, err := s.apply(ctx, b); err != nil {
		return fmt.Errorf("account: unlock %s: %w", u.Email, err)
	}
	u.Status = b.User.Status
	return nil
}

// unlockBatch is the writes of an unlock of u: active again if locked,
// every other unlock link sent before dropped (one from an earlier lock
// must not undo a later one), failure counts cleared, the audit event.
func (s *Service) unlockBatch(u *store.User, actor, clientIP string) *store.Batch {
	active := *u
	if active.Status == store.StatusLocked {
		active.Status = store.StatusActive
	}
	if actor == "" {
		actor = u.Email
	}
	return &store.Batch{
		User:          &active,
		DropTickets:   &store.TicketsDrop{UserID: u.ID, Purposes: []string{store.PurposeUnlock}},
		ClearFailures: u.ID,
		Audit: []*store.AuditEvent{{Time: s.now(), Action: "account_unlocked", UserID: u.ID, Actor: actor,
			ClientIP: clientIP, Outcome: store.OutcomeSuccess, Detail: "was=" + string(u.Status)}},
	}
}
