//go:build unix

package ldap

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/providers"
)

// offsetClock is real time moved by an offset.
type offsetClock struct{ offset atomic.Int64 }

func (c *offsetClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *offsetClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func healthConfig(url string) Config {
	return Config{
		URL: url, InsecureNoTLS: true, BaseDN: "dc=own,dc=test",
		LoginAttributes: []string{"uid"}, Attributes: Attributes{Subject: "entryUUID"},
		DialTimeout: time.Second, Timeout: 5 * time.Second,
	}
}

func TestHealthSlapdStopped(t *testing.T) {
	for _, tc := range []struct {
		name    string
		service bool
	}{
		{"service account", true},
		{"anonymous", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testpeers.StartOwnSlapd(t)
			cfg := healthConfig(s.URL)
			if tc.service {
				cfg.BindDN, cfg.BindPassword = s.AdminDN, s.AdminPassword
			}
			p, err := Open("dir", cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			clock := &offsetClock{}
			p.now = clock.Now
			if err := p.Health(t.Context()); err != nil {
				t.Fatalf("Health with slapd up: %v", err)
			}
			binds := p.serviceBinds.Load()
			if err := p.Health(t.Context()); err != nil || p.serviceBinds.Load() != binds {
				t.Fatalf("second Health within %s = %v with %d more binds; want the cached nil", healthTTL, err, p.serviceBinds.Load()-binds)
			}

			s.Stop()
			clock.advance(healthTTL)
			start := time.Now()
			err = p.Health(t.Context())
			if !errors.Is(err, providers.ErrUnavailable) {
				t.Fatalf("Health with slapd stopped = %v; want ErrUnavailable", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Health with slapd stopped took %s", d)
			}
			t.Logf("slapd stopped: %v (in %s)", err, time.Since(start).Round(time.Millisecond))
		})
	}

	t.Run("service account refused", func(t *testing.T) {
		s := testpeers.StartOwnSlapd(t)
		cfg := healthConfig(s.URL)
		cfg.BindDN, cfg.BindPassword = s.AdminDN, "not-the-password"
		p, err := Open("dir", cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if err := p.Health(t.Context()); !errors.Is(err, providers.ErrUnavailable) {
			t.Fatalf("Health with a refused service account = %v; want ErrUnavailable", err)
		}
	})
}

// TestHealthHangingDirectory points the provider at a TCP listener that
// accepts connections and never answers: Health answers within its own
// timeout whatever the caller's context, concurrent callers share one
// check, and the result is reused.
func TestHealthHangingDirectory(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c) // held open, unanswered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	cfg := healthConfig("ldap://" + ln.Addr().String())
	cfg.BindDN, cfg.BindPassword = "cn=svc,dc=own,dc=test", "pw"
	cfg.Timeout = 10 * time.Second // the check's own bound must win
	p, err := Open("dir", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			errs[i] = p.Health(ctx)
		})
	}
	wg.Wait()
	took := time.Since(start)
	for _, err := range errs {
		if !errors.Is(err, providers.ErrUnavailable) {
			t.Fatalf("Health of a hanging directory = %v; want ErrUnavailable", err)
		}
	}
	if took > healthTimeout+500*time.Millisecond {
		t.Errorf("Health of a hanging directory took %s; want about %s", took, healthTimeout)
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("%d connections for %d concurrent health checks; want 1", n, len(errs))
	}
	start = time.Now()
	if err := p.Health(t.Context()); !errors.Is(err, providers.ErrUnavailable) || time.Since(start) > 100*time.Millisecond {
		t.Errorf("cached Health = %v after %s", err, time.Since(start))
	}
	t.Logf("hanging directory: %v (in %s)", errs[0], took.Round(time.Millisecond))
}
