package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/store"
)

// crewSP is crewjam/saml's own service provider (samlsp.Middleware) on
// loopback, a SAML app of the gateway's IdP: /app/ needs a SAML session
// and shows what the SP received; /saml/slo takes single-logout messages;
// /logout starts an SP-initiated single logout.
type crewSP struct {
	url string
	// cookie names the SP's session cookie: both SPs are on 127.0.0.1,
	// and cookies are not kept apart by port.
	cookie string
	ln     net.Listener
	mw     *samlsp.Middleware
	srv    *http.Server

	mu          sync.Mutex
	idpCerts    []*x509.Certificate // from the IdP metadata the SP read last
	logoutsIn   atomic.Int32        // LogoutRequests from the IdP, verified
	logoutDone  atomic.Int32        // LogoutResponses from the IdP, verified
	lastReqSign string              // SigAlg or XML signature method of the last LogoutRequest
	// badAnswer makes the SP answer the IdP's LogoutRequest with a
	// LogoutResponse that is no XML (a broken app).
	badAnswer atomic.Bool
}

// listenCrewSP reserves the SP's address, so that the gateway's
// configuration can name its metadata URL before the SP starts.
func listenCrewSP(t *testing.T) *crewSP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &crewSP{url: "http://" + ln.Addr().String(), ln: ln, cookie: fmt.Sprintf("sp%d", ln.Addr().(*net.TCPAddr).Port)}
}

// spKeyPair is an SP's RSA key and self-signed certificate.
func spKeyPair(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "crew sp"},
		NotBefore: time.Now().AddDate(-1, 0, 0), NotAfter: time.Now().AddDate(5, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

// start builds the SP from the gateway's IdP metadata (read over HTTP)
// and serves it; mod adjusts the options first.
func (sp *crewSP) start(t *testing.T, h *harness, mod func(*samlsp.Options)) {
	t.Helper()
	key, cert := spKeyPair(t)
	u, _ := url.Parse(sp.url + "/")
	opts := samlsp.Options{URL: *u, Key: key, Certificate: cert, AllowIDPInitiated: true, CookieName: sp.cookie}
	if mod != nil {
		mod(&opts)
	}
	opts.IDPMetadata = sp.fetchIdPMetadata(t, h)
	mw, err := samlsp.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mw.OnError = func(w http.ResponseWriter, r *http.Request, err error) {
		if ie, ok := err.(*saml.InvalidResponseError); ok {
			err = ie.PrivateErr
		}
		http.Error(w, "sp error: "+err.Error(), http.StatusForbidden)
	}
	if opts.SignRequest {
		// samlsp signs with SHA-1 unless told otherwise; a current SP
		// signs with SHA-256.
		mw.ServiceProvider.SignatureMethod = dsig.RSASHA256SignatureMethod
	}
	sp.mw = mw
	mux := http.NewServeMux()
	mux.HandleFunc("/saml/slo", sp.slo)
	mux.Handle("/saml/", mw)
	mux.Handle("/app/", mw.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := samlsp.SessionFromContext(r.Context()).(samlsp.JWTSessionClaims)
		var lines []string
		for k, v := range s.Attributes {
			lines = append(lines, k+"="+strings.Join(v, "|"))
		}
		sort.Strings(lines)
		fmt.Fprintf(w, "signed in\nnameid=%s\n%s\n", s.Subject, strings.Join(lines, "\n"))
	})))
	mux.HandleFunc("/logout", sp.startLogout)
	sp.srv = &http.Server{Handler: mux}
	go sp.srv.Serve(sp.ln)
	t.Cleanup(func() { sp.srv.Close() })
}

// fetchIdPMetadata reads the gateway's IdP metadata as an SP does, and
// keeps its signing certificates.
func (sp *crewSP) fetchIdPMetadata(t *testing.T, h *harness) *saml.EntityDescriptor {
	t.Helper()
	u, _ := url.Parse(h.url + "/idp/saml/metadata")
	md, err := samlsp.FetchMetadata(context.Background(), http.DefaultClient, *u)
	if err != nil {
		t.Fatalf("SP reads the IdP metadata: %v", err)
	}
	var certs []*x509.Certificate
	for _, k := range md.IDPSSODescriptors[0].KeyDescriptors {
		der, _ := base64.StdEncoding.DecodeString(k.KeyInfo.X509Data.X509Certificates[0].Data)
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	sp.mu.Lock()
	sp.idpCerts = certs
	sp.mu.Unlock()
	return md
}

// refetch makes the running SP read the IdP metadata again.
func (sp *crewSP) refetch(t *testing.T, h *harness) {
	md := sp.fetchIdPMetadata(t, h)
	sp.mu.Lock()
	sp.mw.ServiceProvider.IDPMetadata = md
	sp.mu.Unlock()
}

// verifyFromIdP checks an XML signature of the IdP on el, independently
// of the gateway's code (goxmldsig with the metadata's certificates).
func (sp *crewSP) verifyFromIdP(el *etree.Element) error {
	sp.mu.Lock()
	certs := sp.idpCerts
	sp.mu.Unlock()
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: certs})
	vc.IdAttribute = "ID"
	_, err := vc.Validate(el)
	return err
}

// slo takes the IdP's LogoutRequest (ending the SP's session, checking
// the IdP's signature) and the IdP's LogoutResponse to an SP-initiated
// logout.
func (sp *crewSP) slo(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	if v := r.Form.Get("SAMLResponse"); v != "" {
		if err := sp.mw.ServiceProvider.ValidateLogoutResponseRequest(r); err != nil {
			http.Error(w, "bad logout response: "+err.Error(), 400)
			return
		}
		sp.logoutDone.Add(1)
		fmt.Fprint(w, "sp: signed out everywhere")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(r.Form.Get("SAMLRequest"))
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		http.Error(w, "no SAML message", 400)
		return
	}
	if err := sp.verifyFromIdP(doc.Root()); err != nil {
		http.Error(w, "bad logout request signature: "+err.Error(), 400)
		return
	}
	if m := doc.Root().FindElement("./Signature/SignedInfo/SignatureMethod"); m != nil {
		sp.mu.Lock()
		sp.lastReqSign = m.SelectAttrValue("Algorithm", "")
		sp.mu.Unlock()
	}
	var lr saml.LogoutRequest
	if err := xml.Unmarshal(raw, &lr); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	_ = sp.mw.Session.DeleteSession(w, r)
	sp.logoutsIn.Add(1)
	if sp.badAnswer.Load() {
		fmt.Fprintf(w, `<form method="post" action="%s" id="SAMLResponseForm"><input type="hidden" name="SAMLResponse" value="bm90IHhtbA==" /><input type="hidden" name="RelayState" value="%s" /></form>`,
			lr.Issuer.Value[:strings.Index(lr.Issuer.Value, "/idp/")]+"/idp/saml/slo", html.EscapeString(r.Form.Get("RelayState")))
		return
	}
	form, err := sp.mw.ServiceProvider.MakePostLogoutResponse(lr.ID, r.Form.Get("RelayState"))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	w.Write(form)
}

// startLogout is the app's sign-out: its session ends, and a signed
// LogoutRequest goes to the IdP (HTTP-Redirect).
func (sp *crewSP) startLogout(w http.ResponseWriter, r *http.Request) {
	s, err := sp.mw.Session.GetSession(r)
	if err != nil {
		http.Error(w, "no session", 400)
		return
	}
	nameID := s.(samlsp.JWTSessionClaims).Subject
	_ = sp.mw.Session.DeleteSession(w, r)
	u, err := sp.mw.ServiceProvider.MakeRedirectLogoutRequest(nameID, "sp-relay")
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	http.Redirect(w, r, u.String(), http.StatusFound)
}

var (
	hiddenFieldRe = regexp.MustCompile(`<input type="hidden" name="([A-Za-z]+)" value="([^"]*)"`)
	formTagRe     = regexp.MustCompile(`<form[^>]*>`)
	formActionRe2 = regexp.MustCompile(`action="([^"]+)"`)
)

// hop is one request of a walk through redirects and posted forms.
type hop struct {
	method, url string
	form        url.Values
	status      int
}

// walk follows the browser b from req through redirects and the
// auto-submitting SAML forms (as a browser running their script would),
// on any host, and stops at the first page that is neither; it returns
// that page and every hop.
func walk(t *testing.T, b *browser, req *http.Request) (*page, []hop) {
	t.Helper()
	var hops []hop
	for range 30 {
		p := b.do(req)
		h := hop{method: req.Method, url: req.URL.String(), status: p.StatusCode}
		if req.Method == http.MethodPost {
			h.form = req.PostForm
		}
		hops = append(hops, h)
		switch {
		case p.StatusCode == http.StatusFound || p.StatusCode == http.StatusSeeOther:
			next, err := req.URL.Parse(p.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			req, _ = http.NewRequest(http.MethodGet, next.String(), nil)
			continue
		case p.StatusCode == http.StatusOK && (strings.Contains(p.body, `name="SAMLResponse"`) || strings.Contains(p.body, `name="SAMLRequest"`)):
			// The SAML form: the gateway's (post-form) or crewjam's
			// (SAMLRequestForm, SAMLResponseForm), not the language menu.
			var m []string
			for _, tag := range formTagRe.FindAllString(p.body, -1) {
				if strings.Contains(tag, `id="post-form"`) || strings.Contains(tag, `id="SAML`) {
					m = formActionRe2.FindStringSubmatch(tag)
				}
			}
			if m == nil {
				t.Fatalf("a SAML form without a post action at %s:\n%s", req.URL, snippet(p.body))
			}
			action, err := req.URL.Parse(html.UnescapeString(m[1]))
			if err != nil {
				t.Fatal(err)
			}
			form := url.Values{}
			for _, f := range hiddenFieldRe.FindAllStringSubmatch(p.body, -1) {
				form.Add(f[1], html.UnescapeString(f[2]))
			}
			req, _ = http.NewRequest(http.MethodPost, action.String(), strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			// The page's origin: a cross-site POST when it goes to the
			// other side.
			req.Header.Set("Origin", req.URL.Scheme+"://"+h.hostOf())
			req.PostForm = form
			continue
		}
		return p, hops
	}
	t.Fatal("more than 30 hops")
	return nil, nil
}

func (h hop) hostOf() string {
	u, _ := url.Parse(h.url)
	return u.Host
}

// lastSAMLResponse is the last SAMLResponse posted in hops, decoded.
func lastSAMLResponse(t *testing.T, hops []hop) *etree.Element {
	t.Helper()
	for i := len(hops) - 1; i >= 0; i-- {
		if v := hops[i].form.Get("SAMLResponse"); v != "" {
			raw, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				t.Fatal(err)
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(raw); err != nil {
				t.Fatal(err)
			}
			return doc.Root()
		}
	}
	t.Fatal("no SAMLResponse was posted")
	return nil
}

// get is a GET of rawURL; a path is on the gateway h.
func get(t *testing.T, rawURL string, h ...*harness) *http.Request {
	t.Helper()
	if strings.HasPrefix(rawURL, "/") && len(h) > 0 {
		rawURL = h[0].url + rawURL
	}
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// crewServices is the SAML apps of the gateway: crew (persistent NameID,
// staff only, the attributes mapped) and mail (email NameID, the
// default attributes, signs its requests).
func crewServices(crew, mail *crewSP, crewExtra string) harnessOption {
	return withServices(strings.NewReplacer("%CREW%", crew.url, "%MAIL%", mail.url, "%EXTRA%", crewExtra).Replace(`
  - id: crew
    name: {ja: クルー, en: Crew}
    icon: app
    url: %CREW%/app/
    allowed_groups: [staff]
    saml:
      metadata_url: %CREW%/saml/metadata
      name_id_format: persistent
      attributes:
        mail: email
        displayName: display_name
        groups: groups
        department: department
%EXTRA%  - id: mail
    name: メール
    icon: mail
    url: %MAIL%/app/
    saml:
      metadata_url: %MAIL%/saml/metadata
      relay_state: %MAIL%/app/inbox
`))
}

// samlHarness is a gateway with the two crewjam SPs, its clock at the real
// time (the SPs check the assertion's times against theirs).
func samlHarness(t *testing.T, crewExtra string, crewMod, mailMod func(*samlsp.Options), opts ...harnessOption) (*harness, *crewSP, *crewSP) {
	t.Helper()
	crew, mail := listenCrewSP(t), listenCrewSP(t)
	h := newHarness(t, append([]harnessOption{crewServices(crew, mail, crewExtra)}, opts...)...)
	h.clock.Set(time.Now())
	crew.start(t, h, crewMod)
	mail.start(t, h, mailMod)
	return h, crew, mail
}

const (
	samlAlice = "alice@example.co.jp"
	samlBob   = "bob@example.co.jp"
	bobPW     = "Bob-Passw0rd!"
)

func addSAMLUsers(t *testing.T, h *harness) (*store.User, *store.User) {
	t.Helper()
	alice := h.addUser(samlAlice, "山田 太郎", alicePW, "staff", "経理")
	alice.Department = "経理部"
	if err := h.app.store.UpdateUser(context.Background(), alice); err != nil {
		t.Fatal(err)
	}
	bob := h.addUser(samlBob, "Bob", bobPW, "guests")
	return alice, bob
}

// TestSAMLIdPSPInitiated: crewjam's SP sends an AuthnRequest by the
// HTTP-Redirect binding (crew) and by the HTTP-POST binding (mail). Not
// signed in, the person goes to the login page and, signed in, on into
// the app with the NameID and attributes the service maps (Japanese
// intact; a persistent NameID that is neither the address nor the user
// id, the same on the next sign-in); the Response and the Assertion are
// signed with RSA-SHA256; the app is recorded for single logout and the
// sign-in audited; the AuthnRequest waits server-side, not in the URL.
func TestSAMLIdPSPInitiated(t *testing.T) {
	h, crew, mail := samlHarness(t, "", nil, func(o *samlsp.Options) {})
	mail.mw.Binding = saml.HTTPPostBinding
	alice, _ := addSAMLUsers(t, h)
	b := h.browser()

	start := time.Now()
	p, hops := walk(t, b, get(t, crew.url+"/app/"))
	expectStatus(t, p, http.StatusOK)
	if !strings.HasPrefix(p.Request.URL.String(), h.url+"/login?") {
		t.Fatalf("not signed in: landed at %s, want the login page", p.Request.URL)
	}
	returnTo := p.Request.URL.Query().Get("return_to")
	if !strings.HasPrefix(returnTo, h.url+"/idp/saml/resume?t=") || strings.Contains(returnTo, "SAMLRequest") {
		t.Fatalf("return_to %q, want the resume URL with a ticket only", returnTo)
	}
	_ = hops
	login := b.post("/login", url.Values{"email": {samlAlice}, "password": {alicePW}, "return_to": {returnTo}})
	p, hops = walk(t, b, get(t, login.Header.Get("Location"), h))
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, "signed in") {
		t.Fatalf("crew app: %s", snippet(p.body))
	}
	t.Logf("SP-initiated sign-in through the login page: %d hops", len(hops))
	resp := lastSAMLResponse(t, hops)
	for _, path := range []string{"./Signature/SignedInfo/SignatureMethod", "./Assertion/Signature/SignedInfo/SignatureMethod"} {
		m := resp.FindElement(path)
		if m == nil || m.SelectAttrValue("Algorithm", "") != dsig.RSASHA256SignatureMethod {
			t.Errorf("%s = %v, want RSA-SHA256", path, m)
		}
	}
	if c := resp.FindElement("./Assertion/AuthnStatement/AuthnContext/AuthnContextClassRef"); c == nil || c.Text() != "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport" {
		t.Errorf("AuthnContextClassRef = %v, want PasswordProtectedTransport", c)
	}
	nameID := regexp.MustCompile(`nameid=(.*)`).FindStringSubmatch(p.body)[1]
	if nameID == "" || strings.Contains(nameID, "alice") || strings.Contains(nameID, alice.ID) {
		t.Errorf("persistent NameID %q shows who it is", nameID)
	}
	for _, want := range []string{"mail=" + samlAlice, "displayName=山田 太郎", "groups=staff|経理", "department=経理部"} {
		if !strings.Contains(p.body, want+"\n") {
			t.Errorf("crew app did not receive %q:\n%s", want, p.body)
		}
	}
	if f := resp.FindElement("./Assertion/Subject/NameID"); f == nil || f.SelectAttrValue("Format", "") != "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" {
		t.Errorf("NameID format = %v", f)
	}

	// The POST binding, a signed-in person: straight into the app, with
	// the email NameID and the default attributes.
	start = time.Now()
	p, hops = walk(t, b, get(t, mail.url+"/app/"))
	rt := time.Since(start)
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, "nameid="+samlAlice+"\n") || !strings.Contains(p.body, "displayName=山田 太郎") || strings.Contains(p.body, "department=") {
		t.Fatalf("mail app:\n%s", p.body)
	}
	if hops[1].method != http.MethodPost || !strings.HasPrefix(hops[1].url, h.url+"/idp/saml/sso") || hops[1].form.Get("SAMLRequest") == "" {
		t.Errorf("the AuthnRequest did not come by the POST binding: %+v", hops[1])
	}
	t.Logf("SSO round trip (SP-initiated, POST binding, signed in): %s, %d hops", rt, len(hops))

	// Again: the same persistent id.
	b.jar.SetCookies(mustParse(t, crew.url), []*http.Cookie{{Name: crew.cookie, Value: "", MaxAge: -1, Path: "/"}})
	b2 := h.browser()
	login = b2.login(samlAlice, alicePW, "")
	p, _ = walk(t, b2, get(t, crew.url+"/app/"))
	if !strings.Contains(p.body, "nameid="+nameID+"\n") {
		t.Errorf("persistent NameID changed: %s", snippet(p.body))
	}

	clients := sessionClients(t, h, b)
	if len(clients) != 2 || clients[0].ClientID != "crew" || clients[1].ClientID != "mail" || clients[0].Protocol != store.ProtocolSAML {
		t.Fatalf("session clients = %+v, want crew and mail", clients)
	}
	if !strings.Contains(string(clients[0].Data), nameID) || !strings.Contains(string(clients[0].Data), "session_index") {
		t.Errorf("crew's record %s has not the NameID and SessionIndex", clients[0].Data)
	}
	if n := h.auditCount(alice, "saml_sso"); n != 3 {
		t.Errorf("saml_sso audited %d times, want 3", n)
	}
	if strings.Contains(h.logs.String(), "SAMLResponse") || strings.Contains(h.logs.String(), "PHNhbWxw") {
		t.Error("the log mentions a SAMLResponse")
	}
}

// sessionClients lists the apps of the browser's gateway session.
func sessionClients(t *testing.T, h *harness, b *browser) []*store.SessionClient {
	t.Helper()
	sess, err := h.app.store.ListUserSessions(context.Background(), userOf(t, h, samlAlice).ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []*store.SessionClient
	for _, s := range sess {
		cs, err := h.app.store.ListSessionClients(context.Background(), s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) > len(out) {
			out = cs
		}
	}
	return out
}

func userOf(t *testing.T, h *harness, email string) *store.User {
	t.Helper()
	u, err := h.app.store.GetUserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSAMLIdPInitiatedFromTile: the launcher's tile of a SAML app leads
// to /idp/saml/init/{service}; signed in, it posts an unsolicited
// Response to the app's ACS and the person lands in the app (at the
// service's relay_state); not signed in, the login page comes first.
func TestSAMLIdPInitiatedFromTile(t *testing.T) {
	h, _, mail := samlHarness(t, "", nil, nil)
	addSAMLUsers(t, h)
	b := h.browser()
	expectRedirect(t, b.login(samlAlice, alicePW, ""), "/")
	home := b.get("/")
	tile := h.url + "/idp/saml/init/mail"
	if !strings.Contains(home.body, `href="`+tile+`"`) {
		t.Fatalf("launcher has no tile to %s:\n%s", tile, snippet(home.body))
	}
	start := time.Now()
	p, hops := walk(t, b, get(t, tile))
	rt := time.Since(start)
	expectStatus(t, p, http.StatusOK)
	if p.Request.URL.String() != mail.url+"/app/inbox" || !strings.Contains(p.body, "nameid="+samlAlice) {
		t.Fatalf("tile landed at %s:\n%s", p.Request.URL, snippet(p.body))
	}
	if resp := lastSAMLResponse(t, hops); resp.SelectAttrValue("InResponseTo", "") != "" {
		t.Error("an IdP-initiated Response answers a request")
	}
	t.Logf("SSO round trip (IdP-initiated from the tile): %s, %d hops", rt, len(hops))

	// Signed out: the tile shows the login page first, then the app.
	b2 := h.browser()
	p, _ = walk(t, b2, get(t, tile))
	if !strings.HasPrefix(p.Request.URL.String(), h.url+"/login?") {
		t.Fatalf("not signed in: tile landed at %s", p.Request.URL)
	}
	login := b2.post("/login", url.Values{"email": {samlAlice}, "password": {alicePW}, "return_to": {p.Request.URL.Query().Get("return_to")}})
	p, _ = walk(t, b2, get(t, login.Header.Get("Location"), h))
	if p.Request.URL.String() != mail.url+"/app/inbox" || !strings.Contains(p.body, "signed in") {
		t.Fatalf("after the login page the tile landed at %s:\n%s", p.Request.URL, snippet(p.body))
	}
}

// TestSAMLIdPDenied: a person outside the service's allowed_groups gets a
// signed Response with status RequestDenied and no assertion; the app
// does not sign them in; the refusal is audited.
func TestSAMLIdPDenied(t *testing.T) {
	h, crew, _ := samlHarness(t, "", nil, nil)
	_, bob := addSAMLUsers(t, h)
	b := h.browser()
	expectRedirect(t, b.login(samlBob, bobPW, ""), "/")
	p, hops := walk(t, b, get(t, crew.url+"/app/"))
	if p.StatusCode != http.StatusForbidden || strings.Contains(p.body, "signed in") {
		t.Fatalf("crew app let bob in: %d %s", p.StatusCode, snippet(p.body))
	}
	resp := lastSAMLResponse(t, hops)
	code := resp.FindElement("./Status/StatusCode")
	if code == nil || code.SelectAttrValue("Value", "") != saml.StatusResponder ||
		code.FindElement("./StatusCode") == nil || code.FindElement("./StatusCode").SelectAttrValue("Value", "") != saml.StatusRequestDenied {
		t.Errorf("status = %v, want Responder / RequestDenied", code)
	}
	if resp.FindElement("./Assertion") != nil {
		t.Error("a refusal carries an assertion")
	}
	if err := crew.verifyFromIdP(resp); err != nil {
		t.Errorf("the refusal is not signed by the IdP: %v", err)
	}
	if h.auditCount(bob, "saml_sso") != 1 {
		t.Error("the refusal was not audited")
	}
	// From the tile: the gateway's own refusal page.
	p, _ = walk(t, b, get(t, h.url+"/idp/saml/init/crew"))
	expectStatus(t, p, http.StatusForbidden)

	// IsPassive, not signed in: NoPassive, not the login page.
	req, err := crew.mw.ServiceProvider.MakeAuthenticationRequest(h.url+"/idp/saml/sso", saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	passive := true
	req.IsPassive = &passive
	u, err := req.Redirect("", &crew.mw.ServiceProvider)
	if err != nil {
		t.Fatal(err)
	}
	p = h.browser().do(get(t, u.String()))
	expectStatus(t, p, http.StatusOK)
	m := regexp.MustCompile(`name="SAMLResponse" value="([^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("IsPassive: no Response form:\n%s", snippet(p.body))
	}
	raw, _ := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	if !strings.Contains(string(raw), "urn:oasis:names:tc:SAML:2.0:status:NoPassive") || strings.Contains(string(raw), "Assertion") {
		t.Errorf("IsPassive answer:\n%s", raw)
	}
}

// TestSAMLIdPForceAuthnAndMFA: ForceAuthn sends a signed-in person
// through the sign-in again; an AuthnRequest asking for REFEDS MFA sends
// a person signed in with a password only through the second step, and
// the assertion then says MFA.
func TestSAMLIdPForceAuthnAndMFA(t *testing.T) {
	h, crew, mail := samlHarness(t, "", func(o *samlsp.Options) { o.ForceAuthn = true }, func(o *samlsp.Options) {
		o.RequestedAuthnContext = &saml.RequestedAuthnContext{Comparison: "exact", AuthnContextClassRef: "https://refeds.org/profile/mfa"}
	})
	addSAMLUsers(t, h)
	b := h.browser()
	expectRedirect(t, b.login(samlAlice, alicePW, ""), "/")

	h.clock.Advance(time.Second)
	p, _ := walk(t, b, get(t, crew.url+"/app/"))
	if !strings.HasPrefix(p.Request.URL.String(), h.url+"/login?") || p.Request.URL.Query().Get("reauth") != "1" {
		t.Fatalf("ForceAuthn: landed at %s, want the login page again", p.Request.URL)
	}
	login := b.post("/login", url.Values{"email": {samlAlice}, "password": {alicePW}, "return_to": {p.Request.URL.Query().Get("return_to")}})
	p, _ = walk(t, b, get(t, login.Header.Get("Location"), h))
	if !strings.Contains(p.body, "signed in") {
		t.Fatalf("ForceAuthn: after signing in again: %s %s", p.Request.URL, snippet(p.body))
	}

	// A factor set up after the sign-in: the session has none.
	secret := h.enrolTOTPAtAccount(b)
	p, _ = walk(t, b, get(t, mail.url+"/app/"))
	if p.Request.URL.Path != "/login/2fa" {
		t.Fatalf("MFA asked: landed at %s, want the second step", p.Request.URL)
	}
	step := b.post("/login/2fa", url.Values{"code": {h.totpCode(secret, 0)}})
	p, hops := walk(t, b, get(t, step.Header.Get("Location"), h))
	if !strings.Contains(p.body, "signed in") {
		t.Fatalf("MFA: after the second step: %s %s", p.Request.URL, snippet(p.body))
	}
	if c := lastSAMLResponse(t, hops).FindElement("./Assertion/AuthnStatement/AuthnContext/AuthnContextClassRef"); c == nil || c.Text() != "https://refeds.org/profile/mfa" {
		t.Errorf("AuthnContextClassRef = %v, want REFEDS MFA", c)
	}
}

// TestSAMLIdPSignedRequests: an SP whose metadata says
// AuthnRequestsSigned must sign; a signature with SHA-1 is refused by
// default, an altered request or signature is refused, a replayed one
// too, and a good one signs in.
func TestSAMLIdPSignedRequests(t *testing.T) {
	h, crew, _ := samlHarness(t, "", func(o *samlsp.Options) { o.SignRequest = true }, nil)
	addSAMLUsers(t, h)
	b := h.browser()
	expectRedirect(t, b.login(samlAlice, alicePW, ""), "/")

	signed := func() string {
		u, err := crew.mw.ServiceProvider.MakeRedirectAuthenticationRequest("rs")
		if err != nil {
			t.Fatal(err)
		}
		return u.String()
	}
	good := signed()
	if !strings.Contains(good, "&Signature=") {
		t.Fatalf("the SP did not sign: %s", good)
	}
	q := good[strings.Index(good, "?")+1:]
	params := map[string]string{}
	for _, part := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(part, "=")
		params[k] = v
	}
	flip := func(s string) string {
		i := len(s) / 2
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	sso := h.url + "/idp/saml/sso?"
	for name, rawURL := range map[string]string{
		"unsigned":          sso + "SAMLRequest=" + params["SAMLRequest"] + "&RelayState=rs",
		"altered signature": sso + strings.Replace(q, params["Signature"], flip(params["Signature"]), 1),
		"altered relay":     sso + strings.Replace(q, "RelayState=rs", "RelayState=rt", 1),
	} {
		p := b.do(get(t, rawURL))
		if p.StatusCode != http.StatusBadRequest {
			t.Errorf("%s AuthnRequest: %d, want 400", name, p.StatusCode)
		}
	}
	p := b.do(get(t, good))
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, `name="SAMLResponse"`) {
		t.Fatalf("good signed request: %s", snippet(p.body))
	}
	if p := b.do(get(t, good)); p.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed AuthnRequest: %d, want 400", p.StatusCode)
	}

	crew.mw.ServiceProvider.SignatureMethod = dsig.RSASHA1SignatureMethod
	sha1 := signed()
	if !strings.Contains(sha1, url.QueryEscape(dsig.RSASHA1SignatureMethod)) {
		t.Fatal("the SP did not sign with SHA-1")
	}
	if p := b.do(get(t, sha1)); p.StatusCode != http.StatusBadRequest {
		t.Errorf("AuthnRequest signed with SHA-1: %d, want 400", p.StatusCode)
	}
	crew.mw.ServiceProvider.SignatureMethod = dsig.RSASHA256SignatureMethod
	p, _ = walk(t, b, get(t, crew.url+"/app/"))
	if !strings.Contains(p.body, "signed in") {
		t.Fatalf("signed SP-initiated sign-in: %s %s", p.Request.URL, snippet(p.body))
	}
}

// TestSAMLIdPSHA1WhenAsked: a service that says signature_algorithm:
// rsa-sha1 (an old SP) gets its Response signed with RSA-SHA1 and may
// sign its requests so.
func TestSAMLIdPSHA1WhenAsked(t *testing.T) {
	h, crew, _ := samlHarness(t, "      signature_algorithm: rsa-sha1\n", func(o *samlsp.Options) { o.SignRequest = true }, nil)
	addSAMLUsers(t, h)
	crew.mw.ServiceProvider.SignatureMethod = dsig.RSASHA1SignatureMethod
	b := h.browser()
	expectRedirect(t, b.login(samlAlice, alicePW, ""), "/")
	p, hops := walk(t, b, get(t, crew.url+"/app/"))
	if !strings.Contains(p.body, "signed in") {
		t.Fatalf("SHA-1 SP: %s %s", p.Request.URL, snippet(p.body))
	}
	if m := lastSAMLResponse(t, hops).FindElement("./Signature/SignedInfo/SignatureMethod"); m == nil || m.SelectAttrValue("Algorithm", "") != dsig.RSASHA1SignatureMethod {
		t.Errorf("Response signature method %v, want RSA-SHA1", m)
	}
}

// TestSAMLIdPSingleLogout: POST /logout at the gateway takes the browser
// through each SAML app of the session (a signed LogoutRequest each; the
// apps' sessions end) and then to the signed-out page; an app's own
// sign-out (an SP-initiated LogoutRequest, signed) ends the gateway
// session, the other app's too, and comes back to the app with a signed
// LogoutResponse.
func TestSAMLIdPSingleLogout(t *testing.T) {
	h, crew, mail := samlHarness(t, "", func(o *samlsp.Options) { o.SignRequest = true }, nil)
	addSAMLUsers(t, h)

	signIn := func() *browser {
		b := h.browser()
		expectRedirect(t, b.login(samlAlice, alicePW, ""), "/")
		for _, sp := range []*crewSP{crew, mail} {
			if p, _ := walk(t, b, get(t, sp.url+"/app/")); !strings.Contains(p.body, "signed in") {
				t.Fatalf("sign-in to %s: %s", sp.url, snippet(p.body))
			}
		}
		return b
	}
	b := signIn()
	expectStatus(t, b.get("/logout"), http.StatusOK)
	req, _ := http.NewRequest(http.MethodPost, h.url+"/logout", strings.NewReader(url.Values{"csrf_token": {b.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", h.url)
	p, hops := walk(t, b, req)
	expectStatus(t, p, http.StatusOK)
	if p.Request.URL.String() != h.url+"/login?logged_out=1" {
		t.Fatalf("logout ended at %s", p.Request.URL)
	}
	if crew.logoutsIn.Load() != 1 || mail.logoutsIn.Load() != 1 {
		t.Fatalf("LogoutRequests received: crew %d, mail %d; hops %v\n%s", crew.logoutsIn.Load(), mail.logoutsIn.Load(), hops, grepLines(h.logs.String(), "saml idp"))
	}
	for _, sp := range []*crewSP{crew, mail} {
		if p, _ := walk(t, b, get(t, sp.url+"/app/")); strings.Contains(p.body, "signed in") {
			t.Errorf("%s still signed in after the gateway's logout", sp.url)
		}
	}
	if h.hasSession(b) {
		t.Error("gateway session survived")
	}

	// SP-initiated.
	b = signIn()
	p, _ = walk(t, b, get(t, crew.url+"/logout"))
	if p.Request.URL.String() != crew.url+"/saml/slo" || !strings.Contains(p.body, "signed out everywhere") {
		t.Fatalf("SP-initiated logout ended at %s: %s", p.Request.URL, snippet(p.body))
	}
	if crew.logoutDone.Load() != 1 || mail.logoutsIn.Load() != 2 || crew.logoutsIn.Load() != 1 {
		t.Errorf("crew answered %d, mail LogoutRequests %d, crew LogoutRequests %d", crew.logoutDone.Load(), mail.logoutsIn.Load(), crew.logoutsIn.Load())
	}
	if h.hasSession(b) {
		t.Error("gateway session survived the app's sign-out")
	}
	if p, _ := walk(t, b, get(t, mail.url+"/app/")); !strings.HasPrefix(p.Request.URL.String(), h.url+"/login?") {
		t.Errorf("mail still reachable after crew's sign-out: %s", p.Request.URL)
	}
	if strings.Contains(crew.lastReqSign+mail.lastReqSign, "sha1") {
		t.Error("a LogoutRequest was signed with SHA-1")
	}

	// A broken app (its LogoutResponse is no XML) does not stop the
	// round: the other app is told and the browser ends signed out.
	crew.badAnswer.Store(true)
	b = signIn()
	expectStatus(t, b.get("/logout"), http.StatusOK)
	req, _ = http.NewRequest(http.MethodPost, h.url+"/logout", strings.NewReader(url.Values{"csrf_token": {b.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", h.url)
	mailBefore := mail.logoutsIn.Load()
	p, _ = walk(t, b, req)
	if p.Request.URL.String() != h.url+"/login?logged_out=1" || mail.logoutsIn.Load() != mailBefore+1 {
		t.Fatalf("with a broken app the logout ended at %s; mail told %d times", p.Request.URL, mail.logoutsIn.Load()-mailBefore)
	}
	// An app that is down is passed over: the browser is not sent to an
	// error page, the other app is told.
	crew.badAnswer.Store(false)
	b = signIn()
	expectStatus(t, b.get("/logout"), http.StatusOK)
	req, _ = http.NewRequest(http.MethodPost, h.url+"/logout", strings.NewReader(url.Values{"csrf_token": {b.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", h.url)
	mail.srv.Close()
	crewBefore := crew.logoutsIn.Load()
	p, _ = walk(t, b, req)
	if p.Request.URL.String() != h.url+"/login?logged_out=1" || crew.logoutsIn.Load() != crewBefore+1 {
		t.Fatalf("with an app down the logout ended at %s; crew told %d times", p.Request.URL, crew.logoutsIn.Load()-crewBefore)
	}
	// A LogoutResponse of no round (expired, replayed, forged): the
	// signed-out page, whatever it says.
	p = b.postRaw("/idp/saml/slo", url.Values{"SAMLResponse": {"PHgvPg=="}, "RelayState": {"no-such-round"}}, crew.url)
	expectRedirect(t, p, "/login?logged_out=1")
}

// TestSAMLIdPLineOnlyAndSessionTimeout: under access_route line_only the
// SSO and IdP-initiated pages are behind the line check like every page,
// the metadata is not (apps fetch it from their own addresses); a
// service's session_timeout sends an older sign-in to the login page
// again.
func TestSAMLIdPLineOnlyAndSessionTimeout(t *testing.T) {
	h, crew, _ := samlHarness(t, "    session_timeout: 1m\n", nil, nil, lineConfig("line_only", true))
	addSAMLUsers(t, h)
	away := h.browser().from("198.51.100.1")
	expectStatus(t, away.get("/idp/saml/metadata"), http.StatusOK)
	expectStatus(t, away.get("/idp/saml/init/mail"), http.StatusForbidden)
	expectStatus(t, away.get("/idp/saml/sso?SAMLRequest=x"), http.StatusForbidden)
	expectStatus(t, away.get("/idp/saml/slo?SAMLRequest=x"), http.StatusForbidden)

	b := h.browser().from("203.0.113.20")
	expectRedirect(t, b.login(samlAlice, alicePW, ""), "/")
	if p, _ := walk(t, b, get(t, crew.url+"/app/")); !strings.Contains(p.body, "signed in") {
		t.Fatalf("from the line: %s %s", p.Request.URL, snippet(p.body))
	}
	h.clock.Advance(2 * time.Minute)
	b.jar.SetCookies(mustParse(t, crew.url), []*http.Cookie{{Name: crew.cookie, Value: "", MaxAge: -1, Path: "/"}})
	p, _ := walk(t, b, get(t, crew.url+"/app/"))
	if !strings.HasPrefix(p.Request.URL.String(), h.url+"/login?") || p.Request.URL.Query().Get("reauth") != "1" {
		t.Fatalf("past session_timeout: landed at %s, want the login page again", p.Request.URL)
	}
}

// TestSAMLIdPKeyRotation: the metadata lists every published key; after
// a rotation with an activation delay, the SP that refetched the
// metadata signs in before the new key signs and after, with no failure;
// the metadata carries both keys meanwhile.
func TestSAMLIdPKeyRotation(t *testing.T) {
	h, crew, _ := samlHarness(t, "", nil, nil)
	addSAMLUsers(t, h)
	b := h.browser()
	expectRedirect(t, b.login(samlAlice, alicePW, ""), "/")
	signIn := func(what string) *etree.Element {
		t.Helper()
		b.jar.SetCookies(mustParse(t, crew.url), []*http.Cookie{{Name: crew.cookie, Value: "", MaxAge: -1, Path: "/"}})
		p, hops := walk(t, b, get(t, crew.url+"/app/"))
		if !strings.Contains(p.body, "signed in") {
			t.Fatalf("%s: sign-in failed: %s %s", what, p.Request.URL, snippet(p.body))
		}
		return lastSAMLResponse(t, hops)
	}
	certOf := func(resp *etree.Element) string {
		return strings.TrimSpace(resp.FindElement("./Signature/KeyInfo/X509Data/X509Certificate").Text())
	}
	old := certOf(signIn("before the rotation"))

	ctx := context.Background()
	if _, err := gateway.RotateSigningKey(ctx, h.app.cfg, h.app.store, h.clock.Now(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := h.app.gateway.ReloadKeys(ctx); err != nil {
		t.Fatal(err)
	}
	crew.refetch(t, h)
	crew.mu.Lock()
	n := len(crew.idpCerts)
	crew.mu.Unlock()
	if n != 2 {
		t.Fatalf("metadata lists %d keys after the rotation, want 2", n)
	}
	if certOf(signIn("published, not yet active")) != old {
		t.Error("the new key signed before its activation")
	}
	h.clock.Advance(31 * time.Second)
	if certOf(signIn("after activation")) == old {
		t.Error("the old key still signs after the new one's activation")
	}
}

// TestSAMLIdPMetadata: the metadata's entity id and endpoints.
func TestSAMLIdPMetadata(t *testing.T) {
	h := newHarness(t)
	p := h.browser().get("/idp/saml/metadata")
	expectStatus(t, p, http.StatusOK)
	var md saml.EntityDescriptor
	if err := xml.Unmarshal([]byte(p.body), &md); err != nil {
		t.Fatal(err)
	}
	d := md.IDPSSODescriptors[0]
	if md.EntityID != h.url+"/idp/saml/metadata" || len(d.KeyDescriptors) != 1 ||
		!slices.ContainsFunc(d.SingleSignOnServices, func(e saml.Endpoint) bool {
			return e.Binding == saml.HTTPPostBinding && e.Location == h.url+"/idp/saml/sso"
		}) ||
		!slices.ContainsFunc(d.SingleLogoutServices, func(e saml.Endpoint) bool {
			return e.Binding == saml.HTTPRedirectBinding && e.Location == h.url+"/idp/saml/slo"
		}) {
		t.Errorf("metadata:\n%s", p.body)
	}
	if want := time.Now().Add(300 * 24 * time.Hour); md.ValidUntil.Before(want) {
		t.Errorf("validUntil %s, want a year from now", md.ValidUntil)
	}
	if ct := p.Header.Get("Content-Type"); ct != "application/samlmetadata+xml" {
		t.Errorf("Content-Type %q", ct)
	}
	if !bytes.Contains([]byte(p.body), []byte("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")) {
		t.Error("metadata does not offer persistent NameIDs")
	}
	_ = io.Discard
}

// grepLines are the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// crossSitePost posts the SAML form of page p (an app's page) to the
// gateway as a browser does across sites: the gateway's SameSite=Lax
// cookies do not come with it. It returns the gateway's answer.
func crossSitePost(t *testing.T, h *harness, p *page) *http.Response {
	t.Helper()
	var action string
	for _, tag := range formTagRe.FindAllString(p.body, -1) {
		if strings.Contains(tag, `id="SAML`) {
			action = html.UnescapeString(formActionRe2.FindStringSubmatch(tag)[1])
		}
	}
	form := url.Values{}
	for _, f := range hiddenFieldRe.FindAllStringSubmatch(p.body, -1) {
		form.Add(f[1], html.UnescapeString(f[2]))
	}
	if action == "" || !strings.HasPrefix(action, h.url+"/idp/saml/") {
		t.Fatalf("no SAML form to the gateway:\n%s", snippet(p.body))
	}
	req, _ := http.NewRequest(http.MethodPost, action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", p.Request.URL.Scheme+"://"+p.Request.URL.Host)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestSAMLIdPCrossSitePost: an app's AuthnRequest and LogoutRequest by
// the HTTP-POST binding come from another site, so a browser sends none
// of the gateway's SameSite=Lax cookies with them. The gateway answers
// with a same-site hop (where the cookies come again) instead of the login
// page, without replacing the browser's CSRF cookie; the signed-in person
// lands in the app, and the app's sign-out ends the gateway session.
func TestSAMLIdPCrossSitePost(t *testing.T) {
	h, crew, mail := samlHarness(t, "", func(o *samlsp.Options) { o.SignRequest = true }, nil)
	mail.mw.Binding = saml.HTTPPostBinding
	addSAMLUsers(t, h)
	b := h.browser()
	expectRedirect(t, b.login(samlAlice, alicePW, ""), "/")
	csrfBefore := b.cookie("ssogate_csrf").Value

	p := b.do(get(t, mail.url+"/app/"))
	resp := crossSitePost(t, h, p)
	loc := strings.TrimPrefix(resp.Header.Get("Location"), h.url)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/idp/saml/resume?t=") {
		t.Fatalf("cross-site AuthnRequest: %d to %q, want the same-site hop", resp.StatusCode, loc)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("the cross-site POST set cookies: %q", sc)
	}
	p, hops := walk(t, b, get(t, loc, h))
	if !strings.Contains(p.body, "signed in") {
		t.Fatalf("after the hop: %s %s", p.Request.URL, snippet(p.body))
	}
	for _, hp := range hops {
		if strings.Contains(hp.url, "/login") {
			t.Errorf("a signed-in person was sent to %s", hp.url)
		}
	}
	if b.cookie("ssogate_csrf").Value != csrfBefore {
		t.Error("the CSRF cookie was replaced")
	}

	// The app's sign-out by the HTTP-POST binding.
	if p, _ := walk(t, b, get(t, crew.url+"/app/")); !strings.Contains(p.body, "signed in") {
		t.Fatalf("crew: %s", snippet(p.body))
	}
	s, err := crew.mw.Session.GetSession(&http.Request{Header: http.Header{"Cookie": {crew.cookie + "=" + cookieIn(b, crew)}}})
	if err != nil {
		t.Fatal(err)
	}
	form, err := crew.mw.ServiceProvider.MakePostLogoutRequest(s.(samlsp.JWTSessionClaims).Subject, "sp-relay")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, crew.url+"/logout-form", nil)
	resp = crossSitePost(t, h, &page{Response: &http.Response{Request: req}, body: string(form)})
	loc = strings.TrimPrefix(resp.Header.Get("Location"), h.url)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/idp/saml/slo/request?t=") {
		t.Fatalf("cross-site LogoutRequest: %d to %q, want the same-site hop", resp.StatusCode, loc)
	}
	p, _ = walk(t, b, get(t, loc, h))
	if !strings.Contains(p.body, "signed out everywhere") {
		t.Fatalf("app-initiated logout by POST ended at %s: %s", p.Request.URL, snippet(p.body))
	}
	if h.hasSession(b) {
		t.Error("the gateway session survived the app's cross-site sign-out")
	}
}

// cookieIn is the value of sp's session cookie in b.
func cookieIn(b *browser, sp *crewSP) string {
	u, _ := url.Parse(sp.url)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == sp.cookie {
			return c.Value
		}
	}
	return ""
}
