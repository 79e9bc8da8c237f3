package saml

import (
	"github.com/ssogate/ssogate/internal/testpeers"

	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/providers/providertest"
)

// idpBrowser returns a providertest browser that signs in at idp as user
// with a fresh cookie jar each time, and returns the form the IdP's page
// posts to acs. It reports errors instead of failing a test, as
// providertest calls it from goroutines.
func idpBrowser(idp *testIDP, user, password, acs string) func(context.Context, *providers.BeginResult, string) (providers.CompleteRequest, error) {
	return func(ctx context.Context, begin *providers.BeginResult, _ string) (providers.CompleteRequest, error) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		pg, err := fetchForm(ctx, c, begin.RedirectURL, begin.PostForm)
		if err != nil {
			return providers.CompleteRequest{}, err
		}
		if pg.fields.Get("SAMLResponse") == "" {
			pg, err = fetchForm(ctx, c, idp.srv.URL+pg.action, url.Values{
				"user":        {user},
				"password":    {password},
				"SAMLRequest": {pg.fields.Get("SAMLRequest")},
				"RelayState":  {pg.fields.Get("RelayState")},
			})
			if err != nil {
				return providers.CompleteRequest{}, err
			}
		}
		if pg.fields.Get("SAMLResponse") == "" {
			return providers.CompleteRequest{}, fmt.Errorf("the IdP did not answer with a SAMLResponse form: %+v", pg)
		}
		if pg.action != acs {
			return providers.CompleteRequest{}, fmt.Errorf("the IdP posts the response to %q, want the ACS %q", pg.action, acs)
		}
		return providers.CompleteRequest{CallbackURL: acs, Form: pg.fields}, nil
	}
}

// fetchForm GETs u, or POSTs form to it, and returns the page's first
// form.
func fetchForm(ctx context.Context, c *http.Client, u string, form url.Values) (page, error) {
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return page{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return page{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return page{}, fmt.Errorf("%s %s: %s\n%s", method, req.URL.Path, resp.Status, b)
	}
	pg := page{fields: url.Values{}}
	if m := formRE.FindSubmatch(b); m != nil {
		pg.action = html.UnescapeString(string(m[1]))
	}
	for _, m := range inputRE.FindAllSubmatch(b, -1) {
		pg.fields.Add(string(m[1]), html.UnescapeString(string(m[2])))
	}
	return pg, nil
}

// newSerialIDP is newIDP's samlidp identity provider, with one
// difference: it handles requests under crewjamMu. samlidp reads
// crewjam/saml's package variables, which Provider sets for each call
// under that lock; a test IdP in the same process must take it too, or
// concurrent sign-ins race (a real IdP runs in its own process).
func newSerialIDP(t *testing.T) *testIDP {
	t.Helper()
	return newIDP(t, testpeers.SAMLSerialize(&crewjamMu))
}

func TestConformance(t *testing.T) {
	_, sp, _ := testKeys(t)
	clock := &testClock{}
	e := &env{idp: newSerialIDP(t), sp: sp, clock: clock, replay: newMemReplay(clock.Now)}
	for _, tc := range []struct {
		name, id, binding string
		encrypt           bool
		user, password    string
		expect            providertest.IdentityExpectation
	}{
		{
			name: "redirect binding, encrypted assertions", id: "adfs", binding: BindingRedirect, encrypt: true,
			user: "alice", password: "alice-pw",
			expect: providertest.IdentityExpectation{
				Subject: "alice@example.test", Email: "alice@example.test", EmailVerified: true, DisplayName: "山田 太郎",
				Groups: []string{"staff", "admins"}, AMR: []string{"fed"},
				Claims: map[string][]string{"urn:oid:0.9.2342.19200300.100.1.1": {"alice"}},
			},
		},
		{
			name: "post binding, plain assertions", id: "shibboleth", binding: BindingPost,
			user: "bob", password: "bob-pw",
			expect: providertest.IdentityExpectation{
				Subject: "bob@example.test", Email: "bob@example.test", EmailVerified: true, DisplayName: "Bob Example",
				Groups: []string{"staff"}, AMR: []string{"fed"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.config(tc.id)
			cfg.Binding = tc.binding
			p := e.open(t, tc.id, cfg)
			e.idp.register(t, p, tc.encrypt)
			providertest.Run(t, providertest.Harness{
				Provider: p, ID: tc.id, Type: "saml", Metadata: true, Health: true,
				Redirect: &providertest.RedirectStyle{
					CallbackURL: cfg.ACSURL,
					Browser:     idpBrowser(e.idp, tc.user, tc.password, cfg.ACSURL),
					Expect:      tc.expect,
				},
			})
		})
	}
}
