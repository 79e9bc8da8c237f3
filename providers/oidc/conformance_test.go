package oidc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/providers/providertest"
)

// serialTransport makes one request at a time, each until its response
// is read to the end. mockoidc keeps its sessions in a map without a
// lock, so concurrent sign-ins would race inside mockoidc (and may crash
// the test binary); serialising the requests to it keeps the provider's
// own calls concurrent.
type serialTransport struct {
	mu   sync.Mutex
	next http.RoundTripper
}

func (s *serialTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp, err := s.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// opBrowser returns a providertest browser for an OP that signs the
// person in without asking (mockoidc, the fosite OP): it calls before,
// which tells the OP whom to sign in, GETs the authorization URL with
// client, which must not follow redirects, and takes the callback's
// query.
func opBrowser(client *http.Client, before func()) func(context.Context, *providers.BeginResult, string) (providers.CompleteRequest, error) {
	return func(ctx context.Context, begin *providers.BeginResult, callbackURL string) (providers.CompleteRequest, error) {
		if begin.PostForm != nil {
			return providers.CompleteRequest{}, fmt.Errorf("Begin asks for a POST form; OIDC redirects")
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, begin.RedirectURL, nil)
		if err != nil {
			return providers.CompleteRequest{}, err
		}
		before()
		resp, err := client.Do(req)
		if err != nil {
			return providers.CompleteRequest{}, fmt.Errorf("GET authorization endpoint: %w", err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil || !strings.HasPrefix(loc.String(), callbackURL+"?") {
			return providers.CompleteRequest{}, fmt.Errorf("authorization endpoint answered %s, Location %v; want a redirect to %s", resp.Status, loc, callbackURL)
		}
		return providers.CompleteRequest{CallbackURL: callbackURL, Query: loc.Query()}, nil
	}
}

func TestConformance(t *testing.T) {
	t.Run("mockoidc", func(t *testing.T) {
		m, err := mockoidc.Run()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Shutdown() })
		serial := &serialTransport{next: http.DefaultTransport}
		p := openTest(t, Config{
			HTTPClient: &http.Client{Transport: serial, Timeout: 10 * time.Second},
			Issuer:     m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret,
			Scopes: []string{"openid", "email", "profile", "groups"},
			Claims: Claims{Name: "preferred_username"},
		})
		user := &mockoidc.MockUser{
			Subject: "u-1001", Email: "jiro@example.co.jp", EmailVerified: true,
			PreferredUsername: "jiro", Phone: "03-1234-5678", Groups: []string{"engineering", "admins"},
		}
		providertest.Run(t, providertest.Harness{
			Provider: p, ID: "idp", Type: "oidc", Health: true,
			Redirect: &providertest.RedirectStyle{
				CallbackURL: testCallback,
				LoginHint:   "jiro@example.co.jp",
				Browser: opBrowser(&http.Client{Transport: serial, CheckRedirect: browser.CheckRedirect, Timeout: browser.Timeout},
					func() { m.QueueUser(user) }),
				Expect: providertest.IdentityExpectation{
					Subject: "u-1001", Email: "jiro@example.co.jp", EmailVerified: true, DisplayName: "jiro",
					Phone: "03-1234-5678", Groups: []string{"engineering", "admins"}, AMR: []string{"fed"},
					Claims: map[string][]string{"sub": {"u-1001"}, "aud": {m.ClientID}},
				},
			},
		})
	})

	t.Run("fosite", func(t *testing.T) {
		op := newFositeOP(t, testCallback)
		p := openTest(t, fositeConfig(op))
		providertest.Run(t, providertest.Harness{
			Provider: p, ID: "idp", Type: "oidc", Health: true,
			Redirect: &providertest.RedirectStyle{
				CallbackURL: testCallback,
				Browser: opBrowser(browser, func() {
					op.Queue(&opLogin{Subject: "alice", Claims: map[string]any{
						"email": "alice@example.co.jp", "email_verified": true, "name": "山田 花子",
						"groups": []string{"staff", "sales"}, "amr": []string{"pwd", "mfa"},
					}})
				}),
				Expect: providertest.IdentityExpectation{
					Subject: "alice", Email: "alice@example.co.jp", EmailVerified: true, DisplayName: "山田 花子",
					Groups: []string{"staff", "sales"}, AMR: []string{"fed", "pwd", "mfa"},
				},
			},
		})
	})
}
