package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ssogate/ssogate/credentials"
	"github.com/ssogate/ssogate/store"
)

// Errors of the administrator's actions. Each leaves the account as it
// was.
var (
	// ErrSelfAction: an administrator may not remove their own admin
	// role, disable or delete their own account (nobody else may be left
	// to undo it).
	ErrSelfAction = errors.New("account: an administrator cannot do this to their own account")
	// ErrManagedField: the field is owned by a sign-in provider linked to
	// the account, which overwrites it at every sign-in.
	ErrManagedField = errors.New("account: the field is managed by a sign-in provider")
	// ErrBadValue: a field's value is not acceptable (see AdminEditError).
	ErrBadValue = errors.New("account: invalid value")
	// ErrConfirmMismatch: the email typed to confirm a deletion is not the
	// account's.
	ErrConfirmMismatch = errors.New("account: the typed email does not match")
	// ErrNoSuchLink: the identity to unlink is not linked to the account.
	ErrNoSuchLink = errors.New("account: no such linked identity")
	// ErrNotActive: a reset link is not sent to a disabled or invited
	// account.
	ErrNotActive = errors.New("account: the account is disabled or not yet accepted")
)

// AdminEditError names the field whose value was refused; it wraps
// ErrBadValue or ErrManagedField.
type AdminEditError struct {
	Field string // display_name, phone, mobile, organization, department, groups, role, login_methods
	Err   error
}

func (e *AdminEditError) Error() string { return fmt.Sprintf("%s: %v", e.Field, e.Err) }
func (e *AdminEditError) Unwrap() error { return e.Err }

// Admin is who performs an administrator's action: the console's
// signed-in administrator (User), or the CLI (User nil, Name such as
// "cli:alice"). Every action's audit event names it as the actor.
type Admin struct {
	User   *store.User
	Name   string
	Origin Origin
}

// actor is the audit event's actor: "admin:<email>" for the console.
func (a Admin) actor() string {
	switch {
	case a.User != nil:
		return "admin:" + a.User.Email
	case a.Name != "":
		return a.Name
	}
	return "cli"
}

// self reports whether the action is on the administrator's own account.
func (a Admin) self(userID string) bool { return a.User != nil && a.User.ID == userID }

// adminEvent starts the audit event of an administrator's action on u.
func (s *Service) adminEvent(a Admin, action string, u *store.User, detail string) *store.AuditEvent {
	ev := s.flowEvent(action, a.Origin, s.now())
	ev.UserID, ev.Actor, ev.Outcome = u.ID, a.actor(), store.OutcomeSuccess
	ev.Detail = "email=" + u.Email
	if detail != "" {
		ev.Detail += " " + detail
	}
	return ev
}

// UserEdit is an administrator's change to a user; nil fields stay as
// they are.
type UserEdit struct {
	DisplayName, Phone, Mobile, Organization, Department *string
	Groups                                               *[]string
	Role                                                 *store.Role
	LoginMethods                                         *[]string
	// Managed names the profile fields (display_name, phone …) a linked
	// sign-in provider owns: a change to one is refused.
	Managed map[string]string
	// Providers, when not nil, are the configured provider ids that
	// LoginMethods may name.
	Providers []string
}

// maxAdminText bounds a profile field as the personal-info page does.
const maxAdminText = 100

// EditUser applies e to the user with userID and audits it as
// "user_update" with the changed fields; a change of groups or role
// reaches the user's sessions at their next request (the store
// publishes the change). It refuses, changing nothing: an
// administrator's own role to user (ErrSelfAction), a managed field, and
// bad values (*AdminEditError). It returns the user as stored.
func (s *Service) EditUser(ctx context.Context, a Admin, userID string, e UserEdit) (*store.User, error) {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("account: edit user: %w", err)
	}
	next := *u
	var changed []string
	text := func(field string, v *string, dst *string) error {
		if v == nil {
			return nil
		}
		t := strings.TrimSpace(*v)
		if t == *dst {
			return nil
		}
		if _, ok := e.Managed[field]; ok {
			return &AdminEditError{Field: field, Err: ErrManagedField}
		}
		if !cleanText(t) || (field == "display_name" && t == "") {
			return &AdminEditError{Field: field, Err: ErrBadValue}
		}
		*dst = t
		changed = append(changed, field)
		return nil
	}
	if err := errors.Join(
		text("display_name", e.DisplayName, &next.DisplayName),
		text("phone", e.Phone, &next.Phone),
		text("mobile", e.Mobile, &next.Mobile),
		text("organization", e.Organization, &next.Organization),
		text("department", e.Department, &next.Department),
	); err != nil {
		return nil, firstEditError(err)
	}
	if e.Groups != nil {
		gs, ok := cleanList(*e.Groups)
		if !ok {
			return nil, &AdminEditError{Field: "groups", Err: ErrBadValue}
		}
		if !slices.Equal(gs, u.Groups) {
			next.Groups = gs
			changed = append(changed, "groups")
		}
	}
	if e.Role != nil && *e.Role != u.Role {
		if *e.Role != store.RoleUser && *e.Role != store.RoleAdmin {
			return nil, &AdminEditError{Field: "role", Err: ErrBadValue}
		}
		if a.self(u.ID) {
			s.refused(ctx, "user_update", a.Origin, s.now(), u.ID, "own_role")
			return nil, ErrSelfAction
		}
		next.Role = *e.Role
		changed = append(changed, "role")
	}
	if e.LoginMethods != nil {
		ms, ok := cleanList(*e.LoginMethods)
		for _, m := range ms {
			ok = ok && (e.Providers == nil || slices.Contains(e.Providers, m))
		}
		if !ok {
			return nil, &AdminEditError{Field: "login_methods", Err: ErrBadValue}
		}
		if !slices.Equal(ms, u.LoginMethods) {
			next.LoginMethods = ms
			changed = append(changed, "login_methods")
		}
	}
	if len(changed) == 0 {
		return u, nil
	}
	ev := s.adminEvent(a, "user_update", u, "fields="+strings.Join(changed, ","))
	if err := s.commit(ctx, &store.Batch{User: &next, Audit: []*store.AuditEvent{ev}}); err != nil {
		return nil, err
	}
	return &next, nil
}

// firstEditError returns the first *AdminEditError joined in err.
func firstEditError(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()[0]
	}
	return err
}

// cleanText accepts what a profile field may hold: valid UTF-8 without
// control or bidi-override characters, at most maxAdminText characters.
func cleanText(s string) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxAdminText {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return false
		}
	}
	return true
}

// cleanList trims a list of names (groups, provider ids), drops empty
// ones and repeats, keeping the order; false when a name is not clean
// text or holds a comma (the hand-off header's separator).
func cleanList(in []string) ([]string, bool) {
	var out []string
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v == "" || slices.Contains(out, v) {
			continue
		}
		if !cleanText(v) || strings.Contains(v, ",") {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// SetStatus disables or enables the user with userID. Disabling ends
// every session of the user in the same transaction ("user_disabled");
// enabling makes the account active, locked or not, and clears its
// failure counts and unlock links, as an unlock does ("user_active").
// An administrator cannot disable their own account (ErrSelfAction). It
// returns the user as stored.
func (s *Service) SetStatus(ctx context.Context, a Admin, userID string, status store.Status) (*store.User, error) {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("account: set status: %w", err)
	}
	next := *u
	next.Status = status
	b := &store.Batch{User: &next}
	switch status {
	case store.StatusDisabled:
		if a.self(u.ID) {
			s.refused(ctx, "user_disabled", a.Origin, s.now(), u.ID, "own_account")
			return nil, ErrSelfAction
		}
		b.EndSessions = &store.SessionsEnd{UserID: u.ID}
	case store.StatusActive:
		b.ClearFailures = u.ID
		b.DropTickets = &store.TicketsDrop{UserID: u.ID, Purposes: []string{store.PurposeUnlock}}
	default:
		return nil, &AdminEditError{Field: "status", Err: ErrBadValue}
	}
	b.Audit = []*store.AuditEvent{s.adminEvent(a, "user_"+string(status), u, "was="+string(u.Status))}
	if err := s.commit(ctx, b); err != nil {
		return nil, err
	}
	return &next, nil
}

// AdminUnlock unlocks the user with userID as the mailed link does
// (active again if locked, failure counts and unlock links cleared),
// audited as "account_unlocked" with the administrator as the actor.
func (s *Service) AdminUnlock(ctx context.Context, a Admin, userID string) (*store.User, error) {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("account: unlock: %w", err)
	}
	b := s.unlockBatch(u, a.actor(), a.Origin.ClientIP)
	b.Audit[0].RequestID = a.Origin.RequestID
	if err := s.commit(ctx, b); err != nil {
		return nil, err
	}
	return b.User, nil
}

// AdminResetTwoStep removes the user's 2-step registration (ResetTwoStep)
// on an administrator's behalf.
func (s *Service) AdminResetTwoStep(ctx context.Context, a Admin, userID string) error {
	return s.ResetTwoStep(ctx, userID, a.actor(), a.Origin)
}

// Unlink removes the user's linked identity (providerID, subject),
// audited as "identity_unlink". ErrNoSuchLink when the user has no such
// link.
func (s *Service) Unlink(ctx context.Context, a Admin, userID, providerID, subject string) error {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("account: unlink: %w", err)
	}
	links, err := s.st.ListUserIdentities(ctx, userID)
	if err != nil {
		return fmt.Errorf("account: unlink: %w", err)
	}
	if !slices.ContainsFunc(links, func(l *store.IdentityLink) bool {
		return l.ProviderID == providerID && l.Subject == subject
	}) {
		return ErrNoSuchLink
	}
	if err := s.st.UnlinkIdentity(ctx, providerID, subject); err != nil {
		return fmt.Errorf("account: unlink: %w", err)
	}
	return s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{
		s.adminEvent(a, "identity_unlink", u, "provider="+providerID)}})
}

// RevokeSession ends the user's session id ("session_revoke", the
// administrator as actor). ErrNoSuchSession when it is not one of the
// user's live sessions.
func (s *Service) RevokeSession(ctx context.Context, a Admin, userID, id string) error {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("account: revoke session: %w", err)
	}
	live, err := s.Sessions(ctx, userID)
	if err != nil {
		return err
	}
	if id == "" || !slices.ContainsFunc(live, func(x *store.Session) bool { return x.ID == id }) {
		return ErrNoSuchSession
	}
	if err := s.st.DeleteSession(ctx, id); err != nil {
		return fmt.Errorf("account: revoke session: %w", err)
	}
	return s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{s.adminEvent(a, "session_revoke", u, "")}})
}

// RevokeAllSessions ends every session of the user in one transaction
// with its audit event ("session_revoke_all") and returns how many were
// live.
func (s *Service) RevokeAllSessions(ctx context.Context, a Admin, userID string) (int, error) {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("account: revoke sessions: %w", err)
	}
	live, err := s.Sessions(ctx, userID)
	if err != nil {
		return 0, err
	}
	ev := s.adminEvent(a, "session_revoke_all", u, fmt.Sprintf("count=%d", len(live)))
	err = s.commit(ctx, &store.Batch{EndSessions: &store.SessionsEnd{UserID: u.ID}, Audit: []*store.AuditEvent{ev}})
	if err != nil {
		return 0, err
	}
	return len(live), nil
}

// AdminForgetBrowser forgets the user's remembered browser id, or all of
// them when id is "" ("browser_forgotten"): the second step is asked
// there again. ErrNoSuchBrowser when id is not one of the user's.
func (s *Service) AdminForgetBrowser(ctx context.Context, a Admin, userID, id string) error {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("account: forget browser: %w", err)
	}
	ids := []string{id}
	if id == "" {
		bs, err := s.RememberedBrowsers(ctx, userID)
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, b := range bs {
			ids = append(ids, b.ID)
		}
	}
	for _, x := range ids {
		err := s.st.ForgetBrowser(ctx, userID, x)
		if errors.Is(err, store.ErrNotFound) && id != "" {
			return ErrNoSuchBrowser
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("account: forget browser: %w", err)
		}
	}
	return s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{
		s.adminEvent(a, "browser_forgotten", u, fmt.Sprintf("count=%d", len(ids)))}})
}

// SendResetLink mails the user a password-reset link, as /password/forgot
// does (or, without a local password, how they sign in), audited as
// "password_reset_request" with the administrator as the actor. The
// per-address limits of /password/forgot do not apply: the administrator
// is signed in and audited. ErrNotActive for a disabled or invited
// account.
func (s *Service) SendResetLink(ctx context.Context, a Admin, userID string) error {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("account: send reset link: %w", err)
	}
	if u.Status == store.StatusDisabled || u.Status == store.StatusInvited {
		return ErrNotActive
	}
	ev := s.adminEvent(a, "password_reset_request", u, "by_admin")
	// The mail goes in the person's language, not the administrator's.
	o := a.Origin
	o.Lang = ""
	return s.sendReset(ctx, u, ev, o, s.now())
}

// DeleteUser deletes the user with userID and everything that is theirs
// (sessions end), once confirm, the email as the administrator typed it,
// names the account (ErrConfirmMismatch otherwise). Audit events stay, and
// "user_delete" is added. An administrator cannot delete their own
// account (ErrSelfAction). It returns the deleted user.
func (s *Service) DeleteUser(ctx context.Context, a Admin, userID, confirm string) (*store.User, error) {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("account: delete user: %w", err)
	}
	if a.self(u.ID) {
		s.refused(ctx, "user_delete", a.Origin, s.now(), u.ID, "own_account")
		return nil, ErrSelfAction
	}
	if credentials.NormalizeEmail(confirm) != u.Email {
		return nil, ErrConfirmMismatch
	}
	if err := s.st.DeleteUser(ctx, u.ID); err != nil {
		return nil, fmt.Errorf("account: delete user: %w", err)
	}
	if err := s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{s.adminEvent(a, "user_delete", u, "")}}); err != nil {
		return nil, err
	}
	return u, nil
}
