package saml

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlidp"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/providers"
)

// keyPair is a key and its self-signed certificate.
type keyPair struct {
	key  crypto.Signer
	cert *x509.Certificate
}

var (
	keysOnce                sync.Once
	idpKeys, spKeys, ecKeys keyPair
)

// testKeys returns the IdP's and the SP's RSA pairs and an ECDSA pair,
// generated once per test binary.
func testKeys(t *testing.T) (idp, sp, ec keyPair) {
	t.Helper()
	keysOnce.Do(func() {
		idpKeys = newKeyPair(t, "idp.example.test", mustRSA(t, 2048))
		spKeys = newKeyPair(t, "gw.example.test", mustRSA(t, 2048))
		ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		ecKeys = newKeyPair(t, "gw-ec.example.test", ecKey)
	})
	return idpKeys, spKeys, ecKeys
}

func mustRSA(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newKeyPair(t *testing.T, cn string, key crypto.Signer) keyPair {
	t.Helper()
	return keyPair{key: key, cert: testpeers.SelfSigned(t, cn, key)}
}

// testClock is real time moved by an offset.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) set(d time.Duration)     { c.offset.Store(int64(d)) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// memReplay is an in-memory providers.ReplayCache that honours until.
type memReplay struct {
	mu   sync.Mutex
	now  func() time.Time
	seen map[string]time.Time
	err  error
}

func newMemReplay(now func() time.Time) *memReplay {
	return &memReplay{now: now, seen: map[string]time.Time{}}
}

func (m *memReplay) Remember(_ context.Context, id string, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	if u, ok := m.seen[id]; ok && m.now().Before(u) {
		return false, nil
	}
	m.seen[id] = until
	return true, nil
}

func (m *memReplay) failWith(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

func (m *memReplay) entries() map[string]time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]time.Time{}
	for k, v := range m.seen {
		out[k] = v
	}
	return out
}

// loginForm is the IdP's login page.
var loginForm = testpeers.SAMLLoginForm

// testIDP is a crewjam/saml samlidp identity provider on loopback.
type testIDP struct {
	srv    *httptest.Server
	server *samlidp.Server
	keys   keyPair
	p      *testpeers.SAMLIdP

	// metadataMode: "" serves the metadata, "down" answers 503,
	// "garbage" serves HTML, "hang" never answers.
	metadataMode atomic.Value
	metadataHits atomic.Int32
}

func newIDP(t *testing.T, extra ...testpeers.SAMLOption) *testIDP {
	t.Helper()
	idpKP, _, _ := testKeys(t)
	h := &testIDP{keys: idpKP}
	h.metadataMode.Store("")
	opts := append([]testpeers.SAMLOption{testpeers.SAMLKeyPair(idpKP.key, idpKP.cert),
		testpeers.SAMLMetadataFaults(func() string { return h.metadataMode.Load().(string) }, &h.metadataHits)}, extra...)
	idp := testpeers.NewSAMLIdP(t, opts...)
	h.srv, h.server, h.p = idp.Server, idp.IdP, idp

	h.put(t, "/users/alice", "application/json", `{"password":"alice-pw","email":"Alice@Example.test",
		"groups":["staff","admins","staff"],"given_name":"太郎","surname":"山田"}`)
	h.put(t, "/users/bob", "application/json", `{"password":"bob-pw","email":"bob@example.test",
		"groups":["staff"],"given_name":"Bob","surname":"Example","common_name":"Bob Example"}`)
	return h
}

func (h *testIDP) entityID() string    { return h.srv.URL + "/metadata" }
func (h *testIDP) metadataURL() string { return h.srv.URL + "/metadata" }

// peer is h as a testpeers.SAMLIdP.
func (h *testIDP) peer() *testpeers.SAMLIdP { return h.p }

// rotate rolls the IdP's signing key over to kp (see
// testpeers.SAMLIdP.Rotate).
func (h *testIDP) rotate(t *testing.T, kp keyPair) {
	t.Helper()
	h.p.Rotate(t, kp.key, kp.cert)
	h.server, h.keys = h.p.IdP, kp
}

func (h *testIDP) put(t *testing.T, path, contentType, body string) {
	t.Helper()
	h.peer().Put(t, path, contentType, body)
}

// register tells the IdP about p from its SP metadata. Without encrypt
// the encryption key is left out, so that the IdP sends plain (signed)
// assertions that a test can tamper with.
func (h *testIDP) register(t *testing.T, p *Provider, encrypt bool) {
	t.Helper()
	md, err := p.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !encrypt {
		md = testpeers.WithoutEncryptionKey(t, md)
	}
	h.peer().RegisterSP(t, p.ID(), md)
}

// env is one IdP with the SP key, clock and replay cache its providers
// share.
type env struct {
	idp    *testIDP
	sp     keyPair
	clock  *testClock
	replay *memReplay
}

func newEnv(t *testing.T) *env {
	_, sp, _ := testKeys(t)
	clock := &testClock{}
	return &env{idp: newIDP(t), sp: sp, clock: clock, replay: newMemReplay(clock.Now)}
}

var discardLogger = slog.New(slog.DiscardHandler)

// config is the configuration the gateway would pass for provider name.
func (e *env) config(name string) Config {
	sp := e.sp
	return Config{
		MetadataURL:    "https://gw.example.test/saml/" + name + "/metadata",
		ACSURL:         "https://gw.example.test/callback/" + name,
		IDPMetadataURL: e.idp.metadataURL(),
		Key:            sp.key,
		Certificate:    sp.cert,
		Replay:         e.replay,
		Now:            e.clock.Now,
		Logger:         discardLogger,
	}
}

func (e *env) open(t *testing.T, name string, cfg Config) *Provider {
	t.Helper()
	p, err := Open(context.Background(), name, cfg)
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// browser is a user agent with cookies that does not follow redirects.
type browser struct {
	c   *http.Client
	idp *testIDP
}

func newBrowser(idp *testIDP) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{idp: idp, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is an HTML page's first form.
type page struct {
	action string
	fields url.Values
}

var (
	formRE  = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	inputRE = regexp.MustCompile(`<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)
)

// readPage returns a reader of a response's page, to be called as
// readPage(t)(client.Get(u)).
func readPage(t *testing.T) func(*http.Response, error) page {
	return func(resp *http.Response, err error) page {
		t.Helper()
		return parsePage(t, resp, err)
	}
}

func parsePage(t *testing.T, resp *http.Response, err error) page {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s\n%s", resp.Request.Method, resp.Request.URL.Path, resp.Status, body)
	}
	pg := page{fields: url.Values{}}
	if m := formRE.FindSubmatch(body); m != nil {
		pg.action = html.UnescapeString(string(m[1]))
	}
	for _, m := range inputRE.FindAllSubmatch(body, -1) {
		pg.fields.Add(string(m[1]), html.UnescapeString(string(m[2])))
	}
	return pg
}

// signIn follows Begin's result to the IdP, signs in there as user if
// the IdP asks, and returns the form the IdP's page would post to the
// ACS.
func (b *browser) signIn(t *testing.T, res *providers.BeginResult, user, password, acs string) url.Values {
	t.Helper()
	var pg page
	if res.PostForm != nil {
		pg = readPage(t)(b.c.PostForm(res.RedirectURL, res.PostForm))
	} else {
		pg = readPage(t)(b.c.Get(res.RedirectURL))
	}
	if pg.fields.Get("SAMLResponse") == "" {
		pg = readPage(t)(b.c.PostForm(b.idp.srv.URL+pg.action, url.Values{
			"user":        {user},
			"password":    {password},
			"SAMLRequest": {pg.fields.Get("SAMLRequest")},
			"RelayState":  {pg.fields.Get("RelayState")},
		}))
	}
	if pg.fields.Get("SAMLResponse") == "" {
		t.Fatalf("the IdP did not answer with a SAMLResponse form: %+v", pg)
	}
	if pg.action != acs {
		t.Fatalf("the IdP posts the response to %q, want the ACS %q", pg.action, acs)
	}
	return pg.fields
}

// login signs in at the IdP without a SAML request, for IdP-initiated
// flows.
func (b *browser) login(t *testing.T, user, password string) {
	t.Helper()
	resp, err := b.c.PostForm(b.idp.srv.URL+"/login", url.Values{"user": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IdP login: %s", resp.Status)
	}
}

// flow is one sign-in up to the response the browser brings back.
type flow struct {
	begin *providers.BeginResult
	st    authState
	form  url.Values
}

func (f flow) request() providers.CompleteRequest {
	return providers.CompleteRequest{Form: cloneValues(f.form), State: f.begin.State}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// signInFlow runs Begin on p and the browser at the IdP as alice.
func signInFlow(t *testing.T, p *Provider, b *browser) flow {
	t.Helper()
	res, err := p.Begin(context.Background(), providers.BeginRequest{})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	f := flow{begin: res, st: decodeState(t, res.State)}
	f.form = b.signIn(t, res, "alice", "alice-pw", p.s.ACSURL)
	return f
}

func decodeState(t *testing.T, b []byte) authState {
	t.Helper()
	var st authState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func encodeState(t *testing.T, st authState) []byte {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// editResponse decodes a SAMLResponse, lets edit change its XML and
// encodes it again.
func editResponse(t *testing.T, encoded string, edit func(root *etree.Element)) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	edit(doc.Root())
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(out)
}

// removeSignature removes el's enveloped signature.
func removeSignature(t *testing.T, el *etree.Element) {
	t.Helper()
	sig := el.SelectElement("Signature")
	if sig == nil {
		t.Fatalf("%s has no Signature", el.Tag)
	}
	el.RemoveChild(sig)
}

func assertionOf(t *testing.T, root *etree.Element) *etree.Element {
	t.Helper()
	a := root.SelectElement("Assertion")
	if a == nil {
		t.Fatal("response has no plain Assertion (is the SP registered without encryption?)")
	}
	return a
}

// signer signs with kp.
func signer(t *testing.T, kp keyPair, method string) *dsig.SigningContext {
	t.Helper()
	sc := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{
		Certificate: [][]byte{kp.cert.Raw}, PrivateKey: kp.key, Leaf: kp.cert}))
	sc.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := sc.SetSignatureMethod(method); err != nil {
		t.Fatal(err)
	}
	return sc
}

// crafted describes a Response the test writes and signs as the IdP,
// for what samlidp never sends.
type crafted struct {
	response  crewjam.Response
	assertion *crewjam.Assertion // nil: no assertion
	// signResponse and signAssertion sign with the IdP key (or signer)
	// by method (default RSA-SHA256).
	signResponse, signAssertion bool
	signer                      *keyPair
	method                      string
}

// newCrafted is a valid response from the test IdP to p for requestID
// ("" for IdP-initiated), asserting a persistent NameID and some
// attributes; tests break it.
func (h *testIDP) newCrafted(p *Provider, requestID string) *crafted {
	now := time.Now()
	acs := p.s.acsURL.String()
	issuer := func() crewjam.Issuer {
		return crewjam.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: h.entityID()}
	}
	respIssuer := issuer()
	return &crafted{
		response: crewjam.Response{
			ID: "id-resp-" + randomString(), InResponseTo: requestID, Version: "2.0",
			IssueInstant: now, Destination: acs, Issuer: &respIssuer,
			Status: crewjam.Status{StatusCode: crewjam.StatusCode{Value: crewjam.StatusSuccess}},
		},
		assertion: &crewjam.Assertion{
			ID: "id-assert-" + randomString(), IssueInstant: now, Version: "2.0", Issuer: issuer(),
			Subject: &crewjam.Subject{
				NameID: &crewjam.NameID{Format: nameIDPersistent, Value: "Opaque-7f3a"},
				SubjectConfirmations: []crewjam.SubjectConfirmation{{
					Method: bearerMethod,
					SubjectConfirmationData: &crewjam.SubjectConfirmationData{
						InResponseTo: requestID, NotOnOrAfter: now.Add(90 * time.Second), Recipient: acs,
					},
				}},
			},
			Conditions: &crewjam.Conditions{
				NotBefore: now.Add(-time.Minute), NotOnOrAfter: now.Add(90 * time.Second),
				AudienceRestrictions: []crewjam.AudienceRestriction{{Audience: crewjam.Audience{Value: p.s.EntityID}}},
			},
			AuthnStatements: []crewjam.AuthnStatement{{AuthnInstant: now, SessionIndex: "s1",
				AuthnContext: crewjam.AuthnContext{AuthnContextClassRef: &crewjam.AuthnContextClassRef{
					Value: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}}}},
			AttributeStatements: []crewjam.AttributeStatement{{Attributes: []crewjam.Attribute{
				{Name: "mail", Values: []crewjam.AttributeValue{{Value: "hanako@example.test"}}},
				{Name: "sn", Values: []crewjam.AttributeValue{{Value: "佐藤"}}},
				{Name: "givenName", Values: []crewjam.AttributeValue{{Value: "花子"}}},
			}}},
		},
		signAssertion: true,
	}
}

// encode signs and encodes c as a SAMLResponse.
func (c *crafted) encode(t *testing.T, h *testIDP) string {
	t.Helper()
	kp, method := h.keys, dsig.RSASHA256SignatureMethod
	if c.signer != nil {
		kp = *c.signer
	}
	if c.method != "" {
		method = c.method
	}
	sc := signer(t, kp, method)
	resp := c.response
	var assertionEl *etree.Element
	if c.assertion != nil {
		a := *c.assertion
		if c.signAssertion {
			signed, err := sc.SignEnveloped(a.Element())
			if err != nil {
				t.Fatal(err)
			}
			a.Signature = signed.ChildElements()[len(signed.ChildElements())-1]
		}
		assertionEl = a.Element()
	}
	el := resp.Element()
	if assertionEl != nil {
		el.AddChild(assertionEl)
	}
	if c.signResponse {
		signed, err := sc.SignEnveloped(el)
		if err != nil {
			t.Fatal(err)
		}
		resp.Signature = signed.ChildElements()[len(signed.ChildElements())-1]
		el = resp.Element()
		if assertionEl != nil {
			el.AddChild(assertionEl)
		}
	}
	doc := etree.NewDocument()
	doc.SetRoot(el)
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// fetch GETs u.
func fetch(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", u, resp.Status, err)
	}
	return b
}
