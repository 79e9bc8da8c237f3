package main

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store"
)

// samlIdP is a real SAML identity provider (crewjam's samlidp) on
// loopback, with the user hanako.
type samlIdP struct{ *testpeers.SAMLIdP }

func newSAMLIdP(t *testing.T) *samlIdP {
	t.Helper()
	idp := &samlIdP{testpeers.NewSAMLIdP(t)}
	idp.PutUser(t, "hanako",
		`{"password":"hanako-pw","email":"hanako@example.co.jp","groups":["sso-staff"],"given_name":"花子","surname":"佐藤"}`)
	return idp
}

// register tells the IdP about the gateway's SP, from the metadata the
// gateway publishes.
func (idp *samlIdP) register(t *testing.T, h *harness, id string) {
	t.Helper()
	p := h.browser().get("/saml/" + id + "/metadata")
	expectStatus(t, p, 200)
	if !strings.Contains(p.body, "EntityDescriptor") || !strings.Contains(p.body, h.url+"/callback/"+id) {
		t.Fatalf("SP metadata:\n%s", snippet(p.body))
	}
	idp.RegisterSP(t, id, []byte(p.body))
}

func samlProvider(idp *samlIdP, extra string) harnessOption {
	return withProviders(fmt.Sprintf(`
  - id: adfs
    type: saml
    label: Active Directoryアカウントでログイン (SAML)
    idp_metadata_url: %s
%s`, idp.MetadataURL(), extra))
}

var formFieldRe = regexp.MustCompile(`name="([A-Za-z]+)" value="([^"]*)"`)
var formActionRe = regexp.MustCompile(`<form method="post" action="([^"]+)"`)

// samlSignIn goes from the gateway to the IdP, signs in there as user and
// returns the IdP's auto-submit form (action and fields) without posting it.
func samlSignIn(t *testing.T, b *browser, user, password string) (string, url.Values) {
	t.Helper()
	p := b.get("/login/adfs")
	expectStatus(t, p, http.StatusFound)
	jar, _ := cookiejar.New(nil)
	idpc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fields := func(body string) url.Values {
		v := url.Values{}
		for _, m := range formFieldRe.FindAllStringSubmatch(body, -1) {
			v.Set(m[1], html.UnescapeString(m[2]))
		}
		return v
	}
	resp, err := idpc.Get(p.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	login := fields(string(body))
	login.Set("user", user)
	login.Set("password", password)
	resp, err = idpc.PostForm(strings.TrimSuffix(p.Header.Get("Location")[:strings.Index(p.Header.Get("Location"), "?")], "/sso")+"/sso", login)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formActionRe.FindStringSubmatch(string(body))
	if m == nil {
		t.Fatalf("IdP did not answer with a response form:\n%s", snippet(string(body)))
	}
	return html.UnescapeString(m[1]), fields(string(body))
}

// postFromIdP posts the IdP's form to the gateway as the browser would: a
// cross-origin POST from the IdP's page, with no CSRF token.
func postFromIdP(b *browser, action string, form url.Values, idpOrigin string) *page {
	return b.postRaw(strings.TrimPrefix(action, b.h.url), form, idpOrigin)
}

func TestSAMLSignIn(t *testing.T) {
	ctx := context.Background()
	idp := newSAMLIdP(t)
	h := newHarness(t, samlProvider(idp, `    provision: true
    provision_domains: [example.co.jp]
    group_mapping:
      - from: sso-staff
        to: [staff]
    owned_fields: [display_name]
`))
	idp.register(t, h, "adfs")

	b := h.browser()
	p := b.get("/login")
	if !strings.Contains(p.body, `id="provider-adfs"`) {
		t.Fatal("no SAML button on the login page")
	}
	action, resp := samlSignIn(t, b, "hanako", "hanako-pw")
	if action != h.url+"/callback/adfs" || resp.Get("SAMLResponse") == "" {
		t.Fatalf("IdP answers to %s with %v", action, resp)
	}
	saved := url.Values{"SAMLResponse": {resp.Get("SAMLResponse")}, "RelayState": {resp.Get("RelayState")}}
	if p := postFromIdP(b, action, resp, idp.URL()); p.StatusCode != http.StatusSeeOther {
		t.Logf("gateway log:\n%s", h.logs.String())
		expectRedirect(t, p, "/")
	}
	u, err := h.app.store.GetUserByEmail(ctx, "hanako@example.co.jp")
	if err != nil {
		t.Fatalf("not provisioned: %v", err)
	}
	if u.DisplayName != "佐藤 花子" || strings.Join(u.Groups, ",") != "staff" {
		t.Fatalf("provisioned user = %+v", u)
	}
	if p := b.get("/me"); !strings.Contains(p.body, `id="managed-display_name"`) {
		t.Fatal("display name not managed by the SAML provider")
	}

	t.Run("response in another browser refused", func(t *testing.T) {
		// The same SAMLResponse in another browser, with a flow of its own.
		b2 := h.browser()
		expectStatus(t, b2.get("/login/adfs"), http.StatusFound)
		p := postFromIdP(b2, action, saved, idp.URL())
		if p.StatusCode == http.StatusSeeOther {
			t.Fatal("a replayed SAML response signed in")
		}
		if b2.cookie(h.app.cfg.Session.CookieName) != nil {
			t.Fatal("a replayed SAML response set a session")
		}
	})

	t.Run("response without the browser's flow refused", func(t *testing.T) {
		_, resp := samlSignIn(t, h.browser(), "hanako", "hanako-pw")
		p := postFromIdP(h.browser(), action, resp, idp.URL()) // no flow cookie: unsolicited
		expectStatus(t, p, http.StatusBadRequest)
	})

	t.Run("tampered response refused", func(t *testing.T) {
		b3 := h.browser()
		_, resp := samlSignIn(t, b3, "hanako", "hanako-pw")
		raw := []byte(resp.Get("SAMLResponse"))
		raw[len(raw)/2] ^= 1
		resp.Set("SAMLResponse", string(raw))
		p := postFromIdP(b3, action, resp, idp.URL())
		expectStatus(t, p, http.StatusBadRequest)
		if !strings.Contains(p.body, "応答を確認できませんでした") {
			t.Fatalf("tampered response page:\n%s", snippet(p.body))
		}
	})

	events, _ := h.app.store.ListAudit(ctx, store.AuditFilter{Action: "user_provision"})
	if len(events) != 1 {
		t.Fatalf("user_provision audit events = %d", len(events))
	}
}
