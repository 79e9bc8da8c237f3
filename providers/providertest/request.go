package providertest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/ssogate/ssogate/providers"
)

// verdictProblem returns what is wrong with the answer to facts, or nil;
// match is nil when facts must not be matched.
func verdictProblem(v providers.Verdict, err error, facts providers.RequestFacts, match *Match) error {
	if match != nil {
		switch {
		case err != nil:
			return fmt.Errorf("Check(%v): %v, want a match named %q", facts.ClientIP, err, match.Name)
		case !v.Matched:
			return fmt.Errorf("Check(%v) = %+v, want a match named %q", facts.ClientIP, v, match.Name)
		case v.Name != match.Name:
			return fmt.Errorf("Check(%v) matched as %q, want %q", facts.ClientIP, v.Name, match.Name)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("Check(%v): %v, want no match and no error", facts.ClientIP, err)
	}
	if v.Matched {
		return fmt.Errorf("Check(%v) = %+v, want no match", facts.ClientIP, v)
	}
	return nil
}

func runRequest(t *testing.T, p providers.Provider, h *RequestStyle) {
	ra, ok := p.(providers.RequestAuthenticator)
	if !ok {
		t.Fatalf("%T is not a providers.RequestAuthenticator", p)
	}
	t.Run("matches", func(t *testing.T) {
		for _, m := range h.Matches {
			v, err := ra.Check(callCtx(t), m.Facts)
			if problem := verdictProblem(v, err, m.Facts, &m); problem != nil {
				t.Error(problem)
			}
		}
	})
	t.Run("misses", func(t *testing.T) {
		for _, f := range h.Misses {
			v, err := ra.Check(callCtx(t), f)
			if problem := verdictProblem(v, err, f, nil); problem != nil {
				t.Error(problem)
			}
		}
	})
	t.Run("invalid client IP", func(t *testing.T) {
		// An unresolved client address must never pass as a registered
		// line; refusing it with an error is as good as not matching.
		v, err := ra.Check(callCtx(t), providers.RequestFacts{})
		if err == nil && v.Matched {
			t.Errorf("Check with an invalid client IP = %+v, want no match", v)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		errs := make([]error, Concurrency)
		var wg sync.WaitGroup
		for i := range Concurrency {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
				defer cancel()
				if i%2 == 0 {
					m := h.Matches[i/2%len(h.Matches)]
					v, err := ra.Check(ctx, m.Facts)
					errs[i] = verdictProblem(v, err, m.Facts, &m)
					return
				}
				f := h.Misses[i/2%len(h.Misses)]
				v, err := ra.Check(ctx, f)
				errs[i] = verdictProblem(v, err, f, nil)
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("goroutine %d of %d: %v", i, Concurrency, err)
			}
		}
	})
}
