package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/sqlite"
)

// onPostgres points the harness's store at the PostgreSQL database dsn.
func onPostgres(dsn string) harnessOption {
	re := regexp.MustCompile(`driver: sqlite\n  dsn: [^\n]+`)
	return func(s string) string {
		return re.ReplaceAllLiteralString(s, "driver: postgres\n  dsn: \""+dsn+"\"")
	}
}

// TestMigrateSQLiteToPostgres fills an SQLite store the way a gateway
// does (a local user with an argon2id hash, a sign-in over HTTP with its
// session and audit events, the cookie secrets and signing key made at
// start, plus a link, a ticket, the account columns, a failure count,
// mail still to send, 2-step verification's factors, recovery codes and
// a remembered browser, the admin console's setting and approved device,
// and the OpenID Provider's tokens and the apps a session signed in to),
// copies it with `ssogate migrate --from --to`, and then runs a gateway on PostgreSQL: the same password
// signs in over HTTP, the session made on SQLite is still valid there,
// every row came across with its ids and times (mail already sent stays
// behind), and the counts printed are the source's. A second copy into
// the now full database is refused.
func TestMigrateSQLiteToPostgres(t *testing.T) {
	pg := testpeers.Postgres(t)
	dsn := pg.Database(t)
	ctx := context.Background()

	src := newHarness(t)
	alice := src.addUser("alice@example.co.jp", "Alice Example", alicePW, "staff")
	b := src.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, "/me"), "/me")
	cookieName := src.app.cfg.Session.CookieName
	session := b.cookie(cookieName)
	if session == nil {
		t.Fatal("no session cookie after signing in on SQLite")
	}
	at := time.Date(2026, 11, 21, 9, 0, 0, 123_000_000, time.UTC)
	if err := src.app.store.LinkIdentity(ctx, &store.IdentityLink{ProviderID: "corp-oidc", Subject: "Sub-1",
		UserID: alice.ID, Email: "alice@corp.example", CreatedAt: at, LastUsedAt: at.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := src.app.store.CreateTicket(ctx, &store.Ticket{ID: "reset-1", Purpose: "reset", UserID: alice.ID,
		Data: []byte{0, 0xff, 1}, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// The account lifecycle's state: a language, a password to change, a
	// failure count, a message still to send (tried once) and one sent.
	// Both messages are due only in a day, so no outbox worker of either
	// gateway takes them meanwhile.
	st := src.app.store
	alice, err := st.GetUser(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	alice.Language = "ja"
	if err := st.UpdateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	bob := &store.User{Email: "bob@example.co.jp", Role: store.RoleUser, Status: store.StatusActive, Language: "en", MustChangePassword: true}
	if err := st.CreateUser(ctx, bob); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := st.CountFailure(ctx, alice.ID, "device-1", at); err != nil {
			t.Fatal(err)
		}
	}
	due := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Millisecond)
	pending := &store.Message{Channel: store.ChannelMail, Template: "password_reset", To: alice.Email, Language: "ja",
		UserID: alice.ID, Data: []byte{0, 0xff, 2}, CreatedAt: at, NextAttemptAt: due}
	sent := &store.Message{Channel: store.ChannelMail, Template: "password_changed", To: alice.Email, Language: "ja",
		UserID: alice.ID, Data: []byte{3}, CreatedAt: at.Add(time.Second), NextAttemptAt: due}
	for _, m := range []*store.Message{pending, sent} {
		if err := st.EnqueueMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if claimed, err := st.ClaimMessages(ctx, "test", due, time.Minute, 10); err != nil || len(claimed) != 2 {
		t.Fatalf("ClaimMessages = %d messages, %v; want 2", len(claimed), err)
	}
	if err := st.MessageSent(ctx, sent.ID, "test", due); err != nil {
		t.Fatal(err)
	}
	if err := st.MessageFailed(ctx, pending.ID, "test", "451 4.3.0 try again later", due, due.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	pending.Attempts, pending.LastError, pending.NextAttemptAt = 1, "451 4.3.0 try again later", due.Add(time.Hour)
	// 2-step verification: an authenticator app whose sealed secret holds
	// every byte value, a passkey found by its handle, recovery codes and
	// a remembered browser (unexpired, so no sweeper takes it meanwhile).
	secret := make([]byte, 256)
	for i := range secret {
		secret[i] = byte(i)
	}
	totp := &store.Factor{UserID: alice.ID, Kind: store.FactorTOTP, Name: "iPhone", Secret: secret, Counter: 59_000_001,
		CreatedAt: at, LastUsedAt: at.Add(time.Minute)}
	key := &store.Factor{UserID: alice.ID, Kind: store.FactorWebAuthn, Name: "YubiKey", Handle: "Y3JlZC0x",
		Secret: []byte{0, 1, 0xff}, Counter: 7, CreatedAt: at.Add(time.Second)}
	for _, f := range []*store.Factor{totp, key} {
		if err := st.AddFactor(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetRecoveryCodes(ctx, alice.ID, []string{"hash-1", "hash-2", "hash-3"}); err != nil {
		t.Fatal(err)
	}
	remembered := &store.RememberedBrowser{ID: "browser-1", UserID: alice.ID, UserAgent: "Mozilla/5.0", ClientIP: "192.0.2.30",
		CreatedAt: at, LastUsedAt: at.Add(time.Minute), ExpiresAt: due.Add(30 * 24 * time.Hour)}
	if err := st.RememberBrowser(ctx, remembered); err != nil {
		t.Fatal(err)
	}
	// The admin console's state: an organisation setting and a browser an
	// administrator approved.
	setting := &store.Setting{Key: store.SettingAccessRoute, Value: "line_only", UpdatedBy: bob.ID, UpdatedAt: at}
	if err := st.SetSetting(ctx, setting); err != nil {
		t.Fatal(err)
	}
	approved := &store.ApprovedDevice{ID: "device-1", UserID: alice.ID, UserAgent: "Mozilla/5.0", ClientIP: "192.0.2.31",
		ApprovedBy: bob.ID, CreatedAt: at, LastUsedAt: at.Add(time.Minute)}
	if err := st.AddDevice(ctx, approved); err != nil {
		t.Fatal(err)
	}
	// The identity-provider side: a refresh token rotated once (its
	// successor and an access token in the family; every list, Data of
	// every byte value), and the apps the session signed in to. All are
	// unexpired, so no sweeper takes them meanwhile.
	rotated := &store.OAuthToken{ID: "refresh-1", Kind: store.TokenRefresh, FamilyID: "family-1", ClientID: "app-1",
		UserID: alice.ID, SessionID: "sess-1", Scopes: []string{"openid", "offline_access"}, Audience: []string{"app-1"},
		AMR: []string{"pwd", "otp"}, AuthTime: at, CreatedAt: at, ExpiresAt: due.Add(30 * 24 * time.Hour), Data: secret}
	if err := st.CreateOAuthToken(ctx, rotated); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RotateRefreshToken(ctx, rotated.ID, &store.OAuthToken{ID: "refresh-2", Kind: store.TokenRefresh,
		ClientID: "app-1", UserID: alice.ID, SessionID: "sess-1", Scopes: []string{"openid", "offline_access"},
		AuthTime: at, CreatedAt: at.Add(time.Minute), ExpiresAt: due.Add(30 * 24 * time.Hour)}, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateOAuthToken(ctx, &store.OAuthToken{ID: "access-2", Kind: store.TokenAccess, FamilyID: "family-1",
		ClientID: "app-1", UserID: alice.ID, Scopes: []string{"openid"}, CreatedAt: at.Add(time.Minute), ExpiresAt: due}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*store.SessionClient{
		{SessionID: "sess-1", Protocol: store.ProtocolOIDC, ClientID: "app-1", UserID: alice.ID, Data: []byte(`{"sid":"x"}`),
			CreatedAt: at, ExpiresAt: due},
		{SessionID: "sess-1", Protocol: store.ProtocolSAML, ClientID: "sp-1", UserID: alice.ID, Data: []byte{0, 0xff, 4},
			CreatedAt: at.Add(time.Second), ExpiresAt: due},
	} {
		if err := st.AddSessionClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	path := filepath.Join(filepath.Dir(src.configPath), "ssogate.db")
	want, err := sqlite.Export(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range want.Counts() {
		if c.Rows == 0 {
			t.Fatalf("the source holds no %s; the test would not show they are copied", c.Table)
		}
	}

	out, errOut, err := runCLI(t, "", "migrate", "--from", "sqlite:"+path, "--to", "postgres:"+dsn)
	if err != nil {
		t.Fatalf("migrate --from --to: %v\n%s%s", err, out, errOut)
	}
	for _, c := range want.Counts() {
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^  %s +%d$`, c.Table, c.Rows)).MatchString(out) {
			t.Errorf("migrate output does not report %d %s:\n%s", c.Rows, c.Table, out)
		}
	}

	_, errOut, err = runCLI(t, "", "migrate", "--from", "sqlite:"+path, "--to", "postgres:"+dsn)
	var code exitCode
	if !errors.As(err, &code) || code != 1 || !strings.Contains(errOut, "not empty (users: 2") {
		t.Errorf("second migrate into the same database: err = %v, stderr %q; want exit 1 naming the users it holds", err, errOut)
	}

	dst := newHarness(t, onPostgres(dsn))
	if dst.app.cfg.Store.Driver != "postgres" {
		t.Fatalf("the second gateway runs on %s", dst.app.cfg.Store.Driver)
	}
	// The session signed in on SQLite is valid on PostgreSQL: the session
	// row and the cookie keys both came across.
	moved := dst.browser()
	u, _ := url.Parse(dst.url)
	moved.jar.SetCookies(u, []*http.Cookie{{Name: cookieName, Value: session.Value, Path: "/"}})
	p := moved.get("/me")
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, "Alice Example") {
		t.Errorf("/me with the session made on SQLite does not show Alice:\n%s", snippet(p.body))
	}
	// The password hash came across: a fresh sign-in works (on to the
	// second step, since the factors came across too), a wrong password
	// does not.
	fresh := dst.browser()
	expectRedirect(t, fresh.login("alice@example.co.jp", alicePW, "/me"), "/login/2fa")
	wrong := dst.browser()
	wrong.get("/login")
	expectStatus(t, wrong.post("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {"nope-Passw0rd"}}),
		http.StatusUnauthorized)

	// Every row, ids and times included, as SQLite had it (read through
	// the PostgreSQL store, before the sign-ins above added to it).
	got, err := dst.app.store.UserByIdentity(ctx, "corp-oidc", "Sub-1")
	if err != nil {
		t.Fatal(err)
	}
	var wantAlice *store.User
	for _, u := range want.Users {
		if u.ID == alice.ID {
			wantAlice = u
		}
	}
	// The sign-in above waits at the second step: no sign-in is recorded.
	if got.ID != alice.ID || wantAlice == nil || !got.CreatedAt.Equal(wantAlice.CreatedAt) || !got.LastLoginAt.Equal(wantAlice.LastLoginAt) {
		t.Errorf("user on PostgreSQL = %+v, want the SQLite one %+v", got, wantAlice)
	}
	tk, err := dst.app.store.ConsumeTicket(ctx, "reset", "reset-1", at)
	if err != nil || tk.UserID != alice.ID || string(tk.Data) != "\x00\xff\x01" || !tk.ExpiresAt.Equal(at.Add(time.Hour)) {
		t.Errorf("ticket on PostgreSQL = %+v, %v", tk, err)
	}
	keys, err := dst.app.store.ListSigningKeys(ctx)
	if err != nil || !reflect.DeepEqual(keys, want.Keys) {
		t.Errorf("signing keys on PostgreSQL = %+v, %v; want %+v", keys, err, want.Keys)
	}
	events, err := dst.app.store.ListAudit(ctx, store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]*store.AuditEvent{}
	for _, e := range events {
		byID[e.ID] = e
	}
	for _, e := range want.Audit {
		if g := byID[e.ID]; g == nil || !reflect.DeepEqual(g, e) {
			t.Errorf("audit event %d on PostgreSQL = %+v, want %+v", e.ID, g, e)
		}
	}
	if len(events) <= len(want.Audit) {
		t.Errorf("%d audit events after signing in on PostgreSQL, want more than the %d copied", len(events), len(want.Audit))
	}

	if got, err := dst.app.store.GetUser(ctx, alice.ID); err != nil || got.Language != "ja" || got.MustChangePassword {
		t.Errorf("alice on PostgreSQL = %+v, %v; want language ja and no password to change", got, err)
	}
	if got, err := dst.app.store.GetUserByEmail(ctx, bob.Email); err != nil || got.ID != bob.ID || got.Language != "en" || !got.MustChangePassword {
		t.Errorf("bob on PostgreSQL = %+v, %v; want language en and a password to change", got, err)
	}
	if n, err := dst.app.store.Failures(ctx, alice.ID, "device-1"); err != nil || n != 2 {
		t.Errorf("alice's failure count on PostgreSQL = %d, %v; want 2", n, err)
	}
	msgs, err := dst.app.store.ListMessages(ctx, store.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || !reflect.DeepEqual(msgs[0], pending) {
		t.Errorf("outbox on PostgreSQL = %+v, want only the message still to send %+v", msgs, pending)
	}

	factors, err := dst.app.store.ListFactors(ctx, alice.ID)
	if err != nil || len(factors) != len(want.Factors) {
		t.Fatalf("%d factors on PostgreSQL (%v), want %d", len(factors), err, len(want.Factors))
	}
	for _, w := range want.Factors {
		if i := slices.IndexFunc(factors, func(f *store.Factor) bool { return f.ID == w.ID }); i < 0 || !reflect.DeepEqual(factors[i], w) {
			t.Errorf("factor %s on PostgreSQL differs from SQLite's %+v", w.ID, *w)
		}
	}
	if len(factors) != 2 || factors[0].ID != totp.ID || !bytes.Equal(factors[0].Secret, secret) {
		t.Errorf("the authenticator app's secret on PostgreSQL is not the one stored on SQLite: %+v", factors)
	}
	if f, err := dst.app.store.FactorByHandle(ctx, store.FactorWebAuthn, "Y3JlZC0x"); err != nil || f.ID != key.ID || f.Counter != 7 {
		t.Errorf("passkey by handle on PostgreSQL = %+v, %v; want %s with counter 7", f, err, key.ID)
	}
	if err := dst.app.store.UseFactor(ctx, totp.ID, totp.Counter, time.Now()); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UseFactor with the step used on SQLite: err = %v, want ErrConflict", err)
	}
	if n, err := dst.app.store.RecoveryCodesLeft(ctx, alice.ID); err != nil || n != 3 {
		t.Errorf("alice's recovery codes on PostgreSQL = %d, %v; want 3", n, err)
	}
	if err := dst.app.store.UseRecoveryCode(ctx, alice.ID, "hash-2"); err != nil {
		t.Errorf("UseRecoveryCode of a code copied from SQLite: %v", err)
	}
	browsers, err := dst.app.store.ListRememberedBrowsers(ctx, alice.ID, time.Now())
	if err != nil || len(browsers) != 1 || !reflect.DeepEqual(browsers[0], want.Browsers[0]) {
		t.Errorf("remembered browsers on PostgreSQL = %+v, %v; want %+v", browsers, err, want.Browsers)
	}
	settings, err := dst.app.store.Settings(ctx)
	if err != nil || len(settings) != 1 || !reflect.DeepEqual(settings[0], setting) {
		t.Errorf("settings on PostgreSQL = %+v, %v; want [%+v]", settings, err, setting)
	}
	devices, err := dst.app.store.ListDevices(ctx, alice.ID)
	if err != nil || len(devices) != 1 || !reflect.DeepEqual(devices[0], approved) {
		t.Errorf("approved devices on PostgreSQL = %+v, %v; want [%+v]", devices, err, approved)
	}

	// Every token byte for byte, and the used one still detects a replay:
	// its family goes.
	if len(want.OAuthTokens) != 3 {
		t.Fatalf("%d tokens exported, want 3", len(want.OAuthTokens))
	}
	for _, w := range want.OAuthTokens {
		if g, err := dst.app.store.GetOAuthToken(ctx, w.ID); err != nil || !reflect.DeepEqual(g, w) {
			t.Errorf("token %s on PostgreSQL = %+v, %v; want %+v", w.ID, g, err, w)
		}
	}
	if g, err := dst.app.store.GetOAuthToken(ctx, "refresh-1"); err != nil || !bytes.Equal(g.Data, secret) || g.UsedAt.IsZero() {
		t.Errorf("the rotated token on PostgreSQL = %+v, %v; want its Data and UsedAt", g, err)
	}
	clients, err := dst.app.store.ListSessionClients(ctx, "sess-1")
	if err != nil || !reflect.DeepEqual(clients, want.SessionClients) {
		t.Errorf("session clients on PostgreSQL = %+v, %v; want %+v", clients, err, want.SessionClients)
	}
	if _, err := dst.app.store.RotateRefreshToken(ctx, "refresh-1", &store.OAuthToken{ID: "refresh-3", Kind: store.TokenRefresh,
		ClientID: "app-1", UserID: alice.ID, ExpiresAt: due}, time.Now()); !errors.Is(err, store.ErrTokenReused) {
		t.Errorf("RotateRefreshToken of the token rotated on SQLite: err = %v, want store.ErrTokenReused", err)
	}
	for _, id := range []string{"refresh-1", "refresh-2", "access-2"} {
		if _, err := dst.app.store.GetOAuthToken(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("token %s after the replay on PostgreSQL: err = %v, want store.ErrNotFound", id, err)
		}
	}
}

// TestCLIMigratePostgres checks that `ssogate migrate` migrates a
// configured PostgreSQL store, and refuses half-given copy flags.
func TestCLIMigratePostgres(t *testing.T) {
	pg := testpeers.Postgres(t)
	h := newHarness(t, onPostgres(pg.Database(t)))
	out, errOut, err := runCLI(t, "", "--config", h.configPath, "migrate")
	if err != nil || out != "store postgres is migrated (schema version 8)\n" {
		t.Fatalf("migrate: %v, stdout %q, stderr %q", err, out, errOut)
	}
	_, errOut, err = runCLI(t, "", "--config", h.configPath, "migrate", "--from", "sqlite:x.db")
	var code exitCode
	if !errors.As(err, &code) || code != 2 || !strings.Contains(errOut, "give both --from sqlite:PATH and --to postgres:DSN") {
		t.Errorf("migrate --from alone: err = %v, stderr %q; want exit 2 asking for both", err, errOut)
	}
}
