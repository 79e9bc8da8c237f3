package main

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// twoStepCounting counts the store calls of 2-step verification.
type twoStepCounting struct {
	store.Store
	listFactors, tickets, peeks atomic.Int64
}

func (c *twoStepCounting) ListFactors(ctx context.Context, userID string) ([]*store.Factor, error) {
	c.listFactors.Add(1)
	return c.Store.ListFactors(ctx, userID)
}

func (c *twoStepCounting) PeekTicket(ctx context.Context, purpose, id string, now time.Time) (*store.Ticket, error) {
	c.peeks.Add(1)
	return c.Store.PeekTicket(ctx, purpose, id, now)
}

func (c *twoStepCounting) Apply(ctx context.Context, b *store.Batch) (*store.Ticket, error) {
	c.tickets.Add(int64(len(b.Tickets)))
	return c.Store.Apply(ctx, b)
}

// TestTwoStepSignInCost pins what 2-step verification adds to a sign-in:
// one read of the person's factors for a password sign-in it may ask
// (nothing written when it does not ask), and nothing at all on the hot
// path (/auth, the proxy).
func TestTwoStepSignInCost(t *testing.T) {
	var cs *twoStepCounting
	h := newHarnessWrapped(t, func(s store.Store) store.Store {
		cs = &twoStepCounting{Store: s}
		return cs
	})
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser()
	b.get("/login")
	l0, t0, p0 := cs.listFactors.Load(), cs.tickets.Load(), cs.peeks.Load()
	expectRedirect(t, b.post("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {alicePW}}), "/")
	if l, tk, p := cs.listFactors.Load()-l0, cs.tickets.Load()-t0, cs.peeks.Load()-p0; l != 1 || tk != 0 || p != 0 {
		t.Fatalf("a sign-in not asked: %d factor reads, %d tickets written, %d peeks; want 1, 0, 0", l, tk, p)
	}
	l0 = cs.listFactors.Load()
	for range 50 {
		expectStatus(t, b.get("/"), http.StatusOK)
		req, _ := http.NewRequest("GET", h.url+"/auth", nil)
		req.Header.Set("X-Forwarded-Host", "127.0.0.1:9001")
		req.Header.Set("X-Forwarded-Uri", "/x")
		b.do(req)
	}
	if l := cs.listFactors.Load() - l0; l != 0 {
		t.Fatalf("signed-in requests read factors %d times, want 0", l)
	}
}
