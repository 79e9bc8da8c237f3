package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// Shared is a pair of stores under test on the same database, as two
// gateway processes would open it.
type Shared struct {
	// A writes; B watches.
	A, B store.Store
	// Cut breaks B's feed the way a network or a server restart would (it
	// closes the feed's connection from the server's side); only
	// RunChangeFeed uses it.
	Cut func(t *testing.T)
}

// changeWait is how long a committed change may take to reach another
// process: the point of the feed is milliseconds, not the caches' TTL.
const changeWait = 100 * time.Millisecond

// RunChangeFeed checks the store.ChangeFeed contract: a change committed
// through one store reaches a watcher on another within 100 ms, a write
// that fails publishes nothing, and a cut feed says live(false), comes
// back by itself and says live(true), and then delivers again. open
// returns a new pair on a new, empty database for each call.
func RunChangeFeed(t *testing.T, open func(t *testing.T) Shared) {
	t.Run("Delivers", func(t *testing.T) {
		sh := open(t)
		w := watch(t, sh.B)
		w.waitLive(t, true, 10*time.Second)
		ctx := t.Context()

		u := createUser(t, sh.A, "a@example.com")
		createSession(t, sh.A, session("s1", u.ID, base))
		// Creating a user or a session revokes nothing.
		w.none(t)

		noErr(t, "DeleteSession", sh.A.DeleteSession(ctx, "s1"))
		w.want(t, store.Change{Kind: store.ChangeSession, ID: "s1"})

		u.DisplayName = "Edited"
		noErr(t, "UpdateUser", sh.A.UpdateUser(ctx, u))
		w.want(t, store.Change{Kind: store.ChangeUser, ID: u.ID})

		noErr(t, "SetPasswordHash", sh.A.SetPasswordHash(ctx, u.ID, "$argon2id$x"))
		w.want(t, store.Change{Kind: store.ChangeUser, ID: u.ID})

		createSession(t, sh.A, session("s2", u.ID, base))
		n, err := sh.A.DeleteUserSessions(ctx, u.ID)
		noErr(t, "DeleteUserSessions", err)
		if n != 1 {
			t.Errorf("DeleteUserSessions = %d, want 1", n)
		}
		w.want(t, store.Change{Kind: store.ChangeUser, ID: u.ID})

		addSigningKey(t, sh.A, signingKey("k1", base))
		w.want(t, store.Change{Kind: store.ChangeKeys})
		noErr(t, "RetireSigningKey", sh.A.RetireSigningKey(ctx, "k1", base.Add(time.Hour)))
		w.want(t, store.Change{Kind: store.ChangeKeys})
		noErr(t, "DeleteSigningKey", sh.A.DeleteSigningKey(ctx, "k1"))
		w.want(t, store.Change{Kind: store.ChangeKeys})

		// Writes that fail commit nothing and so publish nothing.
		missing := &store.User{ID: "missing", Email: "m@example.com"}
		wantErr(t, "UpdateUser of a missing user", sh.A.UpdateUser(ctx, missing), store.ErrNotFound)
		other := createUser(t, sh.A, "b@example.com")
		w.none(t)
		taken := *other
		taken.Email = "a@example.com"
		wantErr(t, "UpdateUser to a taken email", sh.A.UpdateUser(ctx, &taken), store.ErrConflict)
		addSigningKey(t, sh.A, signingKey("k2", base))
		w.want(t, store.Change{Kind: store.ChangeKeys})
		wantErr(t, "AddSigningKey with a taken id", sh.A.AddSigningKey(ctx, signingKey("k2", base)), store.ErrConflict)
		wantErr(t, "RetireSigningKey of a missing key", sh.A.RetireSigningKey(ctx, "nope", base), store.ErrNotFound)
		w.none(t)

		// The writer's own feed sees its changes too.
		own := watch(t, sh.A)
		own.waitLive(t, true, 10*time.Second)
		noErr(t, "DeleteSigningKey", sh.A.DeleteSigningKey(ctx, "k2"))
		own.want(t, store.Change{Kind: store.ChangeKeys})
		w.want(t, store.Change{Kind: store.ChangeKeys})
	})
	t.Run("Apply", func(t *testing.T) { runApplyChanges(t, open(t)) })
	t.Run("Reconnects", func(t *testing.T) {
		sh := open(t)
		w := watch(t, sh.B)
		w.waitLive(t, true, 10*time.Second)
		u := createUser(t, sh.A, "a@example.com")

		sh.Cut(t)
		w.waitLive(t, false, 10*time.Second)
		w.waitLive(t, true, 10*time.Second)

		noErr(t, "UpdateUser", sh.A.UpdateUser(t.Context(), u))
		w.want(t, store.Change{Kind: store.ChangeUser, ID: u.ID})
	})
	t.Run("EndsWithContext", func(t *testing.T) {
		sh := open(t)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		lives := make(chan bool, 16)
		go func() {
			done <- sh.B.(store.ChangeFeed).WatchChanges(ctx, func(store.Change) {}, func(up bool) { lives <- up })
		}()
		select {
		case up := <-lives:
			if !up {
				t.Fatalf("first live call = false, want true")
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no live(true) within 10 s")
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("WatchChanges after cancel = %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("WatchChanges did not return within 5 s of its ctx ending")
		}
	})
}

// RunApplyChanges checks what Accounts.Apply publishes on the change
// feed, for a backend that cannot run the whole of RunChangeFeed (one
// whose feed a test cannot cut): a change through one store reaches a
// watcher on the other within 100 ms. Shared.Cut is not used. open
// returns a new pair on a new, empty database.
func RunApplyChanges(t *testing.T, open func(t *testing.T) Shared) {
	runApplyChanges(t, open(t))
}

// runApplyChanges: Apply publishes what the single methods would
// (ChangeUser for User, Password and EndSessions, ChangeSession for each
// ended session), each distinct change once, and nothing for a batch that
// revokes nothing or fails.
func runApplyChanges(t *testing.T, sh Shared) {
	w := watch(t, sh.B)
	w.waitLive(t, true, 10*time.Second)
	a := accounts(t, sh.A)
	ctx := t.Context()
	u := createUser(t, sh.A, "a@example.com")
	other := createUser(t, sh.A, "b@example.com")
	for _, id := range []string{"s1", "s2", "s3"} {
		createSession(t, sh.A, session(id, u.ID, base))
	}
	createTicket(t, sh.A, accountTicket("r1", store.PurposePasswordReset, u.ID, base))
	w.none(t)

	// A password reset: one ChangeUser for the user, one ChangeSession for
	// each session it ended; the kept one is not reported.
	_, err := a.Apply(ctx, &store.Batch{
		Consume:     &store.TicketUse{Purpose: store.PurposePasswordReset, ID: "r1", Now: base},
		User:        u,
		Password:    &store.PasswordWrite{UserID: u.ID, Encoded: "$argon2id$new"},
		EndSessions: &store.SessionsEnd{UserID: u.ID, Keep: "s1"},
		Audit:       []*store.AuditEvent{{Time: base, Action: "password_reset", UserID: u.ID}},
	})
	noErr(t, "Apply", err)
	w.wantSet(t, store.Change{Kind: store.ChangeUser, ID: u.ID},
		store.Change{Kind: store.ChangeSession, ID: "s2"}, store.Change{Kind: store.ChangeSession, ID: "s3"})
	w.none(t)

	// Batches that revoke nothing publish nothing: mail, audit, tickets,
	// failure counts, and ending sessions when only the kept one is left.
	_, err = a.CountFailure(ctx, u.ID, "", base)
	noErr(t, "CountFailure", err)
	noErr(t, "Apply", nilTicket(a.Apply(ctx, &store.Batch{
		EndSessions:   &store.SessionsEnd{UserID: u.ID, Keep: "s1"},
		DropTickets:   &store.TicketsDrop{UserID: u.ID, Purposes: []string{store.PurposeUnlock}},
		ClearFailures: u.ID,
		Tickets:       []*store.Ticket{accountTicket("u1", store.PurposeUnlock, u.ID, base)},
		Messages:      []*store.Message{{Channel: store.ChannelMail, Template: "account_locked", To: u.Email}},
		Audit:         []*store.AuditEvent{{Time: base, Action: "lock", UserID: u.ID}},
	})))
	w.none(t)

	// A batch that fails publishes nothing, though it got as far as
	// changing the password and ending a session.
	_, err = a.Apply(ctx, &store.Batch{
		Password:    &store.PasswordWrite{UserID: other.ID, Encoded: "$argon2id$x"},
		EndSessions: &store.SessionsEnd{UserID: u.ID},
		Tickets:     []*store.Ticket{accountTicket("u1", store.PurposeUnlock, u.ID, base)},
	})
	wantErr(t, "Apply with a live ticket's id", err, store.ErrConflict)
	edited := *other
	edited.Email = u.Email
	_, err = a.Apply(ctx, &store.Batch{User: &edited})
	wantErr(t, "Apply with a taken email", err, store.ErrConflict)
	w.none(t)

	// Ending every session: the user, and the last session.
	noErr(t, "Apply", nilTicket(a.Apply(ctx, &store.Batch{EndSessions: &store.SessionsEnd{UserID: u.ID}})))
	w.wantSet(t, store.Change{Kind: store.ChangeUser, ID: u.ID}, store.Change{Kind: store.ChangeSession, ID: "s1"})
}

// nilTicket drops Apply's ticket, for a batch without Consume.
func nilTicket(_ *store.Ticket, err error) error { return err }

// watcher collects what a WatchChanges running until the test ends reports.
type watcher struct {
	changes chan store.Change
	lives   chan bool
}

func watch(t *testing.T, s store.Store) *watcher {
	t.Helper()
	feed, ok := s.(store.ChangeFeed)
	if !ok {
		t.Fatalf("%T does not implement store.ChangeFeed", s)
	}
	w := &watcher{changes: make(chan store.Change, 64), lives: make(chan bool, 64)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		feed.WatchChanges(ctx, func(c store.Change) { w.changes <- c }, func(up bool) { w.lives <- up })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// waitLive waits for the live call up, failing on the other one first.
func (w *watcher) waitLive(t *testing.T, up bool, within time.Duration) {
	t.Helper()
	select {
	case got := <-w.lives:
		if got != up {
			t.Fatalf("live(%v), want live(%v)", got, up)
		}
	case <-time.After(within):
		t.Fatalf("no live(%v) within %v", up, within)
	}
}

// want checks that the next change is c and arrives within changeWait.
func (w *watcher) want(t *testing.T, c store.Change) {
	t.Helper()
	start := time.Now()
	select {
	case got := <-w.changes:
		if got != c {
			t.Fatalf("change = %+v, want %+v", got, c)
		}
	case <-time.After(changeWait):
		t.Fatalf("change %+v did not arrive within %v", c, changeWait)
	}
	if d := time.Since(start); d > changeWait {
		t.Errorf("change %+v took %v", c, d)
	}
}

// wantSet checks that the next changes are cs, in any order, all arriving
// within changeWait.
func (w *watcher) wantSet(t *testing.T, cs ...store.Change) {
	t.Helper()
	want := map[store.Change]int{}
	for _, c := range cs {
		want[c]++
	}
	deadline := time.After(changeWait)
	for range cs {
		select {
		case got := <-w.changes:
			if want[got] == 0 {
				t.Fatalf("change = %+v, want one of %+v", got, cs)
			}
			want[got]--
		case <-deadline:
			t.Fatalf("changes %+v did not all arrive within %v (missing %+v)", cs, changeWait, want)
		}
	}
}

// none checks that no change arrives for a while (a committed change
// arrives within changeWait, so twice that is enough to notice one).
func (w *watcher) none(t *testing.T) {
	t.Helper()
	select {
	case got := <-w.changes:
		t.Fatalf("unexpected change %+v", got)
	case <-time.After(2 * changeWait):
	}
}
