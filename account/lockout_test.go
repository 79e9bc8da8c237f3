package account

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testclock"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/sqlite"
)

// fixture is a Service on a real SQLite file, with its clock and composer.
type fixture struct {
	t     testing.TB
	svc   *Service
	st    *sqlite.Store
	clock *testclock.Clock
	comp  *notify.Composer
}

var start = time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC) // 09:00 in Tokyo, a Saturday

func newFixture(t testing.TB, pol Policy) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ssogate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	seal, err := notify.Sealer([]byte("a master secret of the test, 32+ bytes long"))
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	if pol.MaxFailures == 0 {
		pol.MaxFailures = 10
	}
	if pol.MailLanguage == "" {
		pol.MailLanguage = "ja"
	}
	if pol.UnlockLinkTTL == 0 {
		pol.UnlockLinkTTL = 14 * 24 * time.Hour
	}
	if pol.ThrottleMaxFailures == 0 {
		pol.ThrottleMaxFailures = 1000
	}
	if pol.ThrottleWindow == 0 {
		pol.ThrottleWindow = 15 * time.Minute
	}
	f := &fixture{t: t, st: st, clock: testclock.New(start), comp: notify.NewComposer(seal)}
	f.svc = New(Options{
		Store: st, Compose: f.comp, Policy: pol, Location: tokyo, Now: f.clock.Now,
		Link: func(path, ticket string) string {
			return "https://sso.example.co.jp" + path + "?ticket=" + url.QueryEscape(ticket)
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	return f
}

// addUser creates an active user; with a password hash when local.
func (f *fixture) addUser(email string, local bool) *store.User {
	f.t.Helper()
	ctx := context.Background()
	u := &store.User{Email: email, DisplayName: "山田 太郎", Role: store.RoleUser, Status: store.StatusActive}
	if err := f.st.CreateUser(ctx, u); err != nil {
		f.t.Fatal(err)
	}
	if local {
		if err := f.st.SetPasswordHash(ctx, u.ID, "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5"); err != nil {
			f.t.Fatal(err)
		}
	}
	return u
}

var client = Client{IP: netip.MustParseAddr("203.0.113.9")}

// wrong is one wrong password for email from devs.
func (f *fixture) wrong(email string, devs ...Device) Verdict {
	f.t.Helper()
	v, err := f.svc.PasswordAttempt(context.Background(), Attempt{Email: email, Devices: devs, Client: client})
	if err != nil {
		f.t.Fatal(err)
	}
	if v.Allowed {
		f.t.Fatal("a wrong password was allowed")
	}
	return v
}

// right is the right password of u from devs.
func (f *fixture) right(u *store.User, devs ...Device) Verdict {
	f.t.Helper()
	v, err := f.svc.PasswordAttempt(context.Background(), Attempt{Email: u.Email, UserID: u.ID, Devices: devs, Client: client})
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

func (f *fixture) status(u *store.User) store.Status {
	f.t.Helper()
	got, err := f.st.GetUser(context.Background(), u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return got.Status
}

// lockMails returns the lock mails sent to u, opened.
func (f *fixture) lockMails(u *store.User) []notify.Data {
	f.t.Helper()
	ms, err := f.st.ListMessages(context.Background(), store.MessageFilter{UserID: u.ID, Template: notify.TemplateAccountLocked})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []notify.Data
	for _, m := range ms {
		if m.To != u.Email {
			f.t.Errorf("lock mail to %q, want %q", m.To, u.Email)
		}
		d, err := f.comp.Open(m)
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// ticketOf returns the ticket in a mailed link.
func unlockTicketOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Path != "/unlock" {
		t.Fatalf("link %q is not an unlock link", link)
	}
	return u.Query().Get("ticket")
}

func TestLockAtMaxFailures(t *testing.T) {
	f := newFixture(t, Policy{})
	u := f.addUser("taro@example.co.jp", true)
	for i := 1; i <= 9; i++ {
		if v := f.wrong(u.Email); v.Locked || v.Reason != ReasonInvalid {
			t.Fatalf("failure %d: %+v", i, v)
		}
	}
	if got := f.status(u); got != store.StatusActive {
		t.Fatalf("after 9 failures status %s, want active", got)
	}
	if n := len(f.lockMails(u)); n != 0 {
		t.Fatalf("after 9 failures %d lock mails, want 0", n)
	}
	if v := f.wrong(u.Email); !v.Locked {
		t.Fatalf("10th failure did not lock: %+v", v)
	}
	if got := f.status(u); got != store.StatusLocked {
		t.Fatalf("after 10 failures status %s, want locked", got)
	}
	for range 5 {
		if v := f.wrong(u.Email); v.Locked || v.Reason != ReasonLocked {
			t.Fatalf("failure past the lock: %+v", v)
		}
	}
	mails := f.lockMails(u)
	if len(mails) != 1 {
		t.Fatalf("%d lock mails, want 1", len(mails))
	}
	d := mails[0]
	if unlockTicketOf(t, d.Link) == "" {
		t.Errorf("no ticket in the link %q", d.Link)
	}
	// Locked at 09:00 in Tokyo on Saturday 5 December; the link works 14 days.
	if want := "2026年12月19日(土) 09:00"; d.Expires != want {
		t.Errorf("Expires = %q, want %q", d.Expires, want)
	}
	if d.Email != u.Email || d.Name != u.DisplayName || d.ClientIP != "203.0.113.9" {
		t.Errorf("mail data = %+v", d)
	}
	evs, err := f.st.ListAudit(context.Background(), store.AuditFilter{UserID: u.ID, Action: "account_locked"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("account_locked events = %d (%v), want 1", len(evs), err)
	}

	// The right password from a browser the account does not know is
	// refused as a wrong one, and counted.
	if v := f.right(u); v.Allowed || v.Reason != ReasonLocked {
		t.Fatalf("locked account signed in from an unknown browser: %+v", v)
	}
}

// TestLockMailLanguage: the person's language when chosen, else the
// portal's default; English dates in the portal's time zone.
func TestLockMailLanguage(t *testing.T) {
	f := newFixture(t, Policy{MaxFailures: 2})
	u := f.addUser("ann@example.co.jp", true)
	u.Language = "en"
	if err := f.st.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	f.wrong(u.Email)
	f.wrong(u.Email)
	ms, err := f.st.ListMessages(context.Background(), store.MessageFilter{UserID: u.ID})
	if err != nil || len(ms) != 1 {
		t.Fatalf("messages = %d (%v), want 1", len(ms), err)
	}
	if ms[0].Language != "en" {
		t.Errorf("language %q, want en", ms[0].Language)
	}
	d, err := f.comp.Open(ms[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := "Sat, 19 Dec 2026 09:00 JST"; d.Expires != want {
		t.Errorf("Expires = %q, want %q", d.Expires, want)
	}
}

func TestUnlockLinkExpiry(t *testing.T) {
	ctx := context.Background()
	const ttl = 14 * 24 * time.Hour
	for _, tt := range []struct {
		name  string
		after time.Duration
		ok    bool
	}{
		{"a second before 14 days", ttl - time.Second, true},
		{"a second after 14 days", ttl + time.Second, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Policy{})
			u := f.addUser("taro@example.co.jp", true)
			for range 10 {
				f.wrong(u.Email)
			}
			ticket := unlockTicketOf(t, f.lockMails(u)[0].Link)
			f.clock.Advance(tt.after)
			got, err := f.svc.Unlock(ctx, ticket, "198.51.100.7")
			if !tt.ok {
				if !errors.Is(err, ErrInvalidLink) {
					t.Fatalf("Unlock = %v, want ErrInvalidLink", err)
				}
				if s := f.status(u); s != store.StatusLocked {
					t.Fatalf("status %s after an expired link, want locked", s)
				}
				return
			}
			if err != nil || got.ID != u.ID {
				t.Fatalf("Unlock = %v, %v", got, err)
			}
			if s := f.status(u); s != store.StatusActive {
				t.Fatalf("status %s after unlock, want active", s)
			}
			if n, _ := f.st.Failures(ctx, u.ID, ""); n != 0 {
				t.Errorf("failures %d after unlock, want 0", n)
			}
			evs, _ := f.st.ListAudit(ctx, store.AuditFilter{UserID: u.ID, Action: "account_unlocked"})
			if len(evs) != 1 || evs[0].ClientIP != "198.51.100.7" {
				t.Errorf("account_unlocked events = %+v", evs)
			}
			// One use.
			if _, err := f.svc.Unlock(ctx, ticket, ""); !errors.Is(err, ErrInvalidLink) {
				t.Fatalf("second Unlock = %v, want ErrInvalidLink", err)
			}
			// The count starts afresh: nine more failures do not lock.
			for range 9 {
				f.wrong(u.Email)
			}
			if s := f.status(u); s != store.StatusActive {
				t.Fatalf("status %s after 9 failures since the unlock, want active", s)
			}
		})
	}
}

func TestUnlockRefusesForgedTickets(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Policy{MaxFailures: 1})
	u := f.addUser("taro@example.co.jp", true)
	other := f.addUser("jiro@example.co.jp", true)
	f.wrong(u.Email)
	f.wrong(other.Email)
	ticket := unlockTicketOf(t, f.lockMails(u)[0].Link)
	_, secret, _ := strings.Cut(ticket, ".")
	for _, bad := range []string{"", "x", u.ID, other.ID + "." + secret, ticket + "x", strings.Repeat("a", 600)} {
		if _, err := f.svc.Unlock(ctx, bad, ""); !errors.Is(err, ErrInvalidLink) {
			t.Errorf("Unlock(%q) = %v, want ErrInvalidLink", bad, err)
		}
	}
	if f.status(u) != store.StatusLocked || f.status(other) != store.StatusLocked {
		t.Fatal("a forged ticket unlocked an account")
	}
}

// TestDeviceBudget: a browser that signed in before keeps its own budget.
func TestDeviceBudget(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Policy{})
	u := f.addUser("taro@example.co.jp", true)
	v := f.right(u)
	if !v.Allowed || v.Device.ID == "" || v.Device.UserID != u.ID {
		t.Fatalf("first sign-in: %+v", v)
	}
	own := v.Device

	// Ten failures elsewhere lock the account for everyone else...
	for range 10 {
		f.wrong(u.Email)
	}
	if f.status(u) != store.StatusLocked {
		t.Fatal("not locked after 10 failures elsewhere")
	}
	// ...but the owner's browser still signs in, and keeps its device.
	v = f.right(u, own)
	if !v.Allowed || !v.LockedAccount || v.Device.ID != own.ID {
		t.Fatalf("owner's browser refused: %+v", v)
	}
	if f.status(u) != store.StatusLocked {
		t.Error("a trusted sign-in unlocked the account; only the link, a reset or an admin do")
	}

	// Nine wrong passwords from the owner's browser spend its budget but
	// not all of it: the right one still gets in.
	for range 9 {
		f.wrong(u.Email, own)
	}
	if v := f.right(u, own); !v.Allowed {
		t.Fatalf("refused after 9 failures of its own: %+v", v)
	}
	// Ten from the browser itself spend it: the browser falls back to the
	// shared budget, which is locked.
	for range 10 {
		f.wrong(u.Email, own)
	}
	if n, _ := f.st.Failures(ctx, u.ID, own.ID); n != 10 {
		t.Errorf("device failures = %d, want 10", n)
	}
	if v := f.right(u, own); v.Allowed || v.Reason != ReasonLocked {
		t.Fatalf("spent device still trusted: %+v", v)
	}
}

// TestDeviceFallsBackToShared: an unlocked account's device that spent
// its budget counts its further failures on the shared budget.
func TestDeviceFallsBackToShared(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Policy{})
	u := f.addUser("taro@example.co.jp", true)
	own := f.right(u).Device
	for range 10 {
		f.wrong(u.Email, own)
	}
	if n, _ := f.st.Failures(ctx, u.ID, ""); n != 0 {
		t.Fatalf("shared failures = %d before the device's budget is spent, want 0", n)
	}
	if f.status(u) != store.StatusActive {
		t.Fatal("a device's own failures locked the account")
	}
	f.wrong(u.Email, own)
	if n, _ := f.st.Failures(ctx, u.ID, ""); n != 1 {
		t.Fatalf("shared failures = %d after the 11th from a spent device, want 1", n)
	}
	// The right password from it proves the owner: a new device, a new budget.
	v := f.right(u, own)
	if !v.Allowed || v.Device.ID == own.ID {
		t.Fatalf("right password from a spent device: %+v, want a new device", v)
	}
	// Another account's device cookie is no device of this one.
	other := f.addUser("jiro@example.co.jp", true)
	for range 10 {
		f.wrong(u.Email, f.right(other).Device)
	}
	if f.status(u) != store.StatusLocked {
		t.Fatal("another account's device kept a budget for this one")
	}
}

// TestSuccessClearsItsCount: the right password resets the count of its
// own (user, device) only.
func TestSuccessClearsItsCount(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Policy{})
	u := f.addUser("taro@example.co.jp", true)
	own := f.right(u).Device
	for range 3 {
		f.wrong(u.Email, own)
	}
	for range 9 {
		f.wrong(u.Email)
	}
	f.right(u, own)
	if n, _ := f.st.Failures(ctx, u.ID, own.ID); n != 0 {
		t.Errorf("device failures after its sign-in = %d, want 0", n)
	}
	if n, _ := f.st.Failures(ctx, u.ID, ""); n != 9 {
		t.Errorf("shared failures after the device's sign-in = %d, want 9", n)
	}
	f.right(u)
	if n, _ := f.st.Failures(ctx, u.ID, ""); n != 0 {
		t.Errorf("shared failures after a sign-in without device = %d, want 0", n)
	}
}

// TestDirectoryAccountsNotCounted: an account without a local password
// (LDAP / AD, federated) is locked by its directory, never here.
func TestDirectoryAccountsNotCounted(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Policy{})
	u := f.addUser("ad-user@example.co.jp", false)
	for range 25 {
		f.wrong(u.Email)
	}
	if f.status(u) != store.StatusActive {
		t.Fatal("a directory account was locked by ssogate")
	}
	if n, _ := f.st.Failures(ctx, u.ID, ""); n != 0 {
		t.Errorf("failures of a directory account = %d, want 0", n)
	}
	if n := len(f.lockMails(u)); n != 0 {
		t.Errorf("%d lock mails to a directory account", n)
	}
	// Unknown emails count nothing against anyone either.
	for range 25 {
		f.wrong("nobody@example.co.jp")
	}
}

func TestThrottle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Policy{ThrottleMaxFailures: 3, ThrottleLineMaxFailures: 6, ThrottleWindow: 15 * time.Minute})
	wait := func(c Client) time.Duration {
		t.Helper()
		d, err := f.svc.Throttled(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	fail := func(c Client, email string) {
		t.Helper()
		if _, err := f.svc.PasswordAttempt(ctx, Attempt{Email: email, Client: c}); err != nil {
			t.Fatal(err)
		}
	}
	u := f.addUser("taro@example.co.jp", true)
	for i := range 3 {
		if d := wait(client); d != 0 {
			t.Fatalf("throttled after %d failures", i)
		}
		fail(client, []string{u.Email, "nobody@example.co.jp", "hanako@example.co.jp"}[i])
		f.clock.Advance(time.Minute)
	}
	// The window started at the first failure: 15m - 3m remain.
	if d := wait(client); d != 12*time.Minute {
		t.Fatalf("Retry-After = %s, want 12m", d)
	}
	other := Client{IP: netip.MustParseAddr("203.0.113.10")}
	if d := wait(other); d != 0 {
		t.Fatalf("another address throttled: %s", d)
	}
	f.clock.Advance(12 * time.Minute)
	if d := wait(client); d != 0 {
		t.Fatalf("still throttled when the window ended: %s", d)
	}

	// A registered line's address has its own, higher limit.
	line := Client{IP: netip.MustParseAddr("192.0.2.1"), Line: true}
	for range 5 {
		fail(line, "nobody@example.co.jp")
	}
	if d := wait(line); d != 0 {
		t.Fatalf("line throttled after 5 failures: %s", d)
	}
	fail(line, "nobody@example.co.jp")
	if d := wait(line); d <= 0 {
		t.Fatal("line not throttled after 6 failures")
	}

	// IPv6 addresses of one /64 are one client.
	for i := range 3 {
		fail(Client{IP: netip.MustParseAddr("2001:db8:1:2::" + string(rune('a'+i)))}, "nobody@example.co.jp")
	}
	if d := wait(Client{IP: netip.MustParseAddr("2001:db8:1:2:ffff::1")}); d <= 0 {
		t.Fatal("a /64 was not throttled as one client")
	}
	if d := wait(Client{IP: netip.MustParseAddr("2001:db8:1:3::1")}); d != 0 {
		t.Fatal("the next /64 was throttled")
	}
	// Directory failures count too.
	third := Client{IP: netip.MustParseAddr("198.51.100.1")}
	for range 3 {
		if err := f.svc.CountClientFailure(ctx, third); err != nil {
			t.Fatal(err)
		}
	}
	if d := wait(third); d <= 0 {
		t.Fatal("directory failures were not counted")
	}
}

func TestUnlockUser(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Policy{})
	u := f.addUser("taro@example.co.jp", true)
	for range 10 {
		f.wrong(u.Email)
	}
	ticket := unlockTicketOf(t, f.lockMails(u)[0].Link)
	locked, err := f.st.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.UnlockUser(ctx, locked, "cli"); err != nil {
		t.Fatal(err)
	}
	if f.status(u) != store.StatusActive {
		t.Fatal("UnlockUser left the account locked")
	}
	evs, _ := f.st.ListAudit(ctx, store.AuditFilter{UserID: u.ID, Action: "account_unlocked"})
	if len(evs) != 1 || evs[0].Actor != "cli" {
		t.Fatalf("account_unlocked events = %+v, want one by cli", evs)
	}
	// The mailed link of that lock no longer works.
	if _, err := f.svc.Unlock(ctx, ticket, ""); !errors.Is(err, ErrInvalidLink) {
		t.Fatalf("old link after an admin unlock = %v, want ErrInvalidLink", err)
	}
	// A disabled account stays disabled.
	locked.Status = store.StatusDisabled
	if err := f.st.UpdateUser(ctx, locked); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.UnlockUser(ctx, locked, "cli"); err != nil {
		t.Fatal(err)
	}
	if f.status(u) != store.StatusDisabled {
		t.Fatal("unlock enabled a disabled account")
	}
}

// TestConcurrentFailuresLockOnce: many wrong passwords at once past the
// limit lock once and send one mail.
func TestConcurrentFailuresLockOnce(t *testing.T) {
	f := newFixture(t, Policy{})
	u := f.addUser("taro@example.co.jp", true)
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			if _, err := f.svc.PasswordAttempt(context.Background(), Attempt{Email: u.Email, Client: client}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(f.lockMails(u)); n != 1 {
		t.Fatalf("%d lock mails, want 1", n)
	}
}

// BenchmarkFailedAttempt is what lockout adds to a wrong password on a
// real SQLite file: the throttle's check, then PasswordAttempt (lookups,
// the throttle's hit, the account's count). The limits are high enough
// that nothing locks or throttles.
func BenchmarkFailedAttempt(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, Policy{MaxFailures: 1 << 30, ThrottleMaxFailures: 1 << 30})
	u := f.addUser("taro@example.co.jp", true)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Throttled(ctx, client); err != nil {
			b.Fatal(err)
		}
		v, err := f.svc.PasswordAttempt(ctx, Attempt{Email: u.Email, Client: client})
		if err != nil || v.Allowed {
			b.Fatal(v, err)
		}
	}
}
