package oidc

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/ory/fosite"

	"github.com/ssogate/ssogate/providers"
)

// testCallback is the gateway's callback URL in every test; no one
// listens there: the test's browser stops at the redirect to it.
const testCallback = "http://127.0.0.1:9/callback/idp"

// Entra ID tenant ids.
const (
	tenantA = "5b1c4e4a-0b6f-4d0e-9a55-3f3c2b8f1d21"
	tenantB = "0e2d9f3a-7c41-4b8e-8f0a-6a3b1c2d4e5f"
	tenantC = "9188040d-6c67-4c5b-b112-36a304b66dad"
)

// testClock is a clock tests move by hand.
type testClock struct{ offset atomic.Int64 }

func newClock() *testClock                   { return &testClock{} }
func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// config returns cfg on this clock.
func (c *testClock) config(cfg Config) Config {
	cfg.Now = c.Now
	return cfg
}

// fositeConfig is a provider of op's client ssogate.
func fositeConfig(op *fositeOP) Config {
	return Config{Issuer: op.URL, ClientID: opClientID, ClientSecret: opClientSecret}
}

// browser follows nothing: the test reads the OP's redirect itself.
var browser = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

func openTest(t *testing.T, cfg Config) *Provider {
	t.Helper()
	p, err := Open(t.Context(), "idp", cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return p
}

// signIn runs Begin and the browser's visit to the OP, and returns the
// callback the browser brings back.
func signIn(t *testing.T, p *Provider, hint string) (providers.CompleteRequest, *url.URL) {
	t.Helper()
	res, err := p.Begin(t.Context(), providers.BeginRequest{CallbackURL: testCallback, LoginHint: hint})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	authURL, err := url.Parse(res.RedirectURL)
	if err != nil {
		t.Fatalf("Begin: RedirectURL %q: %v", res.RedirectURL, err)
	}
	resp, err := browser.Get(res.RedirectURL)
	if err != nil {
		t.Fatalf("GET authorization endpoint: %v", err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), testCallback+"?") {
		t.Fatalf("authorization endpoint answered %s, Location %v; want a redirect to the callback", resp.Status, loc)
	}
	return providers.CompleteRequest{CallbackURL: testCallback, Query: loc.Query(), State: res.State}, authURL
}

// checkErr checks err against a sentinel and, when code is set, the
// OP's error code.
func checkErr(t *testing.T, err, want error, code string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("Complete error = %v; want one wrapping %v", err, want)
	}
	t.Logf("Complete error (as logged): %v", err)
	for _, other := range []error{providers.ErrDenied, providers.ErrNotAllowed, providers.ErrInvalidResponse, providers.ErrUnavailable} {
		if other != want && errors.Is(err, other) {
			t.Errorf("Complete error = %v; wraps %v besides %v", err, other, want)
		}
	}
	if code != "" {
		var perr *providers.ProviderError
		if !errors.As(err, &perr) || perr.Code != code {
			t.Errorf("Complete error = %v; want a ProviderError with code %q", err, code)
		}
	}
}

// flowCase is one sign-in against the fosite OP.
type flowCase struct {
	name  string
	cfg   func(*Config)
	login *opLogin
	// tamper changes the callback before Complete.
	tamper func(req *providers.CompleteRequest)
	// advance moves the clock between the callback and Complete.
	advance time.Duration
	// replay completes a second time with the same callback.
	replay   bool
	wantErr  error
	wantCode string
	check    func(t *testing.T, id *providers.Identity)
}

func runFlows(t *testing.T, op *fositeOP, base Config, cases []flowCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := newClock()
			cfg := clock.config(base)
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			p := openTest(t, cfg)
			op.Queue(c.login)
			req, _ := signIn(t, p, "")
			if c.tamper != nil {
				c.tamper(&req)
			}
			clock.Advance(c.advance)
			id, err := p.Complete(t.Context(), req)
			if c.replay {
				if err != nil {
					t.Fatalf("first Complete: %v", err)
				}
				id, err = p.Complete(t.Context(), req)
			}
			checkErr(t, err, c.wantErr, c.wantCode)
			if err == nil && c.check != nil {
				c.check(t, id)
			}
		})
	}
}

func setClaim(k string, v any) func(map[string]any) {
	return func(c map[string]any) { c[k] = v }
}

func TestFositeOP(t *testing.T) {
	op := newFositeOP(t, testCallback)
	_, otherKey := testKeys(t)
	alice := func() *opLogin {
		return &opLogin{Subject: "alice", Claims: map[string]any{
			"email": "alice@example.co.jp", "email_verified": true, "name": "山田 花子",
		}}
	}

	runFlows(t, op, fositeConfig(op), []flowCase{
		{
			name: "happy path maps claims",
			cfg: func(c *Config) {
				c.Scopes = []string{"email", "profile", "groups"}
				c.Claims = Claims{Mobile: "mobile_phone", Organization: "company", Department: "department"}
			},
			login: &opLogin{Subject: "alice", Claims: map[string]any{
				"email": "alice@example.co.jp", "email_verified": true, "name": "山田 花子",
				"phone_number": "+81 3-1234-5678", "mobile_phone": "+81 90-1234-5678",
				"company": "Example株式会社", "department": "営業部",
				"groups": []string{"staff", "sales", "staff"}, "amr": []string{"pwd", "mfa"},
				"address": map[string]any{"country": "JP"},
			}},
			check: func(t *testing.T, id *providers.Identity) {
				want := providers.Identity{
					ProviderID: "idp", Subject: "alice", Email: "alice@example.co.jp", EmailVerified: true,
					DisplayName: "山田 花子", Phone: "+81 3-1234-5678", Mobile: "+81 90-1234-5678",
					Organization: "Example株式会社", Department: "営業部",
				}
				got := *id
				got.Groups, got.Claims, got.AMR = nil, nil, nil
				if !equalIdentity(got, want) {
					t.Errorf("Identity = %+v\nwant %+v", got, want)
				}
				if !slices.Equal(id.Groups, []string{"staff", "sales"}) {
					t.Errorf("Groups = %q; want [staff sales]", id.Groups)
				}
				if !slices.Equal(id.AMR, []string{"fed", "pwd", "mfa"}) {
					t.Errorf("AMR = %q; want [fed pwd mfa]", id.AMR)
				}
				for k, v := range map[string][]string{
					"sub": {"alice"}, "iss": {op.URL}, "aud": {opClientID}, "email_verified": {"true"},
					"groups": {"staff", "sales", "staff"}, "address": {`{"country":"JP"}`},
				} {
					if !slices.Equal(id.Claims[k], v) {
						t.Errorf("Claims[%q] = %q; want %q", k, id.Claims[k], v)
					}
				}
				if exp := id.Claims["exp"]; len(exp) != 1 || strings.ContainsAny(exp[0], ".e") {
					t.Errorf("Claims[exp] = %q; want an integer", exp)
				}
			},
		},
		{
			name:  "groups as a single string",
			login: with(alice(), func(l *opLogin) { l.Claims["groups"] = "staff" }),
			check: func(t *testing.T, id *providers.Identity) {
				if !slices.Equal(id.Groups, []string{"staff"}) || !slices.Equal(id.AMR, []string{"fed"}) {
					t.Errorf("Groups, AMR = %q, %q; want [staff], [fed]", id.Groups, id.AMR)
				}
			},
		},
		{
			name:  "email_verified as a string",
			login: with(alice(), func(l *opLogin) { l.Claims["email_verified"] = "true" }),
			check: wantVerified(true),
		},
		{
			name:  "email not verified",
			login: with(alice(), func(l *opLogin) { l.Claims["email_verified"] = false }),
			check: wantVerified(false),
		},
		{
			name:  "email_verified missing",
			login: with(alice(), func(l *opLogin) { delete(l.Claims, "email_verified") }),
			check: wantVerified(false),
		},
		{
			name:    "wrong state",
			login:   alice(),
			tamper:  func(r *providers.CompleteRequest) { r.Query.Set("state", "forged-state-value-0123456789") },
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:    "no state",
			login:   alice(),
			tamper:  func(r *providers.CompleteRequest) { r.Query.Del("state") },
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:  "state of another provider",
			login: alice(),
			tamper: func(r *providers.CompleteRequest) {
				r.State = rewriteState(t, r.State, func(s *authState) { s.Provider = "other" })
			},
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:    "callback URL differs",
			login:   alice(),
			tamper:  func(r *providers.CompleteRequest) { r.CallbackURL = "https://evil.example/callback/idp" },
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:     "replayed code",
			login:    alice(),
			replay:   true,
			wantErr:  providers.ErrInvalidResponse,
			wantCode: "invalid_grant",
		},
		{
			name:  "PKCE verifier of another sign-in",
			login: alice(),
			tamper: func(r *providers.CompleteRequest) {
				r.State = rewriteState(t, r.State, func(s *authState) { s.Verifier = strings.Repeat("v", 43) })
			},
			wantErr:  providers.ErrInvalidResponse,
			wantCode: "invalid_grant",
		},
		{
			name:    "tampered nonce",
			login:   with(alice(), func(l *opLogin) { l.Mutate = setClaim("nonce", "nonce-of-another-sign-in") }),
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:    "no nonce",
			login:   with(alice(), func(l *opLogin) { l.Mutate = func(c map[string]any) { delete(c, "nonce") } }),
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:    "expired ID token",
			login:   alice(),
			advance: time.Hour + time.Minute,
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:    "wrong audience",
			login:   with(alice(), func(l *opLogin) { l.Mutate = setClaim("aud", []string{opOtherClient}) }),
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:    "several audiences without azp",
			login:   with(alice(), func(l *opLogin) { l.Mutate = setClaim("aud", []string{opClientID, opOtherClient}) }),
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name: "several audiences, azp this client",
			login: with(alice(), func(l *opLogin) {
				l.Mutate = func(c map[string]any) { c["aud"] = []string{opClientID, opOtherClient}; c["azp"] = opClientID }
			}),
		},
		{
			name:    "azp another client",
			login:   with(alice(), func(l *opLogin) { l.Mutate = setClaim("azp", opOtherClient) }),
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:    "wrong issuer",
			login:   with(alice(), func(l *opLogin) { l.Issuer = "https://evil.example" }),
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:    "signed with another key",
			login:   with(alice(), func(l *opLogin) { l.SignWith = otherKey }),
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:    "at_hash of another access token",
			login:   with(alice(), func(l *opLogin) { l.Mutate = setClaim("at_hash", "AAAAAAAAAAAAAAAAAAAAAA") }),
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:    "iss parameter of another OP (mix-up)",
			login:   alice(),
			tamper:  func(r *providers.CompleteRequest) { r.Query.Set("iss", "https://evil.example") },
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:   "iss parameter of this OP",
			login:  alice(),
			tamper: func(r *providers.CompleteRequest) { r.Query.Set("iss", op.URL) },
		},
		{
			name:     "access_denied",
			login:    &opLogin{Deny: fosite.ErrAccessDenied},
			wantErr:  providers.ErrDenied,
			wantCode: "access_denied",
		},
		{
			name:     "login_required",
			login:    &opLogin{Deny: fosite.ErrLoginRequired},
			wantErr:  providers.ErrDenied,
			wantCode: "login_required",
		},
		{
			name:     "consent_required",
			login:    &opLogin{Deny: fosite.ErrConsentRequired},
			wantErr:  providers.ErrDenied,
			wantCode: "consent_required",
		},
		{
			name:     "server_error",
			login:    &opLogin{Deny: fosite.ErrServerError},
			wantErr:  providers.ErrInvalidResponse,
			wantCode: "server_error",
		},
		{
			name:  "response_mode form_post",
			login: alice(),
			tamper: func(r *providers.CompleteRequest) {
				r.Form, r.Query = r.Query, url.Values{}
			},
		},
	})

	t.Run("expired ID token error", func(t *testing.T) {
		clock := newClock()
		p := openTest(t, clock.config(fositeConfig(op)))
		op.Queue(alice())
		req, _ := signIn(t, p, "")
		clock.Advance(2 * time.Hour)
		_, err := p.Complete(t.Context(), req)
		var expired *gooidc.TokenExpiredError
		if !errors.As(err, &expired) {
			t.Fatalf("Complete error = %v; want a *oidc.TokenExpiredError for the log", err)
		}
	})
}

func wantVerified(want bool) func(*testing.T, *providers.Identity) {
	return func(t *testing.T, id *providers.Identity) {
		t.Helper()
		if id.EmailVerified != want || id.Email == "" {
			t.Errorf("Email, EmailVerified = %q, %v; want an email, %v", id.Email, id.EmailVerified, want)
		}
	}
}

func equalIdentity(a, b providers.Identity) bool {
	return a.ProviderID == b.ProviderID && a.Subject == b.Subject && a.Email == b.Email &&
		a.EmailVerified == b.EmailVerified && a.DisplayName == b.DisplayName && a.Phone == b.Phone &&
		a.Mobile == b.Mobile && a.Organization == b.Organization && a.Department == b.Department
}

func rewriteState(t *testing.T, raw []byte, f func(*authState)) []byte {
	t.Helper()
	var s authState
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("state is not JSON: %v", err)
	}
	f(&s)
	out, _ := json.Marshal(s)
	return out
}

func TestUserInfo(t *testing.T) {
	op := newFositeOP(t, testCallback)
	base := fositeConfig(op)
	base.UserInfo = true
	base.Claims.Department = "department"
	runFlows(t, op, base, []flowCase{
		{
			name: "merged, ID token wins",
			login: &opLogin{
				Subject: "bob",
				Claims:  map[string]any{"email": "bob@example.co.jp", "email_verified": true},
				UserInfo: map[string]any{
					"email": "bob@elsewhere.example", "email_verified": false,
					"name": "鈴木 一郎", "department": "経理部", "groups": []string{"accounting"},
				},
			},
			check: func(t *testing.T, id *providers.Identity) {
				if id.Subject != "bob" || id.Email != "bob@example.co.jp" || !id.EmailVerified {
					t.Errorf("Subject, Email, EmailVerified = %q, %q, %v; want the ID token's", id.Subject, id.Email, id.EmailVerified)
				}
				if id.DisplayName != "鈴木 一郎" || id.Department != "経理部" || !slices.Equal(id.Groups, []string{"accounting"}) {
					t.Errorf("DisplayName, Department, Groups = %q, %q, %q; want UserInfo's", id.DisplayName, id.Department, id.Groups)
				}
			},
		},
		{
			name: "email only in UserInfo brings its own verification",
			login: &opLogin{
				Subject:  "carol",
				Claims:   map[string]any{"email_verified": true},
				UserInfo: map[string]any{"email": "carol@example.co.jp"},
			},
			check: func(t *testing.T, id *providers.Identity) {
				if id.Email != "carol@example.co.jp" || id.EmailVerified {
					t.Errorf("Email, EmailVerified = %q, %v; want UserInfo's email, not verified", id.Email, id.EmailVerified)
				}
			},
		},
		{
			name: "verified email only in UserInfo",
			login: &opLogin{
				Subject:  "dave",
				UserInfo: map[string]any{"email": "dave@example.co.jp", "email_verified": true},
			},
			check: wantVerified(true),
		},
		{
			name:    "UserInfo about someone else",
			login:   &opLogin{Subject: "erin", UserInfo: map[string]any{"sub": "mallory"}},
			wantErr: providers.ErrInvalidResponse,
		},
	})
}

func TestGoogleHostedDomain(t *testing.T) {
	op := newFositeOP(t, testCallback)
	base := fositeConfig(op)
	base.Preset = PresetGoogle
	base.HostedDomain = "Example.co.jp"
	login := func(claims map[string]any) *opLogin {
		claims["email"], claims["email_verified"] = "hana@example.co.jp", true
		return &opLogin{Subject: "108234567890", Claims: claims}
	}
	runFlows(t, op, base, []flowCase{
		{name: "hosted domain ok", login: login(map[string]any{"hd": "example.co.jp"}), check: wantVerified(true)},
		{name: "hd of another domain", login: login(map[string]any{"hd": "example.com"}), wantErr: providers.ErrNotAllowed},
		{name: "hd missing (a gmail.com account)", login: login(map[string]any{}), wantErr: providers.ErrNotAllowed},
		{
			name:    "hd missing, nonce tampered: the forgery is reported, not the domain",
			login:   &opLogin{Subject: "x", Mutate: setClaim("nonce", "other-nonce-value")},
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:  "no hosted_domain accepts any account",
			cfg:   func(c *Config) { c.HostedDomain = "" },
			login: login(map[string]any{}),
		},
	})

	t.Run("hd and login_hint requested", func(t *testing.T) {
		p := openTest(t, base)
		op.Queue(login(map[string]any{"hd": "example.co.jp"}))
		_, authURL := signIn(t, p, "hana@example.co.jp")
		q := authURL.Query()
		if q.Get("hd") != "example.co.jp" || q.Get("login_hint") != "hana@example.co.jp" {
			t.Errorf("authorization URL %s: want hd=example.co.jp and login_hint", authURL)
		}
	})
}

func TestMicrosoftTenants(t *testing.T) {
	op := newFositeOP(t, testCallback)
	multi := Config{
		Preset: PresetMicrosoft, Tenant: TenantOrganizations, AllowedTenants: []string{tenantA, strings.ToUpper(tenantB)},
		MicrosoftAuthority: op.URL + "/", ClientID: opClientID, ClientSecret: opClientSecret,
	}
	// user is someone in tenant tid, as Entra ID asserts them.
	user := func(tid string, claims map[string]any) *opLogin {
		c := map[string]any{"tid": tid, "email": "taro@contoso.example", "name": "佐藤 太郎",
			"oid": "00000000-0000-0000-0000-000000000001", "groups": []string{"b1a2"}}
		for k, v := range claims {
			c[k] = v
		}
		return &opLogin{Subject: "pairwise-sub-" + tid[:4], Issuer: op.TenantIssuer(tid), Claims: c}
	}
	runFlows(t, op, multi, []flowCase{
		{
			name:  "tenant in the list, email domain verified",
			login: user(tenantA, map[string]any{"xms_edov": true}),
			check: func(t *testing.T, id *providers.Identity) {
				if !id.EmailVerified || id.DisplayName != "佐藤 太郎" || !slices.Equal(id.Claims["tid"], []string{tenantA}) {
					t.Errorf("Identity = %+v; want verified email, name, tid", id)
				}
			},
		},
		{name: "second tenant in the list", login: user(tenantB, map[string]any{"xms_edov": "1"}), check: wantVerified(true)},
		{name: "tenant not in the list", login: user(tenantC, nil), wantErr: providers.ErrNotAllowed},
		{
			name:    "issuer of another tenant than tid",
			login:   with(user(tenantA, nil), func(l *opLogin) { l.Issuer = op.TenantIssuer(tenantC) }),
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:    "issuer outside the authority",
			login:   with(user(tenantA, nil), func(l *opLogin) { l.Issuer = "https://evil.example/" + tenantA + "/v2.0" }),
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:    "no tid",
			login:   with(user(tenantA, nil), func(l *opLogin) { delete(l.Claims, "tid") }),
			wantErr: providers.ErrInvalidResponse,
		},
		{
			name:    "templated issuer itself",
			login:   with(user(tenantA, nil), func(l *opLogin) { l.Issuer = op.TenantIssuer("{tenantid}") }),
			wantErr: providers.ErrInvalidResponse,
		},
		{
			// nOAuth: Entra ID does not verify the email claim; a claim
			// named email_verified proves nothing here.
			name:  "email without xms_edov is not verified",
			login: user(tenantA, map[string]any{"email_verified": true}),
			check: wantVerified(false),
		},
		{name: "xms_edov false", login: user(tenantA, map[string]any{"xms_edov": false}), check: wantVerified(false)},
		{
			name:   "iss parameter of an allowed tenant",
			login:  user(tenantA, nil),
			tamper: func(r *providers.CompleteRequest) { r.Query.Set("iss", op.TenantIssuer(tenantA)) },
		},
		{
			name:    "iss parameter of another tenant than the token's",
			login:   user(tenantA, nil),
			tamper:  func(r *providers.CompleteRequest) { r.Query.Set("iss", op.TenantIssuer(tenantB)) },
			wantErr: providers.ErrInvalidResponse,
		},
	})

	single := multi
	single.Tenant, single.AllowedTenants = tenantA, nil
	runFlows(t, op, single, []flowCase{
		{name: "single tenant", login: user(tenantA, map[string]any{"xms_edov": true}), check: wantVerified(true)},
		{name: "single tenant, token of another tenant", login: user(tenantB, nil), wantErr: providers.ErrInvalidResponse},
		{
			name:    "single tenant, tid of another tenant",
			login:   with(user(tenantA, nil), func(l *opLogin) { l.Claims["tid"] = tenantB }),
			wantErr: providers.ErrInvalidResponse,
		},
	})
}

func with(l *opLogin, f func(*opLogin)) *opLogin { f(l); return l }

func TestDiscoveryDownAtOpen(t *testing.T) {
	op := newFositeOP(t, testCallback)
	op.Down.Store(true)
	clock := newClock()
	p, err := Open(t.Context(), "idp", clock.config(fositeConfig(op)))
	if err != nil {
		t.Fatalf("Open with the OP down: %v; want a provider that retries", err)
	}
	if err := p.Discover(t.Context()); !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Discover = %v; want ErrUnavailable", err)
	}
	if _, err := p.Begin(t.Context(), providers.BeginRequest{CallbackURL: testCallback}); !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Begin with the OP down = %v; want ErrUnavailable", err)
	}
	if n := op.discoveries.Load(); n != 1 {
		t.Errorf("%d discovery requests; want 1 (retries wait %v)", n, discoveryRetry)
	}

	op.Down.Store(false)
	if _, err := p.Begin(t.Context(), providers.BeginRequest{CallbackURL: testCallback}); !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Begin right after the OP is back = %v; want ErrUnavailable until the retry interval passes", err)
	}
	clock.Advance(discoveryRetry)

	// Many sign-ins at once make one discovery request.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			if _, err := p.Begin(t.Context(), providers.BeginRequest{CallbackURL: testCallback}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Begin after the OP is back: %v", err)
	}
	if n := op.discoveries.Load(); n != 2 {
		t.Errorf("%d discovery requests; want 2", n)
	}
	op.Queue(&opLogin{Subject: "alice"})
	req, _ := signIn(t, p, "")
	if id, err := p.Complete(t.Context(), req); err != nil || id.Subject != "alice" {
		t.Fatalf("Complete = %+v, %v", id, err)
	}
}

func TestIssParameterRequired(t *testing.T) {
	op := newFositeOP(t, testCallback)
	op.IssParam.Store(true)
	runFlows(t, op, fositeConfig(op), []flowCase{
		{name: "iss parameter missing", login: &opLogin{Subject: "alice"}, wantErr: providers.ErrInvalidResponse},
		{
			name:   "iss parameter present",
			login:  &opLogin{Subject: "alice"},
			tamper: func(r *providers.CompleteRequest) { r.Query.Set("iss", op.URL) },
		},
	})
}

func TestOpenUnreachable(t *testing.T) {
	p, err := Open(t.Context(), "idp", Config{Issuer: "http://127.0.0.1:1", ClientID: "c", ClientSecret: "s"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	_, err = p.Begin(t.Context(), providers.BeginRequest{CallbackURL: testCallback})
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Begin = %v; want ErrUnavailable", err)
	}
	_, err = p.Complete(t.Context(), providers.CompleteRequest{
		Query: url.Values{"code": {"c"}, "state": {"s"}},
		State: []byte(`{"p":"idp","s":"s","n":"n","v":"v","c":"` + testCallback + `"}`),
	})
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Complete = %v; want ErrUnavailable", err)
	}
}

func TestOpenIssuerMismatch(t *testing.T) {
	op := newFositeOP(t, testCallback)
	cfg := fositeConfig(op)
	cfg.Issuer += "/"
	_, err := Open(t.Context(), "idp", cfg)
	if err == nil || !strings.Contains(err.Error(), "correct issuer") {
		t.Fatalf("Open with issuer %q = %v; want a configuration error", cfg.Issuer, err)
	}
}

func TestMockOIDC(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	base := Config{
		Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret,
		Scopes: []string{"openid", "email", "profile", "groups"},
		Claims: Claims{Name: "preferred_username"},
	}
	user := &mockoidc.MockUser{
		Subject: "u-1001", Email: "jiro@example.co.jp", EmailVerified: true,
		PreferredUsername: "jiro", Phone: "03-1234-5678", Groups: []string{"engineering", "admins"},
	}

	tests := []struct {
		name     string
		cfg      func(*Config)
		tamper   func(*providers.CompleteRequest)
		advance  time.Duration
		replay   bool
		wantErr  error
		wantCode string
	}{
		{name: "happy path"},
		{name: "wrong state", tamper: func(r *providers.CompleteRequest) { r.Query.Set("state", "x") }, wantErr: providers.ErrInvalidResponse},
		{name: "replayed code", replay: true, wantErr: providers.ErrInvalidResponse, wantCode: "invalid_grant"},
		{name: "expired ID token", advance: m.AccessTTL + time.Minute, wantErr: providers.ErrInvalidResponse},
		{
			name: "PKCE verifier of another sign-in",
			tamper: func(r *providers.CompleteRequest) {
				r.State = rewriteState(t, r.State, func(s *authState) { s.Verifier = strings.Repeat("v", 43) })
			},
			wantErr: providers.ErrInvalidResponse, wantCode: "invalid_grant",
		},
		{
			// mockoidc's UserInfo omits sub, which OpenID Connect requires.
			name: "UserInfo without sub", cfg: func(c *Config) { c.UserInfo = true },
			wantErr: providers.ErrInvalidResponse,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			cfg := clock.config(base)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			p := openTest(t, cfg)
			m.QueueUser(user)
			req, authURL := signIn(t, p, "jiro@example.co.jp")
			q := authURL.Query()
			if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
				len(q.Get("nonce")) != 43 || len(q.Get("state")) != 43 || q.Get("login_hint") != "jiro@example.co.jp" ||
				q.Get("scope") != "openid email profile groups" || q.Get("redirect_uri") != testCallback {
				t.Errorf("authorization URL %s lacks PKCE S256, nonce, state, login_hint, scope or redirect_uri", authURL)
			}
			if tt.tamper != nil {
				tt.tamper(&req)
			}
			clock.Advance(tt.advance)
			id, err := p.Complete(t.Context(), req)
			if tt.replay {
				if err != nil {
					t.Fatalf("first Complete: %v", err)
				}
				id, err = p.Complete(t.Context(), req)
			}
			checkErr(t, err, tt.wantErr, tt.wantCode)
			if err != nil {
				return
			}
			if id.Subject != "u-1001" || id.Email != user.Email || !id.EmailVerified || id.DisplayName != "jiro" ||
				id.Phone != user.Phone || !slices.Equal(id.Groups, user.Groups) || id.ProviderID != "idp" {
				t.Errorf("Identity = %+v", id)
			}
		})
	}
}

func TestBeginFresh(t *testing.T) {
	op := newFositeOP(t, testCallback)
	p := openTest(t, fositeConfig(op))
	seen := map[string]bool{}
	for range 3 {
		res, err := p.Begin(t.Context(), providers.BeginRequest{CallbackURL: testCallback})
		if err != nil {
			t.Fatal(err)
		}
		var st authState
		if err := json.Unmarshal(res.State, &st); err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{st.State, st.Nonce, st.Verifier} {
			if len(v) < 43 || seen[v] {
				t.Errorf("state, nonce or verifier %q short or reused", v)
			}
			seen[v] = true
		}
	}
	for _, cb := range []string{"", "/callback/idp", "ftp://x/cb", "https://x/cb#frag"} {
		if _, err := p.Begin(t.Context(), providers.BeginRequest{CallbackURL: cb}); err == nil {
			t.Errorf("Begin(CallbackURL %q) succeeded", cb)
		}
	}
}
