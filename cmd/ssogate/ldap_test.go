package main

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store"
)

const (
	adLabel = "Active Directoryアカウントでログイン"
	olLabel = "社内LDAPでログイン"
)

// ldapProvider is the YAML of an ldap provider on directory d, reached at
// dirURL as d's service account, trusting d's CA, plus extra keys.
func ldapProvider(id, preset, label, dirURL string, d *testpeers.Directory, extra string) harnessOption {
	return withProviders(fmt.Sprintf(`
  - id: %s
    type: ldap
    preset: %s
    label: %s
    url: %s
    ca_file: %q
    bind_dn: %q
    bind_password: %q
    base_dn: %q
%s`, id, preset, label, dirURL, d.CAFile, d.BindDN, d.BindPassword, d.BaseDN, extra))
}

// adProvider is ldap provider "ad" on the Samba AD peer over ldaps.
func adProvider(d *testpeers.Directory, extra string) harnessOption {
	return ldapProvider("ad", "active_directory", adLabel, d.LDAPSURL, d, extra)
}

// directoryLogin signs in through directory provider id's form the way a
// browser does: the form, then the post (CSRF token, same origin).
func (b *browser) directoryLogin(id, login, password, returnTo string) *page {
	b.h.t.Helper()
	expectStatus(b.h.t, b.get("/login/"+id), http.StatusOK)
	return b.post("/login/"+id, url.Values{"email": {login}, "password": {password}, "return_to": {returnTo}})
}

var errorBannerRe = regexp.MustCompile(`id="error" role="alert">([^<]*)<`)

// errorBanner is the message the login page shows, or "".
func errorBanner(p *page) string {
	if m := errorBannerRe.FindStringSubmatch(p.body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// TestLDAPSignIn signs in through a gateway with two directories: Active
// Directory (Samba, ldaps) and OpenLDAP (StartTLS).
func TestLDAPSignIn(t *testing.T) {
	ctx := context.Background()
	ad, ol := testpeers.Samba(t), testpeers.Slapd(t)
	staffDN := ad.Groups["sso-staff"] // alice is in it through sso-eng
	h := newHarness(t, adProvider(ad, fmt.Sprintf(`    link_domains: [example.test]
    provision: true
    provision_domains: [example.test]
    group_mapping:
      - from: %q
        to: [staff]
      - from: 開発チーム
        to: [dev]
    owned_fields: [display_name, phone, organization, department]
`, staffDN)), ldapProvider("openldap", "openldap", olLabel, ol.LDAPURL, ol, fmt.Sprintf(`    start_tls: true
    provision: true
    provision_domains: [example.org]
    group_mapping:
      - from: %q
        to: [admins]
      - from: sso-staff
        to: [staff]
    owned_fields: [display_name]
`, ol.Groups["sso-admins"])))
	alice, yamada := ad.Users["alice"], ad.Users["yamada"]
	// alice already has a gateway account under her AD mail (not her UPN).
	aliceUser := h.addUser(alice.Email, "Alice (local)", alicePW, "admins")

	t.Run("login page and directory form", func(t *testing.T) {
		b := h.browser()
		p := b.get("/login")
		expectStatus(t, p, http.StatusOK)
		for _, want := range []string{`id="provider-ad"`, adLabel, `href="/login/ad"`, `id="provider-openldap"`, olLabel, `id="login-form"`} {
			if !strings.Contains(p.body, want) {
				t.Fatalf("login page lacks %s:\n%s", want, snippet(p.body))
			}
		}
		p = b.get("/login/ad?return_to=%2Fme")
		expectStatus(t, p, http.StatusOK)
		for _, want := range []string{`id="login-form"`, `action="/login/ad"`, `type="text" id="email" name="email"`,
			`type="password" id="password"`, adLabel, `name="return_to" value="/me"`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("directory form lacks %s", want)
			}
		}
		if t.Failed() {
			t.Log(snippet(p.body))
		}
	})

	t.Run("sAMAccountName, UPN and mail sign alice in, linked to her account", func(t *testing.T) {
		for _, login := range []string{alice.Login, alice.UPN, alice.Email} {
			b := h.browser()
			expectRedirect(t, b.directoryLogin("ad", login, alice.Password, "/me"), "/me")
			if b.cookie(h.app.cfg.Session.CookieName) == nil {
				t.Fatalf("%s: no session cookie", login)
			}
			if p := b.get("/me"); !strings.Contains(p.body, alice.Email) {
				t.Fatalf("%s: not signed in as alice:\n%s", login, snippet(p.body))
			}
		}
		links, _ := h.app.store.ListUserIdentities(ctx, aliceUser.ID)
		if len(links) != 1 || links[0].ProviderID != "ad" || links[0].Subject == "" {
			t.Fatalf("links = %+v, want one to ad", links)
		}
		events, _ := h.app.store.ListAudit(ctx, store.AuditFilter{Action: "identity_link"})
		if len(events) != 1 || events[0].UserID != aliceUser.ID {
			t.Fatalf("identity_link audit = %+v", events)
		}
		// The directory owns her groups (nested sso-staff → staff) and
		// her display name.
		u, _ := h.app.store.GetUser(ctx, aliceUser.ID)
		if !slices.Equal(u.Groups, []string{"staff"}) || u.DisplayName != alice.DisplayName {
			t.Fatalf("alice = groups %q, name %q; want [staff], %q", u.Groups, u.DisplayName, alice.DisplayName)
		}
	})

	t.Run("yamada is provisioned with the Japanese profile", func(t *testing.T) {
		b := h.browser()
		expectRedirect(t, b.directoryLogin("ad", yamada.Login, yamada.Password, ""), "/")
		u, err := h.app.store.GetUserByEmail(ctx, yamada.Email)
		if err != nil {
			t.Fatalf("yamada not provisioned: %v", err)
		}
		if u.DisplayName != "山田 太郎" || !slices.Equal(u.Groups, []string{"dev"}) || u.Phone != yamada.Phone ||
			u.Organization != "株式会社サンプル" || u.Department != "開発部" || u.Status != store.StatusActive {
			t.Fatalf("provisioned yamada = %+v", u)
		}
		events, _ := h.app.store.ListAudit(ctx, store.AuditFilter{Action: "user_provision"})
		if len(events) != 1 || events[0].UserID != u.ID {
			t.Fatalf("user_provision audit = %+v", events)
		}
		p := b.get("/me")
		for _, want := range []string{"山田 太郎", `id="managed-display_name"`, "ログイン元（" + adLabel + "）から自動で設定"} {
			if !strings.Contains(p.body, want) {
				t.Fatalf("/me lacks %s:\n%s", want, snippet(p.body))
			}
		}
		// By UPN the same person, the same user.
		expectRedirect(t, h.browser().directoryLogin("ad", yamada.UPN, yamada.Password, ""), "/")
		links, _ := h.app.store.ListUserIdentities(ctx, u.ID)
		if len(links) != 1 {
			t.Fatalf("links = %+v", links)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		// dup2 takes this package's wrong passwords (providers/ldap uses
		// bob, on the same shared server); a right sign-in first resets
		// its bad-password count, so -count=N never locks it out.
		victim := ad.Users["dup2"]
		expectRedirect(t, h.browser().directoryLogin("ad", victim.Login, victim.Password, ""), "/")

		const invalid = "メールアドレスまたはパスワードが正しくありません"
		var wrongMsg string
		for _, tc := range []struct {
			name, login, password string
			status                int
			want                  string
		}{
			{"wrong password", victim.Login, "Wrong!Pass999", http.StatusUnauthorized, invalid},
			{"unknown user", "nobody-e2e", "Wrong!Pass999", http.StatusUnauthorized, invalid},
			{"disabled", "disabled", ad.Users["disabled"].Password, http.StatusForbidden, "アカウントが無効になっています"},
			{"locked", "locked", ad.Users["locked"].Password, http.StatusForbidden, "アカウントがロックされています"},
			{"must change password", "mustchange", ad.Users["mustchange"].Password, http.StatusForbidden, "パスワードの変更が必要"},
			{"expired", "expired", ad.Users["expired"].Password, http.StatusForbidden, "アカウントの有効期限が切れています"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := h.browser()
				p := b.directoryLogin("ad", tc.login, tc.password, "")
				expectStatus(t, p, tc.status)
				msg := errorBanner(p)
				if !strings.Contains(msg, tc.want) {
					t.Fatalf("message %q, want one with %q", msg, tc.want)
				}
				// Still the directory's form, with the login kept.
				if !strings.Contains(p.body, `action="/login/ad"`) || !strings.Contains(p.body, `value="`+tc.login+`"`) {
					t.Errorf("refusal page is not the directory form with the login:\n%s", snippet(p.body))
				}
				if b.cookie(h.app.cfg.Session.CookieName) != nil {
					t.Error("a refused sign-in set a session cookie")
				}
				switch tc.name {
				case "wrong password":
					wrongMsg = msg
				case "unknown user":
					if msg != wrongMsg {
						t.Errorf("unknown user: %q; wrong password: %q; want the same", msg, wrongMsg)
					}
				}
			})
		}
	})

	t.Run("CSRF-less post refused", func(t *testing.T) {
		b := h.browser()
		b.get("/login/ad")
		p := b.postRaw("/login/ad", url.Values{"email": {alice.Login}, "password": {alice.Password}}, h.url)
		expectStatus(t, p, http.StatusForbidden)
		if b.cookie(h.app.cfg.Session.CookieName) != nil {
			t.Fatal("a CSRF-less sign-in created a session")
		}
	})

	t.Run("OpenLDAP over StartTLS", func(t *testing.T) {
		for _, tc := range []struct {
			user, login string
			groups      []string
		}{
			{"alice", "alice", []string{"admins"}},              // uid; groupOfNames: sso-eng, sso-admins
			{"yamada", "yamada@example.org", []string{"staff"}}, // mail; sso-staff, 開発チーム
			{"sato(qa)", "sato(qa)", nil},                       // a uid that needs escaping
			{"alice", "ALICE", []string{"admins"}},              // the same alice again
		} {
			u := ol.Users[tc.user]
			if p := h.browser().directoryLogin("openldap", tc.login, u.Password, ""); p.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: status %d, %q\n%s", tc.login, p.StatusCode, errorBanner(p), h.logs.String())
			}
			got, err := h.app.store.GetUserByEmail(ctx, u.Email)
			if err != nil {
				t.Fatalf("%s: not provisioned: %v", tc.login, err)
			}
			if !slices.Equal(got.Groups, tc.groups) || got.DisplayName != u.DisplayName {
				t.Errorf("%s: groups %q, name %q; want %q, %q", tc.login, got.Groups, got.DisplayName, tc.groups, u.DisplayName)
			}
		}
		p := h.browser().directoryLogin("openldap", "alice", "Wrong!Pass999", "")
		expectStatus(t, p, http.StatusUnauthorized)
		if msg := errorBanner(p); !strings.Contains(msg, "メールアドレスまたはパスワードが正しくありません") {
			t.Fatalf("wrong password: message %q", msg)
		}
	})
}

func TestLDAPDirectoryUnreachable(t *testing.T) {
	// Nothing listens on the port: the gateway starts (Open does not
	// dial), the directory's button and form say it cannot be reached,
	// a form posted anyway answers clearly, the password form still
	// works.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	h := newHarness(t, withProviders(fmt.Sprintf(`
  - id: ad
    type: ldap
    preset: active_directory
    label: %s
    url: ldaps://%s
    bind_dn: CN=ssogate,CN=Users,DC=example,DC=test
    bind_password: Service!Pass123
    base_dn: DC=example,DC=test
    dial_timeout: 1s
`, adLabel, closed)))
	h.addUser("alice@example.co.jp", "Alice", alicePW)

	b := h.browser()
	if p := b.get("/login"); !strings.Contains(p.body, `id="provider-ad" data-provider="ad" aria-disabled="true"`) {
		t.Errorf("the login page does not show the ad button as unavailable:\n%s", snippet(p.body))
	}
	p := b.get("/login/ad")
	expectStatus(t, p, http.StatusServiceUnavailable)
	if msg := errorBanner(p); !strings.Contains(msg, "接続できません") {
		t.Fatalf("form: message %q, want 接続できません", msg)
	}
	p = b.post("/login/ad", url.Values{"email": {"alice"}, "password": {"Alice!Pass123"}})
	expectStatus(t, p, http.StatusServiceUnavailable)
	if msg := errorBanner(p); !strings.Contains(msg, "接続できません") {
		t.Fatalf("post: message %q, want 接続できません", msg)
	}
	if !strings.Contains(h.logs.String(), "provider unavailable") {
		t.Error("the outage is not logged")
	}
	expectRedirect(t, h.browser().login("alice@example.co.jp", alicePW, ""), "/")
}
