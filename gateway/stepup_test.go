package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ssogate/ssogate/store"
)

func TestHasSecondFactor(t *testing.T) {
	for _, tt := range []struct {
		amr  []string
		want bool
	}{
		{nil, false},
		{[]string{"pwd"}, false},
		{[]string{"pwd", "net"}, false},
		{[]string{"fed"}, false},
		{[]string{"fed", "pwd", "rsa"}, false},
		{[]string{"pwd", "otp", "mfa"}, true},
		{[]string{"pwd", "otp"}, true},
		{[]string{"pwd", "sms"}, true},
		{[]string{"pwd", "tel"}, true},
		{[]string{"hwk", "user", "mfa"}, true},
		{[]string{"pwd", "swk"}, true},
		{[]string{"fed", "mfa"}, true},
		{[]string{"MFA"}, false}, // amr values are case-sensitive (RFC 8176)
	} {
		if got := hasSecondFactor(tt.amr); got != tt.want {
			t.Errorf("hasSecondFactor(%q) = %v, want %v", tt.amr, got, tt.want)
		}
	}
}

func TestCleanAMR(t *testing.T) {
	for _, tt := range []struct {
		in, want []string
	}{
		{nil, nil},
		{[]string{"pwd"}, []string{"pwd"}},
		{[]string{"pwd", "net"}, []string{"pwd", "net"}},
		{[]string{"pwd", "otp", "mfa"}, []string{"pwd", "otp", "mfa"}},
		// Entra ID's own values and anything an IdP makes up are left
		// out; duplicates are kept once.
		{[]string{"fed", "pwd", "rsa", "mfa", "ngcmfa", "wiaormfa"}, []string{"fed", "pwd", "mfa"}},
		{[]string{"fed", "pwd", "pwd", "mfa"}, []string{"fed", "pwd", "mfa"}},
		{[]string{"x-admin", "pwd"}, []string{"pwd"}},
		{[]string{"Pwd", "MFA"}, []string{}},
	} {
		got := cleanAMR(tt.in)
		if !slices.Equal(got, tt.want) {
			t.Errorf("cleanAMR(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// A list that needs no change is returned as it is.
	in := []string{"pwd", "net"}
	if got := cleanAMR(in); &got[0] != &in[0] {
		t.Error("cleanAMR copied a clean list")
	}
}

// TestStepUpAllowedPathCostsNothingMore: /auth for a require_2fa service,
// with a session whose sign-in used a second factor, allocates no more
// than /auth for a service without it and reads nothing from the store:
// whether the session has a second factor is known from its cache entry.
func TestStepUpAllowedPathCostsNothingMore(t *testing.T) {
	g, _ := benchGatewayWith(t, "http://127.0.0.1:1", stepUpBenchService, slog.New(slog.DiscardHandler), nil)
	// The change feed going live empties the caches: wait for it, so that
	// a read counted below can only be the step-up check's.
	waitLive(t, g)
	rc := &readCounter{Store: g.sessions.store}
	g.sessions.store = rc
	fwd, vault := stepUpBenchRequests(t, g)
	h := g.Handler()
	serve := func(req *http.Request) func() {
		return func() {
			w := newDiscardWriter()
			h.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				t.Fatalf("/auth for %s: %d", req.Header.Get("X-Forwarded-Host"), w.code)
			}
		}
	}
	serve(fwd)()
	serve(vault)()
	s0, u0 := rc.sessions.Load(), rc.users.Load()
	plain := testing.AllocsPerRun(500, serve(fwd))
	stepUp := testing.AllocsPerRun(500, serve(vault))
	if stepUp > plain {
		t.Errorf("/auth for a require_2fa service allocates %.1f times, for another service %.1f", stepUp, plain)
	}
	if ds, du := rc.sessions.Load()-s0, rc.users.Load()-u0; ds != 0 || du != 0 {
		t.Errorf("1,000 requests read the store %d (sessions) + %d (users) times, want 0", ds, du)
	}
}

// stepUpBenchService is a forward-auth service that requires 2-step
// verification, for benchGatewayWith.
const stepUpBenchService = `  - id: vault
    name: Vault
    url: http://vault.example.test/
    require_2fa: true
`

// stepUpBenchRequests returns /auth requests of a session whose sign-in
// used a second factor, for service fwd and for service vault (which
// requires one).
func stepUpBenchRequests(tb testing.TB, g *Gateway) (fwd, vault *http.Request) {
	tb.Helper()
	ctx := context.Background()
	u, err := g.store.GetUserByEmail(ctx, "alice@example.co.jp")
	if err != nil {
		tb.Fatal(err)
	}
	cookie, err := g.Shared().IssueSession(ctx, u, []string{"pwd", "otp", "mfa"}, "127.0.0.1")
	if err != nil {
		tb.Fatal(err)
	}
	req := func(host string) *http.Request {
		r := httptest.NewRequest("GET", "/auth", nil)
		r.Header.Set("X-Forwarded-Host", host)
		r.Header.Set("X-Forwarded-Uri", "/page")
		r.Header.Set("Cookie", cookie)
		return r
	}
	return req("fwd.example.test"), req("vault.example.test")
}

// TestSessionAndAssertionCarryRFC8176AMR: a sign-in whose identity
// provider reported methods of its own (Entra ID's "rsa", "ngcmfa") is
// recorded, and handed to services, with the RFC 8176 values and
// ssogate's "fed" only; the IdP's "mfa" counts as a second factor for a
// require_2fa service.
func TestSessionAndAssertionCarryRFC8176AMR(t *testing.T) {
	ctx := context.Background()
	g, _ := benchGatewayWith(t, "http://127.0.0.1:1", stepUpBenchService, slog.New(slog.DiscardHandler), nil)
	u, err := g.store.GetUserByEmail(ctx, "alice@example.co.jp")
	if err != nil {
		t.Fatal(err)
	}
	cookie, err := g.Shared().IssueSession(ctx, u, []string{"fed", "pwd", "rsa", "mfa", "ngcmfa"}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fed", "pwd", "mfa"}
	sessions, err := g.store.ListUserSessions(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, s := range sessions {
		found = found || slices.Equal(s.AMR, want)
		if slices.Contains(s.AMR, "rsa") || slices.Contains(s.AMR, "ngcmfa") {
			t.Errorf("the store holds a session with amr %q", s.AMR)
		}
	}
	if !found {
		t.Fatalf("no session with amr %q among %d", want, len(sessions))
	}
	if amr := vaultAMR(t, g, cookie); !slices.Equal(amr, want) {
		t.Errorf("assertion amr = %q, want %q", amr, want)
	}

	// A session stored with such values before (or by a replica of an
	// older version) hands them to no service either.
	tok := newToken()
	now := time.Now()
	if err := g.store.CreateSession(ctx, &store.Session{ID: sessionID(tok), UserID: u.ID, AMR: []string{"fed", "rsa", "mfa"},
		AuthTime: now, CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	sealed, err := g.sessions.codec.seal(tok)
	if err != nil {
		t.Fatal(err)
	}
	if amr := vaultAMR(t, g, g.sessions.name+"="+sealed); !slices.Equal(amr, []string{"fed", "mfa"}) {
		t.Errorf("assertion amr of a stored session = %q, want [fed mfa]", amr)
	}
}

// vaultAMR asks /auth about service vault with the Cookie header cookie
// and returns the amr of the assertion it answers with.
func vaultAMR(t *testing.T, g *Gateway, cookie string) []string {
	t.Helper()
	req := httptest.NewRequest("GET", "/auth", nil)
	req.Header.Set("X-Forwarded-Host", "vault.example.test")
	req.Header.Set("X-Forwarded-Uri", "/page")
	req.Header.Set("Cookie", cookie)
	w := httptest.NewRecorder()
	g.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("/auth for a require_2fa service: %d", w.Code)
	}
	tok, err := jwt.ParseSigned(w.Header().Get("X-Ssogate-Assertion"), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims assertionClaims
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		t.Fatal(err)
	}
	return claims.AMR
}
