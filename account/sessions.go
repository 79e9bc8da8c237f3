package account

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ssogate/ssogate/store"
)

// ErrNoSuchSession means the session asked to end is not one of the
// person's live sessions (ended already, or someone else's).
var ErrNoSuchSession = errors.New("account: no such session")

// Sessions returns the user's sessions that are still valid, newest
// first: what /account/sessions lists.
func (s *Service) Sessions(ctx context.Context, userID string) ([]*store.Session, error) {
	all, err := s.st.ListUserSessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("account: sessions: %w", err)
	}
	now := s.now()
	return slices.DeleteFunc(all, func(x *store.Session) bool { return x.Expired(now) }), nil
}

// EndSession ends the session with id of u, one of u's own live sessions
// other than current (the browser asking signs out with /logout), and
// audits it as "session_revoke". ErrNoSuchSession when id is none of
// them: nothing is written but the refusal's audit event.
func (s *Service) EndSession(ctx context.Context, u *store.User, id, current string, o Origin) error {
	now := s.now()
	live, err := s.Sessions(ctx, u.ID)
	if err != nil {
		return err
	}
	if id == current || !slices.ContainsFunc(live, func(x *store.Session) bool { return x.ID == id }) {
		s.refused(ctx, "session_revoke", o, now, u.ID, "not_own_session")
		return ErrNoSuchSession
	}
	if err := s.st.DeleteSession(ctx, id); err != nil {
		return fmt.Errorf("account: end session: %w", err)
	}
	ev := s.flowEvent("session_revoke", o, now)
	ev.UserID, ev.Actor, ev.Outcome = u.ID, u.Email, store.OutcomeSuccess
	return s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{ev}})
}

// EndOtherSessions ends every session of u but current, with its audit
// event ("session_revoke_others") in the same transaction, and returns
// the ids it ended.
func (s *Service) EndOtherSessions(ctx context.Context, u *store.User, current string, o Origin) ([]string, error) {
	now := s.now()
	live, err := s.Sessions(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var ended []string
	for _, x := range live {
		if x.ID != current {
			ended = append(ended, x.ID)
		}
	}
	ev := s.flowEvent("session_revoke_others", o, now)
	ev.UserID, ev.Actor, ev.Outcome, ev.Detail = u.ID, u.Email, store.OutcomeSuccess, fmt.Sprintf("count=%d", len(ended))
	err = s.commit(ctx, &store.Batch{EndSessions: &store.SessionsEnd{UserID: u.ID, Keep: current},
		Audit: []*store.AuditEvent{ev}})
	if err != nil {
		return nil, err
	}
	return ended, nil
}
