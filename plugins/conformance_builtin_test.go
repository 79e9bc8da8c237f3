//go:build unix

package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/providers/ldap"
	"github.com/ssogate/ssogate/providers/oidc"
	"github.com/ssogate/ssogate/providers/providertest"
	"github.com/ssogate/ssogate/providers/saml"
)

// TestConformanceThroughGRPCFederated runs the conformance suite against
// the OIDC, SAML and LDAP providers served through the plugin's gRPC
// adapters in-process, each against a real peer, with the expectations
// of the provider package's own conformance test: the gateway must not be
// able to tell them from the built-in providers.
func TestConformanceThroughGRPCFederated(t *testing.T) {
	t.Run("oidc", testFederatedOIDC)
	t.Run("saml", testFederatedSAML)
	t.Run("ldap", testFederatedLDAP)
}

// --- OIDC against mockoidc --------------------------------------------

// fedSerialTransport makes one request at a time, each until its response
// is read to the end. mockoidc keeps its sessions in a map without a
// lock, so concurrent sign-ins would race inside mockoidc; serialising
// the requests to it (the provider's and the browser's) keeps the
// provider's own calls concurrent.
type fedSerialTransport struct {
	mu   sync.Mutex
	next http.RoundTripper
}

func (s *fedSerialTransport) RoundTrip(req *http.Request) (*http.Response, error) {
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

func testFederatedOIDC(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	serial := &fedSerialTransport{next: http.DefaultTransport}
	const callback = "http://127.0.0.1:9/callback/idp"

	factory := func(id string, _ json.RawMessage) (providers.Provider, error) {
		return oidc.Open(context.Background(), id, oidc.Config{
			HTTPClient: &http.Client{Transport: serial, Timeout: 10 * time.Second},
			Issuer:     m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret,
			Scopes: []string{"openid", "email", "profile", "groups"},
			Claims: oidc.Claims{Name: "preferred_username"},
		})
	}
	p, err := inProcess(t, "idp", factory)
	if err != nil {
		t.Fatal(err)
	}

	user := &mockoidc.MockUser{
		Subject: "u-1001", Email: "jiro@example.co.jp", EmailVerified: true,
		PreferredUsername: "jiro", Phone: "03-1234-5678", Groups: []string{"engineering", "admins"},
	}
	browser := &http.Client{
		Transport:     serial,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	providertest.Run(t, providertest.Harness{
		Provider: p.Provider(), ID: "idp", Type: Type,
		Redirect: &providertest.RedirectStyle{
			CallbackURL: callback,
			LoginHint:   "jiro@example.co.jp",
			Browser: func(ctx context.Context, begin *providers.BeginResult, callbackURL string) (providers.CompleteRequest, error) {
				if begin.PostForm != nil {
					return providers.CompleteRequest{}, errors.New("Begin asks for a POST form; OIDC redirects")
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, begin.RedirectURL, nil)
				if err != nil {
					return providers.CompleteRequest{}, err
				}
				m.QueueUser(user) // whom mockoidc signs in, without asking
				resp, err := browser.Do(req)
				if err != nil {
					return providers.CompleteRequest{}, fmt.Errorf("GET authorization endpoint: %w", err)
				}
				resp.Body.Close()
				loc, err := resp.Location()
				if err != nil || !strings.HasPrefix(loc.String(), callbackURL+"?") {
					return providers.CompleteRequest{}, fmt.Errorf("authorization endpoint answered %s, Location %v; want a redirect to %s", resp.Status, loc, callbackURL)
				}
				return providers.CompleteRequest{CallbackURL: callbackURL, Query: loc.Query()}, nil
			},
			Expect: providertest.IdentityExpectation{
				Subject: "u-1001", Email: "jiro@example.co.jp", EmailVerified: true, DisplayName: "jiro",
				Phone: "03-1234-5678", Groups: []string{"engineering", "admins"}, AMR: []string{"fed"},
				Claims: map[string][]string{"sub": {"u-1001"}, "aud": {m.ClientID}},
			},
		},
	})
}

// --- SAML against crewjam/saml's samlidp --------------------------------

// fedSAMLMu serialises every use of crewjam/saml in this test binary.
// crewjam/saml reads its clock and tolerances from package variables,
// which the saml provider sets for each call under its own process-wide
// lock (see the saml package doc: nothing else may use crewjam/saml
// concurrently). That lock is unexported, so the test IdP serves its
// requests under this one, and the provider's Begin and Complete — its
// only calls into crewjam/saml — run under it too (fedSAMLSerial). The
// Harness has no way to skip its concurrent subtest, so this serialises
// instead: a real IdP runs in its own process.
var fedSAMLMu sync.Mutex

// fedSAMLSerial is the saml provider with Begin and Complete under
// fedSAMLMu. It embeds *saml.Provider, so it has exactly its
// capabilities (checked in testFederatedSAML).
type fedSAMLSerial struct{ *saml.Provider }

func (p fedSAMLSerial) Begin(ctx context.Context, req providers.BeginRequest) (*providers.BeginResult, error) {
	fedSAMLMu.Lock()
	defer fedSAMLMu.Unlock()
	return p.Provider.Begin(ctx, req)
}

func (p fedSAMLSerial) Complete(ctx context.Context, req providers.CompleteRequest) (*providers.Identity, error) {
	fedSAMLMu.Lock()
	defer fedSAMLMu.Unlock()
	return p.Provider.Complete(ctx, req)
}

var (
	fedFormRE  = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	fedInputRE = regexp.MustCompile(`<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)
)

// fedReplay is an in-memory providers.ReplayCache.
type fedReplay struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (r *fedReplay) Remember(_ context.Context, id string, until time.Time) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if u, ok := r.seen[id]; ok && time.Now().Before(u) {
		return false, nil
	}
	r.seen[id] = until
	return true, nil
}

// fedIDP is a samlidp identity provider on loopback, serving under
// fedSAMLMu, with the users alice and bob.
type fedIDP struct{ *testpeers.SAMLIdP }

func newFedIDP(t *testing.T) *fedIDP {
	t.Helper()
	h := &fedIDP{testpeers.NewSAMLIdP(t, testpeers.SAMLSerialize(&fedSAMLMu))}
	h.PutUser(t, "alice", `{"password":"alice-pw","email":"Alice@Example.test",
		"groups":["staff","admins","staff"],"given_name":"太郎","surname":"山田"}`)
	h.PutUser(t, "bob", `{"password":"bob-pw","email":"bob@example.test",
		"groups":["staff"],"given_name":"Bob","surname":"Example","common_name":"Bob Example"}`)
	return h
}

// register tells the IdP about the provider p from the SP metadata it
// publishes through the gRPC adapter. Without encrypt the encryption key
// is left out, so that the IdP sends plain (signed) assertions.
func (h *fedIDP) register(t *testing.T, p providers.Provider, encrypt bool) {
	t.Helper()
	mp, ok := p.(providers.MetadataPublisher)
	if !ok {
		t.Fatalf("%T lost the saml provider's MetadataPublisher on the gRPC trip", p)
	}
	md, err := mp.Metadata(t.Context())
	if err != nil {
		t.Fatalf("Metadata through gRPC: %v", err)
	}
	if !encrypt {
		md = testpeers.WithoutEncryptionKey(t, md)
	}
	h.RegisterSP(t, p.ID(), md)
}

// browser returns a providertest browser that signs in at h as user with
// a fresh cookie jar each time, and returns the form the IdP's page posts
// to acs.
func (h *fedIDP) browser(user, password, acs string) func(context.Context, *providers.BeginResult, string) (providers.CompleteRequest, error) {
	return func(ctx context.Context, begin *providers.BeginResult, _ string) (providers.CompleteRequest, error) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		action, fields, err := fedFetchForm(ctx, c, begin.RedirectURL, begin.PostForm)
		if err != nil {
			return providers.CompleteRequest{}, err
		}
		if fields.Get("SAMLResponse") == "" {
			action, fields, err = fedFetchForm(ctx, c, h.URL()+action, url.Values{
				"user":        {user},
				"password":    {password},
				"SAMLRequest": {fields.Get("SAMLRequest")},
				"RelayState":  {fields.Get("RelayState")},
			})
			if err != nil {
				return providers.CompleteRequest{}, err
			}
		}
		if fields.Get("SAMLResponse") == "" {
			return providers.CompleteRequest{}, fmt.Errorf("the IdP did not answer with a SAMLResponse form: %q %v", action, fields)
		}
		if action != acs {
			return providers.CompleteRequest{}, fmt.Errorf("the IdP posts the response to %q, want the ACS %q", action, acs)
		}
		return providers.CompleteRequest{CallbackURL: acs, Form: fields}, nil
	}
}

// fedFetchForm GETs u, or POSTs form to it, and returns the action and
// hidden fields of the page's first form.
func fedFetchForm(ctx context.Context, c *http.Client, u string, form url.Values) (string, url.Values, error) {
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return "", nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("%s %s: %s\n%s", method, req.URL.Path, resp.Status, b)
	}
	var action string
	if m := fedFormRE.FindSubmatch(b); m != nil {
		action = html.UnescapeString(string(m[1]))
	}
	fields := url.Values{}
	for _, m := range fedInputRE.FindAllSubmatch(b, -1) {
		fields.Add(string(m[1]), html.UnescapeString(string(m[2])))
	}
	return action, fields, nil
}

func testFederatedSAML(t *testing.T) {
	idp := newFedIDP(t)
	spKey, spCert := testpeers.RSAKeyPair(t, "gw.example.test")
	replay := &fedReplay{seen: map[string]time.Time{}}
	for _, tc := range []struct {
		name, id, binding string
		encrypt           bool
		user, password    string
		expect            providertest.IdentityExpectation
	}{
		{
			name: "redirect binding, encrypted assertions", id: "adfs", binding: saml.BindingRedirect, encrypt: true,
			user: "alice", password: "alice-pw",
			expect: providertest.IdentityExpectation{
				Subject: "alice@example.test", Email: "alice@example.test", EmailVerified: true, DisplayName: "山田 太郎",
				Groups: []string{"staff", "admins"}, AMR: []string{"fed"},
				Claims: map[string][]string{"urn:oid:0.9.2342.19200300.100.1.1": {"alice"}},
			},
		},
		{
			name: "post binding, plain assertions", id: "shibboleth", binding: saml.BindingPost,
			user: "bob", password: "bob-pw",
			expect: providertest.IdentityExpectation{
				Subject: "bob@example.test", Email: "bob@example.test", EmailVerified: true, DisplayName: "Bob Example",
				Groups: []string{"staff"}, AMR: []string{"fed"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acs := "https://gw.example.test/callback/" + tc.id
			var sp *saml.Provider
			factory := func(id string, _ json.RawMessage) (providers.Provider, error) {
				p, err := saml.Open(context.Background(), id, saml.Config{
					MetadataURL:    "https://gw.example.test/saml/" + id + "/metadata",
					ACSURL:         acs,
					IDPMetadataURL: idp.MetadataURL(),
					Key:            spKey,
					Certificate:    spCert,
					Binding:        tc.binding,
					Replay:         replay,
					Logger:         slog.New(slog.DiscardHandler),
				})
				if err != nil {
					return nil, err
				}
				sp = p
				return fedSAMLSerial{p}, nil
			}
			p, err := inProcess(t, tc.id, factory)
			if sp != nil {
				t.Cleanup(func() { sp.Close() }) // stops its metadata refresher
			}
			if err != nil {
				t.Fatal(err)
			}
			if st := sp.MetadataStatus(); st.EntityID == "" {
				t.Fatalf("IdP metadata not loaded at Open: %+v", st)
			}
			if got, want := implements(fedSAMLSerial{sp}), implements(sp); got != want {
				t.Fatalf("fedSAMLSerial implements %v, *saml.Provider %v", got, want)
			}
			idp.register(t, p.Provider(), tc.encrypt)
			providertest.Run(t, providertest.Harness{
				Provider: p.Provider(), ID: tc.id, Type: Type, Metadata: true,
				Redirect: &providertest.RedirectStyle{
					CallbackURL: acs,
					Browser:     idp.browser(tc.user, tc.password, acs),
					Expect:      tc.expect,
				},
			})
		})
	}
}

// --- LDAP against slapd ---------------------------------------------------

func testFederatedLDAP(t *testing.T) {
	d := testpeers.Slapd(t)
	// yamada, not alice (the ldap package's account): OpenLDAP has no
	// lockout, and yamada's Japanese profile and group names must cross
	// gRPC intact.
	u, ok := d.Users["yamada"]
	if !ok {
		t.Fatalf("%s has no user yamada", d.Name)
	}
	var lp *ldap.Provider
	factory := func(id string, _ json.RawMessage) (providers.Provider, error) {
		p, err := ldap.Open(id, ldap.Config{
			URL: d.LDAPSURL, RootCAs: d.RootCAs,
			BindDN: d.BindDN, BindPassword: d.BindPassword, BaseDN: d.BaseDN,
			LoginAttributes: []string{"uid", "mail"},
			UserFilter:      "(objectClass=inetOrgPerson)",
			Groups:          ldap.GroupsMemberOf,
			Attributes: ldap.Attributes{Subject: "entryUUID", Email: "mail", Name: "cn", Phone: "telephoneNumber",
				Mobile: "mobile", Organization: "o", Department: "ou"},
			DialTimeout: 3 * time.Second, Timeout: 5 * time.Second,
		})
		if err != nil {
			return nil, err
		}
		lp = p
		return p, nil
	}
	p, err := inProcess(t, d.Name, factory)
	if lp != nil {
		t.Cleanup(func() { lp.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	providertest.Run(t, providertest.Harness{
		Provider: p.Provider(), ID: d.Name, Type: Type,
		Password: &providertest.PasswordStyle{
			Good:          providertest.Credentials{Login: u.Login, Password: u.Password},
			WrongPassword: "Wrong!GRPCConformance42",
			UnknownLogin:  "nobody-grpc-conformance",
			Expect: providertest.IdentityExpectation{
				Email: u.Email, EmailVerified: true, DisplayName: u.DisplayName, Phone: u.Phone, Mobile: u.Mobile,
				Organization: u.Organization, Department: u.Department,
				Groups: append([]string{"sso-staff", "開発チーム"}, u.Groups...), AMR: []string{"pwd"},
				Claims: map[string][]string{"dn": {u.DN}}, Check: fedSubjectIsUUID,
			},
		},
	})
}

var fedUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// fedSubjectIsUUID checks the subject is entryUUID as text.
func fedSubjectIsUUID(id *providers.Identity) error {
	if !fedUUID.MatchString(id.Subject) {
		return fmt.Errorf("Subject %q is not a UUID", id.Subject)
	}
	return nil
}
