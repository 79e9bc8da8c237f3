package saml

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/providers"
)

func TestHealth(t *testing.T) {
	ctx := context.Background()

	t.Run("metadata URL answers 503, then recovers", func(t *testing.T) {
		e := newEnv(t)
		e.idp.metadataMode.Store("down")
		p := e.open(t, "sp", e.config("sp"))
		err := p.Health(ctx)
		checkErr(t, err, providers.ErrUnavailable, nil, "503")

		e.idp.metadataMode.Store("")
		e.clock.advance(lazyRetry)
		if err := p.Health(ctx); err != nil {
			t.Fatalf("Health after the IdP recovered: %v", err)
		}
	})

	t.Run("IdP stopped", func(t *testing.T) {
		e := newEnv(t)
		e.idp.srv.Close()
		p := e.open(t, "sp", e.config("sp"))
		checkErr(t, p.Health(ctx), providers.ErrUnavailable, nil, "connection refused")
	})

	t.Run("IdP hangs: Health ends with its context", func(t *testing.T) {
		e := newEnv(t)
		e.idp.metadataMode.Store("hang")
		octx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		p, err := Open(octx, "sp", e.config("sp"))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		hctx, hcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer hcancel()
		start := time.Now()
		err = p.Health(hctx)
		if d := time.Since(start); d > time.Second {
			t.Errorf("Health took %s with a 300ms context", d)
		}
		checkErr(t, err, providers.ErrUnavailable, nil, "")
	})

	t.Run("stale: refreshes failed for two intervals", func(t *testing.T) {
		e := newEnv(t)
		cfg := e.config("sp")
		cfg.MetadataRefresh = time.Hour
		p := e.open(t, "sp", cfg)
		if err := p.Health(ctx); err != nil {
			t.Fatalf("Health with fresh metadata: %v", err)
		}
		e.idp.metadataMode.Store("down")
		e.clock.advance(90 * time.Minute)
		if err := p.RefreshMetadata(ctx); err == nil {
			t.Fatal("refresh from a down IdP succeeded")
		}
		if err := p.Health(ctx); err != nil {
			t.Fatalf("Health 1.5 intervals after the last good fetch: %v, want nil (one refresh may fail)", err)
		}
		e.clock.advance(time.Hour)
		checkErr(t, p.Health(ctx), providers.ErrUnavailable, nil, "old")

		e.idp.metadataMode.Store("")
		if err := p.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.Health(ctx); err != nil {
			t.Fatalf("Health after a good refresh: %v", err)
		}
	})

	t.Run("static metadata", func(t *testing.T) {
		e := newEnv(t)
		cfg := e.config("sp")
		cfg.IDPMetadataURL, cfg.IDPMetadata = "", fetch(t, e.idp.metadataURL())
		p := e.open(t, "sp", cfg)
		e.idp.srv.Close()
		if err := p.Health(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSigningKeyRollover rolls the real IdP's signing key over: the next
// sign-in fails against the cached metadata, which is fetched again once
// and verifies it, without a restart or a scheduled refresh.
func TestSigningKeyRollover(t *testing.T) {
	_, sp, _ := testKeys(t)
	clock := &testClock{}
	e := &env{idp: newSerialIDP(t), sp: sp, clock: clock, replay: newMemReplay(clock.Now)}
	p := e.open(t, "sp", e.config("sp"))
	e.idp.register(t, p, false)
	ctx := context.Background()
	b := newBrowser(e.idp)
	if _, err := p.Complete(ctx, signInFlow(t, p, b).request()); err != nil {
		t.Fatalf("sign-in before the rollover: %v", err)
	}

	e.idp.rotate(t, newKeyPair(t, "idp-2026.example.test", mustRSA(t, 2048)))
	hits := e.idp.metadataHits.Load()
	// Several sign-ins arrive at once after the rollover: they share one
	// fetch.
	flows := make([]flow, 4)
	for i := range flows {
		flows[i] = signInFlow(t, p, b)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(flows))
	for i, f := range flows {
		wg.Go(func() {
			id, err := p.Complete(ctx, f.request())
			if err == nil && id.Subject != "alice@example.test" {
				err = errors.New("subject " + id.Subject)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("sign-in %d after the rollover: %v", i+1, err)
		}
	}
	if got := e.idp.metadataHits.Load() - hits; got != 1 {
		t.Errorf("%d metadata fetches for %d failed signatures, want 1", got, len(flows))
	}

	// A forged response fetches no metadata within 30 s of that fetch,
	// and one after.
	forger := newKeyPair(t, "forger.example.test", mustRSA(t, 2048))
	forge := func() error {
		res, err := p.Begin(ctx, providers.BeginRequest{})
		if err != nil {
			t.Fatal(err)
		}
		st := decodeState(t, res.State)
		c := e.idp.newCrafted(p, st.RequestID)
		c.signer = &forger
		form := map[string][]string{"SAMLResponse": {c.encode(t, e.idp)}, "RelayState": {st.Relay}}
		_, err = p.Complete(ctx, providers.CompleteRequest{Form: form, State: res.State})
		return err
	}
	hits = e.idp.metadataHits.Load()
	checkErr(t, forge(), providers.ErrInvalidResponse, errSignature, "")
	if got := e.idp.metadataHits.Load() - hits; got != 0 {
		t.Errorf("a forged response within %s of the last refetch fetched metadata %d times", sigRefetchEvery, got)
	}
	clock.advance(sigRefetchEvery)
	defer clock.set(0)
	checkErr(t, forge(), providers.ErrInvalidResponse, errSignature, "")
	if got := e.idp.metadataHits.Load() - hits; got != 1 {
		t.Errorf("a forged response %s after the last refetch fetched metadata %d times, want 1", sigRefetchEvery, got)
	}
}

// TestRefreshFollowsRollover checks that Refresh (a configuration
// reload) fetches the metadata at once: the new certificate is in use
// before any sign-in fails.
func TestRefreshFollowsRollover(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, "sp", e.config("sp"))
	e.idp.register(t, p, true)
	next := newKeyPair(t, "idp-next.example.test", mustRSA(t, 2048))
	e.idp.rotate(t, next)
	if err := p.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	var certs []string
	for _, d := range p.idp.Load().ed.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				certs = append(certs, strings.Join(strings.Fields(c.Data), ""))
			}
		}
	}
	want := base64.StdEncoding.EncodeToString(next.cert.Raw)
	if len(certs) == 0 || !slices.ContainsFunc(certs, func(c string) bool { return c == want }) {
		t.Fatalf("certificates after Refresh: %d, none of them the new one", len(certs))
	}
	hits := e.idp.metadataHits.Load()
	if _, err := p.Complete(context.Background(), signInFlow(t, p, newBrowser(e.idp)).request()); err != nil {
		t.Fatal(err)
	}
	if got := e.idp.metadataHits.Load() - hits; got != 0 {
		t.Errorf("sign-in after Refresh fetched metadata %d times, want 0", got)
	}
}
