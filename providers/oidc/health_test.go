package oidc

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/ssogate/ssogate/providers"
)

// TestHealthDiscoveryFailsThenRecovers checks Health against the fosite
// OP whose discovery answers 503, then works again.
func TestHealthDiscoveryFailsThenRecovers(t *testing.T) {
	op := newFositeOP(t, testCallback)
	op.Down.Store(true)
	clock := newClock()
	p := openTest(t, clock.config(fositeConfig(op)))

	err := p.Health(t.Context())
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Health with discovery failing = %v; want ErrUnavailable", err)
	}
	op.Down.Store(false)
	// The failure is remembered: a health check every second does not
	// turn into a discovery request every second.
	if err := p.Health(t.Context()); !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Health right after the OP is back = %v; want the remembered failure", err)
	}
	if n := op.discoveries.Load(); n != 1 {
		t.Errorf("%d discovery requests, want 1", n)
	}
	clock.Advance(discoveryRetry)
	if err := p.Health(t.Context()); err != nil {
		t.Fatalf("Health after the retry interval: %v", err)
	}
	op.Queue(&opLogin{Subject: "alice"})
	req, _ := signIn(t, p, "")
	if _, err := p.Complete(t.Context(), req); err != nil {
		t.Fatalf("sign-in after recovery: %v", err)
	}
}

// TestHealthHangingOP checks that an OP that accepts connections and
// never answers holds neither Open nor Health beyond their contexts.
func TestHealthHangingOP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 16)
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-accepted:
				c.Close()
			default:
				return
			}
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case accepted <- c: // held open, unanswered, until the test ends
			default:
				c.Close()
			}
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	p, err := Open(ctx, "idp", Config{Issuer: "http://" + ln.Addr().String(), ClientID: "c", ClientSecret: "s"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Open took %s with a 200ms context", d)
	}
	hctx, hcancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer hcancel()
	start = time.Now()
	err = p.Health(hctx)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Health took %s with a 300ms context", d)
	}
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("Health = %v; want ErrUnavailable", err)
	}
}
