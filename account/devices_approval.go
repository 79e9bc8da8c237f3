package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// Device approval (KOM-MICS): with it on, the first sign-in from a
// browser the account has not used before waits until an administrator
// approves it. The waiting browser holds a token whose hash is the id of
// a PurposeDeviceApproval ticket sealing the pending sign-in; the
// administrators' mail links to that id (the hash, not the token, so the
// link cannot stand in for the browser). Approving replaces the ticket
// with a PurposeDeviceToken one, under an id the waiting browser's token
// also gives, which holds the hash of a one-time token mailed to the
// person; typing it in that browser approves the browser: it gets a
// cookie whose SHA-256 is stored as a store.ApprovedDevice.

// Lifetimes of device approval.
const (
	// DeviceApprovalTTL is how long a new browser waits for an
	// administrator.
	DeviceApprovalTTL = 24 * time.Hour
	// DeviceTokenTTL is how long the mailed one-time token works.
	DeviceTokenTTL = time.Hour
	// DeviceTokenTries wrong tokens end the request.
	DeviceTokenTries = 5
)

// Errors of device approval.
var (
	// ErrDeviceGone: the request expired, was used, or never existed.
	ErrDeviceGone = errors.New("account: device approval no longer pending")
	// ErrDeviceDenied: an administrator denied the request.
	ErrDeviceDenied = errors.New("account: device approval denied")
	// ErrDeviceWaiting: no administrator has approved the request yet.
	ErrDeviceWaiting = errors.New("account: device approval still waiting")
	// ErrDeviceWrongToken: the token typed is not the one mailed.
	ErrDeviceWrongToken = errors.New("account: wrong device token")
)

// deviceWaitAD and deviceTokenAD bind sealed device data to its purpose.
var (
	deviceWaitAD  = []byte(store.PurposeDeviceApproval)
	deviceTokenAD = []byte(store.PurposeDeviceToken)
)

// DeviceRequest is a sign-in (or, for a service with device approval, a
// signed-in session) waiting for its browser's approval.
type DeviceRequest struct {
	UserID   string   `json:"u"`
	Provider string   `json:"p,omitempty"`
	AMR      []string `json:"a,omitempty"`
	Line     string   `json:"l,omitempty"`
	ReturnTo string   `json:"r,omitempty"`
	// Session is the session a service's device check was for; "" for a
	// sign-in (the session is made once approved).
	Session   string    `json:"s,omitempty"`
	UserAgent string    `json:"ua,omitempty"`
	ClientIP  string    `json:"ip,omitempty"`
	Time      time.Time `json:"t"`
	// After approval: who approved, the token's hash, wrong tries,
	// or that the request was denied.
	ApprovedBy string `json:"ab,omitempty"`
	TokenHash  string `json:"th,omitempty"`
	Tries      int    `json:"n,omitempty"`
	Denied     bool   `json:"d,omitempty"`
}

// DeviceRequestView is a waiting request as the approval page shows it
// to an administrator.
type DeviceRequestView struct {
	ID        string
	User      *store.User
	UserAgent string
	ClientIP  string
	Time      time.Time
	Expires   time.Time
}

// DeviceApproved is an approved browser's sign-in: the cookie token the
// browser keeps, and the request it was for (the gateway makes its
// session, or lets its session through).
type DeviceApproved struct {
	Cookie  string
	Request *DeviceRequest
	User    *store.User
}

// admin returns the store's administrator's side. Every backend
// implements store.Admin (store/storetest checks it).
func (s *Service) admin() (store.Admin, error) {
	a, ok := s.st.(store.Admin)
	if !ok {
		return nil, errors.New("account: the store does not keep approved devices")
	}
	return a, nil
}

// deviceSealer seals device requests; nil when the gateway gave no key.
func (s *Service) deviceSealer() (*sealer, error) {
	s.deviceOnce.Do(func() { s.deviceSeal, s.deviceErr = newSealer(s.deviceKey) })
	return s.deviceSeal, s.deviceErr
}

// DeviceID is the store's id of an approved-device cookie token.
func DeviceID(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

// DeviceKnown reports whether cookie (the browser's approved-device
// token, may be empty) is an approved device of userID, and records its
// use.
func (s *Service) DeviceKnown(ctx context.Context, userID, cookie string) (bool, error) {
	if cookie == "" || len(cookie) > maxToken {
		return false, nil
	}
	a, err := s.admin()
	if err != nil {
		return false, err
	}
	err = a.UseDevice(ctx, DeviceID(cookie), userID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("account: approved device: %w", err)
	}
	return true, nil
}

// deviceTokenID is the id of the token ticket that follows the waiting
// ticket wait: another id of another purpose, reached by the waiting
// browser (whose token hashes to wait) and by no one else, since the
// token cannot be had from wait.
func deviceTokenID(wait string) string {
	return tokenID("device token " + wait)
}

// BeginDeviceApproval stops req's browser: it stores the sealed request
// and mails every active administrator the approval link; it returns
// the token the waiting browser keeps.
func (s *Service) BeginDeviceApproval(ctx context.Context, u *store.User, req DeviceRequest, o Origin) (string, error) {
	seal, err := s.deviceSealer()
	if err != nil {
		return "", err
	}
	now := s.now()
	req.UserID, req.Time = u.ID, now
	req.UserAgent = truncateRunes(req.UserAgent, 512)
	plain, err := json.Marshal(&req)
	if err != nil {
		return "", fmt.Errorf("account: device request: %w", err)
	}
	data, err := seal.seal(plain, deviceWaitAD)
	if err != nil {
		return "", err
	}
	token, err := newToken()
	if err != nil {
		return "", err
	}
	t := &store.Ticket{ID: tokenID(token), Purpose: store.PurposeDeviceApproval, UserID: u.ID, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(DeviceApprovalTTL)}
	// The active administrators, at most a page of them: the status
	// index narrows the scan, and the role is checked on what it reads.
	admins, err := s.st.SearchUsers(ctx, store.UserQuery{Role: store.RoleAdmin, Status: store.StatusActive, Limit: store.MaxUserLimit})
	if err != nil {
		return "", fmt.Errorf("account: administrators: %w", err)
	}
	b := &store.Batch{Tickets: []*store.Ticket{t}}
	for _, a := range admins.Users {
		lang := s.mailLang(a, "")
		m, err := s.comp.Mail(a.Email, lang, notify.TemplateDeviceApproval, a.ID, notify.Data{
			Name: u.DisplayName, Email: u.Email, UserAgent: req.UserAgent, ClientIP: req.ClientIP,
			Time: s.mailTime(now, lang), Link: s.link("/admin/devices/approve", t.ID),
			Expires: s.mailTime(t.ExpiresAt, lang)})
		if err != nil {
			return "", fmt.Errorf("account: device approval mail: %w", err)
		}
		b.Messages = append(b.Messages, m)
	}
	ev := s.flowEvent("device_approval_request", o, now)
	ev.UserID, ev.Actor, ev.Outcome = u.ID, u.Email, store.OutcomeSuccess
	ev.Detail = fmt.Sprintf("admins=%d", len(b.Messages))
	b.Audit = []*store.AuditEvent{ev}
	if err := s.commit(ctx, b); err != nil {
		return "", err
	}
	return token, nil
}

// AdoptDevice approves the browser of a sign-in that carries a live
// session of u already: a browser the account has used, not a new one
// (device approval switched on while it was signed in, or a
// re-authentication). It returns the token for the approved-device
// cookie.
func (s *Service) AdoptDevice(ctx context.Context, u *store.User, userAgent string, o Origin) (string, error) {
	a, err := s.admin()
	if err != nil {
		return "", err
	}
	cookie, err := newToken()
	if err != nil {
		return "", err
	}
	now := s.now()
	d := &store.ApprovedDevice{ID: DeviceID(cookie), UserID: u.ID, UserAgent: truncateRunes(userAgent, 512),
		ClientIP: o.ClientIP, CreatedAt: now, LastUsedAt: now}
	if err := a.AddDevice(ctx, d); err != nil {
		return "", fmt.Errorf("account: approved device: %w", err)
	}
	ev := s.flowEvent("device_adopt", o, now)
	ev.UserID, ev.Actor, ev.Outcome, ev.Detail = u.ID, u.Email, store.OutcomeSuccess, "signed_in_browser"
	if err := s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{ev}}); err != nil {
		return "", err
	}
	return cookie, nil
}

// openDevice opens a device ticket's data.
func (s *Service) openDevice(t *store.Ticket, ad []byte) (*DeviceRequest, error) {
	seal, err := s.deviceSealer()
	if err != nil {
		return nil, err
	}
	plain, err := seal.open(t.Data, ad)
	if err != nil {
		return nil, ErrDeviceGone
	}
	var req DeviceRequest
	if err := json.Unmarshal(plain, &req); err != nil || req.UserID != t.UserID {
		return nil, ErrDeviceGone
	}
	return &req, nil
}

// DeviceRequestFor returns the waiting request with ticket id (the
// administrators' link), for the approval page. ErrDeviceGone when it
// was decided, expired, or never existed.
func (s *Service) DeviceRequestFor(ctx context.Context, id string) (*DeviceRequestView, error) {
	_, v, err := s.loadDeviceRequest(ctx, id)
	return v, err
}

// loadDeviceRequest reads the waiting request with ticket id.
func (s *Service) loadDeviceRequest(ctx context.Context, id string) (*DeviceRequest, *DeviceRequestView, error) {
	if len(id) != 64 {
		return nil, nil, ErrDeviceGone
	}
	t, err := s.st.PeekTicket(ctx, store.PurposeDeviceApproval, id, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrDeviceGone
	}
	if err != nil {
		return nil, nil, fmt.Errorf("account: device request: %w", err)
	}
	req, err := s.openDevice(t, deviceWaitAD)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.st.GetUser(ctx, req.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrDeviceGone
	}
	if err != nil {
		return nil, nil, fmt.Errorf("account: device request user: %w", err)
	}
	return req, &DeviceRequestView{ID: id, User: u, UserAgent: req.UserAgent, ClientIP: req.ClientIP,
		Time: req.Time, Expires: t.ExpiresAt}, nil
}

// DecideDevice is an administrator's answer to the waiting request id:
// approving mails the person a one-time token (valid DeviceTokenTTL)
// for the waiting browser; denying ends the request (the waiting page
// says so). ErrDeviceGone when it was decided or expired meanwhile.
func (s *Service) DecideDevice(ctx context.Context, admin *store.User, id string, approve bool, o Origin) error {
	req, v, err := s.loadDeviceRequest(ctx, id)
	if err != nil {
		return err
	}
	now := s.now()
	b := &store.Batch{Consume: &store.TicketUse{Purpose: store.PurposeDeviceApproval, ID: id, Now: now}}
	ev := s.flowEvent("device_approval_decide", o, now)
	ev.UserID, ev.Actor, ev.Outcome = req.UserID, admin.Email, store.OutcomeSuccess
	next := *req
	next.ApprovedBy = admin.ID
	ttl := DeviceTokenTTL
	if approve {
		code, err := deviceCode()
		if err != nil {
			return err
		}
		next.TokenHash = tokenID(code)
		lang := s.mailLang(v.User, "")
		m, err := s.comp.Mail(v.User.Email, lang, notify.TemplateDeviceToken, v.User.ID, notify.Data{
			Name: v.User.DisplayName, Email: v.User.Email, Code: code, UserAgent: req.UserAgent,
			ClientIP: req.ClientIP, Expires: s.mailTime(now.Add(ttl), lang)})
		if err != nil {
			return fmt.Errorf("account: device token mail: %w", err)
		}
		b.Messages = []*store.Message{m}
		ev.Detail = "approved user=" + v.User.Email
	} else {
		next.Denied = true
		ev.Detail = "denied user=" + v.User.Email
	}
	seal, err := s.deviceSealer()
	if err != nil {
		return err
	}
	plain, err := json.Marshal(&next)
	if err != nil {
		return fmt.Errorf("account: device request: %w", err)
	}
	data, err := seal.seal(plain, deviceTokenAD)
	if err != nil {
		return err
	}
	b.Tickets = []*store.Ticket{{ID: deviceTokenID(id), Purpose: store.PurposeDeviceToken, UserID: req.UserID,
		Data: data, CreatedAt: now, ExpiresAt: now.Add(ttl)}}
	b.Audit = []*store.AuditEvent{ev}
	_, err = s.apply(ctx, b)
	if errors.Is(err, store.ErrNotFound) {
		return ErrDeviceGone
	}
	if err != nil {
		return fmt.Errorf("account: device decision: %w", err)
	}
	s.logEvent(ctx, ev)
	return nil
}

// DeviceWaiting reports the state of the waiting browser's request:
// nil while an administrator has not answered or once approved (the
// token form is shown either way), ErrDeviceDenied, or ErrDeviceGone.
func (s *Service) DeviceWaiting(ctx context.Context, token string) (*DeviceRequest, error) {
	if token == "" || len(token) > maxToken {
		return nil, ErrDeviceGone
	}
	now := s.now()
	wait := tokenID(token)
	t, err := s.st.PeekTicket(ctx, store.PurposeDeviceApproval, wait, now)
	if err == nil {
		return s.openDevice(t, deviceWaitAD)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("account: device request: %w", err)
	}
	t, err = s.st.PeekTicket(ctx, store.PurposeDeviceToken, deviceTokenID(wait), now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrDeviceGone
	}
	if err != nil {
		return nil, fmt.Errorf("account: device request: %w", err)
	}
	req, err := s.openDevice(t, deviceTokenAD)
	if err != nil {
		return nil, err
	}
	if req.Denied {
		return req, ErrDeviceDenied
	}
	return req, nil
}

// EnterDeviceToken checks the token the person typed in the waiting
// browser (token is the browser's waiting token). Right: the browser is
// approved (an ApprovedDevice stored) and the returned cookie token goes
// into its cookie. Wrong: ErrDeviceWrongToken, and after
// DeviceTokenTries the request ends (ErrDeviceGone). ErrDeviceWaiting
// before an administrator approved, ErrDeviceDenied after a denial.
func (s *Service) EnterDeviceToken(ctx context.Context, token, typed string, o Origin) (*DeviceApproved, error) {
	if token == "" || len(token) > maxToken {
		return nil, ErrDeviceGone
	}
	now := s.now()
	wait := tokenID(token)
	if _, err := s.st.PeekTicket(ctx, store.PurposeDeviceApproval, wait, now); err == nil {
		return nil, ErrDeviceWaiting
	}
	id := deviceTokenID(wait)
	t, err := s.st.PeekTicket(ctx, store.PurposeDeviceToken, id, now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrDeviceGone
	}
	if err != nil {
		return nil, fmt.Errorf("account: device token: %w", err)
	}
	req, err := s.openDevice(t, deviceTokenAD)
	if err != nil {
		return nil, err
	}
	if req.Denied {
		return nil, ErrDeviceDenied
	}
	u, err := s.st.GetUser(ctx, req.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrDeviceGone
	}
	if err != nil {
		return nil, fmt.Errorf("account: device token user: %w", err)
	}
	if u.Status == store.StatusDisabled || u.Status == store.StatusInvited {
		return nil, ErrDeviceGone
	}
	b := &store.Batch{Consume: &store.TicketUse{Purpose: store.PurposeDeviceToken, ID: id, Now: now}}
	ev := s.flowEvent("device_token", o, now)
	ev.UserID, ev.Actor = u.ID, u.Email
	typedHash := tokenID(normalizeDeviceCode(typed))
	if subtle.ConstantTimeCompare([]byte(typedHash), []byte(req.TokenHash)) != 1 {
		ev.Outcome, ev.Detail = store.OutcomeFailure, "wrong_token"
		next := *req
		next.Tries++
		if next.Tries < DeviceTokenTries {
			seal, err := s.deviceSealer()
			if err != nil {
				return nil, err
			}
			plain, err := json.Marshal(&next)
			if err != nil {
				return nil, fmt.Errorf("account: device request: %w", err)
			}
			data, err := seal.seal(plain, deviceTokenAD)
			if err != nil {
				return nil, err
			}
			b.Tickets = []*store.Ticket{{ID: id, Purpose: store.PurposeDeviceToken, UserID: u.ID, Data: data,
				CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}}
		} else {
			ev.Detail = "too_many_tries"
		}
		b.Audit = []*store.AuditEvent{ev}
		if _, err := s.apply(ctx, b); errors.Is(err, store.ErrNotFound) {
			return nil, ErrDeviceGone
		} else if err != nil {
			return nil, fmt.Errorf("account: device token: %w", err)
		}
		s.logEvent(ctx, ev)
		if next.Tries >= DeviceTokenTries {
			return nil, ErrDeviceGone
		}
		return nil, ErrDeviceWrongToken
	}
	cookie, err := newToken()
	if err != nil {
		return nil, err
	}
	ev.Outcome, ev.Detail = store.OutcomeSuccess, "approved_by="+req.ApprovedBy
	b.Audit = []*store.AuditEvent{ev}
	if _, err := s.apply(ctx, b); errors.Is(err, store.ErrNotFound) {
		return nil, ErrDeviceGone
	} else if err != nil {
		return nil, fmt.Errorf("account: device token: %w", err)
	}
	a, err := s.admin()
	if err != nil {
		return nil, err
	}
	d := &store.ApprovedDevice{ID: DeviceID(cookie), UserID: u.ID, UserAgent: req.UserAgent, ClientIP: req.ClientIP,
		ApprovedBy: req.ApprovedBy, CreatedAt: now, LastUsedAt: now}
	if err := a.AddDevice(ctx, d); err != nil {
		return nil, fmt.Errorf("account: approved device: %w", err)
	}
	s.logEvent(ctx, ev)
	return &DeviceApproved{Cookie: cookie, Request: req, User: u}, nil
}

// CancelDeviceWait ends the waiting browser's request (the person gave
// up, or its end was shown).
func (s *Service) CancelDeviceWait(ctx context.Context, token string) {
	if token == "" || len(token) > maxToken {
		return
	}
	now := s.now()
	wait := tokenID(token)
	for _, use := range []store.TicketUse{{Purpose: store.PurposeDeviceApproval, ID: wait, Now: now},
		{Purpose: store.PurposeDeviceToken, ID: deviceTokenID(wait), Now: now}} {
		if _, err := s.st.ConsumeTicket(ctx, use.Purpose, use.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Error("end device request failed", "err", err)
		}
	}
}

// Devices returns the user's approved devices, most recently used first.
func (s *Service) Devices(ctx context.Context, userID string) ([]*store.ApprovedDevice, error) {
	a, err := s.admin()
	if err != nil {
		return nil, err
	}
	ds, err := a.ListDevices(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("account: approved devices: %w", err)
	}
	return ds, nil
}

// RevokeDevice removes u's approved device id; by is who did it (u, or
// an administrator). Its browser waits for approval again at its next
// sign-in. ErrNotFound (wrapped) when u has no such device.
func (s *Service) RevokeDevice(ctx context.Context, u, by *store.User, id string, o Origin) error {
	a, err := s.admin()
	if err != nil {
		return err
	}
	if err := a.DeleteDevice(ctx, u.ID, id); err != nil {
		return fmt.Errorf("account: revoke device: %w", err)
	}
	ev := s.flowEvent("device_revoke", o, s.now())
	ev.UserID, ev.Actor, ev.Outcome, ev.Detail = u.ID, by.Email, store.OutcomeSuccess, "device="+id[:min(12, len(id))]
	return s.commit(ctx, &store.Batch{Audit: []*store.AuditEvent{ev}})
}

// deviceCodeDigits is the length of the mailed one-time token: typed
// on a phone, and guarded by DeviceTokenTries and the waiting browser's
// own secret (the token works in that browser only).
const deviceCodeDigits = 8

// deviceCode returns a random token of deviceCodeDigits digits.
func deviceCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", fmt.Errorf("account: device token: %w", err)
	}
	return fmt.Sprintf("%0*d", deviceCodeDigits, n.Int64()), nil
}

// normalizeDeviceCode reads a token as typed: full-width digits, spaces
// and hyphens accepted.
func normalizeDeviceCode(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case r == ' ' || r == '-' || r == '　' || r == 'ー' || r == '－':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
