package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/store"
)

// deviceBenchService is a forward-auth service with device approval, for
// benchGatewayWith.
const deviceBenchService = `  - id: dvault
    name: Device vault
    url: http://dvault.example.test/
    device_approval: true
`

// deviceBenchRequests returns /auth requests of alice's session from an
// approved browser, for service fwd and for service dvault (which
// approves browsers).
func deviceBenchRequests(tb testing.TB, g *Gateway) (u *store.User, deviceID string, fwd, dvault *http.Request) {
	tb.Helper()
	ctx := context.Background()
	u, err := g.store.GetUserByEmail(ctx, "alice@example.co.jp")
	if err != nil {
		tb.Fatal(err)
	}
	cookie, err := g.Shared().IssueSession(ctx, u, []string{"pwd"}, "127.0.0.1")
	if err != nil {
		tb.Fatal(err)
	}
	const token = "bench-approved-browser-token"
	now := time.Now()
	d := &store.ApprovedDevice{ID: account.DeviceID(token), UserID: u.ID, UserAgent: "bench", ClientIP: "127.0.0.1",
		CreatedAt: now, LastUsedAt: now}
	if err := g.store.AddDevice(ctx, d); err != nil {
		tb.Fatal(err)
	}
	req := func(host string) *http.Request {
		r := httptest.NewRequest("GET", "/auth", nil)
		r.Header.Set("X-Forwarded-Host", host)
		r.Header.Set("X-Forwarded-Uri", "/page")
		r.Header.Set("Cookie", cookie+"; ssogate_dev="+token)
		return r
	}
	return u, d.ID, req("fwd.example.test"), req("dvault.example.test")
}

// TestDeviceCheckAllowedPathReadsNoStore: /auth for a service with
// device_approval, from an approved browser, reads the store once and
// then answers from memory: the device removed behind the gateway's back
// (as by another replica) still passes until deviceCacheTTL, and a
// browser without the cookie is sent to the approval; revoking through
// the gateway closes the service at once. It allocates no more than
// /auth for a service without device approval.
func TestDeviceCheckAllowedPathReadsNoStore(t *testing.T) {
	g, _ := benchGatewayWith(t, "http://127.0.0.1:1", deviceBenchService, slog.New(slog.DiscardHandler), nil)
	waitLive(t, g)
	u, id, fwd, dvault := deviceBenchRequests(t, g)
	h := g.Handler()
	serve := func(req *http.Request) int {
		w := newDiscardWriter()
		h.ServeHTTP(w, req)
		return w.code
	}
	if c := serve(dvault); c != http.StatusOK {
		t.Fatalf("/auth from an approved browser: %d", c)
	}
	if err := g.store.DeleteDevice(context.Background(), u.ID, id); err != nil {
		t.Fatal(err)
	}
	if c := serve(dvault); c != http.StatusOK {
		t.Fatalf("/auth read the store on the allowed path (the device deleted behind its back answers %d)", c)
	}
	plain := testing.AllocsPerRun(300, func() { serve(fwd) })
	device := testing.AllocsPerRun(300, func() { serve(dvault) })
	if device > plain {
		t.Errorf("/auth for a device_approval service allocates %.1f times, for another service %.1f", device, plain)
	}
	noCookie := dvault.Clone(context.Background())
	noCookie.Header.Set("Cookie", dvault.Header.Get("Cookie")[:len(dvault.Header.Get("Cookie"))-len("; ssogate_dev=bench-approved-browser-token")])
	if c := serve(noCookie); c != http.StatusUnauthorized {
		t.Fatalf("/auth from a browser without approval: %d", c)
	}
	g.devices.forget(u.ID, id)
	if c := serve(dvault); c != http.StatusUnauthorized {
		t.Fatalf("/auth after the device was forgotten here: %d", c)
	}
}

// BenchmarkForwardAuthDevice is /auth from an approved browser, asking
// about a service without device approval (plain) and one with it
// (device_approval), in one run.
func BenchmarkForwardAuthDevice(b *testing.B) {
	g, _ := benchGatewayWith(b, "http://127.0.0.1:1", deviceBenchService, slog.New(slog.DiscardHandler), nil)
	_, _, fwd, dvault := deviceBenchRequests(b, g)
	h := g.Handler()
	run := func(b *testing.B, req *http.Request) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	}
	b.Run("plain", func(b *testing.B) { run(b, fwd) })
	b.Run("device_approval", func(b *testing.B) { run(b, dvault) })
}
