package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// Faulty is a store under test whose storage a test can take away and give
// back, as a disk runs full and is cleaned up.
type Faulty struct {
	Store store.Store
	// Fill makes the storage refuse every further write (a full disk);
	// Free gives the space back.
	Fill, Free func(t *testing.T)
}

// pingWait bounds how long the suite waits for Ping to notice a change:
// the interface lets Ping reuse its answer for about two seconds.
const pingWait = 5 * time.Second

// RunUnavailable checks the contract for a backend that cannot write: Ping
// and every write fail with an error wrapping store.ErrUnavailable and
// change nothing, reads go on working, and once the space is back both
// work again. open returns a new, empty store for each call.
func RunUnavailable(t *testing.T, open func(t *testing.T) Faulty) {
	t.Run("Ping", func(t *testing.T) {
		f := open(t)
		noErr(t, "Ping", f.Store.Ping(t.Context()))
		f.Fill(t)
		if err := waitPing(t, f.Store, true); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Ping on a full disk: err = %v, want store.ErrUnavailable", err)
		}
		f.Free(t)
		if err := waitPing(t, f.Store, false); err != nil {
			t.Fatalf("Ping after space was freed: %v", err)
		}
	})
	t.Run("Writes", func(t *testing.T) {
		f := open(t)
		s := f.Store
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		createSession(t, s, session("s1", u.ID, base))
		createTicket(t, s, ticket("t1", "reset", base))
		addSigningKey(t, s, signingKey("k1", base))
		appendAudit(t, s, &store.AuditEvent{Time: base, Action: "login", UserID: u.ID, Outcome: store.OutcomeSuccess})
		createTicket(t, s, accountTicket("a1", store.PurposeUnlock, u.ID, base))
		_, err := s.CountFailure(ctx, u.ID, "", base)
		noErr(t, "CountFailure", err)
		hit(t, s, "old", base, time.Minute, 1, base.Add(time.Minute))
		for _, id := range []string{"m1", "m2", "m3"} {
			enqueue(t, s, message(id, u.ID, base))
		}
		claim(t, s, "w", base, 2*time.Hour, 3)
		enqueue(t, s, message("m4", u.ID, base))
		u2 := createUser(t, s, "c@example.com")
		f1, f2 := factor(u.ID, base), passkey(u.ID, "cred-1", base)
		addFactor(t, s, f1)
		addFactor(t, s, f2)
		addFactor(t, s, factor(u2.ID, base))
		noErr(t, "SetRecoveryCodes", s.SetRecoveryCodes(ctx, u.ID, []string{"h1"}))
		rememberBrowser(t, s, browser("b1", u.ID, base, base.Add(time.Hour)))
		rememberBrowser(t, s, browser("b3", u.ID, base, base.Add(time.Hour)))
		rememberBrowser(t, s, browser("b4", u.ID, base, base))
		u3 := createUser(t, s, "d@example.com")
		noErr(t, "AddDevice", s.AddDevice(ctx, device("d1", u.ID, base, base)))
		noErr(t, "AddDevice", s.AddDevice(ctx, device("d2", u.ID, base, base)))
		createTicket(t, s, &store.Ticket{ID: "i1", Purpose: store.PurposeInvitation, UserID: u3.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)})
		r1 := oauthToken("r1", store.TokenRefresh, "f1", u.ID, base)
		createOAuthToken(t, s, r1)
		createOAuthToken(t, s, oauthToken("o1", store.TokenAccess, "f1", u.ID, base))
		soon := oauthToken("x1", store.TokenAccess, "f2", u.ID, base)
		soon.ExpiresAt = base.Add(time.Minute)
		createOAuthToken(t, s, soon)
		addSessionClient(t, s, sessionClient("s1", store.ProtocolOIDC, "app-1", u.ID, base))
		brief := sessionClient("s9", store.ProtocolSAML, "app-1", u.ID, base)
		brief.ExpiresAt = base.Add(time.Minute)
		addSessionClient(t, s, brief)

		f.Fill(t)
		gen := func() ([]byte, error) { return []byte("v"), nil }
		edited := *u
		edited.DisplayName = "Edited"
		writes := []struct {
			name string
			call func() error
		}{
			{"CreateUser", func() error { return s.CreateUser(ctx, &store.User{Email: "b@example.com"}) }},
			{"UpdateUser", func() error { return s.UpdateUser(ctx, &edited) }},
			{"RecordLogin", func() error { return s.RecordLogin(ctx, u.ID, base) }},
			{"SetPasswordHash", func() error { return s.SetPasswordHash(ctx, u.ID, "$argon2id$y") }},
			{"CreateSession", func() error { return s.CreateSession(ctx, session("s2", u.ID, base)) }},
			{"TouchSession", func() error { return s.TouchSession(ctx, "s1", base.Add(time.Minute), base.Add(time.Hour)) }},
			{"TouchSessions", func() error {
				_, err := s.TouchSessions(ctx, []store.SessionTouch{{ID: "s1", Seen: base.Add(time.Minute), Idle: base.Add(time.Hour)}})
				return err
			}},
			{"DeleteSession", func() error { return s.DeleteSession(ctx, "s1") }},
			{"AppendAudit", func() error {
				return s.AppendAudit(ctx, &store.AuditEvent{Time: base, Action: "logout", Outcome: store.OutcomeSuccess})
			}},
			{"Secret new", func() error { _, err := s.Secret(ctx, "new", gen); return err }},
			{"AddSigningKey", func() error { return s.AddSigningKey(ctx, signingKey("k2", base)) }},
			{"RetireSigningKey", func() error { return s.RetireSigningKey(ctx, "k1", base) }},
			{"LinkIdentity", func() error { return s.LinkIdentity(ctx, identity("google", "sub-1", u.ID, base)) }},
			{"CreateTicket", func() error { return s.CreateTicket(ctx, ticket("t2", "reset", base)) }},
			{"ConsumeTicket", func() error { _, err := s.ConsumeTicket(ctx, "reset", "t1", base); return err }},
			{"Apply", func() error {
				_, err := s.Apply(ctx, &store.Batch{
					Consume:       &store.TicketUse{Purpose: store.PurposeUnlock, ID: "a1", Now: base},
					User:          &edited,
					ClearFailures: u.ID,
					Messages:      []*store.Message{{Channel: store.ChannelMail, Template: "unlocked", To: u.Email}},
					Audit:         []*store.AuditEvent{{Time: base, Action: "unlock", UserID: u.ID}},
				})
				return err
			}},
			{"CountFailure", func() error { _, err := s.CountFailure(ctx, u.ID, "", base); return err }},
			{"ClearFailure", func() error { return s.ClearFailure(ctx, u.ID, "") }},
			{"Hit", func() error { _, _, err := s.Hit(ctx, "k", base, time.Minute); return err }},
			{"DeleteExpiredHits", func() error { _, err := s.DeleteExpiredHits(ctx, base.Add(time.Hour)); return err }},
			{"EnqueueMessage", func() error {
				return s.EnqueueMessage(ctx, &store.Message{Channel: store.ChannelMail, Template: "mail_test", To: u.Email})
			}},
			{"ClaimMessages", func() error { _, err := s.ClaimMessages(ctx, "w2", base.Add(time.Hour), time.Minute, 10); return err }},
			{"MessageSent", func() error { return s.MessageSent(ctx, "m1", "w", base) }},
			{"MessageFailed", func() error { return s.MessageFailed(ctx, "m2", "w", "x", base, base.Add(time.Minute), false) }},
			{"AddFactor", func() error { return s.AddFactor(ctx, factor(u.ID, base)) }},
			{"UseFactor", func() error { return s.UseFactor(ctx, f1.ID, 5, base) }},
			{"RenameFactor", func() error { return s.RenameFactor(ctx, u.ID, f1.ID, "renamed") }},
			{"DeleteFactor", func() error { return s.DeleteFactor(ctx, u.ID, f2.ID) }},
			{"UseRecoveryCode", func() error { return s.UseRecoveryCode(ctx, u.ID, "h1") }},
			{"SetRecoveryCodes", func() error { return s.SetRecoveryCodes(ctx, u.ID, []string{"h2", "h3"}) }},
			{"RememberBrowser", func() error { return s.RememberBrowser(ctx, browser("b2", u.ID, base, base.Add(time.Hour))) }},
			{"UseRememberedBrowser", func() error { return s.UseRememberedBrowser(ctx, "b1", u.ID, base.Add(time.Minute), time.Hour) }},
			{"ForgetBrowser", func() error { return s.ForgetBrowser(ctx, u.ID, "b3") }},
			{"DeleteExpiredBrowsers", func() error { _, err := s.DeleteExpiredBrowsers(ctx, base.Add(time.Minute)); return err }},
			{"ResetTwoStep", func() error { return s.ResetTwoStep(ctx, u2.ID) }},
			{"DeleteUser", func() error { return s.DeleteUser(ctx, u3.ID) }},
			{"SetSetting", func() error {
				return s.SetSetting(ctx, &store.Setting{Key: store.SettingAccessRoute, Value: "line_only"})
			}},
			{"DeleteTickets", func() error { _, err := s.DeleteTickets(ctx, store.PurposeInvitation, u3.ID); return err }},
			{"AddDevice", func() error { return s.AddDevice(ctx, device("d3", u.ID, base, base)) }},
			{"UseDevice", func() error { return s.UseDevice(ctx, "d1", u.ID, base.Add(time.Minute)) }},
			{"DeleteDevice", func() error { return s.DeleteDevice(ctx, u.ID, "d2") }},
			{"CreateOAuthToken", func() error {
				return s.CreateOAuthToken(ctx, oauthToken("o2", store.TokenAccess, "f1", u.ID, base))
			}},
			{"RotateRefreshToken", func() error {
				_, err := s.RotateRefreshToken(ctx, "r1", oauthToken("r2", store.TokenRefresh, "", u.ID, base), base)
				return err
			}},
			{"DeleteOAuthTokens", func() error {
				_, err := s.DeleteOAuthTokens(ctx, store.OAuthTokenFilter{ID: "o1"})
				return err
			}},
			{"DeleteExpiredOAuthTokens", func() error {
				_, err := s.DeleteExpiredOAuthTokens(ctx, base.Add(2*time.Minute))
				return err
			}},
			{"AddSessionClient", func() error {
				return s.AddSessionClient(ctx, sessionClient("s1", store.ProtocolSAML, "app-2", u.ID, base))
			}},
			{"DeleteSessionClients", func() error { return s.DeleteSessionClients(ctx, "s1") }},
			{"DeleteExpiredSessionClients", func() error {
				_, err := s.DeleteExpiredSessionClients(ctx, base.Add(2*time.Minute))
				return err
			}},
		}
		for _, w := range writes {
			if err := w.call(); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s on a full disk: err = %v, want store.ErrUnavailable", w.name, err)
			}
		}

		// Reads still answer, and show none of the failed writes.
		if got := getUser(t, s, u.ID); got.DisplayName != u.DisplayName || !got.LastLoginAt.IsZero() {
			t.Errorf("user after failed writes = %+v, want it unchanged", got)
		}
		if _, err := s.GetUserByEmail(ctx, "b@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetUserByEmail of the user that could not be created: err = %v, want ErrNotFound", err)
		}
		if got := getSession(t, s, "s1"); !got.LastSeenAt.Equal(base.Truncate(time.Millisecond)) {
			t.Errorf("session LastSeenAt = %v after a failed touch, want %v", got.LastSeenAt, base)
		}
		events, err := s.ListAudit(ctx, store.AuditFilter{})
		noErr(t, "ListAudit", err)
		if len(events) != 1 {
			t.Errorf("%d audit events after a failed append, want 1", len(events))
		}
		if got := signingKeyIDs(listSigningKeys(t, s)); !equalStrings(got, []string{"k1"}) {
			t.Errorf("signing keys after failed writes = %q, want [k1]", got)
		}
		if n := failures(t, s, u.ID, ""); n != 1 {
			t.Errorf("Failures after failed writes = %d, want 1", n)
		}
		hitCount(t, s, "k", base, 0, time.Time{})
		msgs := listMessages(t, s, store.MessageFilter{})
		if len(msgs) != 4 {
			t.Errorf("%d messages after failed writes, want 4", len(msgs))
		}
		for _, m := range msgs {
			if !m.SentAt.IsZero() || m.Attempts != 0 {
				t.Errorf("message %s after failed writes: sent %v, attempts %d; want untouched", m.ID, m.SentAt, m.Attempts)
			}
		}
		checkFactor(t, findFactor(t, s, u.ID, f1.ID), f1)
		if got := factorIDs(listFactors(t, s, u.ID)); len(got) != 2 {
			t.Errorf("factors after failed writes = %q, want the 2 added before", got)
		}
		if n := codesLeft(t, s, u.ID); n != 1 {
			t.Errorf("RecoveryCodesLeft after failed writes = %d, want 1", n)
		}
		if got := browserIDs(listBrowsers(t, s, u.ID, base.Add(-time.Minute))); !equalStrings(got, []string{"b1", "b3", "b4"}) {
			t.Errorf("browsers after failed writes = %q, want [b1 b3 b4]", got)
		} else if got := listBrowsers(t, s, u.ID, base)[0]; !got.LastUsedAt.Equal(base.Truncate(time.Millisecond)) {
			t.Errorf("browser b1 LastUsedAt = %v after a failed use, want %v", got.LastUsedAt, base)
		}
		if n := len(listFactors(t, s, u2.ID)); n != 1 {
			t.Errorf("%d factors of the second user after a failed reset, want 1", n)
		}
		getUser(t, s, u3.ID)
		if page := searchUsers(t, s, store.UserQuery{Text: "example"}); page.Total != 3 {
			t.Errorf("SearchUsers after failed writes: Total %d, want 3", page.Total)
		}
		if list, err := s.Settings(ctx); err != nil || len(list) != 0 {
			t.Errorf("Settings after a failed SetSetting = %d, %v; want none", len(list), err)
		}
		if list, err := s.ListTickets(ctx, store.PurposeInvitation, base); err != nil || len(list) != 1 {
			t.Errorf("invitations after failed writes = %d, %v; want 1", len(list), err)
		}
		if got := listDevices(t, s, u.ID); !equalStrings(deviceIDs(got), []string{"d1", "d2"}) {
			t.Errorf("devices after failed writes = %q, want [d1 d2]", deviceIDs(got))
		} else {
			sameTime(t, "device d1 LastUsedAt after a failed use", got[0].LastUsedAt, base)
		}
		if got := tokensLeft(t, s, []string{"r1", "o1", "x1", "o2", "r2"}); !equalStrings(got, []string{"r1", "o1", "x1"}) {
			t.Errorf("tokens after failed writes = %q, want [r1 o1 x1]", got)
		}
		checkOAuthToken(t, getOAuthToken(t, s, "r1"), r1)
		if got := sessionClientKeys(listSessionClients(t, s, "s1")); !equalStrings(got, []string{"oidc/app-1"}) {
			t.Errorf("session clients after failed writes = %q, want [oidc/app-1]", got)
		}
		if got := len(listSessionClients(t, s, "s9")); got != 1 {
			t.Errorf("%d expired session clients after a failed sweep, want 1", got)
		}

		f.Free(t)
		for _, w := range writes {
			noErr(t, w.name+" after space was freed", w.call())
		}
		noTicket(t, s, "reset", "t1", base)
	})
}

// waitPing calls Ping until it fails (fail) or succeeds (!fail), for at
// most pingWait, and returns its last answer.
func waitPing(t *testing.T, s store.Store, fail bool) error {
	t.Helper()
	deadline := time.Now().Add(pingWait)
	for {
		err := s.Ping(t.Context())
		if (err != nil) == fail || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
