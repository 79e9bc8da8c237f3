package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/ssogate/ssogate/credentials"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// Limits of /password/forgot. Five requests for one address an hour
// cover a person who does not see the mail at once and asks again; past
// that, more mail would not help (the mail route is broken) or is meant
// to flood someone's inbox. Twenty from one client address an hour let
// several people behind one office NAT ask on the same morning, while one
// machine cannot send links to many addresses. The address is counted
// whether or not it is registered, so the limit itself tells nothing.
const (
	ResetPerAddress = 5
	ResetPerClient  = 20
	ResetWindow     = time.Hour
)

// Errors of the link flows. The portal explains each; none tells whether
// an account exists.
var (
	// ErrLinkExpired: the link's lifetime is over.
	ErrLinkExpired = errors.New("account: link expired")
	// ErrLinkUsed: the link was used, replaced by a later one, or never
	// was a link of ours.
	ErrLinkUsed = errors.New("account: link used or unknown")
)

// Origin is where a step of a flow comes from: its audit event and mails
// name it.
type Origin struct {
	// ClientIP is the client address after trusted proxies.
	ClientIP string
	// RequestID links the audit event to the request's log lines.
	RequestID string
	// Lang is the page's language: a mail goes in the person's
	// remembered language, else in this one.
	Lang string
	// UserAgent is the browser's, kept with a remembered browser.
	UserAgent string
}

// linkSecretBytes is the randomness of a mailed link.
const linkSecretBytes = 32

// newLinkTicket returns the ticket value for a mailed link (the secret
// the link carries) and the store's ticket for it, whose Data is data.
// The value is "<user id>.<expiry, unix seconds>.[<data, base64url>.]<32
// random bytes, base64url>"; the store keeps only the SHA-256 of all of
// it. So the user, the expiry and the data (an email change's new
// address) can be read from a link before it is used (to show its form,
// say it expired, or write the address in the transaction that uses it)
// and cannot be altered: any change is another hash, which matches no
// ticket.
func newLinkTicket(purpose, userID string, now time.Time, ttl time.Duration, data []byte) (string, *store.Ticket, error) {
	b := make([]byte, linkSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("account: link secret: %w", err)
	}
	exp := now.Add(ttl).Truncate(time.Second)
	value := userID + "." + strconv.FormatInt(exp.Unix(), 10) + "."
	if data != nil {
		value += base64.RawURLEncoding.EncodeToString(data) + "."
	}
	value += base64.RawURLEncoding.EncodeToString(b)
	return value, &store.Ticket{ID: linkTicketID(value), Purpose: purpose, UserID: userID, Data: data,
		CreatedAt: now, ExpiresAt: exp}, nil
}

// linkTicketID is the store's id of a link's ticket value.
func linkTicketID(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// maxLinkTicket bounds a ticket value read from a request: an id, a
// time, a 254-byte address and the secret, encoded.
const maxLinkTicket = 512

// linkParts is what a link's ticket value says before it is used.
type linkParts struct {
	userID  string
	expires time.Time
	data    []byte
}

// parseLinkTicket reads a link's ticket value; ok is false when it does
// not have the shape newLinkTicket gives.
func parseLinkTicket(value string) (linkParts, bool) {
	var p linkParts
	parts := strings.Split(value, ".")
	if len(value) > maxLinkTicket || len(parts) < 3 || len(parts) > 4 || parts[0] == "" ||
		len(parts[len(parts)-1]) != base64.RawURLEncoding.EncodedLen(linkSecretBytes) {
		return p, false
	}
	n, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || n <= 0 {
		return p, false
	}
	p.userID, p.expires = parts[0], time.Unix(n, 0).UTC()
	if len(parts) == 4 {
		if p.data, err = base64.RawURLEncoding.DecodeString(parts[2]); err != nil || len(p.data) == 0 {
			return p, false
		}
	}
	return p, true
}

// checkLink is what can be known of a link without using it: its shape,
// expiry, user and data. It returns the user and data, or
// ErrLinkExpired, ErrLinkUsed (also for a user gone or disabled since),
// or a store failure.
func (s *Service) checkLink(ctx context.Context, value string) (*store.User, []byte, error) {
	p, ok := parseLinkTicket(value)
	if !ok {
		return nil, nil, ErrLinkUsed
	}
	if !s.now().Before(p.expires) {
		return nil, nil, ErrLinkExpired
	}
	u, err := s.st.GetUser(ctx, p.userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil, ErrLinkUsed
	case err != nil:
		return nil, nil, fmt.Errorf("account: link user: %w", err)
	case u.Status == store.StatusDisabled:
		return nil, nil, ErrLinkUsed
	}
	return u, p.data, nil
}

// CheckResetLink tells the reset page whether to show its form: nil, or
// ErrLinkExpired or ErrLinkUsed. It does not use the link (mail scanners
// open links), so a link that was used already passes until its form is
// sent.
func (s *Service) CheckResetLink(ctx context.Context, ticket string) error {
	_, _, err := s.checkLink(ctx, ticket)
	return err
}

// RequestReset answers /password/forgot for the address email (as typed;
// it is normalised as logins are). It enqueues, with the ticket, a mail
// with a reset link valid Policy.ResetLinkTTL, or, for an account without
// a local password, a mail that says how the person signs in. An unknown
// or disabled address, or one over the limits (ResetPerAddress,
// ResetPerClient), gets nothing; each case is audited as
// "password_reset_request". It returns nil in every one of these cases
// after the same kind of work (two counters, one lookup, one
// transaction), and an error only when the store fails.
func (s *Service) RequestReset(ctx context.Context, email string, o Origin) error {
	now := s.now()
	email = credentials.NormalizeEmail(email)
	ev := s.flowEvent("password_reset_request", o, now)
	ev.Actor = truncateRunes(email, 254)
	refuse := func(reason string) error {
		ev.Outcome, ev.Detail = store.OutcomeFailure, reason
		return s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{ev}})
	}

	nAddr, _, err := s.st.Hit(ctx, "password_reset_addr:"+linkTicketID(email), now, ResetWindow)
	if err != nil {
		return fmt.Errorf("account: reset limit: %w", err)
	}
	nClient := 0
	if o.ClientIP != "" {
		if nClient, _, err = s.st.Hit(ctx, "password_reset_ip:"+o.ClientIP, now, ResetWindow); err != nil {
			return fmt.Errorf("account: reset limit: %w", err)
		}
	}
	switch {
	case nAddr > ResetPerAddress:
		return refuse("rate_limited_address")
	case nClient > ResetPerClient:
		return refuse("rate_limited_client")
	}

	u, err := s.st.GetUserByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return refuse("unknown_email")
	case err != nil:
		return fmt.Errorf("account: reset lookup: %w", err)
	}
	ev.UserID = u.ID
	if u.Status == store.StatusDisabled || u.Status == store.StatusInvited {
		return refuse("account_" + string(u.Status))
	}
	return s.sendReset(ctx, u, ev, o, now)
}

// sendReset commits, with ev (filled in here as a success), the reset
// link's ticket and mail to u, or the mail that says how u signs in when
// u has no local password: the common end of RequestReset and an
// administrator's SendResetLink.
func (s *Service) sendReset(ctx context.Context, u *store.User, ev *store.AuditEvent, o Origin, now time.Time) error {
	lang := s.mailLang(u, o.Lang)
	data := notify.Data{Name: u.DisplayName, Email: u.Email, ClientIP: o.ClientIP, Time: s.mailTime(now, lang)}

	_, err := s.st.PasswordHash(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		data.Provider, err = s.signInMethods(ctx, u, lang)
		if err != nil {
			return err
		}
		m, err := s.comp.Mail(u.Email, lang, notify.TemplatePasswordResetNoPassword, u.ID, data)
		if err != nil {
			return err
		}
		ev.Outcome, ev.Detail = store.OutcomeSuccess, "no_password"
		return s.commit(ctx, &store.Batch{Messages: []*store.Message{m}, Audit: []*store.AuditEvent{ev}})
	}
	if err != nil {
		return fmt.Errorf("account: reset lookup: %w", err)
	}

	value, t, err := newLinkTicket(store.PurposePasswordReset, u.ID, now, s.pol.ResetLinkTTL, nil)
	if err != nil {
		return err
	}
	data.Link, data.Expires = s.link("/password/reset", value), s.mailTime(t.ExpiresAt, lang)
	m, err := s.comp.Mail(u.Email, lang, notify.TemplatePasswordReset, u.ID, data)
	if err != nil {
		return err
	}
	ev.Outcome = store.OutcomeSuccess
	return s.commit(ctx, &store.Batch{Tickets: []*store.Ticket{t}, Messages: []*store.Message{m},
		Audit: []*store.AuditEvent{ev}})
}

// signInMethods names the ways u signs in, for the mail to an account
// without a password: the labels of its linked providers, else of the
// providers allowed to it; "" when neither is known.
func (s *Service) signInMethods(ctx context.Context, u *store.User, lang string) (string, error) {
	links, err := s.st.ListUserIdentities(ctx, u.ID)
	if err != nil {
		return "", fmt.Errorf("account: identities: %w", err)
	}
	var ids []string
	for _, l := range links {
		ids = append(ids, l.ProviderID)
	}
	if len(ids) == 0 {
		ids = u.LoginMethods
	}
	var labels []string
	seen := map[string]bool{}
	for _, id := range ids {
		label := id
		if s.label != nil {
			if l := s.label(id, lang); l != "" {
				label = l
			}
		}
		if !seen[label] {
			seen[label] = true
			labels = append(labels, label)
		}
	}
	sep := ", "
	if lang == "ja" {
		sep = "、"
	}
	return strings.Join(labels, sep), nil
}

// ResetPassword sets a new password from a reset link: the link's ticket
// value, the password twice. The password is checked first (a
// *WeakPasswordError leaves the link usable); then one transaction uses
// the link, stores the new hash, unlocks the account and clears its
// must-change flag and failure counts, ends every session of the user,
// drops the other reset and unlock links, and enqueues the "password
// changed" mail. Then the 2-step hook runs. It returns the user as
// updated, or ErrLinkExpired, ErrLinkUsed, or an error.
func (s *Service) ResetPassword(ctx context.Context, ticket, password, confirm string, o Origin) (*store.User, error) {
	u, _, err := s.checkLink(ctx, ticket)
	now := s.now()
	if err != nil {
		if errors.Is(err, ErrLinkExpired) || errors.Is(err, ErrLinkUsed) {
			s.refused(ctx, "password_reset", o, now, "", "link_"+linkReason(err))
		}
		return nil, err
	}
	if err := newPasswordOK(s.rule, password, confirm, "", u); err != nil {
		return nil, err
	}
	hash, err := s.pw.Hash(ctx, password)
	if err != nil {
		return nil, fmt.Errorf("account: hash new password: %w", err)
	}
	next := *u
	if next.Status == store.StatusLocked {
		next.Status = store.StatusActive
	}
	next.MustChangePassword = false
	lang := s.mailLang(u, o.Lang)
	m, err := s.comp.Mail(u.Email, lang, notify.TemplatePasswordChanged, u.ID,
		notify.Data{Name: u.DisplayName, Email: u.Email, ClientIP: o.ClientIP, Time: s.mailTime(now, lang)})
	if err != nil {
		return nil, err
	}
	ev := s.flowEvent("password_reset", o, now)
	ev.UserID, ev.Actor, ev.Outcome = u.ID, u.Email, store.OutcomeSuccess
	if u.Status == store.StatusLocked {
		ev.Detail = "unlocked"
	}
	_, err = s.apply(ctx, &store.Batch{
		Consume:       &store.TicketUse{Purpose: store.PurposePasswordReset, ID: linkTicketID(ticket), Now: now},
		User:          &next,
		Password:      &store.PasswordWrite{UserID: u.ID, Encoded: hash},
		EndSessions:   &store.SessionsEnd{UserID: u.ID},
		DropTickets:   &store.TicketsDrop{UserID: u.ID, Purposes: []string{store.PurposePasswordReset, store.PurposeUnlock}},
		ClearFailures: u.ID,
		Messages:      []*store.Message{m},
		Audit:         []*store.AuditEvent{ev},
	})
	if errors.Is(err, store.ErrNotFound) {
		s.refused(ctx, "password_reset", o, now, u.ID, "link_used")
		return nil, ErrLinkUsed
	}
	if err != nil {
		return nil, fmt.Errorf("account: reset password: %w", err)
	}
	s.logEvent(ctx, ev)
	s.resetSecondFactor(ctx, u.ID, o)
	return &next, nil
}

// newPasswordOK checks a new password and its confirmation for u:
// the rule (CheckPassword), not the current password when current is
// given, and the confirmation; every broken rule is listed in one
// *WeakPasswordError.
func newPasswordOK(rule credentials.PasswordRule, password, confirm, current string, u *store.User) error {
	var reasons []string
	var we *WeakPasswordError
	if err := CheckPassword(rule, password, u.Email, u.DisplayName); errors.As(err, &we) {
		reasons = we.Reasons
	}
	if current != "" && password == current {
		reasons = append(reasons, ReasonSameAsCurrent)
	}
	if password != confirm {
		reasons = append(reasons, ReasonMismatch)
	}
	if reasons != nil {
		return &WeakPasswordError{Reasons: reasons}
	}
	return nil
}

// resetSecondFactor runs the 2-step hook, if any, for userID.
func (s *Service) resetSecondFactor(ctx context.Context, userID string, o Origin) {
	if s.reset2FA == nil {
		return
	}
	if err := s.reset2FA(ctx, userID); err != nil {
		s.log.Error("2-step registration reset failed", "request_id", o.RequestID, "user_id", userID, "err", err)
	}
}

// linkReason is the audit word of a link error.
func linkReason(err error) string {
	if errors.Is(err, ErrLinkExpired) {
		return "expired"
	}
	return "used"
}

// flowEvent starts the audit event of a flow step.
func (s *Service) flowEvent(action string, o Origin, now time.Time) *store.AuditEvent {
	return &store.AuditEvent{Time: now, Action: action, ClientIP: o.ClientIP, RequestID: o.RequestID}
}

// refused records a refused step on its own (nothing else is written),
// of the user with userID ("" when unknown).
func (s *Service) refused(ctx context.Context, action string, o Origin, now time.Time, userID, reason string) {
	ev := s.flowEvent(action, o, now)
	ev.UserID, ev.Outcome, ev.Detail = userID, store.OutcomeFailure, reason
	if userID != "" {
		if u, err := s.st.GetUser(ctx, userID); err == nil {
			ev.Actor = u.Email
		}
	}
	if err := s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{ev}}); err != nil {
		s.log.Error("audit write failed", "request_id", o.RequestID, "action", action, "err", err)
	}
}

// commit applies b, which consumes no ticket, and logs its audit events.
func (s *Service) commit(ctx context.Context, b *store.Batch) error {
	if _, err := s.apply(ctx, b); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	for _, ev := range b.Audit {
		s.logEvent(ctx, ev)
	}
	return nil
}

// logEvent writes a committed audit event as the gateway's audit log line
// does. Events hold no secret: no ticket, link or password.
func (s *Service) logEvent(ctx context.Context, ev *store.AuditEvent) {
	s.log.LogAttrs(ctx, slog.LevelInfo, "audit",
		slog.String("request_id", ev.RequestID),
		slog.String("action", ev.Action),
		slog.String("outcome", string(ev.Outcome)),
		slog.String("user_id", ev.UserID),
		slog.String("actor", ev.Actor),
		slog.String("client_ip", ev.ClientIP),
		slog.String("detail", ev.Detail),
	)
}

// mailLang is the language of mails to u: the one remembered on the
// record, else the language of the page that asked (page; "" when the
// cause was not the person's own request, such as a lock), else the
// portal's default, else Japanese.
func (s *Service) mailLang(u *store.User, page string) string {
	switch {
	case u.Language == "ja" || u.Language == "en":
		return u.Language
	case page == "ja" || page == "en":
		return page
	case s.pol.MailLanguage != "":
		return s.pol.MailLanguage
	}
	return "ja"
}

// mailTime formats t for a mail in lang, in the portal's time zone, as
// every mail writes times: "2026年12月5日(土) 09:00", "Sat, 5 Dec 2026
// 09:00 JST".
func (s *Service) mailTime(t time.Time, lang string) string {
	return formatTime(lang, t, s.loc)
}

// truncateRunes cuts s to at most n bytes on a rune boundary.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
