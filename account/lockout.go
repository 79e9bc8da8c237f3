package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// Attempt is one password sign-in to the local provider, after the
// password was checked.
type Attempt struct {
	// Email is the login as typed, normalised as the local provider
	// looks it up.
	Email string
	// UserID is the account the password matched; "" when it did not
	// (wrong password, unknown email).
	UserID string
	// Devices are the verified device cookies the browser holds.
	Devices []Device
	// Client is where the attempt comes from.
	Client Client
}

// Verdict is what PasswordAttempt decided.
type Verdict struct {
	// Allowed lets the sign-in go on. When false the person sees what a
	// wrong password shows, whatever Reason is.
	Allowed bool
	// Device is the browser's device of this account, for the cookie to
	// issue or renew; set when Allowed.
	Device Device
	// LockedAccount is true when the account is locked (it may still be
	// Allowed, from a trusted device).
	LockedAccount bool
	// Locked is true when this attempt locked the account.
	Locked bool
	// Reason is the audit reason of a refusal: "invalid_credentials" or
	// "account_locked".
	Reason string
}

// Refusal reasons of a Verdict.
const (
	ReasonInvalid = "invalid_credentials"
	ReasonLocked  = "account_locked"
)

// noAccountKey is the Hit key that failures for no local account count
// under: they write what a counted failure writes, so that an unknown
// email costs the store what a real account's wrong password costs.
const noAccountKey = "login_no_account"

// PasswordAttempt decides a password sign-in to a local account: it
// counts a wrong password against the account's budget for the browser
// (its device's, or the shared one of browsers without a valid device
// cookie) and against the client's throttle, locks the account when the
// shared budget is spent (one transaction: status, unlock ticket, mail,
// audit), and refuses a locked account's right password unless it comes
// from a trusted device. Accounts without a local password (a directory's,
// a federated one) are never counted: their own provider locks them.
//
// Every refusal does the same store work (one lookup by email or id, one
// password-hash read, the throttle's hit and one counted write), so that
// neither the answer nor its time tells an unknown email, a wrong
// password and a locked account apart.
func (s *Service) PasswordAttempt(ctx context.Context, a Attempt) (Verdict, error) {
	now := s.now()
	var (
		u   *store.User
		err error
	)
	if a.UserID != "" {
		u, err = s.st.GetUser(ctx, a.UserID)
	} else {
		u, err = s.st.GetUserByEmail(ctx, a.Email)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		u = nil
	case err != nil:
		return Verdict{}, fmt.Errorf("account: sign-in lookup: %w", err)
	}
	uid := ""
	if u != nil {
		uid = u.ID
	}
	// An account with no local password is not this provider's to count
	// (its directory or identity provider locks it); the read is made for
	// an unknown email too, so both cost the same.
	local := false
	switch _, err := s.st.PasswordHash(ctx, uid); {
	case err == nil:
		local = u != nil
	case !errors.Is(err, store.ErrNotFound):
		return Verdict{}, fmt.Errorf("account: sign-in lookup: %w", err)
	}

	device := ""
	if local {
		if device, err = s.trustedDevice(ctx, a.Devices, u.ID); err != nil {
			return Verdict{}, err
		}
	}
	if a.UserID != "" && local && (u.Status != store.StatusLocked || device != "") {
		return s.passwordRight(ctx, u, device)
	}
	return s.passwordWrong(ctx, a, u, local, device, now)
}

// trustedDevice returns the id of the browser's device cookie of userID
// when its own budget is not spent, else "" (the shared budget).
func (s *Service) trustedDevice(ctx context.Context, devs []Device, userID string) (string, error) {
	d, ok := deviceOf(devs, userID)
	if !ok {
		return "", nil
	}
	n, err := s.st.Failures(ctx, userID, d.ID)
	if err != nil {
		return "", fmt.Errorf("account: device failures: %w", err)
	}
	if n >= s.pol.MaxFailures {
		return "", nil
	}
	return d.ID, nil
}

// passwordRight clears the browser's count and names the device to
// remember it by: its own when it has a budget left, else a new one (the
// password just proved the browser's owner).
func (s *Service) passwordRight(ctx context.Context, u *store.User, device string) (Verdict, error) {
	if err := s.st.ClearFailure(ctx, u.ID, device); err != nil {
		return Verdict{}, fmt.Errorf("account: clear failures: %w", err)
	}
	v := Verdict{Allowed: true, LockedAccount: u.Status == store.StatusLocked}
	v.Device = newDevice(u.ID, s.now())
	if device != "" {
		v.Device.ID = device
	}
	return v, nil
}

// passwordWrong counts a refused attempt and locks the account when this
// is the failure that spends the shared budget.
func (s *Service) passwordWrong(ctx context.Context, a Attempt, u *store.User, local bool, device string, now time.Time) (Verdict, error) {
	v := Verdict{Reason: ReasonInvalid}
	if err := s.CountClientFailure(ctx, a.Client); err != nil {
		return v, err
	}
	if !local {
		if _, _, err := s.st.Hit(ctx, noAccountKey, now, s.window()); err != nil {
			return v, fmt.Errorf("account: count failure: %w", err)
		}
		return v, nil
	}
	if u.Status == store.StatusLocked {
		v.Reason, v.LockedAccount = ReasonLocked, true
	}
	n, err := s.st.CountFailure(ctx, u.ID, device, now)
	if err != nil {
		return v, fmt.Errorf("account: count failure: %w", err)
	}
	// Exactly one attempt sees the count reach the limit, however many
	// race: it alone locks and mails. A device's spent budget locks
	// nothing: that browser falls back to the shared one.
	if device != "" || n != s.pol.MaxFailures || u.Status != store.StatusActive {
		return v, nil
	}
	if err := s.lock(ctx, u, a.Client, n, now); err != nil {
		return v, err
	}
	v.Locked, v.LockedAccount = true, true
	return v, nil
}

// window is the throttle window, also that of noAccountKey.
func (s *Service) window() time.Duration {
	if s.pol.ThrottleWindow > 0 {
		return s.pol.ThrottleWindow
	}
	return 15 * time.Minute
}

// lock locks u in one transaction: its status, an unlock ticket, the mail
// that carries the link, and the audit event.
func (s *Service) lock(ctx context.Context, u *store.User, c Client, failures int, now time.Time) error {
	secret, id, err := newTicket(u.ID)
	if err != nil {
		return err
	}
	expires := now.Add(s.pol.UnlockLinkTTL)
	lang := s.mailLang(u, "")
	locked := *u
	locked.Status = store.StatusLocked
	ip := ""
	if c.IP.IsValid() {
		ip = c.IP.String()
	}
	msg, err := s.comp.Mail(u.Email, lang, notify.TemplateAccountLocked, u.ID, notify.Data{
		Name: u.DisplayName, Email: u.Email, Link: s.link("/unlock", secret),
		Expires: s.mailTime(expires, lang), ClientIP: ip, Time: s.mailTime(now, lang),
	})
	if err != nil {
		return fmt.Errorf("account: lock mail: %w", err)
	}
	_, err = s.apply(ctx, &store.Batch{
		User: &locked,
		Tickets: []*store.Ticket{{ID: id, Purpose: store.PurposeUnlock, UserID: u.ID,
			CreatedAt: now, ExpiresAt: expires}},
		Messages: []*store.Message{msg},
		Audit: []*store.AuditEvent{{Time: now, Action: "account_locked", UserID: u.ID, Actor: u.Email,
			ClientIP: ip, Outcome: store.OutcomeSuccess, Detail: "failures=" + strconv.Itoa(failures)}},
	})
	if err != nil {
		return fmt.Errorf("account: lock: %w", err)
	}
	s.log.InfoContext(ctx, "account locked after repeated wrong passwords", "user_id", u.ID, "failures", failures)
	return nil
}

// newTicket returns a link's ticket for userID and the id it is stored
// under. The ticket is "<user id>.<32 random bytes, base64url>": the user
// id lets the step that uses it read the account before consuming the
// ticket in the same transaction as the change, and the store keeps only
// the SHA-256 of the whole, so neither part can be swapped.
func newTicket(userID string) (ticket, id string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("account: ticket: %w", err)
	}
	ticket = userID + "." + base64.RawURLEncoding.EncodeToString(b[:])
	return ticket, ticketID(ticket), nil
}

// ticketID is the stored id of a ticket.
func ticketID(ticket string) string {
	sum := sha256.Sum256([]byte(ticket))
	return hex.EncodeToString(sum[:])
}

// ticketUser returns the user id a ticket names, or false when it is not
// one of newTicket's.
func ticketUser(ticket string) (string, bool) {
	i := strings.LastIndexByte(ticket, '.')
	if i <= 0 || len(ticket)-i-1 != base64.RawURLEncoding.EncodedLen(32) || len(ticket) > 512 {
		return "", false
	}
	if _, err := base64.RawURLEncoding.DecodeString(ticket[i+1:]); err != nil {
		return "", false
	}
	return ticket[:i], true
}

var jaWeekdays = [...]string{"日", "月", "火", "水", "木", "金", "土"}

// formatTime writes t for a person in lang, in loc, as the portal shows
// times: "2026年12月5日(土) 09:00" or "Sat, 5 Dec 2026 09:00 JST".
func formatTime(lang string, t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if lang == "ja" {
		return fmt.Sprintf("%d年%d月%d日(%s) %s", t.Year(), t.Month(), t.Day(), jaWeekdays[t.Weekday()], t.Format("15:04"))
	}
	return t.Format("Mon, 2 Jan 2006 15:04 MST")
}
