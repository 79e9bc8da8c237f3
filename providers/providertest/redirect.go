package providertest

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"

	"github.com/ssogate/ssogate/providers"
)

// redirectRun is one provider under the redirect-style subtests.
type redirectRun struct {
	ra       providers.RedirectAuthenticator
	h        *RedirectStyle
	id       string
	callback string
}

// begin calls Begin.
func (r *redirectRun) begin(ctx context.Context) (*providers.BeginResult, error) {
	res, err := r.ra.Begin(ctx, providers.BeginRequest{CallbackURL: r.callback, LoginHint: r.h.LoginHint})
	if err != nil {
		return nil, fmt.Errorf("Begin: %w", err)
	}
	if res == nil {
		return nil, fmt.Errorf("Begin returned neither a result nor an error")
	}
	return res, nil
}

// browse runs Begin and the Browser, and returns the callback as the
// gateway would pass it to Complete.
func (r *redirectRun) browse(ctx context.Context) (*providers.BeginResult, providers.CompleteRequest, error) {
	res, err := r.begin(ctx)
	if err != nil {
		return nil, providers.CompleteRequest{}, err
	}
	req, err := r.h.Browser(ctx, res, r.callback)
	if err != nil {
		return nil, providers.CompleteRequest{}, fmt.Errorf("Browser: %w", err)
	}
	if req.CallbackURL == "" {
		req.CallbackURL = r.callback
	}
	req.State = bytes.Clone(res.State)
	return res, req, nil
}

// signIn runs a whole sign-in and returns the Identity, checked.
func (r *redirectRun) signIn(ctx context.Context) (*providers.Identity, error) {
	_, req, err := r.browse(ctx)
	if err != nil {
		return nil, err
	}
	id, err := r.ra.Complete(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("Complete: %w", err)
	}
	if err := identityProblems(id, r.id, r.h.Expect); err != nil {
		return id, err
	}
	return id, nil
}

// mustBrowse is browse failing t.
func (r *redirectRun) mustBrowse(t *testing.T) (*providers.BeginResult, providers.CompleteRequest) {
	t.Helper()
	res, req, err := r.browse(callCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return res, req
}

// refused fails t unless Complete(req) fails with ErrInvalidResponse.
func (r *redirectRun) refused(t *testing.T, what string, req providers.CompleteRequest) {
	t.Helper()
	id, err := r.ra.Complete(callCtx(t), req)
	if id != nil {
		t.Errorf("Complete with %s returned an Identity %+v (and error %v)", what, id, err)
	}
	if problem := onlySentinel(err, providers.ErrInvalidResponse); problem != nil {
		t.Errorf("Complete with %s: %v", what, problem)
	}
}

// cloneRequest returns a deep copy of req, so that a provider that
// changes what it is given cannot influence the next call.
func cloneRequest(req providers.CompleteRequest) providers.CompleteRequest {
	out := providers.CompleteRequest{CallbackURL: req.CallbackURL, State: bytes.Clone(req.State)}
	if req.Query != nil {
		out.Query = cloneValues(req.Query)
	}
	if req.Form != nil {
		out.Form = cloneValues(req.Form)
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func runRedirect(t *testing.T, p providers.Provider, h *RedirectStyle) {
	ra, ok := p.(providers.RedirectAuthenticator)
	if !ok {
		t.Fatalf("%T is not a providers.RedirectAuthenticator", p)
	}
	r := &redirectRun{ra: ra, h: h, id: p.ID(), callback: h.CallbackURL}
	if r.callback == "" {
		r.callback = "http://127.0.0.1:9/callback/" + url.PathEscape(r.id)
	}

	t.Run("begin", func(t *testing.T) {
		states := map[string]bool{}
		for i := range 2 {
			res, err := r.begin(callCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(res.RedirectURL)
			if err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				t.Errorf("Begin: RedirectURL %q is not an absolute http(s) URL", res.RedirectURL)
			}
			if len(res.State) == 0 {
				t.Errorf("Begin: empty State: Complete could not tell this browser's sign-in from another")
			}
			if states[string(res.State)] {
				t.Errorf("Begin call %d returned the State of an earlier call: want a fresh one", i+1)
			}
			states[string(res.State)] = true
		}
	})

	var subject string
	var done providers.CompleteRequest
	t.Run("sign-in", func(t *testing.T) {
		_, req := r.mustBrowse(t)
		id, err := ra.Complete(callCtx(t), cloneRequest(req))
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		checkIdentity(t, id, r.id, h.Expect)
		subject, done = id.Subject, req
	})
	t.Run("replay", func(t *testing.T) {
		if subject == "" {
			t.Skip("needs a completed sign-in; see the failure above")
		}
		r.refused(t, "a callback already completed", cloneRequest(done))
	})
	t.Run("state of another sign-in", func(t *testing.T) {
		_, req := r.mustBrowse(t)
		other, err := r.begin(callCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		req.State = other.State
		r.refused(t, "the State of another Begin", req)
	})
	t.Run("unreadable state", func(t *testing.T) {
		_, req := r.mustBrowse(t)
		req.State = []byte("\x00not a state of this provider\xff")
		r.refused(t, "an unreadable State", req)
	})
	t.Run("callback without response", func(t *testing.T) {
		res, err := r.begin(callCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		r.refused(t, "a callback without response parameters",
			providers.CompleteRequest{CallbackURL: r.callback, Query: url.Values{}, Form: url.Values{}, State: res.State})
	})
	if !h.IDPInitiated {
		t.Run("no state", func(t *testing.T) {
			_, req := r.mustBrowse(t)
			req.State = nil
			r.refused(t, "no State (IdP-initiated sign-in is not declared)", req)
		})
	}

	t.Run("concurrent", func(t *testing.T) {
		errs := make([]error, Concurrency)
		var wg sync.WaitGroup
		for i := range Concurrency {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
				defer cancel()
				id, err := r.signIn(ctx)
				switch {
				case err != nil:
					errs[i] = err
				case subject != "" && id.Subject != subject:
					errs[i] = fmt.Errorf("Subject %q, earlier %q: the identity link needs a stable subject", id.Subject, subject)
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("sign-in %d of %d: %v", i, Concurrency, err)
			}
		}
	})
}
