package ldap

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssogate/ssogate/providers"
)

const (
	// healthTimeout bounds one health check of the directory, so that a
	// directory that accepts connections and never answers holds
	// /readyz (which waits about two seconds) no longer than this.
	healthTimeout = 1500 * time.Millisecond
	// healthTTL is how long a health check's result is reused: /readyz
	// and every login page ask, the directory sees one check per TTL.
	healthTTL = 5 * time.Second
)

// health is the cached outcome of the last health check.
type health struct {
	mu       sync.Mutex
	checked  bool
	err      error
	at       time.Time
	inflight chan struct{} // closed when the running check ends
}

var _ providers.HealthChecker = (*Provider)(nil)

// Health reports whether the directory answers: a search of the root DSE
// on a pooled service connection (so bound as the service account, or
// anonymous without one), within healthTimeout. The result is reused
// for healthTTL; concurrent callers share one check. A caller whose ctx
// ends first gets the previous result, or, before any, an error. Errors
// wrap providers.ErrUnavailable.
func (p *Provider) Health(ctx context.Context) error {
	h := &p.health
	h.mu.Lock()
	if h.checked && p.now().Sub(h.at) < healthTTL {
		err := h.err
		h.mu.Unlock()
		return err
	}
	ch := h.inflight
	if ch == nil {
		ch = make(chan struct{})
		h.inflight = ch
		go p.checkHealth(ch)
	}
	h.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.checked {
		return fmt.Errorf("ldap: provider %q: health check of %s: no answer yet: %w: %w", p.id, p.addr, providers.ErrUnavailable, ctx.Err())
	}
	return h.err
}

// checkHealth runs one check, records it and closes ch.
func (p *Provider) checkHealth(ch chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	err := p.probe(ctx)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		err = fmt.Errorf("ldap: provider %q: health check: no answer from %s within %s: %w", p.id, p.addr, healthTimeout, providers.ErrUnavailable)
	case !errors.Is(err, providers.ErrUnavailable):
		err = fmt.Errorf("ldap: provider %q: health check: %w: %w", p.id, providers.ErrUnavailable, err)
	}
	cancel()
	h := &p.health
	h.mu.Lock()
	h.checked, h.err, h.at, h.inflight = true, err, p.now(), nil
	h.mu.Unlock()
	close(ch)
}

// probe searches the root DSE, on a pooled service connection when one
// is free. When sign-ins hold every pooled connection, it uses one of its
// own, closed after: waiting for the pool would report a busy directory
// as down.
func (p *Provider) probe(ctx context.Context) error {
	search := func(c *conn) error {
		_, err := c.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases,
			1, p.timeLimit, false, "(objectClass=*)", []string{"1.1"}, nil))
		return err
	}
	select {
	case p.tokens <- struct{}{}:
		<-p.tokens
		return p.withService(ctx, "health check", search)
	default:
	}
	c, err := p.dialService(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := c.watch(ctx)
	err = search(c)
	stop()
	if err != nil {
		return p.failed(ctx, "health check", err)
	}
	return nil
}
