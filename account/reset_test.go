package account_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/internal/testclock"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/providers/local"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/sqlite"
)

// lookup serves the local provider's password lookups from the store.
type lookup struct{ st *sqlite.Store }

func (l lookup) LookupPassword(ctx context.Context, email string) (string, string, error) {
	u, err := l.st.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", local.ErrNoAccount
	}
	if err != nil {
		return "", "", err
	}
	h, err := l.st.PasswordHash(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", local.ErrNoAccount
	}
	return u.ID, h, err
}

// passwords is the local provider as account.Passwords, as the gateway
// adapts it.
type passwords struct{ p *local.Provider }

func (p passwords) Hash(ctx context.Context, pw string) (string, error) { return p.p.Hash(ctx, pw) }

func (p passwords) Check(ctx context.Context, email, pw string) error {
	if _, err := p.p.Authenticate(ctx, email, pw); err != nil {
		if errors.Is(err, providers.ErrInvalidCredentials) {
			return fmt.Errorf("%w: %w", account.ErrWrongPassword, err)
		}
		return err
	}
	return nil
}

// env is an account.Service on a real SQLite store, with a movable clock
// and its log captured.
type env struct {
	t     *testing.T
	st    *sqlite.Store
	svc   *account.Service
	comp  *notify.Composer
	pw    *local.Provider
	clock *testclock.Clock
	logs  *bytes.Buffer
	reset []string // user ids given to the 2-step hook
	mu    sync.Mutex
}

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ssogate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pw, err := local.Open("local", local.Config{Memory: 8 * 1024, Iterations: 1, Parallelism: 1}, lookup{st})
	if err != nil {
		t.Fatal(err)
	}
	seal, err := notify.Sealer([]byte("test master secret, 32 bytes ok"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, comp: notify.NewComposer(seal), pw: pw, clock: testclock.New(t0), logs: &bytes.Buffer{}}
	jst := time.FixedZone("JST", 9*3600)
	e.svc = account.New(account.Options{
		Store: st, Compose: e.comp, Passwords: passwords{pw},
		Link: func(path, ticket string) string {
			return "https://portal.example.co.jp" + path + "?ticket=" + url.QueryEscape(ticket)
		},
		Policy: account.Policy{MaxFailures: 10, UnlockLinkTTL: 14 * 24 * time.Hour,
			ResetLinkTTL: 14 * 24 * time.Hour, EmailChangeLinkTTL: 24 * time.Hour},
		Location: jst, Now: e.clock.Now,
		Log:  slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Rule: local.Policy{},
		ProviderLabel: func(id, lang string) string {
			if id == "google" {
				return "Googleアカウント"
			}
			return ""
		},
		ResetSecondFactor: func(_ context.Context, userID string) error {
			e.mu.Lock()
			e.reset = append(e.reset, userID)
			e.mu.Unlock()
			return nil
		},
	})
	return e
}

// addUser creates an active user, with a local password unless pw is "".
func (e *env) addUser(email, name, pw string) *store.User {
	e.t.Helper()
	ctx := context.Background()
	u := &store.User{Email: email, DisplayName: name, Role: store.RoleUser, Status: store.StatusActive}
	if err := e.st.CreateUser(ctx, u); err != nil {
		e.t.Fatal(err)
	}
	if pw != "" {
		h, err := e.pw.Hash(ctx, pw)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.st.SetPasswordHash(ctx, u.ID, h); err != nil {
			e.t.Fatal(err)
		}
	}
	return u
}

// addSession starts a session of u and returns its id.
func (e *env) addSession(u *store.User, id string) {
	e.t.Helper()
	now := e.clock.Now()
	s := &store.Session{ID: id, UserID: u.ID, AMR: []string{"pwd"}, AuthTime: now, CreatedAt: now, LastSeenAt: now,
		IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(12 * time.Hour)}
	if err := e.st.CreateSession(context.Background(), s); err != nil {
		e.t.Fatal(err)
	}
}

// mails returns the outbox messages of template, oldest first, opened.
func (e *env) mails(template string) ([]*store.Message, []notify.Data) {
	e.t.Helper()
	ms, err := e.st.ListMessages(context.Background(), store.MessageFilter{Template: template, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*store.Message
	var data []notify.Data
	for i := len(ms) - 1; i >= 0; i-- {
		d, err := e.comp.Open(ms[i])
		if err != nil {
			e.t.Fatal(err)
		}
		out, data = append(out, ms[i]), append(data, d)
	}
	return out, data
}

// ticketOf returns the ticket of a mailed link.
func ticketOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("ticket") == "" {
		t.Fatalf("link %q has no ticket", link)
	}
	return u.Query().Get("ticket")
}

// requestReset asks for a reset of email and returns the ticket of the
// reset mail it queued.
func (e *env) requestReset(email string) string {
	e.t.Helper()
	return e.newLink(notify.TemplatePasswordReset, func() error {
		return e.svc.RequestReset(context.Background(), email, account.Origin{ClientIP: "192.0.2.1"})
	})
}

// newLink runs do and returns the ticket of the one mail of template it
// queued (messages queued at one clock time have no order).
func (e *env) newLink(template string, do func() error) string {
	e.t.Helper()
	before, _ := e.mails(template)
	seen := map[string]bool{}
	for _, m := range before {
		seen[m.ID] = true
	}
	if err := do(); err != nil {
		e.t.Fatal(err)
	}
	ms, data := e.mails(template)
	for i, m := range ms {
		if !seen[m.ID] {
			return ticketOf(e.t, data[i].Link)
		}
	}
	e.t.Fatalf("no new %s mail", template)
	return ""
}

const (
	oldPW = "Old-Passw0rd!x"
	newPW = "Kz7#rQ2!vM9p"
)

func TestResetLinkLifetime(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  error
	}{
		{"14d-1s", 14*24*time.Hour - time.Second, nil},
		{"14d+1s", 14*24*time.Hour + time.Second, account.ErrLinkExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.addUser("taro@example.co.jp", "Taro Yamada", oldPW)
			ticket := e.requestReset("taro@example.co.jp")
			e.clock.Set(t0.Add(tc.after))
			if err := e.svc.CheckResetLink(context.Background(), ticket); !errors.Is(err, tc.want) {
				t.Fatalf("CheckResetLink = %v, want %v", err, tc.want)
			}
			_, err := e.svc.ResetPassword(context.Background(), ticket, newPW, newPW, account.Origin{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("ResetPassword = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestResetOneUseUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	e.addUser("taro@example.co.jp", "Taro Yamada", oldPW)
	ticket := e.requestReset("taro@example.co.jp")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = e.svc.ResetPassword(context.Background(), ticket, newPW, newPW, account.Origin{})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, account.ErrLinkUsed):
			t.Errorf("concurrent reset: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent resets succeeded, want 1 (%v)", ok, errs)
	}
	if _, err := e.svc.ResetPassword(context.Background(), ticket, newPW, newPW, account.Origin{}); !errors.Is(err, account.ErrLinkUsed) {
		t.Fatalf("reuse = %v, want ErrLinkUsed", err)
	}
	if ms, _ := e.mails(notify.TemplatePasswordChanged); len(ms) != 1 {
		t.Fatalf("%d password-changed mails, want 1", len(ms))
	}
}

func TestResetUnlocksEndsSessionsDropsOlderLinks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.addUser("taro@example.co.jp", "Taro Yamada", oldPW)
	u.Status, u.MustChangePassword = store.StatusLocked, true
	if err := e.st.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := e.st.CountFailure(ctx, u.ID, "", t0); err != nil {
			t.Fatal(err)
		}
		e.addSession(u, fmt.Sprintf("sess-%d", i))
	}
	first := e.requestReset("taro@example.co.jp")
	second := e.requestReset("taro@example.co.jp")
	if first == second {
		t.Fatal("two requests gave one link")
	}

	// A refused password leaves the link usable.
	_, err := e.svc.ResetPassword(ctx, second, "password1", "password1", account.Origin{})
	var we *account.WeakPasswordError
	if !errors.As(err, &we) {
		t.Fatalf("weak password: %v", err)
	}
	got, err := e.svc.ResetPassword(ctx, second, newPW, newPW, account.Origin{ClientIP: "192.0.2.7", RequestID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusActive || got.MustChangePassword {
		t.Errorf("after reset: status %s, must change %v", got.Status, got.MustChangePassword)
	}
	stored, _ := e.st.GetUser(ctx, u.ID)
	if stored.Status != store.StatusActive || stored.MustChangePassword {
		t.Errorf("stored after reset: status %s, must change %v", stored.Status, stored.MustChangePassword)
	}
	if ss, _ := e.st.ListUserSessions(ctx, u.ID); len(ss) != 0 {
		t.Errorf("%d sessions survived the reset", len(ss))
	}
	if n, _ := e.st.Failures(ctx, u.ID, ""); n != 0 {
		t.Errorf("failures after reset = %d", n)
	}
	if _, err := e.svc.ResetPassword(ctx, first, "Other-Passw0rd!", "Other-Passw0rd!", account.Origin{}); !errors.Is(err, account.ErrLinkUsed) {
		t.Errorf("older link after a reset = %v, want ErrLinkUsed", err)
	}
	if err := (passwords{e.pw}).Check(ctx, u.Email, newPW); err != nil {
		t.Errorf("new password refused: %v", err)
	}
	if err := (passwords{e.pw}).Check(ctx, u.Email, oldPW); !errors.Is(err, account.ErrWrongPassword) {
		t.Errorf("old password = %v, want refused", err)
	}
	ms, data := e.mails(notify.TemplatePasswordChanged)
	if len(ms) != 1 || ms[0].To != u.Email || data[0].ClientIP != "192.0.2.7" {
		t.Fatalf("password-changed mails = %+v %+v", ms, data)
	}
	if len(e.reset) != 1 || e.reset[0] != u.ID {
		t.Errorf("2-step hook calls = %v", e.reset)
	}
	evs, _ := e.st.ListAudit(ctx, store.AuditFilter{Action: "password_reset"})
	var got2 []string
	for _, ev := range evs {
		got2 = append(got2, string(ev.Outcome)+":"+ev.Detail+":"+ev.RequestID)
	}
	// Newest first: the older link refused, then the reset.
	if !slices.Equal(got2, []string{"failure:link_used:", "success:unlocked:r1"}) {
		t.Fatalf("audit = %v", got2)
	}
	// No ticket or link in the log.
	for _, secret := range []string{first, second, url.QueryEscape(second), newPW} {
		if strings.Contains(e.logs.String(), secret) {
			t.Fatalf("log holds a secret %q:\n%s", secret, e.logs.String())
		}
	}
}

func TestResetLinkCannotBeRetargeted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser("taro@example.co.jp", "Taro Yamada", oldPW)
	victim := e.addUser("hanako@example.co.jp", "Hanako Sato", oldPW)
	ticket := e.requestReset("taro@example.co.jp")
	_, rest, _ := strings.Cut(ticket, ".")
	forged := victim.ID + "." + rest
	if _, err := e.svc.ResetPassword(ctx, forged, newPW, newPW, account.Origin{}); !errors.Is(err, account.ErrLinkUsed) {
		t.Fatalf("reset with another user's id = %v, want ErrLinkUsed", err)
	}
	// Nor can its expiry be moved.
	parts := strings.Split(ticket, ".")
	parts[1] = "4102444800"
	if _, err := e.svc.ResetPassword(ctx, strings.Join(parts, "."), newPW, newPW, account.Origin{}); !errors.Is(err, account.ErrLinkUsed) {
		t.Fatalf("reset with a moved expiry = %v, want ErrLinkUsed", err)
	}
	if err := (passwords{e.pw}).Check(ctx, victim.Email, oldPW); err != nil {
		t.Fatalf("victim's password changed: %v", err)
	}
}

func TestForgotKnownUnknownNoPassword(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.addUser("taro@example.co.jp", "Taro Yamada", oldPW)
	g := e.addUser("jiro@example.co.jp", "Jiro Suzuki", "")
	if err := e.st.LinkIdentity(ctx, &store.IdentityLink{ProviderID: "google", Subject: "g-1", UserID: g.ID}); err != nil {
		t.Fatal(err)
	}
	disabled := e.addUser("gone@example.co.jp", "Gone", oldPW)
	disabled.Status = store.StatusDisabled
	if err := e.st.UpdateUser(ctx, disabled); err != nil {
		t.Fatal(err)
	}
	o := account.Origin{ClientIP: "192.0.2.1", Lang: "ja"}
	for _, email := range []string{"nobody@example.co.jp", "gone@example.co.jp", "ＴＡＲＯ＠example.co.jp", "jiro@example.co.jp"} {
		if err := e.svc.RequestReset(ctx, email, o); err != nil {
			t.Fatalf("RequestReset(%s) = %v", email, err)
		}
	}
	all, err := e.st.ListMessages(ctx, store.MessageFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("%d messages, want 2 (known address and no-password account only)", len(all))
	}
	ms, data := e.mails(notify.TemplatePasswordReset)
	if len(ms) != 1 || ms[0].To != u.Email || ms[0].UserID != u.ID || ms[0].Language != "ja" {
		t.Fatalf("reset mails = %+v", ms)
	}
	if !strings.HasPrefix(data[0].Link, "https://portal.example.co.jp/password/reset?ticket=") ||
		data[0].Expires != "2026年12月15日(火) 18:00" {
		t.Errorf("reset mail data = %+v", data[0])
	}
	ms, data = e.mails(notify.TemplatePasswordResetNoPassword)
	if len(ms) != 1 || ms[0].To != g.Email || data[0].Provider != "Googleアカウント" || data[0].Link != "" {
		t.Fatalf("no-password mails = %+v %+v", ms, data)
	}
	evs, _ := e.st.ListAudit(ctx, store.AuditFilter{Action: "password_reset_request"})
	details := map[string]bool{}
	for _, ev := range evs {
		details[string(ev.Outcome)+":"+ev.Detail] = true
	}
	for _, want := range []string{"failure:unknown_email", "failure:account_disabled", "success:", "success:no_password"} {
		if !details[want] {
			t.Errorf("no audit event %s in %v", want, details)
		}
	}
}

func TestForgotRateLimits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser("taro@example.co.jp", "Taro Yamada", oldPW)
	e.addUser("hanako@example.co.jp", "Hanako Sato", oldPW)

	// Per address: five an hour, from any client.
	for i := range account.ResetPerAddress + 2 {
		o := account.Origin{ClientIP: fmt.Sprintf("198.51.100.%d", i)}
		if err := e.svc.RequestReset(ctx, "taro@example.co.jp", o); err != nil {
			t.Fatal(err)
		}
	}
	if ms, _ := e.mails(notify.TemplatePasswordReset); len(ms) != account.ResetPerAddress {
		t.Fatalf("%d mails for one address, want %d", len(ms), account.ResetPerAddress)
	}
	// The window ends: the address may ask again.
	e.clock.Set(t0.Add(account.ResetWindow + time.Second))
	if err := e.svc.RequestReset(ctx, "taro@example.co.jp", account.Origin{ClientIP: "198.51.100.200"}); err != nil {
		t.Fatal(err)
	}
	if ms, _ := e.mails(notify.TemplatePasswordReset); len(ms) != account.ResetPerAddress+1 {
		t.Fatalf("after the window: %d mails, want %d", len(ms), account.ResetPerAddress+1)
	}

	// Per client: twenty an hour over any addresses, registered or not.
	o := account.Origin{ClientIP: "203.0.113.9"}
	for i := range account.ResetPerClient {
		if err := e.svc.RequestReset(ctx, fmt.Sprintf("nobody%d@example.co.jp", i), o); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.RequestReset(ctx, "hanako@example.co.jp", o); err != nil {
		t.Fatal(err)
	}
	for _, m := range must(e.st.ListMessages(ctx, store.MessageFilter{Limit: 100})) {
		if m.To == "hanako@example.co.jp" {
			t.Fatal("a client over its limit got a mail sent")
		}
	}
	evs, _ := e.st.ListAudit(ctx, store.AuditFilter{Action: "password_reset_request", Limit: 100})
	seen := map[string]int{}
	for _, ev := range evs {
		seen[ev.Detail]++
	}
	if seen["rate_limited_address"] != 2 || seen["rate_limited_client"] != 1 {
		t.Fatalf("audit details = %v", seen)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
