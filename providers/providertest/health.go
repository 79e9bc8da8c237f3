package providertest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/providers"
)

// HealthDeadline is how long Health may take with the peer up: the
// gateway's /readyz asks every provider within about two seconds.
const HealthDeadline = 2 * time.Second

// runHealth checks a providers.HealthChecker against a working peer.
func runHealth(t *testing.T, p providers.Provider) {
	hc, ok := p.(providers.HealthChecker)
	if !ok {
		t.Fatalf("%T is not a providers.HealthChecker", p)
	}
	call := func(ctx context.Context) (time.Duration, error) {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		start := time.Now()
		err := hc.Health(ctx)
		return time.Since(start), err
	}
	t.Run("healthy", func(t *testing.T) {
		for i := range 2 {
			took, err := call(t.Context())
			if err != nil {
				t.Fatalf("Health (call %d) = %v with the peer up, want nil", i+1, err)
			}
			if took > HealthDeadline {
				t.Fatalf("Health (call %d) took %s, more than %s", i+1, took, HealthDeadline)
			}
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, Concurrency)
		for range Concurrency {
			wg.Go(func() {
				if took, err := call(t.Context()); err != nil {
					errs <- err
				} else if took > HealthDeadline {
					errs <- errors.New("took " + took.String())
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent Health: %v", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		took, err := call(ctx)
		if took > CancelDeadline {
			t.Errorf("Health with a cancelled context took %s, more than %s", took, CancelDeadline)
		}
		if err != nil && !errors.Is(err, providers.ErrUnavailable) {
			t.Errorf("Health with a cancelled context = %v, want nil or an error wrapping providers.ErrUnavailable", err)
		}
	})
}
