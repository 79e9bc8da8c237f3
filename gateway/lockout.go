package gateway

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/store"
)

// newDevices returns what signs device cookies, keyed from the master
// secret (every process sharing a store accepts the others' cookies), and
// the cookie's name.
func newDevices(master []byte, secure bool, now func() time.Time) (*account.Devices, string, error) {
	key, err := hkdf.Key(sha256.New, master, nil, "ssogate device cookie", 32)
	if err != nil {
		return nil, "", fmt.Errorf("gateway: device cookie key: %w", err)
	}
	name := "ssogate_device"
	if secure {
		name = "__Host-ssogate_device"
	}
	return account.NewDevices(key, now), name, nil
}

// browserDevices returns the valid device cookies r carries.
func (g *Gateway) browserDevices(r *http.Request) []account.Device {
	c, err := r.Cookie(g.shared.deviceCk)
	if err != nil {
		return nil
	}
	return g.shared.devices.Decode(c.Value)
}

// setDevice remembers dev in the browser, before the others it holds.
func (g *Gateway) setDevice(w http.ResponseWriter, dev account.Device, others []account.Device) {
	http.SetCookie(w, &http.Cookie{
		Name: g.shared.deviceCk, Value: g.shared.devices.Encode(dev, others), Path: "/",
		MaxAge: int(account.DeviceTTL / time.Second), Secure: g.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// accountClient is the throttle's view of the request's client.
func (g *Gateway) accountClient(ctx context.Context) account.Client {
	ip := clientIP(ctx)
	return account.Client{IP: ip, Line: ip.IsValid() && g.lineFor(ctx, ip) != ""}
}

// throttled answers 429 with Retry-After, and returns true, when the
// client failed to sign in too often in the current window: no password
// is checked for it until the window ends.
func (g *Gateway) throttled(w http.ResponseWriter, r *http.Request, ev store.AuditEvent) bool {
	ctx := r.Context()
	wait, err := g.account.Throttled(ctx, g.accountClient(ctx))
	if err != nil {
		// The throttle is a brake, not a gate: a store that cannot answer
		// it cannot check the password either, and says so there.
		g.log.Warn("throttle check failed", "request_id", requestID(ctx), "err", err)
		return false
	}
	if wait <= 0 {
		return false
	}
	secs := int((wait + time.Second - 1) / time.Second)
	g.auditFailure(ctx, ev, "throttled")
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	page := portal.ThrottledPage{Base: g.base(w, r, nil, nil), Minutes: max(1, (secs+59)/60)}
	g.renderPage(w, r, http.StatusTooManyRequests, portal.PageThrottled, page)
	return true
}

// trustedLockedKey marks, in a request's context, the user whose locked
// account just signed in from one of its trusted devices: finishLogin
// lets that one status through.
type trustedLockedKey struct{}

// trustedLocked reports whether user may sign in although locked.
func trustedLocked(ctx context.Context, user *store.User) bool {
	id, _ := ctx.Value(trustedLockedKey{}).(string)
	return user.Status == store.StatusLocked && id != "" && id == user.ID
}

// errPasswordRefused is a password sign-in the lockout refused: a wrong
// password, or a locked account's from an untrusted browser, which must
// answer exactly as a wrong password does.
var errPasswordRefused = fmt.Errorf("gateway: %w", providers.ErrInvalidCredentials)

// lockout runs a password's answer (id, err from p.Authenticate) through
// the account rules: a local account's lockout and device budgets, the
// client's throttle for every password form. It returns the request to go
// on with, the identity and error to act on, and the audit reason of a
// refusal it made ("" to let the error speak).
func (g *Gateway) lockout(w http.ResponseWriter, r *http.Request, p providers.PasswordAuthenticator, directory bool,
	login string, id *providers.Identity, err error) (*http.Request, *providers.Identity, string, error) {
	if err != nil && !errors.Is(err, providers.ErrInvalidCredentials) {
		return r, id, "", err
	}
	ctx := r.Context()
	if directory || p.Type() != "local" {
		// The directory locks its accounts itself; only the client's
		// failures are ours to count.
		if err != nil {
			if cerr := g.account.CountClientFailure(ctx, g.accountClient(ctx)); cerr != nil {
				g.log.Warn("throttle count failed", "request_id", requestID(ctx), "err", cerr)
			}
		}
		return r, id, "", err
	}
	a := account.Attempt{Email: login, Devices: g.browserDevices(r), Client: g.accountClient(ctx)}
	if err == nil {
		a.UserID = id.Subject
	}
	v, verr := g.account.PasswordAttempt(ctx, a)
	if verr != nil {
		return r, nil, "", fmt.Errorf("gateway: lockout: %w: %w", providers.ErrUnavailable, verr)
	}
	if !v.Allowed {
		return r, nil, v.Reason, errPasswordRefused
	}
	g.setDevice(w, v.Device, a.Devices)
	if v.LockedAccount {
		r = r.WithContext(context.WithValue(ctx, trustedLockedKey{}, v.Device.UserID))
	}
	return r, id, "", nil
}
