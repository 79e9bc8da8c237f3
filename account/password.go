package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// Errors of the signed-in account pages.
var (
	// ErrNoPassword: the account has no local password (it signs in with
	// Google, Active Directory …), so there is none to change.
	ErrNoPassword = errors.New("account: no local password")
	// ErrTooManyAttempts: too many wrong current passwords, or too many
	// requests, in a short time; try again later.
	ErrTooManyAttempts = errors.New("account: too many attempts")
)

// Limits of the pages that check the current password: ten tries in
// fifteen minutes are plenty for a person who mistypes, and make guessing
// the current password of an open session useless.
const (
	changeTries  = 10
	changeWindow = 15 * time.Minute
)

// HasPassword reports whether the user has a local password.
func (s *Service) HasPassword(ctx context.Context, userID string) (bool, error) {
	_, err := s.st.PasswordHash(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("account: password lookup: %w", err)
	}
	return true, nil
}

// ChangePassword changes the local password of the signed-in user u: the
// current password, the new one twice. The new one is checked first (a
// *WeakPasswordError), then the current one (ErrWrongPassword; more than
// ten tries in fifteen minutes give ErrTooManyAttempts). One transaction
// then stores the new hash, clears the must-change flag, ends every
// session of the user and enqueues the "password changed" mail. The
// caller gives the browser that asked a new session: its old one has
// ended with the others.
func (s *Service) ChangePassword(ctx context.Context, u *store.User, current, password, confirm string, o Origin) error {
	now := s.now()
	has, err := s.HasPassword(ctx, u.ID)
	if err != nil {
		return err
	}
	if !has {
		return ErrNoPassword
	}
	fresh, err := s.st.GetUser(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("account: change password: %w", err)
	}
	if err := newPasswordOK(s.rule, password, confirm, current, fresh); err != nil {
		return err
	}
	if err := s.checkCurrent(ctx, fresh, current, "password_change", o, now); err != nil {
		return err
	}
	hash, err := s.pw.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("account: hash new password: %w", err)
	}
	next := *fresh
	next.MustChangePassword = false
	lang := s.mailLang(fresh, o.Lang)
	m, err := s.comp.Mail(fresh.Email, lang, notify.TemplatePasswordChanged, fresh.ID,
		notify.Data{Name: fresh.DisplayName, Email: fresh.Email, ClientIP: o.ClientIP, Time: s.mailTime(now, lang)})
	if err != nil {
		return err
	}
	ev := s.flowEvent("password_change", o, now)
	ev.UserID, ev.Actor, ev.Outcome = fresh.ID, fresh.Email, store.OutcomeSuccess
	if fresh.MustChangePassword {
		ev.Detail = "must_change"
	}
	return s.commit(ctx, &store.Batch{
		User:        &next,
		Password:    &store.PasswordWrite{UserID: fresh.ID, Encoded: hash},
		EndSessions: &store.SessionsEnd{UserID: fresh.ID},
		Messages:    []*store.Message{m},
		Audit:       []*store.AuditEvent{ev},
	})
}

// checkCurrent checks the current password of u for the step action,
// within the limit of changeTries. A wrong one is audited.
func (s *Service) checkCurrent(ctx context.Context, u *store.User, current, action string, o Origin, now time.Time) error {
	n, _, err := s.st.Hit(ctx, "current_password:"+u.ID, now, changeWindow)
	if err != nil {
		return fmt.Errorf("account: current password limit: %w", err)
	}
	if n > changeTries {
		s.refused(ctx, action, o, now, u.ID, "rate_limited")
		return ErrTooManyAttempts
	}
	if current == "" {
		s.refused(ctx, action, o, now, u.ID, "wrong_password")
		return ErrWrongPassword
	}
	if err := s.pw.Check(ctx, u.Email, current); err != nil {
		if errors.Is(err, ErrWrongPassword) {
			s.refused(ctx, action, o, now, u.ID, "wrong_password")
			return ErrWrongPassword
		}
		return fmt.Errorf("account: check current password: %w", err)
	}
	return nil
}
