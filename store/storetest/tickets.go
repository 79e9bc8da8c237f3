package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// ticket returns a ticket created at created that expires ten minutes
// later, with binary Data.
func ticket(id, purpose string, created time.Time) *store.Ticket {
	return &store.Ticket{
		ID:        id,
		Purpose:   purpose,
		UserID:    "0123456789abcdef0123456789abcdef",
		Data:      append([]byte{0x00, 0xff, 0x7f, 0x80}, id...),
		CreatedAt: created,
		ExpiresAt: created.Add(10 * time.Minute),
	}
}

// checkTicket compares got with want: times with sameTime, bytes exactly.
func checkTicket(t *testing.T, got, want *store.Ticket) {
	t.Helper()
	if got.ID != want.ID || got.Purpose != want.Purpose || got.UserID != want.UserID {
		t.Errorf("ticket = %q/%q/%q, want %q/%q/%q", got.ID, got.Purpose, got.UserID, want.ID, want.Purpose, want.UserID)
	}
	if !bytes.Equal(got.Data, want.Data) {
		t.Errorf("ticket %s Data = %x, want %x", want.ID, got.Data, want.Data)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

func createTicket(t *testing.T, s store.Store, tk *store.Ticket) {
	t.Helper()
	noErr(t, "CreateTicket "+tk.ID, s.CreateTicket(t.Context(), tk))
}

func consumeTicket(t *testing.T, s store.Store, purpose, id string, now time.Time) *store.Ticket {
	t.Helper()
	tk, err := s.ConsumeTicket(t.Context(), purpose, id, now)
	noErr(t, "ConsumeTicket "+purpose+" "+id, err)
	return tk
}

func noTicket(t *testing.T, s store.Store, purpose, id string, now time.Time) {
	t.Helper()
	_, err := s.ConsumeTicket(t.Context(), purpose, id, now)
	wantErr(t, "ConsumeTicket "+purpose+" "+id, err, store.ErrNotFound)
}

var ticketTests = []test{
	{"RoundTrip", func(t *testing.T, s store.Store) {
		data := make([]byte, 512)
		for i := range data {
			data[i] = byte(i * 7) // every byte value, 0x00 included
		}
		want := &store.Ticket{
			ID:        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Purpose:   "oidc_state",
			UserID:    "0123456789abcdef0123456789abcdef",
			Data:      data,
			CreatedAt: base,
			ExpiresAt: base.Add(10 * time.Minute),
		}
		createTicket(t, s, want)
		want.Data = bytes.Clone(data)
		data[0] = ^data[0] // the store keeps its own copy
		got := consumeTicket(t, s, "oidc_state", want.ID, base.Add(time.Minute))
		checkTicket(t, got, want)
	}},
	{"EmptyFields", func(t *testing.T, s store.Store) {
		for _, tc := range []struct {
			name string
			data []byte
		}{
			{"nil", nil},
			{"empty", []byte{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// No user (an invitation before the account exists) and
				// no data: Data comes back nil, UserID empty.
				tk := &store.Ticket{ID: tc.name, Purpose: "invite", Data: tc.data,
					CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
				createTicket(t, s, tk)
				got := consumeTicket(t, s, "invite", tc.name, base)
				if got.UserID != "" || got.Data != nil {
					t.Errorf("UserID, Data = %q, %#v, want \"\", nil", got.UserID, got.Data)
				}
			})
		}
	}},
	{"ConsumeTwice", func(t *testing.T, s store.Store) {
		createTicket(t, s, ticket("t1", "reset", base))
		createTicket(t, s, ticket("t2", "reset", base))
		consumeTicket(t, s, "reset", "t1", base)
		noTicket(t, s, "reset", "t1", base)
		consumeTicket(t, s, "reset", "t2", base) // the other one is untouched
	}},
	{"ConsumeUnknown", func(t *testing.T, s store.Store) {
		createTicket(t, s, ticket("t1", "reset", base))
		noTicket(t, s, "reset", "missing", base)
		noTicket(t, s, "reset", "", base)
	}},
	{"WrongPurpose", func(t *testing.T, s store.Store) {
		want := ticket("t1", "reset", base)
		createTicket(t, s, want)
		noTicket(t, s, "invite", "t1", base)
		noTicket(t, s, "", "t1", base)
		noTicket(t, s, "Reset", "t1", base)
		checkTicket(t, consumeTicket(t, s, "reset", "t1", base), want)
	}},
	{"Expired", func(t *testing.T, s store.Store) {
		tk := ticket("t1", "pin", base)
		createTicket(t, s, tk)
		// One millisecond before ExpiresAt it is live ...
		live := ticket("t2", "pin", base)
		createTicket(t, s, live)
		checkTicket(t, consumeTicket(t, s, "pin", "t2", live.ExpiresAt.Add(-time.Millisecond)), live)
		// ... at ExpiresAt it is not.
		noTicket(t, s, "pin", "t1", tk.ExpiresAt)
		// The failed consume deleted it: it is gone even at a time when it
		// was live.
		noTicket(t, s, "pin", "t1", base)

		createTicket(t, s, ticket("t3", "pin", base))
		noTicket(t, s, "pin", "t3", base.Add(24*time.Hour))
		noTicket(t, s, "pin", "t3", base)
	}},
	{"ZeroExpiryIsExpired", func(t *testing.T, s store.Store) {
		tk := ticket("t1", "pin", base)
		tk.ExpiresAt = time.Time{}
		createTicket(t, s, tk)
		noTicket(t, s, "pin", "t1", base)
	}},
	{"ConcurrentConsume", func(t *testing.T, s store.Store) {
		const n = 20
		want := ticket("t1", "saml_assertion", base)
		createTicket(t, s, want)
		winners := onceOfMany(t, n, want, func(int) (*store.Ticket, error) {
			return s.ConsumeTicket(t.Context(), "saml_assertion", "t1", base)
		})
		if winners != 1 {
			t.Errorf("%d of %d concurrent callers consumed the ticket, want exactly 1", winners, n)
		}
	}},
	{"CreateDuplicateLive", func(t *testing.T, s store.Store) {
		orig := ticket("t1", "reset", base)
		createTicket(t, s, orig)
		for _, tc := range []struct {
			name    string
			created time.Time
		}{
			{"same time", base},
			{"just before expiry", orig.ExpiresAt.Add(-time.Millisecond)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				dup := ticket("t1", "invite", tc.created)
				dup.Data = []byte("other")
				wantErr(t, "CreateTicket duplicate", s.CreateTicket(t.Context(), dup), store.ErrConflict)
			})
		}
		noTicket(t, s, "invite", "t1", base)
		checkTicket(t, consumeTicket(t, s, "reset", "t1", base), orig)
	}},
	{"CreateReplacesExpired", func(t *testing.T, s store.Store) {
		createTicket(t, s, ticket("t1", "reset", base))
		// Created when the first one expires: it replaces it.
		repl := ticket("t1", "invite", base.Add(10*time.Minute))
		repl.UserID, repl.Data = "", []byte("replacement")
		createTicket(t, s, repl)
		noTicket(t, s, "reset", "t1", base)
		checkTicket(t, consumeTicket(t, s, "invite", "t1", repl.CreatedAt), repl)
	}},
	{"CreateZeroCreatedAt", func(t *testing.T, s store.Store) {
		// Without CreatedAt the store's clock decides whether the
		// existing ticket has expired.
		live := ticket("live", "reset", time.Now())
		live.ExpiresAt = time.Now().Add(time.Hour)
		createTicket(t, s, live)
		dup := ticket("live", "reset", time.Time{})
		wantErr(t, "CreateTicket over a live ticket", s.CreateTicket(t.Context(), dup), store.ErrConflict)

		old := ticket("old", "reset", time.Now().Add(-2*time.Hour))
		old.ExpiresAt = time.Now().Add(-time.Hour)
		createTicket(t, s, old)
		repl := ticket("old", "invite", time.Time{})
		repl.ExpiresAt = time.Now().Add(time.Hour)
		createTicket(t, s, repl)
		checkTicket(t, consumeTicket(t, s, "invite", "old", time.Now()), repl)
	}},
	{"DeleteExpired", func(t *testing.T, s store.Store) {
		now := base
		const zero = time.Duration(-1 << 63) // stands for the zero time.Time
		cases := []struct {
			id      string
			expires time.Duration // relative to now
			expired bool
		}{
			{"fresh", 10 * time.Minute, false},
			{"just-alive", time.Millisecond, false},
			{"now", 0, true},
			{"passed", -time.Second, true},
			{"long-gone", -48 * time.Hour, true},
			{"zero", zero, true},
		}
		var wantDeleted int
		for _, tc := range cases {
			tk := ticket(tc.id, "pin", now.Add(-time.Hour))
			tk.ExpiresAt = now.Add(tc.expires)
			if tc.expires == zero {
				tk.ExpiresAt = time.Time{}
			}
			createTicket(t, s, tk)
			if tc.expired {
				wantDeleted++
			}
		}

		n, err := s.DeleteExpiredTickets(t.Context(), now)
		noErr(t, "DeleteExpiredTickets", err)
		if n != wantDeleted {
			t.Errorf("DeleteExpiredTickets = %d, want %d", n, wantDeleted)
		}
		n, err = s.DeleteExpiredTickets(t.Context(), now)
		noErr(t, "DeleteExpiredTickets again", err)
		if n != 0 {
			t.Errorf("DeleteExpiredTickets again = %d, want 0", n)
		}
		// The live ones are left, the expired ones gone: consume them all
		// at a time before any expiry, so only deletion can fail them.
		early := now.Add(-2 * time.Hour)
		for _, tc := range cases {
			_, err := s.ConsumeTicket(t.Context(), "pin", tc.id, early)
			switch {
			case tc.expired && tc.expires != zero && !errors.Is(err, store.ErrNotFound):
				t.Errorf("expired ticket %s: ConsumeTicket err = %v, want ErrNotFound", tc.id, err)
			case !tc.expired && err != nil:
				t.Errorf("live ticket %s: ConsumeTicket err = %v, want it kept", tc.id, err)
			}
		}

		// Later, everything left expires too.
		for i := range 3 {
			tk := ticket(fmt.Sprint("later-", i), "pin", now)
			tk.ExpiresAt = now.Add(time.Duration(i+1) * time.Hour)
			createTicket(t, s, tk)
		}
		n, err = s.DeleteExpiredTickets(t.Context(), now.Add(24*time.Hour))
		noErr(t, "DeleteExpiredTickets a day later", err)
		if n != 3 {
			t.Errorf("DeleteExpiredTickets a day later = %d, want 3", n)
		}
	}},
}

// onceOfMany starts n calls of consume(i) at the same moment and returns
// how many of them got the ticket. A caller that gets it must get want
// (when want is not nil); one that does not must get store.ErrNotFound.
func onceOfMany(t *testing.T, n int, want *store.Ticket, consume func(i int) (*store.Ticket, error)) int {
	t.Helper()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		wins  int
	)
	for i := range n {
		wg.Go(func() {
			<-start
			got, err := consume(i)
			switch {
			case err == nil:
				if want != nil {
					checkTicket(t, got, want)
				}
				mu.Lock()
				wins++
				mu.Unlock()
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("consume: err = %v, want nil or store.ErrNotFound", err)
			}
		})
	}
	close(start)
	wg.Wait()
	return wins
}
