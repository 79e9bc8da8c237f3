package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// Errors of invitations and login-method links.
var (
	// ErrAlreadyRegistered: an invitation names an address that already
	// has an account (the administrator sees it; the invitee never does).
	ErrAlreadyRegistered = errors.New("account: address already registered")
	// ErrNameRequired: an invitation without a display name.
	ErrNameRequired = errors.New("account: display name required")
	// ErrNotInvited: resend or revoke of a user who is no longer invited
	// (accepted meanwhile, or never was).
	ErrNotInvited = errors.New("account: no pending invitation")
	// ErrIdentityTaken: the identity chosen at a provider already signs
	// in another account.
	ErrIdentityTaken = errors.New("account: identity linked to another account")
)

// Link kinds of the login-method choice: an invitation (the account is
// invited and becomes active) or a login-method change an administrator
// sent to an active account. Both are finished from the same page.
const (
	KindInvitation   = store.PurposeInvitation
	KindMethodChange = store.PurposeMethodChange
)

// methodChoiceTTL is how long a password chosen on the confirmation
// screen (申込確認) waits, hashed, for the person's final button.
const methodChoiceTTL = 30 * time.Minute

// purposeMethodPassword is the ticket of a password waiting on the
// confirmation screen: Data is its hash, UserID the person.
const purposeMethodPassword = "method_password"

// Invitee is what an administrator gives to invite one person.
type Invitee struct {
	Email       string
	DisplayName string
	Groups      []string
}

// Invitation is a pending invitation as the console lists it.
type Invitation struct {
	User      *store.User
	Inviter   string // the inviter's display name or email; "" from the CLI
	CreatedAt time.Time
	ExpiresAt time.Time
}

// invitationData is what an invitation's ticket keeps in the store (not
// in the link): who invited, to tell them when it is accepted.
type invitationData struct {
	InviterID string `json:"inviter_id,omitempty"`
}

// maxDisplayName bounds a display name as the profile page does.
const maxDisplayName = 400

// CheckInvitee normalises in and checks it: ErrEmailInvalid,
// ErrNameRequired. It does not look at the store.
func CheckInvitee(in Invitee) (Invitee, error) {
	e, err := NormalizeNewEmail(in.Email)
	if err != nil {
		return in, err
	}
	in.Email = e
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	if in.DisplayName == "" {
		return in, ErrNameRequired
	}
	in.DisplayName = truncateRunes(in.DisplayName, maxDisplayName)
	var groups []string
	for _, g := range in.Groups {
		if g = strings.TrimSpace(g); g != "" && !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	in.Groups = groups
	return in, nil
}

// inviterName is how mails and the console name an administrator.
func inviterName(u *store.User) string {
	switch {
	case u == nil:
		return ""
	case u.DisplayName != "":
		return u.DisplayName
	}
	return u.Email
}

// Invite creates the user of in with status invited, and in one
// transaction the invitation ticket (valid Policy.InvitationLinkTTL) and
// the mail with its link. admin is the inviting administrator (nil from
// the CLI). The user is created first, as a Batch cannot create one; when
// the transaction fails the user is removed again. An address whose
// invitation is pending or expired gets a new link. Errors:
// ErrEmailInvalid, ErrNameRequired, ErrAlreadyRegistered.
func (s *Service) Invite(ctx context.Context, admin *store.User, in Invitee, o Origin) (*store.User, error) {
	in, err := CheckInvitee(in)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &store.User{Email: in.Email, DisplayName: in.DisplayName, Groups: in.Groups, Role: store.RoleUser,
		Status: store.StatusInvited, CreatedAt: now, UpdatedAt: now}
	switch err := s.st.CreateUser(ctx, u); {
	case errors.Is(err, store.ErrConflict):
		// Inviting again someone whose invitation is pending or expired
		// sends a new link; anyone else already has an account.
		old, gerr := s.st.GetUserByEmail(ctx, in.Email)
		if gerr != nil || old.Status != store.StatusInvited {
			return nil, ErrAlreadyRegistered
		}
		return old, s.sendInvitation(ctx, admin, old, "invitation_resend", o)
	case err != nil:
		return nil, fmt.Errorf("account: invite: %w", err)
	}
	if err := s.sendInvitation(ctx, admin, u, "invitation_create", o); err != nil {
		if derr := s.st.DeleteUser(ctx, u.ID); derr != nil {
			s.log.Error("invited user left without invitation", "request_id", o.RequestID, "user_id", u.ID, "err", derr)
		}
		return nil, err
	}
	return u, nil
}

// ResendInvitation sends the invited user userID a new link; the older
// links stop working. ErrNotInvited when the user is not invited.
func (s *Service) ResendInvitation(ctx context.Context, admin *store.User, userID string, o Origin) error {
	u, err := s.invited(ctx, userID)
	if err != nil {
		return err
	}
	return s.sendInvitation(ctx, admin, u, "invitation_resend", o)
}

// invited returns the user userID when their status is invited.
func (s *Service) invited(ctx context.Context, userID string) (*store.User, error) {
	u, err := s.st.GetUser(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrNotInvited
	case err != nil:
		return nil, fmt.Errorf("account: invitation: %w", err)
	case u.Status != store.StatusInvited:
		return nil, ErrNotInvited
	}
	return u, nil
}

// sendInvitation commits, for the invited u, a new invitation ticket (the
// older ones dropped), its mail and the audit event action.
func (s *Service) sendInvitation(ctx context.Context, admin *store.User, u *store.User, action string, o Origin) error {
	now := s.now()
	value, t, err := newLinkTicket(store.PurposeInvitation, u.ID, now, s.invitationTTL(), nil)
	if err != nil {
		return err
	}
	var d invitationData
	if admin != nil {
		d.InviterID = admin.ID
	}
	if t.Data, err = json.Marshal(d); err != nil {
		return fmt.Errorf("account: invitation data: %w", err)
	}
	lang := s.mailLang(u, o.Lang)
	m, err := s.comp.Mail(u.Email, lang, notify.TemplateInvitation, u.ID, notify.Data{
		Name: u.DisplayName, Email: u.Email, Inviter: inviterName(admin),
		Link: s.link("/invite", value), Expires: s.mailTime(t.ExpiresAt, lang)})
	if err != nil {
		return err
	}
	ev := s.inviterEvent(action, admin, u, o, now)
	return s.commit(ctx, &store.Batch{
		DropTickets: &store.TicketsDrop{UserID: u.ID, Purposes: []string{store.PurposeInvitation}},
		Tickets:     []*store.Ticket{t},
		Messages:    []*store.Message{m},
		Audit:       []*store.AuditEvent{ev},
	})
}

// invitationTTL is policy.invitation.link_ttl, 14 days when unset.
func (s *Service) invitationTTL() time.Duration {
	if s.pol.InvitationLinkTTL > 0 {
		return s.pol.InvitationLinkTTL
	}
	return 14 * 24 * time.Hour
}

// inviterEvent starts the audit event of an administrator's action on an
// invitation of u, naming the administrator as the console's events do
// ("admin:<email>"; "cli" from the command line).
func (s *Service) inviterEvent(action string, admin, u *store.User, o Origin, now time.Time) *store.AuditEvent {
	ev := s.flowEvent(action, o, now)
	ev.UserID, ev.Actor, ev.Outcome, ev.Detail = u.ID, Admin{User: admin}.actor(), store.OutcomeSuccess, "email="+u.Email
	return ev
}

// RevokeInvitation removes the invited user userID and their invitation
// links. ErrNotInvited when the user is not (or no longer) invited.
func (s *Service) RevokeInvitation(ctx context.Context, admin *store.User, userID string, o Origin) error {
	u, err := s.invited(ctx, userID)
	if err != nil {
		return err
	}
	if _, err := s.st.DeleteTickets(ctx, store.PurposeInvitation, u.ID); err != nil {
		return fmt.Errorf("account: revoke invitation: %w", err)
	}
	if err := s.st.DeleteUser(ctx, u.ID); err != nil {
		return fmt.Errorf("account: revoke invitation: %w", err)
	}
	return s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{s.inviterEvent("invitation_revoke", admin, u, o, s.now())}})
}

// PendingInvitations lists the invitations whose link still works,
// newest first.
func (s *Service) PendingInvitations(ctx context.Context) ([]Invitation, error) {
	ts, err := s.st.ListTickets(ctx, store.PurposeInvitation, s.now())
	if err != nil {
		return nil, fmt.Errorf("account: invitations: %w", err)
	}
	names := map[string]string{}
	var out []Invitation
	for _, t := range ts {
		u, err := s.st.GetUser(ctx, t.UserID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("account: invitations: %w", err)
		}
		if u.Status != store.StatusInvited {
			continue
		}
		inv := Invitation{User: u, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
		var d invitationData
		if json.Unmarshal(t.Data, &d) == nil && d.InviterID != "" {
			name, ok := names[d.InviterID]
			if !ok {
				if a, err := s.st.GetUser(ctx, d.InviterID); err == nil {
					name = inviterName(a)
				}
				names[d.InviterID] = name
			}
			inv.Inviter = name
		}
		out = append(out, inv)
	}
	return out, nil
}

// SendMethodChange mails the active user userID a link (valid as long as
// an invitation's) with which they choose a new way to sign in
// themselves — a password, or an identity at a provider — at
// /login-method. Older such links stop working.
func (s *Service) SendMethodChange(ctx context.Context, admin *store.User, userID string, o Origin) error {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("account: login-method link: %w", err)
	}
	if u.Status == store.StatusInvited || u.Status == store.StatusDisabled {
		return fmt.Errorf("account: login-method link: account is %s", u.Status)
	}
	now := s.now()
	value, t, err := newLinkTicket(store.PurposeMethodChange, u.ID, now, s.invitationTTL(), nil)
	if err != nil {
		return err
	}
	lang := s.mailLang(u, o.Lang)
	m, err := s.comp.Mail(u.Email, lang, notify.TemplateMethodChange, u.ID, notify.Data{
		Name: u.DisplayName, Email: u.Email, Inviter: inviterName(admin),
		Link: s.link("/login-method", value), Expires: s.mailTime(t.ExpiresAt, lang)})
	if err != nil {
		return err
	}
	return s.commit(ctx, &store.Batch{
		DropTickets: &store.TicketsDrop{UserID: u.ID, Purposes: []string{store.PurposeMethodChange}},
		Tickets:     []*store.Ticket{t},
		Messages:    []*store.Message{m},
		Audit:       []*store.AuditEvent{s.inviterEvent("login_method_link", admin, u, o, now)},
	})
}

// CheckMethodLink reads an invitation or login-method link of kind
// without using it: the person it is for, or ErrLinkExpired or
// ErrLinkUsed (an invitation accepted, resent or revoked).
func (s *Service) CheckMethodLink(ctx context.Context, kind, ticket string) (*store.User, error) {
	u, data, err := s.checkLink(ctx, ticket)
	if err != nil {
		return nil, err
	}
	if data != nil || (kind == KindInvitation) != (u.Status == store.StatusInvited) {
		return nil, ErrLinkUsed
	}
	// Unlike a reset link, a replaced or revoked invitation says so at
	// once: the person should ask for the newer link, not type a
	// password the form would then refuse. The pending links of a kind
	// are few (an organisation's open invitations).
	ts, err := s.st.ListTickets(ctx, kind, s.now())
	if err != nil {
		return nil, fmt.Errorf("account: link: %w", err)
	}
	id := linkTicketID(ticket)
	if !slices.ContainsFunc(ts, func(t *store.Ticket) bool { return t.ID == id }) {
		return nil, ErrLinkUsed
	}
	return u, nil
}

// ChoosePassword is the first step of choosing a password from a link of
// kind: the rule is checked (a *WeakPasswordError lists what is wrong),
// the password hashed and kept, for methodChoiceTTL, under the returned
// token, which the confirmation screen posts back to FinishPassword.
// Nothing of the account changes yet.
func (s *Service) ChoosePassword(ctx context.Context, kind, ticket, password, confirm string) (string, error) {
	u, err := s.CheckMethodLink(ctx, kind, ticket)
	if err != nil {
		return "", err
	}
	if err := newPasswordOK(s.rule, password, confirm, "", u); err != nil {
		return "", err
	}
	hash, err := s.pw.Hash(ctx, password)
	if err != nil {
		return "", fmt.Errorf("account: hash new password: %w", err)
	}
	now := s.now()
	token, err := newToken()
	if err != nil {
		return "", err
	}
	if err := s.st.CreateTicket(ctx, &store.Ticket{ID: linkTicketID(token), Purpose: purposeMethodPassword,
		UserID: u.ID, Data: []byte(hash), CreatedAt: now, ExpiresAt: now.Add(methodChoiceTTL)}); err != nil {
		return "", fmt.Errorf("account: keep chosen password: %w", err)
	}
	return token, nil
}

// FinishPassword stores the password kept under token (ChoosePassword)
// as the account's, using the link of kind: an invitation's user becomes
// active and the inviter is told by mail; a login-method change ends the
// user's sessions. It returns the user as updated, or ErrLinkExpired,
// ErrLinkUsed (also when the token is unknown or expired: the person
// chooses again).
func (s *Service) FinishPassword(ctx context.Context, kind, ticket, token string, o Origin) (*store.User, error) {
	u, err := s.CheckMethodLink(ctx, kind, ticket)
	if err != nil {
		if errors.Is(err, ErrLinkExpired) || errors.Is(err, ErrLinkUsed) {
			s.refused(ctx, kind+"_accept", o, s.now(), "", "link_"+linkReason(err))
		}
		return nil, err
	}
	pt, err := s.st.ConsumeTicket(ctx, purposeMethodPassword, linkTicketID(token), s.now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && pt.UserID != u.ID) {
		return nil, ErrLinkUsed
	}
	if err != nil {
		return nil, fmt.Errorf("account: chosen password: %w", err)
	}
	b, next, err := s.finishBatch(ctx, kind, ticket, u, "method=password", o)
	if err != nil {
		return nil, err
	}
	b.Password = &store.PasswordWrite{UserID: u.ID, Encoded: string(pt.Data)}
	b.ClearFailures = u.ID
	if err := s.finishApply(ctx, kind, u, b, o); err != nil {
		return nil, err
	}
	return next, nil
}

// Identity is an identity a provider vouched for, to link to the person
// of an invitation or login-method link.
type Identity struct {
	ProviderID string
	Subject    string
	// Email is the address the provider gave, recorded with the link.
	Email string
}

// FinishIdentity links id to the person of the link of kind whose ticket
// id (the SHA-256 the flow kept, not the link itself) and user are given,
// and uses the link as FinishPassword does. The provider's address may
// differ from the invited one: the administrator invited this person at
// that address and the link reached them there, so the identity is taken
// and the difference recorded in the audit event. ErrIdentityTaken when
// the identity signs in another account; ErrLinkUsed or ErrLinkExpired.
func (s *Service) FinishIdentity(ctx context.Context, kind, ticketID, userID string, id Identity, o Origin) (*store.User, error) {
	now := s.now()
	u, err := s.st.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (kind == KindInvitation) != (u.Status == store.StatusInvited)) {
		return nil, ErrLinkUsed
	}
	if err != nil {
		return nil, fmt.Errorf("account: link identity: %w", err)
	}
	other, err := s.st.UserByIdentity(ctx, id.ProviderID, id.Subject)
	switch {
	case err == nil && other.ID != u.ID:
		s.refused(ctx, kind+"_accept", o, now, u.ID, "identity_taken provider="+id.ProviderID)
		return nil, ErrIdentityTaken
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("account: link identity: %w", err)
	}
	linked := err == nil
	if !linked {
		if err := s.st.LinkIdentity(ctx, &store.IdentityLink{ProviderID: id.ProviderID, Subject: id.Subject, UserID: u.ID,
			Email: id.Email, CreatedAt: now, LastUsedAt: now}); err != nil {
			return nil, fmt.Errorf("account: link identity: %w", err)
		}
	}
	detail := "method=" + id.ProviderID
	if id.Email != "" && !strings.EqualFold(id.Email, u.Email) {
		detail += " provider_email=" + truncateRunes(id.Email, 254)
	}
	b, next, err := s.finishBatchID(ctx, kind, ticketID, u, detail, o)
	if err == nil {
		err = s.finishApply(ctx, kind, u, b, o)
	}
	if err != nil {
		if !linked {
			_ = s.st.UnlinkIdentity(ctx, id.ProviderID, id.Subject)
		}
		return nil, err
	}
	return next, nil
}

// MethodTicketID is the id under which the flow that signs in at a
// provider remembers a link, without keeping the link itself.
func MethodTicketID(ticket string) string { return linkTicketID(ticket) }

// finishBatch is finishBatchID for the link itself.
func (s *Service) finishBatch(ctx context.Context, kind, ticket string, u *store.User, detail string, o Origin) (*store.Batch, *store.User, error) {
	return s.finishBatchID(ctx, kind, linkTicketID(ticket), u, detail, o)
}

// finishBatchID is the transaction that uses the link of kind with
// ticket id tid for u: the user active, the inviter's mail (read from the
// ticket, which is still there), the audit event.
func (s *Service) finishBatchID(ctx context.Context, kind, tid string, u *store.User, detail string, o Origin) (*store.Batch, *store.User, error) {
	now := s.now()
	next := *u
	ev := s.flowEvent(kind+"_accept", o, now)
	ev.UserID, ev.Actor, ev.Outcome, ev.Detail = u.ID, u.Email, store.OutcomeSuccess, detail
	b := &store.Batch{
		Consume:     &store.TicketUse{Purpose: kind, ID: tid, Now: now},
		User:        &next,
		DropTickets: &store.TicketsDrop{UserID: u.ID, Purposes: []string{kind, purposeMethodPassword}},
		Audit:       []*store.AuditEvent{ev},
	}
	if kind == KindMethodChange {
		b.EndSessions = &store.SessionsEnd{UserID: u.ID}
		return b, &next, nil
	}
	next.Status = store.StatusActive
	next.UpdatedAt = now
	if lang := o.Lang; lang == "ja" || lang == "en" {
		next.Language = lang
	}
	ts, err := s.st.ListTickets(ctx, store.PurposeInvitation, now)
	if err != nil {
		return nil, nil, fmt.Errorf("account: invitation: %w", err)
	}
	for _, t := range ts {
		var d invitationData
		if t.ID != tid || json.Unmarshal(t.Data, &d) != nil || d.InviterID == "" {
			continue
		}
		a, err := s.st.GetUser(ctx, d.InviterID)
		if err != nil {
			break // the inviter left meanwhile: nobody to tell
		}
		lang := s.mailLang(a, "")
		// The inviter is greeted (Name, Email); NewEmail is who accepted.
		m, err := s.comp.Mail(a.Email, lang, notify.TemplateInvitationAccepted, a.ID, notify.Data{
			Name: a.DisplayName, Email: a.Email, NewEmail: u.Email, Time: s.mailTime(now, lang)})
		if err != nil {
			return nil, nil, err
		}
		b.Messages = append(b.Messages, m)
	}
	return b, &next, nil
}

// finishApply commits b and maps a used link to ErrLinkUsed.
func (s *Service) finishApply(ctx context.Context, kind string, u *store.User, b *store.Batch, o Origin) error {
	_, err := s.apply(ctx, b)
	if errors.Is(err, store.ErrNotFound) {
		s.refused(ctx, kind+"_accept", o, s.now(), u.ID, "link_used")
		return ErrLinkUsed
	}
	if err != nil {
		return fmt.Errorf("account: accept: %w", err)
	}
	for _, ev := range b.Audit {
		s.logEvent(ctx, ev)
	}
	return nil
}
