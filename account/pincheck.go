package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strings"
	"time"

	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// The PIN identity check (/identity-check) lets a person who can no
// longer read the mailbox of their login id set a new login email or a
// new password. They give the short user id the portal header shows and
// a registered phone number; then choose where a 6-digit PIN goes; then,
// with the right PIN, set the new address (confirmed by a link to it) or
// password.
//
// Nothing tells whether the id and number matched until the PIN step:
// the first step writes a check in every case (a ticket holding sealed
// state, UserID empty in the store whatever the outcome), and the
// choices page lists the same channels for everyone: the channel kinds
// wired here, each aimed at the number the person typed (masked), and the
// mail as "the registered address" with no part of it shown, since a
// masked address would differ between a real account and none. A check
// whose details did not match sends nothing at the second step and
// refuses every PIN at the third, counting tries as a real one does; so
// the first difference a stranger can see is that no PIN arrives, on a
// phone that is not the account's.

// IdentityCheckPolicy is policy.identity_check as the flow applies it,
// with the phone channels wired.
type IdentityCheckPolicy struct {
	// PINTTL is how long a sent PIN works; MaxTries wrong PINs end the
	// check.
	PINTTL   time.Duration
	MaxTries int
	// SMS and Voice are true when notify.sms / notify.voice are
	// configured: only then are those channels offered.
	SMS, Voice bool
	// Region is the region of numbers typed without a country code
	// ("JP" when empty).
	Region string
}

// Stages of an identity check.
const (
	// PINStageChannel: the details were given; choose where the PIN goes.
	PINStageChannel = "channel"
	// PINStagePIN: a PIN was sent (or, for details that did not match,
	// seemed to be); enter it.
	PINStagePIN = "pin"
	// PINStageVerified: the PIN was right; set a new email or password.
	PINStageVerified = "verified"
)

// PIN channels a person may choose.
const (
	PINChannelSMS   = "sms"
	PINChannelVoice = "voice"
	PINChannelMail  = "mail"
)

// Limits of the identity check, each within IdentityCheckWindow. Per
// short id: five checks started, five PINs sent and fifteen PINs typed,
// enough for a person who mistypes the number or misses a call, too few
// to guess a PIN (each check ends after MaxTries). Per client address
// (an IPv6 client is its /64): twenty checks and sixty PINs, so that one
// machine cannot walk through ids while an office behind one address
// still can help a few people in an hour. An id is counted whether or not
// it exists, so the limits themselves tell nothing.
const (
	IdentityChecksPerID     = 5
	IdentityChecksPerClient = 20
	PINSendsPerID           = 5
	PINEntriesPerID         = 15
	PINEntriesPerClient     = 60
	IdentityCheckWindow     = time.Hour
)

// Errors of the identity check. Up to the PIN step none of them depends
// on whether the details matched.
var (
	// ErrCheckGone: the check expired, was used or ended: start again.
	ErrCheckGone = errors.New("account: identity check no longer in progress")
	// ErrShortIDInvalid: what was typed is not a short user id.
	ErrShortIDInvalid = errors.New("account: not a user id")
	// ErrPINExpired: the PIN is older than PINTTL; the check ended.
	ErrPINExpired = errors.New("account: PIN expired")
	// ErrChannelUnavailable: the channel is not offered here.
	ErrChannelUnavailable = errors.New("account: PIN channel not available")
)

// errNoPINKey: the service was built without PendingKey, which seals a
// check's state.
var errNoPINKey = errors.New("account: identity check: no sealing key")

// pinAD binds a check's sealed state to its purpose.
var pinAD = []byte(store.PurposePIN)

// pinState is an identity check's state, sealed in its ticket's Data.
type pinState struct {
	// IDKey is the short id typed (its hex prefix), for the per-id limits.
	IDKey string `json:"id"`
	// UserID is the account when the details matched, else "".
	UserID string `json:"u,omitempty"`
	// Phone is the number typed, E.164; Mobile tells whether it is the
	// account's mobile (SMS and voice) rather than its phone (voice).
	Phone  string `json:"ph"`
	Mobile bool   `json:"m,omitempty"`
	Stage  string `json:"st"`
	// Channel, PIN, SentAt (unix ms) and Tries are the PIN sent.
	Channel string `json:"c,omitempty"`
	PIN     string `json:"p,omitempty"`
	SentAt  int64  `json:"sa,omitempty"`
	Tries   int    `json:"t,omitempty"`
}

// PINChoice is a channel as the choices page lists it. Target is the
// masked number the person typed ("" for mail: the registered address).
type PINChoice struct {
	Channel string
	Target  string
}

// IdentityCheckView is what the identity check's pages show.
type IdentityCheckView struct {
	Stage string
	// Choices are the channels (PINStageChannel and PINStagePIN, to send
	// again or elsewhere).
	Choices []PINChoice
	// Channel and Target are where the PIN went; TriesLeft and Expires
	// apply to it.
	Channel   string
	Target    string
	TriesLeft int
	Expires   time.Time
	// Email is the account's login email (PINStageVerified only).
	Email string
}

// checkTTL is how long one step of a check may wait: the PIN's lifetime
// and as long again, so that a PIN past its time is told as expired
// rather than as a check that is gone.
func (s *Service) checkTTL() time.Duration { return 2 * s.idc.PINTTL }

// clientKey is the Hit key suffix of the client address: an IPv6 client
// is its /64, as the sign-in throttle counts it; "" when unknown.
func clientKey(o Origin) string {
	ip, err := netip.ParseAddr(o.ClientIP)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(throttleKey(Client{IP: ip}), "login_ip:")
}

// overLimit counts one hit on each of the keys and reports whether any
// went over its limit. Every key is counted, so that the work is the same
// whichever refuses.
func (s *Service) overLimit(ctx context.Context, now time.Time, limits map[string]int) (bool, error) {
	over := false
	for key, max := range limits {
		if strings.HasSuffix(key, ":") {
			continue // no client address
		}
		n, _, err := s.st.Hit(ctx, key, now, IdentityCheckWindow)
		if err != nil {
			return false, fmt.Errorf("account: identity check limit: %w", err)
		}
		over = over || n > max
	}
	return over, nil
}

// StartIdentityCheck is the first step: the short user id and a phone
// number as typed (hyphens, spaces and full-width digits accepted). It
// returns the check's token for the browser's cookie, the same way
// whether or not the details match an account (see the package note
// above), or ErrShortIDInvalid or ErrInvalidPhone for what cannot be an
// id or a number, or ErrRateLimited.
func (s *Service) StartIdentityCheck(ctx context.Context, shortID, phone string, o Origin) (string, error) {
	now := s.now()
	prefix, ok := ParseShortID(shortID)
	if !ok {
		return "", ErrShortIDInvalid
	}
	typed, err := notify.E164(phone, s.idcRegion())
	if err != nil {
		return "", ErrInvalidPhone
	}
	ev := s.flowEvent("identity_check_start", o, now)
	ev.Actor = ShortID(prefix)
	over, err := s.overLimit(ctx, now, map[string]int{
		"identity_check_id:" + prefix:       IdentityChecksPerID,
		"identity_check_ip:" + clientKey(o): IdentityChecksPerClient,
	})
	if err != nil {
		return "", err
	}
	if over {
		ev.Outcome, ev.Detail = store.OutcomeFailure, "rate_limited"
		if err := s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{ev}}); err != nil {
			return "", err
		}
		return "", ErrRateLimited
	}

	st := &pinState{IDKey: prefix, Phone: typed, Stage: PINStageChannel}
	u, mobile, reason, err := s.matchDetails(ctx, prefix, typed)
	if err != nil {
		return "", err
	}
	ev.Outcome, ev.Detail = store.OutcomeFailure, reason
	if u != nil {
		st.UserID, st.Mobile = u.ID, mobile
		ev.UserID, ev.Actor, ev.Outcome = u.ID, u.Email, store.OutcomeSuccess
	}
	token, t, err := s.pinTicket(st, now)
	if err != nil {
		return "", err
	}
	if err := s.commit(ctx, &store.Batch{Tickets: []*store.Ticket{t}, Audit: []*store.AuditEvent{ev}}); err != nil {
		return "", err
	}
	return token, nil
}

// usersByIDPrefix returns the users whose id starts with prefix (at most
// two): one indexed read whether or not a user matches.
func (s *Service) usersByIDPrefix(ctx context.Context, prefix string) ([]*store.User, error) {
	return s.st.UsersByIDPrefix(ctx, prefix)
}

// matchDetails finds the account whose id starts with prefix and whose
// phone or mobile is the number typed (E.164). Two accounts whose ids
// share the prefix (one chance in 2^48 per pair) match neither: a short
// id must name one person. reason is the audit detail.
func (s *Service) matchDetails(ctx context.Context, prefix, typed string) (u *store.User, mobile bool, reason string, err error) {
	users, err := s.usersByIDPrefix(ctx, prefix)
	if err != nil {
		return nil, false, "", fmt.Errorf("account: identity check lookup: %w", err)
	}
	var found *store.User
	if len(users) > 1 {
		return nil, false, "ambiguous_id", nil
	}
	if len(users) == 1 {
		found = users[0]
	}
	region := s.idcRegion()
	same := func(registered string) bool {
		n, err := notify.E164(registered, region)
		return err == nil && subtle.ConstantTimeCompare([]byte(n), []byte(typed)) == 1
	}
	switch {
	case found == nil:
		return nil, false, "unknown_id", nil
	case found.Status == store.StatusDisabled || found.Status == store.StatusInvited:
		return nil, false, "account_" + string(found.Status), nil
	case found.Mobile != "" && same(found.Mobile):
		return found, true, "matched_mobile", nil
	case found.Phone != "" && same(found.Phone):
		return found, false, "matched_phone", nil
	}
	return nil, false, "phone_mismatch", nil
}

// idcRegion is the region of numbers typed without a country code.
func (s *Service) idcRegion() string {
	if s.idc.Region != "" {
		return s.idc.Region
	}
	return "JP"
}

// choices are the channels offered for a check: the same for every
// check, whatever its details (see the package note above).
func (s *Service) choices(st *pinState) []PINChoice {
	var out []PINChoice
	masked := notify.MaskPhone(st.Phone)
	if s.idc.SMS {
		out = append(out, PINChoice{Channel: PINChannelSMS, Target: masked})
	}
	if s.idc.Voice {
		out = append(out, PINChoice{Channel: PINChannelVoice, Target: masked})
	}
	return append(out, PINChoice{Channel: PINChannelMail})
}

// pinLoaded is a check read from its ticket.
type pinLoaded struct {
	id string
	st *pinState
}

// loadCheck reads the check of token without using it: ErrCheckGone
// when it expired, was used or never existed.
func (s *Service) loadCheck(ctx context.Context, token string) (*pinLoaded, error) {
	if s.pinSeal == nil || token == "" || len(token) > maxToken {
		return nil, ErrCheckGone
	}
	id := tokenID(token)
	t, err := s.st.PeekTicket(ctx, store.PurposePIN, id, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrCheckGone
	}
	if err != nil {
		return nil, fmt.Errorf("account: identity check: %w", err)
	}
	plain, err := s.pinSeal.open(t.Data, pinAD)
	if err != nil {
		return nil, ErrCheckGone
	}
	var st pinState
	if err := json.Unmarshal(plain, &st); err != nil {
		return nil, ErrCheckGone
	}
	return &pinLoaded{id: id, st: &st}, nil
}

// pinTicket seals st into a new ticket valid checkTTL and returns its
// token. The ticket names no user, whatever the outcome.
func (s *Service) pinTicket(st *pinState, now time.Time) (string, *store.Ticket, error) {
	if s.pinSeal == nil {
		return "", nil, errNoPINKey
	}
	plain, err := json.Marshal(st)
	if err != nil {
		return "", nil, fmt.Errorf("account: identity check: %w", err)
	}
	data, err := s.pinSeal.seal(plain, pinAD)
	if err != nil {
		return "", nil, err
	}
	token, err := newToken()
	if err != nil {
		return "", nil, err
	}
	return token, &store.Ticket{ID: tokenID(token), Purpose: store.PurposePIN, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(s.checkTTL())}, nil
}

// rotate uses up l's ticket and writes next (when not nil) in its place
// with b's other writes in one transaction; it returns next's token.
// ErrCheckGone when the ticket was used meanwhile.
func (s *Service) rotate(ctx context.Context, l *pinLoaded, next *pinState, b *store.Batch) (string, error) {
	now := s.now()
	b.Consume = &store.TicketUse{Purpose: store.PurposePIN, ID: l.id, Now: now}
	token := ""
	if next != nil {
		var t *store.Ticket
		var err error
		if token, t, err = s.pinTicket(next, now); err != nil {
			return "", err
		}
		b.Tickets = append(b.Tickets, t)
	}
	_, err := s.apply(ctx, b)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrCheckGone
	}
	if err != nil {
		return "", fmt.Errorf("account: identity check step: %w", err)
	}
	for _, ev := range b.Audit {
		s.logEvent(ctx, ev)
	}
	return token, nil
}

// IdentityCheck returns what the page of the check of token shows, or
// ErrCheckGone.
func (s *Service) IdentityCheck(ctx context.Context, token string) (*IdentityCheckView, error) {
	l, err := s.loadCheck(ctx, token)
	if err != nil {
		return nil, err
	}
	v := &IdentityCheckView{Stage: l.st.Stage, Choices: s.choices(l.st), Channel: l.st.Channel}
	if l.st.Stage == PINStagePIN {
		v.TriesLeft = s.idc.MaxTries - l.st.Tries
		v.Expires = time.UnixMilli(l.st.SentAt).Add(s.idc.PINTTL)
		if l.st.Channel != PINChannelMail {
			v.Target = notify.MaskPhone(l.st.Phone)
		}
	}
	if l.st.Stage == PINStageVerified {
		u, err := s.checkUser(ctx, l.st)
		if err != nil {
			return nil, err
		}
		v.Email = u.Email
	}
	return v, nil
}

// checkUser is the matched account of a verified check; ErrCheckGone
// when it is gone or disabled since.
func (s *Service) checkUser(ctx context.Context, st *pinState) (*store.User, error) {
	if st.UserID == "" {
		return nil, ErrCheckGone
	}
	u, err := s.st.GetUser(ctx, st.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrCheckGone
	case err != nil:
		return nil, fmt.Errorf("account: identity check user: %w", err)
	case u.Status == store.StatusDisabled || u.Status == store.StatusInvited:
		return nil, ErrCheckGone
	}
	return u, nil
}

// pinDigits is the length of a PIN.
const pinDigits = 6

// newPIN returns a random 6-digit PIN.
func newPIN() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("account: PIN: %w", err)
	}
	return fmt.Sprintf("%0*d", pinDigits, n.Int64()), nil
}

// SendPIN sends a new PIN of the check of token through channel (one of
// the choices), in the same transaction as the check's next state, and
// returns the new token. A check whose details did not match makes a PIN
// and sends nothing. SMS to a number registered as the account's phone
// (not its mobile) goes as a voice call, since a fixed line takes no
// SMS. Errors: ErrCheckGone, ErrChannelUnavailable, ErrWrongStage,
// ErrRateLimited.
func (s *Service) SendPIN(ctx context.Context, token, channel string, o Origin) (string, error) {
	l, err := s.loadCheck(ctx, token)
	if err != nil {
		return "", err
	}
	if l.st.Stage != PINStageChannel && l.st.Stage != PINStagePIN {
		return "", ErrWrongStage
	}
	offered := false
	for _, c := range s.choices(l.st) {
		offered = offered || c.Channel == channel
	}
	if !offered {
		return "", ErrChannelUnavailable
	}
	now := s.now()
	ev := s.flowEvent("identity_check_pin_sent", o, now)
	ev.Actor = ShortID(l.st.IDKey)
	over, err := s.overLimit(ctx, now, map[string]int{"identity_check_send:" + l.st.IDKey: PINSendsPerID})
	if err != nil {
		return "", err
	}
	if over {
		ev.Outcome, ev.Detail = store.OutcomeFailure, "rate_limited"
		if err := s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{ev}}); err != nil {
			return "", err
		}
		return "", ErrRateLimited
	}
	pin, err := newPIN()
	if err != nil {
		return "", err
	}
	next := *l.st
	next.Stage, next.Channel, next.PIN, next.SentAt, next.Tries = PINStagePIN, channel, pin, now.UnixMilli(), 0
	b := &store.Batch{Audit: []*store.AuditEvent{ev}}
	ev.Outcome, ev.Detail = store.OutcomeFailure, "not_matched channel="+channel
	if l.st.UserID != "" {
		u, err := s.checkUser(ctx, l.st)
		if err != nil {
			return "", err
		}
		m, err := s.pinMessage(u, &next, o)
		if err != nil {
			return "", err
		}
		b.Messages = []*store.Message{m}
		ev.UserID, ev.Actor, ev.Outcome, ev.Detail = u.ID, u.Email, store.OutcomeSuccess, "channel="+channel
	}
	return s.rotate(ctx, l, &next, b)
}

// pinMessage is the message that carries st's PIN to u.
func (s *Service) pinMessage(u *store.User, st *pinState, o Origin) (*store.Message, error) {
	lang := s.mailLang(u, o.Lang)
	d := notify.Data{Name: u.DisplayName, Email: u.Email, Code: st.PIN, ClientIP: o.ClientIP,
		Expires: notify.CodeValidity(s.idc.PINTTL, lang), Time: s.mailTime(s.now(), lang)}
	switch {
	case st.Channel == PINChannelMail:
		return s.comp.Mail(u.Email, lang, notify.TemplateIdentityPIN, u.ID, d)
	case st.Channel == PINChannelSMS && st.Mobile:
		return s.comp.Message(store.ChannelSMS, st.Phone, lang, notify.TemplateIdentityPIN, u.ID, d)
	}
	return s.comp.Message(store.ChannelVoice, st.Phone, lang, notify.TemplateIdentityPIN, u.ID, d)
}

// VerifyPIN checks the PIN typed for the check of token and returns the
// new token: at PINStageVerified when right. A wrong PIN gives
// ErrWrongCode (the token rotated all the same), the MaxTries-th
// ErrTooManyTries and one past PINTTL ErrPINExpired, both ending the
// check. A check whose details did not match refuses every PIN the same
// way. Entries are limited per id and per client (ErrRateLimited).
func (s *Service) VerifyPIN(ctx context.Context, token, pin string, o Origin) (string, error) {
	l, err := s.loadCheck(ctx, token)
	if err != nil {
		return "", err
	}
	if l.st.Stage != PINStagePIN {
		return "", ErrWrongStage
	}
	now := s.now()
	ev := s.flowEvent("identity_check_pin", o, now)
	ev.UserID, ev.Actor = l.st.UserID, ShortID(l.st.IDKey)
	fail := func(detail string, next *pinState, ret error) (string, error) {
		ev.Outcome, ev.Detail = store.OutcomeFailure, detail
		token, err := s.rotate(ctx, l, next, &store.Batch{Audit: []*store.AuditEvent{ev}})
		if err != nil {
			return "", err
		}
		return token, ret
	}
	over, err := s.overLimit(ctx, now, map[string]int{
		"identity_check_pin_id:" + l.st.IDKey:   PINEntriesPerID,
		"identity_check_pin_ip:" + clientKey(o): PINEntriesPerClient,
	})
	if err != nil {
		return "", err
	}
	if over {
		ev.Outcome, ev.Detail = store.OutcomeFailure, "rate_limited"
		if err := s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{ev}}); err != nil {
			return "", err
		}
		return "", ErrRateLimited
	}
	if !now.Before(time.UnixMilli(l.st.SentAt).Add(s.idc.PINTTL)) {
		return fail("pin_expired", nil, ErrPINExpired)
	}
	typed := strings.TrimSpace(pin)
	right := len(typed) == pinDigits && subtle.ConstantTimeCompare([]byte(typed), []byte(l.st.PIN)) == 1
	if !right || l.st.UserID == "" {
		next := *l.st
		next.Tries++
		if next.Tries >= s.idc.MaxTries {
			return fail("too_many_tries", nil, ErrTooManyTries)
		}
		return fail("wrong_pin", &next, ErrWrongCode)
	}
	next := *l.st
	next.Stage, next.PIN = PINStageVerified, ""
	ev.Outcome = store.OutcomeSuccess
	if u, err := s.st.GetUser(ctx, l.st.UserID); err == nil {
		ev.Actor = u.Email
	}
	return s.rotate(ctx, l, &next, &store.Batch{Audit: []*store.AuditEvent{ev}})
}

// IdentityCheckPassword sets a new password after a right PIN, as a
// reset link does (the password rule, every session ends, the account is
// unlocked, the "password changed" mail, the 2-step hook); the check
// ends. Errors: ErrCheckGone, ErrWrongStage, *WeakPasswordError (the
// check stays).
func (s *Service) IdentityCheckPassword(ctx context.Context, token, password, confirm string, o Origin) (*store.User, error) {
	l, u, err := s.verifiedCheck(ctx, token)
	if err != nil {
		return nil, err
	}
	next, err := s.setPassword(ctx, u, password, confirm,
		&store.TicketUse{Purpose: store.PurposePIN, ID: l.id, Now: s.now()}, "identity_check", o)
	if errors.Is(err, ErrLinkUsed) {
		return nil, ErrCheckGone
	}
	return next, err
}

// IdentityCheckEmail asks, after a right PIN, to change the login email
// to newEmail (typed twice): as the email-change flow does, a link goes
// to the new address (and a notice to the old one), and the address
// changes when the link is used (ConfirmEmailChange); the check ends.
// Errors: ErrCheckGone, ErrWrongStage, ErrEmailInvalid, ErrEmailMismatch,
// ErrEmailSame (the check stays for these three).
func (s *Service) IdentityCheckEmail(ctx context.Context, token, newEmail, confirm string, o Origin) error {
	l, u, err := s.verifiedCheck(ctx, token)
	if err != nil {
		return err
	}
	e, err := newAddress(u, newEmail, confirm)
	if err != nil {
		return err
	}
	now := s.now()
	b, err := s.emailChangeBatch(u, e, "identity_check", o, now)
	if err != nil {
		return err
	}
	_, err = s.rotate(ctx, l, nil, b)
	return err
}

// verifiedCheck loads a check that passed its PIN, and its account.
func (s *Service) verifiedCheck(ctx context.Context, token string) (*pinLoaded, *store.User, error) {
	l, err := s.loadCheck(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	if l.st.Stage != PINStageVerified {
		return nil, nil, ErrWrongStage
	}
	u, err := s.checkUser(ctx, l.st)
	if err != nil {
		return nil, nil, err
	}
	return l, u, nil
}
