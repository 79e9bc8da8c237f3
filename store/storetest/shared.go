package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ssogate/ssogate/store"
)

// RunShared checks what the contract promises to several processes on
// one database, with two stores opened on it (Shared.Cut is not used):
// of concurrent ConsumeTicket calls through both, exactly one gets the
// ticket, and concurrent first uses of a Secret through both agree on one
// value. open returns a new pair on a new, empty database for each call.
func RunShared(t *testing.T, open func(t *testing.T) Shared) {
	t.Run("ConsumeOnceAcrossStores", func(t *testing.T) {
		sh := open(t)
		for round := range 5 {
			id := fmt.Sprintf("t%d", round)
			want := ticket(id, "saml_assertion", base)
			createTicket(t, sh.A, want)
			const perStore = 10
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				mu    sync.Mutex
				wins  int
			)
			for i := range 2 * perStore {
				s := sh.A
				if i%2 == 1 {
					s = sh.B
				}
				wg.Go(func() {
					<-start
					got, err := s.ConsumeTicket(t.Context(), "saml_assertion", id, base)
					switch {
					case err == nil:
						checkTicket(t, got, want)
						mu.Lock()
						wins++
						mu.Unlock()
					case !errors.Is(err, store.ErrNotFound):
						t.Errorf("ConsumeTicket: err = %v, want nil or ErrNotFound", err)
					}
				})
			}
			close(start)
			wg.Wait()
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
}
