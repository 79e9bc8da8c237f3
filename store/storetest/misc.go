package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

var secretTests = []test{
	{"GenerateOnce", func(t *testing.T, s store.Store) {
		var calls int
		gen := func() ([]byte, error) {
			calls++
			return []byte("first-value-0123456789abcdef"), nil
		}
		v1, err := s.Secret(t.Context(), "cookie-hash-key", gen)
		noErr(t, "Secret first", err)
		if calls != 1 {
			t.Errorf("generate called %d times on first use, want 1", calls)
		}
		v2, err := s.Secret(t.Context(), "cookie-hash-key", func() ([]byte, error) {
			t.Error("generate called for an existing secret")
			return []byte("second-value"), nil
		})
		noErr(t, "Secret second", err)
		if !bytes.Equal(v1, v2) || !bytes.Equal(v1, []byte("first-value-0123456789abcdef")) {
			t.Errorf("Secret = %q then %q, want the first value twice", v1, v2)
		}

		other, err := s.Secret(t.Context(), "cookie-block-key", func() ([]byte, error) { return []byte("other"), nil })
		noErr(t, "Secret other name", err)
		if string(other) != "other" {
			t.Errorf("Secret for another name = %q, want its own value", other)
		}
	}},
	{"BinaryValue", func(t *testing.T, s store.Store) {
		want := make([]byte, 256)
		for i := range want {
			want[i] = byte(i)
		}
		got, err := s.Secret(t.Context(), "bin", func() ([]byte, error) { return want, nil })
		noErr(t, "Secret", err)
		again, err := s.Secret(t.Context(), "bin", func() ([]byte, error) { return nil, errors.New("not again") })
		noErr(t, "Secret again", err)
		if !bytes.Equal(got, want) || !bytes.Equal(again, want) {
			t.Errorf("binary secret did not round-trip: %x / %x", got, again)
		}
	}},
	{"GenerateError", func(t *testing.T, s store.Store) {
		boom := errors.New("entropy exhausted")
		_, err := s.Secret(t.Context(), "k", func() ([]byte, error) { return nil, boom })
		wantErr(t, "Secret with failing generate", err, boom)
		v, err := s.Secret(t.Context(), "k", func() ([]byte, error) { return []byte("ok"), nil })
		noErr(t, "Secret after a failed generate", err)
		if string(v) != "ok" {
			t.Errorf("Secret = %q, want ok (nothing stored by the failed call)", v)
		}
	}},
	{"Concurrent", func(t *testing.T, s store.Store) {
		const n = 20
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			counter atomic.Int64
			all     = make(chan struct{}) // closed when every caller is in generate
			values  = make([][]byte, n)
			errs    = make([]error, n)
		)
		// generate holds each caller until all are generating at once, so
		// a backend that lets callers race really races on the insert. One
		// that serialises them only ever has one caller here: the timeout
		// lets it through.
		generate := func() ([]byte, error) {
			c := counter.Add(1)
			if c == n {
				close(all)
			}
			select {
			case <-all:
			case <-time.After(100 * time.Millisecond):
			}
			return fmt.Appendf(nil, "value-%d", c), nil
		}
		for i := range n {
			wg.Go(func() {
				<-start
				values[i], errs[i] = s.Secret(t.Context(), "shared", generate)
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			noErr(t, fmt.Sprintf("Secret in goroutine %d", i), errs[i])
			if !bytes.Equal(values[i], values[0]) {
				t.Errorf("goroutine %d got %q, goroutine 0 got %q", i, values[i], values[0])
			}
		}
		final, err := s.Secret(t.Context(), "shared", func() ([]byte, error) { return []byte("late"), nil })
		noErr(t, "Secret after the race", err)
		if !bytes.Equal(final, values[0]) {
			t.Errorf("Secret after the race = %q, want %q", final, values[0])
		}
	}},
}

var miscTests = []test{
	{"Ping", func(t *testing.T, s store.Store) {
		noErr(t, "Ping", s.Ping(t.Context()))
	}},
	{"ConcurrentWrites", func(t *testing.T, s store.Store) {
		const n = 16
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				ctx := t.Context()
				u := &store.User{Email: fmt.Sprintf("user%d@example.com", i)}
				if errs[i] = s.CreateUser(ctx, u); errs[i] != nil {
					return
				}
				if errs[i] = s.CreateSession(ctx, session(fmt.Sprintf("s%d", i), u.ID, base)); errs[i] != nil {
					return
				}
				if errs[i] = s.RecordLogin(ctx, u.ID, base); errs[i] != nil {
					return
				}
				errs[i] = s.AppendAudit(ctx, &store.AuditEvent{Time: base, Action: "login", UserID: u.ID, Outcome: store.OutcomeSuccess})
			})
		}
		wg.Wait()
		for i, err := range errs {
			noErr(t, fmt.Sprintf("writer %d", i), err)
		}
		users, err := s.ListUsers(t.Context())
		noErr(t, "ListUsers", err)
		events, err := s.ListAudit(t.Context(), store.AuditFilter{})
		noErr(t, "ListAudit", err)
		if len(users) != n || len(events) != n {
			t.Errorf("%d users and %d events after %d writers, want %d each", len(users), len(events), n, n)
		}
	}},
	{"CancelledContext", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		createSession(t, s, session("s1", u.ID, base))
		noErr(t, "SetPasswordHash", s.SetPasswordHash(t.Context(), u.ID, "$argon2id$x"))
		_, err := s.Secret(t.Context(), "k", func() ([]byte, error) { return []byte("v"), nil })
		noErr(t, "Secret", err)
		addSigningKey(t, s, signingKey("k1", base))
		linkIdentity(t, s, identity("google", "sub-1", u.ID, base))
		createTicket(t, s, ticket("t1", "reset", base))

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		gen := func() ([]byte, error) { return []byte("v"), nil }
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"CreateUser", func() error { return s.CreateUser(ctx, &store.User{Email: "b@example.com"}) }},
			{"GetUser", func() error { _, err := s.GetUser(ctx, u.ID); return err }},
			{"GetUserByEmail", func() error { _, err := s.GetUserByEmail(ctx, u.Email); return err }},
			{"ListUsers", func() error { _, err := s.ListUsers(ctx); return err }},
			{"UpdateUser", func() error { return s.UpdateUser(ctx, u) }},
			{"RecordLogin", func() error { return s.RecordLogin(ctx, u.ID, base) }},
			{"SetPasswordHash", func() error { return s.SetPasswordHash(ctx, u.ID, "$argon2id$y") }},
			{"PasswordHash", func() error { _, err := s.PasswordHash(ctx, u.ID); return err }},
			{"CreateSession", func() error { return s.CreateSession(ctx, session("s2", u.ID, base)) }},
			{"GetSession", func() error { _, err := s.GetSession(ctx, "s1"); return err }},
			{"TouchSession", func() error { return s.TouchSession(ctx, "s1", base, base.Add(time.Hour)) }},
			{"DeleteSession", func() error { return s.DeleteSession(ctx, "s1") }},
			{"ListUserSessions", func() error { _, err := s.ListUserSessions(ctx, u.ID); return err }},
			{"DeleteUserSessions", func() error { _, err := s.DeleteUserSessions(ctx, u.ID); return err }},
			{"DeleteExpiredSessions", func() error { _, err := s.DeleteExpiredSessions(ctx, base.Add(24*time.Hour)); return err }},
			{"AppendAudit", func() error { return s.AppendAudit(ctx, &store.AuditEvent{Action: "login"}) }},
			{"ListAudit", func() error { _, err := s.ListAudit(ctx, store.AuditFilter{}); return err }},
			{"Secret existing", func() error { _, err := s.Secret(ctx, "k", gen); return err }},
			{"Secret new", func() error { _, err := s.Secret(ctx, "new", gen); return err }},
			{"AddSigningKey", func() error { return s.AddSigningKey(ctx, signingKey("k2", base)) }},
			{"ListSigningKeys", func() error { _, err := s.ListSigningKeys(ctx); return err }},
			{"RetireSigningKey", func() error { return s.RetireSigningKey(ctx, "k1", base) }},
			{"DeleteSigningKey", func() error { return s.DeleteSigningKey(ctx, "k1") }},
			{"LinkIdentity", func() error { return s.LinkIdentity(ctx, identity("google", "sub-2", u.ID, base)) }},
			{"UserByIdentity", func() error { _, err := s.UserByIdentity(ctx, "google", "sub-1"); return err }},
			{"TouchIdentity", func() error { return s.TouchIdentity(ctx, "google", "sub-1", base) }},
			{"ListUserIdentities", func() error { _, err := s.ListUserIdentities(ctx, u.ID); return err }},
			{"UnlinkIdentity", func() error { return s.UnlinkIdentity(ctx, "google", "sub-1") }},
			{"CreateTicket", func() error { return s.CreateTicket(ctx, ticket("t2", "reset", base)) }},
			{"ConsumeTicket", func() error { _, err := s.ConsumeTicket(ctx, "reset", "t1", base); return err }},
			{"DeleteExpiredTickets", func() error { _, err := s.DeleteExpiredTickets(ctx, base.Add(24*time.Hour)); return err }},
			{"SearchUsers", func() error { _, err := s.SearchUsers(ctx, store.UserQuery{Text: "a"}); return err }},
			{"DeleteUser", func() error { return s.DeleteUser(ctx, u.ID) }},
			{"Settings", func() error { _, err := s.Settings(ctx); return err }},
			{"SetSetting", func() error { return s.SetSetting(ctx, &store.Setting{Key: "k", Value: "v"}) }},
			{"ListTickets", func() error { _, err := s.ListTickets(ctx, "reset", base); return err }},
			{"DeleteTickets", func() error { _, err := s.DeleteTickets(ctx, "reset", u.ID); return err }},
			{"AddDevice", func() error { return s.AddDevice(ctx, device("d1", u.ID, base, base)) }},
			{"UseDevice", func() error { return s.UseDevice(ctx, "d1", u.ID, base) }},
			{"ListDevices", func() error { _, err := s.ListDevices(ctx, u.ID); return err }},
			{"DeleteDevice", func() error { return s.DeleteDevice(ctx, u.ID, "d1") }},
			{"Ping", func() error { return s.Ping(ctx) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, tc.name, tc.call(), context.Canceled)
			})
		}

		// Nothing the cancelled calls attempted happened.
		if _, err := s.GetUserByEmail(t.Context(), "b@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("CreateUser with a cancelled context stored a user (err = %v)", err)
		}
		getSession(t, s, "s1")
		if got, _ := s.PasswordHash(t.Context(), u.ID); got != "$argon2id$x" {
			t.Errorf("SetPasswordHash with a cancelled context changed the hash to %q", got)
		}
		if got := signingKeyIDs(listSigningKeys(t, s)); !equalStrings(got, []string{"k1"}) {
			t.Errorf("signing keys after cancelled calls = %q, want [k1]", got)
		}
		if got := findSigningKey(t, s, "k1").RetiredAt; !got.IsZero() {
			t.Errorf("RetireSigningKey with a cancelled context retired the key at %v", got)
		}
		if got := identityKeys(listUserIdentities(t, s, u.ID)); !equalStrings(got, []string{"google/sub-1"}) {
			t.Errorf("links after cancelled calls = %q, want [google/sub-1]", got)
		} else if got := listUserIdentities(t, s, u.ID)[0].LastUsedAt; !got.IsZero() {
			t.Errorf("TouchIdentity with a cancelled context set LastUsedAt to %v", got)
		}
		noTicket(t, s, "reset", "t2", base)
		consumeTicket(t, s, "reset", "t1", base)
		if list, err := s.Settings(t.Context()); err != nil || len(list) != 0 {
			t.Errorf("Settings after a cancelled SetSetting = %d, %v; want none", len(list), err)
		}
		if list := listDevices(t, s, u.ID); len(list) != 0 {
			t.Errorf("devices after a cancelled AddDevice = %q, want none", deviceIDs(list))
		}
	}},
}
