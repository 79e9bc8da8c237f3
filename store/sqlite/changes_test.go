package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/storetest"
)

// TestChangeFeedAcrossProcesses opens the same file twice, as two gateway
// processes (or the CLI beside a gateway) would: a revocation committed
// through one reaches the other's watcher within 100 ms, and writes that
// revoke nothing or fail publish nothing.
func TestChangeFeedAcrossProcesses(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ssogate.db")
	a, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	changes, lives := make(chan store.Change, 64), make(chan bool, 8)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- b.WatchChanges(wctx, func(c store.Change) { changes <- c }, func(up bool) { lives <- up })
	}()
	select {
	case up := <-lives:
		if !up {
			t.Fatal("first live call = false, want true")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no live(true) within 5 s")
	}
	want := func(c store.Change) {
		t.Helper()
		select {
		case got := <-changes:
			if got != c {
				t.Fatalf("change = %+v, want %+v", got, c)
			}
		case <-time.After(100*time.Millisecond + changePoll):
			t.Fatalf("change %+v not seen within 100 ms", c)
		}
	}
	none := func() {
		t.Helper()
		select {
		case got := <-changes:
			t.Fatalf("unexpected change %+v", got)
		case <-time.After(3 * changePoll):
		}
	}

	now := time.Now().UTC().Truncate(time.Millisecond)
	u := &store.User{Email: "a@example.com", Status: store.StatusActive}
	if err := a.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	s := &store.Session{ID: "s1", UserID: u.ID, CreatedAt: now, IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(time.Hour)}
	if err := a.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	none() // creating revokes nothing

	if err := a.DeleteSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	want(store.Change{Kind: store.ChangeSession, ID: "s1"})
	if err := a.DeleteSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	none() // nothing was deleted

	u.DisplayName = "Edited"
	if err := a.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	want(store.Change{Kind: store.ChangeUser, ID: u.ID})
	if err := a.SetPasswordHash(ctx, u.ID, "$argon2id$x"); err != nil {
		t.Fatal(err)
	}
	want(store.Change{Kind: store.ChangeUser, ID: u.ID})
	s.ID = "s2"
	if err := a.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if n, err := a.DeleteUserSessions(ctx, u.ID); err != nil || n != 1 {
		t.Fatalf("DeleteUserSessions = %d, %v; want 1", n, err)
	}
	want(store.Change{Kind: store.ChangeUser, ID: u.ID})

	k := &store.SigningKey{ID: "k1", Algorithm: "ES256", Private: []byte{1}, Public: []byte{2}, CreatedAt: now, ActiveAt: now}
	if err := a.AddSigningKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	want(store.Change{Kind: store.ChangeKeys})
	if err := a.RetireSigningKey(ctx, "k1", now); err != nil {
		t.Fatal(err)
	}
	want(store.Change{Kind: store.ChangeKeys})
	if err := a.DeleteSigningKey(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	want(store.Change{Kind: store.ChangeKeys})

	// Failed writes commit nothing and so publish nothing.
	other := &store.User{Email: "b@example.com"}
	if err := a.CreateUser(ctx, other); err != nil {
		t.Fatal(err)
	}
	other.Email = "a@example.com"
	if err := a.UpdateUser(ctx, other); err == nil {
		t.Fatal("UpdateUser to a taken email succeeded")
	}
	if err := a.UpdateUser(ctx, &store.User{ID: "missing", Email: "m@example.com"}); err == nil {
		t.Fatal("UpdateUser of a missing user succeeded")
	}
	none()

	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Errorf("WatchChanges after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WatchChanges did not return after its context ended")
	}
}

// TestApplyChanges runs the Apply half of the change feed suite on two
// stores opened on one file.
func TestApplyChanges(t *testing.T) {
	storetest.RunApplyChanges(t, func(t *testing.T) storetest.Shared {
		path := filepath.Join(t.TempDir(), "ssogate.db")
		a, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { a.Close() })
		b, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { b.Close() })
		return storetest.Shared{A: a, B: b}
	})
}

// TestAdminChanges runs what the Admin methods publish on the change feed
// on two stores opened on one file.
func TestAdminChanges(t *testing.T) {
	storetest.RunAdminChanges(t, func(t *testing.T) storetest.Shared {
		path := filepath.Join(t.TempDir(), "ssogate.db")
		a, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { a.Close() })
		b, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { b.Close() })
		return storetest.Shared{A: a, B: b}
	})
}
