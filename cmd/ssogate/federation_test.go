package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/ssogate/ssogate/store"
)

// withProviders inserts YAML provider entries after the local provider
// (before the services list) of the test configuration.
func withProviders(yaml string) harnessOption {
	return func(s string) string {
		i := strings.Index(s, "\nservices:")
		return s[:i] + yaml + s[i:]
	}
}

// newMockOIDC starts a real OpenID provider on loopback.
func newMockOIDC(t *testing.T) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return m
}

// oidcProvider is the YAML of an oidc provider "mock" for m, plus extra.
func oidcProvider(m *mockoidc.MockOIDC, extra string) harnessOption {
	cfg := m.Config()
	return withProviders(fmt.Sprintf(`
  - id: mock
    type: oidc
    label: 社内IDでログイン
    issuer: %s
    client_id: %s
    client_secret: %s
%s`, m.Issuer(), cfg.ClientID, cfg.ClientSecret, extra))
}

// federatedLogin signs in through provider id the way a browser does:
// the provider's page (the OP approves at once), back to the callback.
// It returns the gateway's final answer.
func (b *browser) federatedLogin(id, returnTo string) *page {
	b.h.t.Helper()
	path := "/login/" + id
	if returnTo != "" {
		path += "?return_to=" + url.QueryEscape(returnTo)
	}
	p := b.get(path)
	if p.StatusCode != http.StatusFound {
		return p
	}
	// At the OP (a different origin: no gateway cookies go there).
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(p.Header.Get("Location"))
	if err != nil {
		b.h.t.Fatal(err)
	}
	resp.Body.Close()
	cb := resp.Header.Get("Location")
	if !strings.HasPrefix(cb, b.h.url+"/callback/"+id) {
		b.h.t.Fatalf("OP sent the browser to %q, not the callback", cb)
	}
	return b.get(strings.TrimPrefix(cb, b.h.url))
}

func TestOIDCSignInLinkingAndProvisioning(t *testing.T) {
	ctx := context.Background()

	t.Run("not registered without linking or provisioning", func(t *testing.T) {
		m := newMockOIDC(t)
		h := newHarness(t, oidcProvider(m, ""))
		h.addUser("alice@example.co.jp", "Alice", alicePW)
		b := h.browser()
		p := b.get("/login")
		if !strings.Contains(p.body, `id="provider-mock"`) || !strings.Contains(p.body, "社内IDでログイン") || !strings.Contains(p.body, `id="login-form"`) {
			t.Fatalf("login page lacks the provider button or the password form:\n%s", snippet(p.body))
		}
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-alice", Email: "alice@example.co.jp", EmailVerified: true})
		p = b.federatedLogin("mock", "")
		expectStatus(t, p, http.StatusForbidden)
		if !strings.Contains(p.body, "登録されていません") {
			t.Fatalf("no 'not registered' message:\n%s", snippet(p.body))
		}
		if b.cookie(h.app.cfg.Session.CookieName) != nil {
			t.Fatal("a refused federated sign-in set a session cookie")
		}
	})

	t.Run("link by verified email, then by subject", func(t *testing.T) {
		m := newMockOIDC(t)
		h := newHarness(t, oidcProvider(m, "    link_domains: [example.co.jp]\n"))
		alice := h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
		b := h.browser()
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-alice", Email: "Alice@Example.co.jp", EmailVerified: true})
		expectRedirect(t, b.federatedLogin("mock", "/me"), "/me")
		p := b.get("/me")
		if !strings.Contains(p.body, "alice@example.co.jp") {
			t.Fatal("not signed in as alice")
		}
		links, _ := h.app.store.ListUserIdentities(ctx, alice.ID)
		if len(links) != 1 || links[0].ProviderID != "mock" || links[0].Subject != "sub-alice" {
			t.Fatalf("links = %+v", links)
		}
		// The link, not the email, decides from now on.
		b2 := h.browser()
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-alice", Email: "renamed@other.example", EmailVerified: false})
		expectRedirect(t, b2.federatedLogin("mock", ""), "/")
		if p := b2.get("/"); !strings.Contains(p.body, "alice@example.co.jp") {
			t.Fatal("linked identity did not sign in as alice")
		}
		// Another subject with alice's email but unverified: refused.
		b3 := h.browser()
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-mallory", Email: "alice@example.co.jp", EmailVerified: false})
		expectStatus(t, b3.federatedLogin("mock", ""), http.StatusForbidden)
		// A verified email outside the allowed domains: refused.
		h.addUser("bob@other.example", "Bob", alicePW)
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-bob", Email: "bob@other.example", EmailVerified: true})
		expectStatus(t, h.browser().federatedLogin("mock", ""), http.StatusForbidden)
		events, _ := h.app.store.ListAudit(ctx, store.AuditFilter{Action: "identity_link"})
		if len(events) != 1 || events[0].UserID != alice.ID {
			t.Fatalf("identity_link audit = %+v", events)
		}
	})

	t.Run("just-in-time provisioning with group mapping and owned fields", func(t *testing.T) {
		m := newMockOIDC(t)
		h := newHarness(t, oidcProvider(m, `    scopes: [openid, email, profile, groups]
    provision: true
    provision_domains: [example.co.jp]
    group_mapping:
      - from: SSO-Staff
        to: [staff]
      - from: sso-admins
        to: [admins, staff]
    owned_fields: [phone]
`))
		b := h.browser()
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-hanako", Email: "hanako@example.co.jp", EmailVerified: true,
			Phone: "03-1234-5678", Groups: []string{"sso-staff", "unrelated"}})
		expectRedirect(t, b.federatedLogin("mock", ""), "/")
		u, err := h.app.store.GetUserByEmail(ctx, "hanako@example.co.jp")
		if err != nil {
			t.Fatalf("user not provisioned: %v", err)
		}
		if strings.Join(u.Groups, ",") != "staff" || u.Phone != "03-1234-5678" || u.Status != store.StatusActive {
			t.Fatalf("provisioned user = %+v", u)
		}
		// The launcher shows the tiles the mapped groups allow.
		p := b.get("/")
		if !strings.Contains(p.body, `data-service="expenses"`) || strings.Contains(p.body, `data-service="admin-console"`) {
			t.Fatal("launcher does not follow the mapped groups")
		}
		// The provider owns phone: read-only on the page, kept on submit.
		p = b.get("/me")
		if !strings.Contains(p.body, `id="managed-phone"`) || !strings.Contains(p.body, "ログイン元（社内IDでログイン）から自動で設定") {
			t.Fatalf("phone not shown as managed:\n%s", snippet(p.body))
		}
		expectRedirect(t, b.post("/me", url.Values{"display_name": {"佐藤 花子"}, "phone": {"090-0000-0000"}}), "/me?saved=1")
		u, _ = h.app.store.GetUserByEmail(ctx, "hanako@example.co.jp")
		if u.Phone != "03-1234-5678" || u.DisplayName != "佐藤 花子" {
			t.Fatalf("after edit: phone %q (owned, must not change), name %q", u.Phone, u.DisplayName)
		}
		// Groups follow the provider at the next sign-in.
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-hanako", Email: "hanako@example.co.jp", EmailVerified: true,
			Phone: "03-1234-5678", Groups: []string{"sso-admins"}})
		expectRedirect(t, h.browser().federatedLogin("mock", ""), "/")
		u, _ = h.app.store.GetUserByEmail(ctx, "hanako@example.co.jp")
		if strings.Join(u.Groups, ",") != "admins,staff" {
			t.Fatalf("groups after re-sign-in = %v", u.Groups)
		}
		// A domain outside provision_domains is not provisioned.
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-x", Email: "x@elsewhere.example", EmailVerified: true})
		expectStatus(t, h.browser().federatedLogin("mock", ""), http.StatusForbidden)
		if _, err := h.app.store.GetUserByEmail(ctx, "x@elsewhere.example"); err == nil {
			t.Fatal("provisioned a user outside provision_domains")
		}
	})

	t.Run("login methods", func(t *testing.T) {
		m := newMockOIDC(t)
		h := newHarness(t, oidcProvider(m, "    link_domains: [example.co.jp]\n"))
		alice := h.addUser("alice@example.co.jp", "Alice", alicePW)
		alice.LoginMethods = []string{"local"}
		if err := h.app.store.UpdateUser(ctx, alice); err != nil {
			t.Fatal(err)
		}
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-alice", Email: "alice@example.co.jp", EmailVerified: true})
		p := h.browser().federatedLogin("mock", "")
		expectStatus(t, p, http.StatusForbidden)
		if !strings.Contains(p.body, "このログイン方法はご利用いただけません") {
			t.Fatalf("no login-method message:\n%s", snippet(p.body))
		}
		expectRedirect(t, h.browser().login("alice@example.co.jp", alicePW, ""), "/")
	})

	t.Run("organisation policy hides methods", func(t *testing.T) {
		m := newMockOIDC(t)
		h := newHarness(t, oidcProvider(m, "    link_domains: [example.co.jp]\n"), func(s string) string {
			return s + "policy:\n  login_methods: [mock]\n  hide_password_form: true\n"
		})
		h.addUser("alice@example.co.jp", "Alice", alicePW)
		b := h.browser()
		p := b.get("/login")
		if strings.Contains(p.body, `id="login-form"`) || !strings.Contains(p.body, `id="provider-mock"`) {
			t.Fatalf("policy not applied to the login page:\n%s", snippet(p.body))
		}
		// The hidden password form is refused even when posted directly.
		p = b.post("/login", url.Values{"email": {"alice@example.co.jp"}, "password": {alicePW}})
		if p.StatusCode == http.StatusSeeOther {
			t.Fatal("password sign-in worked although the policy hides it")
		}
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-alice", Email: "alice@example.co.jp", EmailVerified: true})
		expectRedirect(t, h.browser().federatedLogin("mock", ""), "/")
	})

	t.Run("flow is one-time and bound to the browser", func(t *testing.T) {
		m := newMockOIDC(t)
		h := newHarness(t, oidcProvider(m, "    link_domains: [example.co.jp]\n"))
		h.addUser("alice@example.co.jp", "Alice", alicePW)
		b := h.browser()
		p := b.get("/login/mock")
		expectStatus(t, p, http.StatusFound)
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-alice", Email: "alice@example.co.jp", EmailVerified: true})
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(p.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cb := strings.TrimPrefix(resp.Header.Get("Location"), h.url)
		// Another browser (an attacker holding the callback URL) cannot use it.
		expectStatus(t, h.browser().get(cb), http.StatusBadRequest)
		// The right browser can, once.
		flow := b.cookie("ssogate_flow")
		expectRedirect(t, b.get(cb), "/")
		replay := h.browser()
		u, _ := url.Parse(h.url)
		replay.jar.SetCookies(u, []*http.Cookie{flow})
		p = replay.get(cb)
		expectStatus(t, p, http.StatusBadRequest)
		if !strings.Contains(p.body, "有効期限が切れました") {
			t.Fatalf("replayed flow: %s", snippet(p.body))
		}
	})

	t.Run("denied at the provider", func(t *testing.T) {
		m := newMockOIDC(t)
		h := newHarness(t, oidcProvider(m, ""))
		b := h.browser()
		p := b.get("/login/mock")
		loc, _ := url.Parse(p.Header.Get("Location"))
		p = b.get("/callback/mock?error=access_denied&error_description=user+cancelled&state=" + loc.Query().Get("state"))
		expectStatus(t, p, http.StatusUnauthorized)
		if !strings.Contains(p.body, "キャンセル") {
			t.Fatalf("denial page:\n%s", snippet(p.body))
		}
	})

	t.Run("provider down", func(t *testing.T) {
		// An OP that is down at start (nothing listens on port 1) does not
		// stop the gateway; its button answers clearly, others work.
		h := newHarness(t, withProviders(`
  - id: mock
    type: oidc
    label: 社内IDでログイン
    issuer: http://127.0.0.1:1/oidc
    client_id: c
    client_secret: s
`))
		h.addUser("alice@example.co.jp", "Alice", alicePW)
		p := h.browser().get("/login/mock")
		expectStatus(t, p, http.StatusServiceUnavailable)
		if !strings.Contains(p.body, "接続できません") {
			t.Fatalf("unavailable page:\n%s", snippet(p.body))
		}
		expectRedirect(t, h.browser().login("alice@example.co.jp", alicePW, ""), "/")
	})
}
