package providertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/providers"
)

// runPassword runs the password-style subtests. Their order matters for
// directories with a lockout: Good signs in before and after the one
// wrong password.
func runPassword(t *testing.T, p providers.Provider, h *PasswordStyle) {
	pa, ok := p.(providers.PasswordAuthenticator)
	if !ok {
		t.Fatalf("%T is not a providers.PasswordAuthenticator", p)
	}
	id := p.ID()
	good := h.Good
	secrets := []string{good.Password, h.WrongPassword}

	var subject string
	t.Run("good credentials", func(t *testing.T) {
		got, err := pa.Authenticate(callCtx(t), good.Login, good.Password)
		if err != nil {
			t.Fatalf("Authenticate(%q, good password): %v", good.Login, err)
		}
		checkIdentity(t, got, id, h.Expect)
		subject = got.Subject
	})
	t.Run("stable subject", func(t *testing.T) {
		got, err := pa.Authenticate(callCtx(t), good.Login, good.Password)
		if err != nil {
			t.Fatalf("Authenticate(%q, good password) again: %v", good.Login, err)
		}
		checkIdentity(t, got, id, h.Expect)
		if subject != "" && got.Subject != subject {
			t.Errorf("Subject = %q, then %q: the identity link needs a stable subject", subject, got.Subject)
		}
	})

	// refused fails t unless Authenticate(login, password) is refused as
	// invalid credentials, and returns the error.
	refused := func(t *testing.T, what, login, password string) error {
		t.Helper()
		got, err := pa.Authenticate(callCtx(t), login, password)
		if got != nil {
			t.Errorf("Authenticate with %s returned an Identity %+v (and error %v)", what, got, err)
		}
		if problem := onlySentinel(err, providers.ErrInvalidCredentials); problem != nil {
			t.Errorf("Authenticate with %s: %v", what, problem)
		}
		if err != nil {
			for _, s := range secrets {
				if s != "" && strings.Contains(err.Error(), s) {
					t.Errorf("Authenticate with %s: error %q contains a password: it would reach the log", what, err)
				}
			}
		}
		return err
	}
	var wrongErr, unknownErr error
	t.Run("wrong password", func(t *testing.T) {
		wrongErr = refused(t, "a wrong password", good.Login, h.WrongPassword)
	})
	t.Run("unknown login", func(t *testing.T) {
		unknownErr = refused(t, "an unknown login", h.UnknownLogin, good.Password)
	})
	t.Run("wrong password and unknown login look alike", func(t *testing.T) {
		if wrongErr == nil || unknownErr == nil {
			t.Skip("needs both errors; see the failures above")
		}
		if h.DistinctInvalidMessages {
			t.Logf("texts may differ (DistinctInvalidMessages): wrong password %q, unknown login %q", wrongErr, unknownErr)
			return
		}
		if wrongErr.Error() != unknownErr.Error() {
			t.Errorf("a wrong password fails with %q, an unknown login with %q: a caller can tell which logins exist", wrongErr, unknownErr)
		}
	})
	t.Run("empty password", func(t *testing.T) {
		refused(t, "an empty password", good.Login, "")
	})
	t.Run("empty login", func(t *testing.T) {
		refused(t, "an empty login", "", good.Password)
	})
	t.Run("good credentials after failures", func(t *testing.T) {
		got, err := pa.Authenticate(callCtx(t), good.Login, good.Password)
		if err != nil {
			t.Fatalf("Authenticate(%q, good password) after the refusals: %v", good.Login, err)
		}
		checkIdentity(t, got, id, h.Expect)
	})

	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		type result struct {
			id  *providers.Identity
			err error
		}
		done := make(chan result, 1)
		start := time.Now()
		go func() {
			got, err := pa.Authenticate(ctx, good.Login, good.Password)
			done <- result{got, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(CancelDeadline):
			t.Fatalf("Authenticate with a cancelled context has not returned after %v", CancelDeadline)
		}
		t.Logf("returned after %v: %v", time.Since(start).Round(time.Millisecond), r.err)
		switch {
		case r.err == nil:
			t.Errorf("Authenticate with a cancelled context succeeded (%+v); want an error", r.id)
		case errors.Is(r.err, providers.ErrInvalidCredentials):
			t.Errorf("Authenticate with a cancelled context and good credentials: %v; a cancelled sign-in must not count as a wrong password", r.err)
		case r.id != nil:
			t.Errorf("Authenticate with a cancelled context returned an Identity %+v with its error", r.id)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		errs := make([]error, Concurrency)
		var wg sync.WaitGroup
		for i := range Concurrency {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
				defer cancel()
				if i%2 == 1 {
					got, err := pa.Authenticate(ctx, h.UnknownLogin, good.Password)
					if problem := onlySentinel(err, providers.ErrInvalidCredentials); problem != nil || got != nil {
						errs[i] = fmt.Errorf("unknown login: identity %v, %v", got, problem)
					}
					return
				}
				got, err := pa.Authenticate(ctx, good.Login, good.Password)
				if err != nil {
					errs[i] = fmt.Errorf("good credentials: %w", err)
					return
				}
				if err := identityProblems(got, id, h.Expect); err != nil {
					errs[i] = fmt.Errorf("good credentials: %w", err)
				} else if subject != "" && got.Subject != subject {
					errs[i] = fmt.Errorf("good credentials: Subject %q, earlier %q", got.Subject, subject)
				}
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
