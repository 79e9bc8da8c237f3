package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// RunShared checks what the contract promises to several processes on
// one database, with two stores opened on it (Shared.Cut is not used):
// of concurrent ConsumeTicket calls (and Applies consuming one ticket)
// through both, exactly one gets the ticket; concurrent first uses of a
// Secret through both agree on one value; workers claiming outbox
// messages through both never hold one message at once; concurrent
// CountFailure and Hit calls through both each get their own count; and
// of concurrent UseFactor calls with one counter, or UseRecoveryCode
// calls with one hash, through both, exactly one succeeds; so does
// exactly one of concurrent RotateRefreshToken calls of one token through
// both, and its family is then revoked as a whole. open returns
// a new pair on a new, empty database for each call.
func RunShared(t *testing.T, open func(t *testing.T) Shared) {
	t.Run("ConsumeOnceAcrossStores", func(t *testing.T) {
		sh := open(t)
		for round := range 5 {
			id := fmt.Sprintf("t%d", round)
			want := ticket(id, "saml_assertion", base)
			createTicket(t, sh.A, want)
			const perStore = 10
			wins := onceOfMany(t, 2*perStore, want, func(i int) (*store.Ticket, error) {
				s := sh.A
				if i%2 == 1 {
					s = sh.B
				}
				return s.ConsumeTicket(t.Context(), "saml_assertion", id, base)
			})
			if wins != 1 {
				t.Errorf("round %d: %d of %d callers on two stores consumed the ticket, want exactly 1", round, wins, 2*perStore)
			}
		}
	})
	t.Run("SecretAcrossStores", func(t *testing.T) {
		sh := open(t)
		const n = 10
		got := make([][]byte, 2*n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 2 * n {
			s := sh.A
			if i%2 == 1 {
				s = sh.B
			}
			wg.Go(func() {
				<-start
				v, err := s.Secret(t.Context(), "cookie", func() ([]byte, error) { return fmt.Appendf(nil, "value-%d", i), nil })
				if err != nil {
					t.Errorf("Secret: %v", err)
				}
				got[i] = v
			})
		}
		close(start)
		wg.Wait()
		for i := range got {
			if !bytes.Equal(got[i], got[0]) {
				t.Fatalf("Secret through two stores returned %q and %q, want one value", got[0], got[i])
			}
		}
	})
	t.Run("ApplyConsumeOnceAcrossStores", func(t *testing.T) {
		sh := open(t)
		u := createUser(t, sh.A, "a@example.com")
		for round := range 5 {
			id := fmt.Sprintf("t%d", round)
			createTicket(t, sh.A, accountTicket(id, store.PurposeUnlock, u.ID, base))
			const perStore = 8
			wins := onceOfMany(t, 2*perStore, nil, func(i int) (*store.Ticket, error) {
				s := sh.A
				if i%2 == 1 {
					s = sh.B
				}
				return s.Apply(t.Context(), &store.Batch{
					Consume:  &store.TicketUse{Purpose: store.PurposeUnlock, ID: id, Now: base},
					Messages: []*store.Message{{Channel: store.ChannelMail, Template: id, To: u.Email}},
				})
			})
			if wins != 1 {
				t.Errorf("round %d: %d of %d Applies on two stores consumed the ticket, want exactly 1", round, wins, 2*perStore)
			}
			if msgs := listMessages(t, sh.B, store.MessageFilter{Template: id}); len(msgs) != 1 {
				t.Errorf("round %d: %d messages enqueued, want 1", round, len(msgs))
			}
		}
	})
	t.Run("ClaimAcrossStores", func(t *testing.T) {
		sh := open(t)
		const total = 120
		for i := range total {
			enqueue(t, sh.A, message(fmt.Sprintf("m%03d", i), "", base.Add(time.Duration(i)*time.Millisecond)))
		}
		// Four workers per store claim small batches until none is left,
		// each under its own owner name, with a lease longer than the test.
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			mu    sync.Mutex
			held  = map[string]string{}
			dups  []string
		)
		for w := range 8 {
			s := sh.A
			if w%2 == 1 {
				s = sh.B
			}
			owner := fmt.Sprintf("worker-%d", w)
			wg.Go(func() {
				<-start
				for {
					list, err := s.ClaimMessages(t.Context(), owner, base.Add(time.Hour), time.Hour, 3)
					if err != nil {
						t.Errorf("ClaimMessages %s: %v", owner, err)
						return
					}
					if len(list) == 0 {
						return
					}
					mu.Lock()
					for _, m := range list {
						if prev, ok := held[m.ID]; ok {
							dups = append(dups, m.ID+" by "+prev+" and "+owner)
						}
						held[m.ID] = owner
					}
					mu.Unlock()
					for _, m := range list {
						if err := s.MessageSent(t.Context(), m.ID, owner, base.Add(time.Hour)); err != nil {
							t.Errorf("MessageSent %s by %s: %v", m.ID, owner, err)
						}
					}
				}
			})
		}
		close(start)
		wg.Wait()
		if len(dups) > 0 {
			t.Errorf("messages claimed by two workers at once: %q", dups)
		}
		if len(held) != total {
			t.Errorf("%d of %d messages claimed", len(held), total)
		}
		if pending := listMessages(t, sh.B, store.MessageFilter{Pending: true}); len(pending) != 0 {
			t.Errorf("%d messages still pending", len(pending))
		}
	})
	t.Run("CountsAcrossStores", func(t *testing.T) {
		sh := open(t)
		u := createUser(t, sh.A, "a@example.com")
		const n = 16
		fails, hits := make([]int, n), make([]int, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			s := sh.A
			if i%2 == 1 {
				s = sh.B
			}
			wg.Go(func() {
				<-start
				var err error
				if fails[i], err = s.CountFailure(t.Context(), u.ID, "", base); err != nil {
					t.Errorf("CountFailure: %v", err)
				}
				if hits[i], _, err = s.Hit(t.Context(), "login_ip:192.0.2.1", base, time.Hour); err != nil {
					t.Errorf("Hit: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		slices.Sort(fails)
		slices.Sort(hits)
		for i := range n {
			if fails[i] != i+1 || hits[i] != i+1 {
				t.Fatalf("counts through two stores: failures %v, hits %v; want 1..%d each once", fails, hits, n)
			}
		}
	})
	t.Run("RotateOnceAcrossStores", func(t *testing.T) { rotateOnceAcrossStores(t, open(t)) })
	t.Run("SecondFactorOnceAcrossStores", func(t *testing.T) {
		sh := open(t)
		u := createUser(t, sh.A, "a@example.com")
		f := factor(u.ID, base)
		addFactor(t, sh.A, f)
		noErr(t, "SetRecoveryCodes", sh.A.SetRecoveryCodes(t.Context(), u.ID, []string{"h0", "h1", "h2"}))
		const perStore = 8
		either := func(i int) store.Store {
			if i%2 == 1 {
				return sh.B
			}
			return sh.A
		}
		for round := range 3 {
			step := int64(59_000_000 + round)
			if wins := onceOfMany(t, 2*perStore, nil, func(i int) (*store.Ticket, error) {
				return conflictLoses(either(i).UseFactor(t.Context(), f.ID, step, base))
			}); wins != 1 {
				t.Errorf("round %d: %d of %d UseFactor calls with one counter on two stores succeeded, want exactly 1", round, wins, 2*perStore)
			}
			hash := fmt.Sprintf("h%d", round)
			if wins := onceOfMany(t, 2*perStore, nil, func(i int) (*store.Ticket, error) {
				return nil, either(i).UseRecoveryCode(t.Context(), u.ID, hash)
			}); wins != 1 {
				t.Errorf("round %d: %d of %d UseRecoveryCode calls on two stores succeeded, want exactly 1", round, wins, 2*perStore)
			}
		}
	})
}
