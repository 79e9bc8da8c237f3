package testpeers

import (
	"bytes"
	"compress/flate"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// Attribute names crewjam's samlidp sends (URIs; mellon names its
// variables after them unless MellonSetEnv renames them).
const (
	oidMail        = "urn:oid:0.9.2342.19200300.100.1.3"
	oidCommonName  = "urn:oid:2.5.4.3"
	oidAffiliation = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1" // eduPersonAffiliation: samlidp's groups
)

func idpMetadata(t *testing.T, idp *SAMLIdP) []byte {
	t.Helper()
	resp, err := http.Get(idp.MetadataURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("IdP metadata: %s %v", resp.Status, err)
	}
	return b
}

// mellonAttempt opens path under /secret/ with browser, signs in at the
// test IdP as alice and returns where that ended, after every SAML form
// was posted on.
func mellonAttempt(t *testing.T, browser *http.Client, m *MellonPeer, idp *SAMLIdP, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := browser.Get(m.SecretURL(path))
	if err != nil {
		t.Fatal(err)
	}
	resp, body := FollowSAMLForms(t, browser, resp)
	if !strings.HasPrefix(resp.Request.URL.String(), idp.URL()+"/sso") {
		t.Fatalf("/secret/%s led to %s, not the IdP's login page:\n%s", path, resp.Request.URL, body)
	}
	login, ok := ParseForm(resp.Request.URL, body)
	if !ok || login.Fields.Get("SAMLRequest") == "" {
		t.Fatalf("no login form with the SAMLRequest at %s:\n%s", resp.Request.URL, body)
	}
	resp, err = login.Submit(browser, url.Values{"user": {"alice"}, "password": {"Alice!Pass123"}})
	if err != nil {
		t.Fatal(err)
	}
	return FollowSAMLForms(t, browser, resp)
}

// mellonSignIn opens path under /secret/ with a new browser, signs in at
// the test IdP as alice and returns the browser and what /secret/ showed.
func mellonSignIn(t *testing.T, m *MellonPeer, idp *SAMLIdP, path string) (*http.Client, MellonEnv) {
	t.Helper()
	browser := Browser()
	resp, body := mellonAttempt(t, browser, m, idp, path)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != m.SecretURL(path) {
		t.Fatalf("sign-in ended at %s with %s, not /secret/%s:\n%s", resp.Request.URL, resp.Status, path, body)
	}
	env, err := ParseMellonEnv(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	return browser, env
}

// TestMellonSignIn signs in to Apache with mod_auth_mellon through a real
// SAML IdP (crewjam's samlidp): SP-initiated, HTTP-Redirect to the IdP,
// the response posted back (encrypted to the SP's key), and /secret/ sees
// the NameID and the attributes. Logout ends mellon's session.
func TestMellonSignIn(t *testing.T) {
	idp := NewSAMLIdP(t)
	m := Mellon(t, MellonConfig{
		IdPMetadata:   idpMetadata(t, idp),
		NameIDFormats: []string{NameIDEmail},
		Settings: []MellonSetting{
			// samlidp puts the client's host:port in SubjectConfirmationData's
			// Address; mellon compares it with the client's IP alone.
			{"MellonSubjectConfirmationDataAddressCheck", []string{"Off"}},
			{"MellonSetEnvNoPrefix", []string{"SSO_MAIL", oidMail}},
			{"MellonSetEnv", []string{"groups", oidAffiliation}},
			{"MellonSetEnv", []string{"displayName", oidCommonName}},
			{"MellonSamlResponseDump", []string{"On"}},
		},
		// How an app behind mod_proxy would get an attribute.
		SecretSettings: []MellonSetting{{"RequestHeader", []string{"set", "X-Remote-Email", "%{SSO_MAIL}e", "env=SSO_MAIL"}}},
	})
	if !strings.Contains(string(m.SPMetadata), `entityID="`+m.URL+`/mellon/metadata"`) {
		t.Fatalf("SP metadata without the entity ID %s/mellon/metadata:\n%s", m.URL, m.SPMetadata)
	}
	idp.RegisterSP(t, "mellon", m.SPMetadata)
	idp.PutUser(t, "alice", `{"name":"alice","password":"Alice!Pass123","email":"alice@example.co.jp",`+
		`"groups":["engineering","経理"],"common_name":"山田 花子"}`)

	browser, env := mellonSignIn(t, m, idp, "page?x=1")
	if env["MELLON_NAME_ID"] != "alice@example.co.jp" || env["REMOTE_USER"] != "alice@example.co.jp" ||
		env["AUTH_TYPE"] != "Mellon" || env["SSO_MAIL"] != "alice@example.co.jp" || env["HTTP_X_REMOTE_EMAIL"] != "alice@example.co.jp" ||
		env["MELLON_displayName"] != "山田 花子" || !slices.Equal(env.Values("MELLON_groups"), []string{"engineering", "経理"}) {
		t.Errorf("/secret/ saw %v; want alice's NameID, mail (also as X-Remote-Email), displayName and both groups", env)
	}
	// The IdP encrypted the assertion to the SP's key (its metadata has
	// one), and mellon decrypted it.
	if resp, err := base64.StdEncoding.DecodeString(env["MELLON_SAML_RESPONSE"]); err != nil || !bytes.Contains(resp, []byte("EncryptedAssertion")) {
		t.Errorf("the SAML response mellon received (%v) has no EncryptedAssertion:\n%s", err, resp)
	}
	if got := m.Whoami(t, browser)["MELLON_NAME_ID"]; got != "alice@example.co.jp" {
		t.Errorf("/whoami in the session: NameID %q; want alice's", got)
	}
	if got := m.Whoami(t, Browser())["MELLON_NAME_ID"]; got != "" {
		t.Errorf("/whoami without a session: NameID %q; want none", got)
	}

	// samlidp has no single logout service: mellon ends its own session
	// and returns to ReturnTo.
	resp, err := browser.Get(m.LogoutURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != m.URL+"/loggedout" {
		t.Errorf("logout ended at %s with %s; want %s/loggedout", resp.Request.URL, resp.Status, m.URL)
	}
	if got := m.Whoami(t, browser)["MELLON_NAME_ID"]; got != "" {
		t.Errorf("/whoami after logout: NameID %q; want no session", got)
	}
	noFollow := *browser
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = noFollow.Get(m.SecretURL(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, m.URL+"/mellon/login?") {
		t.Errorf("/secret/ after logout: %s to %q; want a redirect to mellon's login", resp.Status, loc)
	}
}

// firstRedirectToIdP opens /secret/ with a new browser and returns the
// redirect that takes it to the IdP: mellon's AuthnRequest (HTTP-Redirect
// binding) in its query, and the request's XML.
func firstRedirectToIdP(t *testing.T, m *MellonPeer, idp *SAMLIdP) (url.Values, string) {
	t.Helper()
	var toIdP *url.URL
	browser := Browser()
	browser.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), idp.URL()) {
			toIdP = r.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := browser.Get(m.SecretURL(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if toIdP == nil {
		t.Fatalf("/secret/ did not redirect to the IdP: %s at %s", resp.Status, resp.Request.URL)
	}
	q := toIdP.Query()
	raw, err := base64.StdEncoding.DecodeString(q.Get("SAMLRequest"))
	if err != nil {
		t.Fatal(err)
	}
	xml, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return q, string(xml)
}

// TestMellonAuthnRequest checks what mellon asks of the IdP, as shaped by
// MellonConfig: a signed HTTP-Redirect AuthnRequest (RSA-SHA256 unless
// MellonSignatureMethod says otherwise), the first NameID format of the
// SP metadata, the requested authentication context; and that mellon
// refuses an assertion whose context is not the one it asked for.
func TestMellonAuthnRequest(t *testing.T) {
	const (
		sha256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
		sha1   = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
		mfa    = "urn:example:ac:mfa"
		// What samlidp says of a password sign-in.
		password = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	)
	idp := NewSAMLIdP(t)
	idp.PutUser(t, "alice", `{"name":"alice","password":"Alice!Pass123","email":"alice@example.co.jp"}`)
	md := idpMetadata(t, idp)
	addressCheckOff := MellonSetting{"MellonSubjectConfirmationDataAddressCheck", []string{"Off"}}
	for _, tc := range []struct {
		name       string
		formats    []string
		settings   []MellonSetting
		sigAlg     string
		wantInXML  []string
		signInWith int // the status /secret/ answers after the IdP's response
	}{
		{name: "defaults", sigAlg: sha256, signInWith: http.StatusOK,
			wantInXML: []string{`ForceAuthn="false"`, `IsPassive="false"`, `<samlp:NameIDPolicy Format="` + NameIDTransient + `" AllowCreate="true"/>`}},
		{name: "persistent NameID, SHA-1", formats: []string{NameIDPersistent, NameIDEmail},
			settings: []MellonSetting{{"MellonSignatureMethod", []string{"rsa-sha1"}}}, sigAlg: sha1, signInWith: http.StatusOK,
			wantInXML: []string{`<samlp:NameIDPolicy Format="` + NameIDPersistent + `" AllowCreate="true"/>`}},
		{name: "asks for a context the IdP gives", settings: []MellonSetting{{"MellonAuthnContextClassRef", []string{password}}},
			sigAlg: sha256, signInWith: http.StatusOK,
			wantInXML: []string{`<samlp:RequestedAuthnContext><saml:AuthnContextClassRef>` + password + `</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>`}},
		{name: "asks for a context the IdP does not give", settings: []MellonSetting{{"MellonAuthnContextClassRef", []string{mfa}}},
			sigAlg: sha256, signInWith: http.StatusForbidden,
			wantInXML: []string{`<saml:AuthnContextClassRef>` + mfa + `</saml:AuthnContextClassRef>`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Mellon(t, MellonConfig{IdPMetadata: md, NameIDFormats: tc.formats,
				Settings: append([]MellonSetting{addressCheckOff}, tc.settings...)})
			idp.RegisterSP(t, "mellon-"+strings.ReplaceAll(tc.name, " ", "-"), m.SPMetadata)
			q, xml := firstRedirectToIdP(t, m, idp)
			if q.Get("SigAlg") != tc.sigAlg || q.Get("Signature") == "" || q.Get("RelayState") != m.SecretURL("") {
				t.Errorf("redirect to the IdP: SigAlg %q, Signature %q, RelayState %q; want a %s signature and /secret/",
					q.Get("SigAlg"), q.Get("Signature"), q.Get("RelayState"), tc.sigAlg)
			}
			for _, want := range append(tc.wantInXML, `Destination="`+idp.URL()+`/sso"`,
				`AssertionConsumerServiceURL="`+m.URL+`/mellon/postResponse"`, `<saml:Issuer>`+m.EntityID+`</saml:Issuer>`) {
				if !strings.Contains(xml, want) {
					t.Errorf("AuthnRequest lacks %s:\n%s", want, xml)
				}
			}

			resp, body := mellonAttempt(t, Browser(), m, idp, "")
			if resp.StatusCode != tc.signInWith {
				t.Errorf("after the IdP's response: %s at %s; want %d\n%s", resp.Status, resp.Request.URL, tc.signInWith, body)
			}
		})
	}
}

// TestMellonKeyRotation: once the IdP signs with a new key, mellon refuses
// its responses until SetIdPMetadata gives it the new metadata. The
// reload ends the sessions mellon had (they live in shared memory that a
// graceful restart makes anew): people sign in again, silently while
// their IdP session lasts.
func TestMellonKeyRotation(t *testing.T) {
	idp := NewSAMLIdP(t)
	m := Mellon(t, MellonConfig{IdPMetadata: idpMetadata(t, idp), NoEncryptionKey: true,
		Settings: []MellonSetting{{"MellonSubjectConfirmationDataAddressCheck", []string{"Off"}}, {"MellonSamlResponseDump", []string{"On"}}}})
	idp.RegisterSP(t, "mellon", m.SPMetadata)
	idp.PutUser(t, "alice", `{"name":"alice","password":"Alice!Pass123","email":"alice@example.co.jp"}`)
	before, env := mellonSignIn(t, m, idp, "")
	// Without an encryption key in the SP metadata the assertion comes in clear.
	if resp, _ := base64.StdEncoding.DecodeString(env["MELLON_SAML_RESPONSE"]); bytes.Contains(resp, []byte("EncryptedAssertion")) ||
		!bytes.Contains(resp, []byte("<saml:Assertion")) {
		t.Errorf("without an encryption key, the response is not a plain assertion:\n%s", resp)
	}

	// The way an IdP rolls over without a failed sign-in: its metadata
	// lists the next certificate (after the current one) before it signs
	// with it. mellon accepts either.
	key, cert := RSAKeyPair(t, "idp2.example.test")
	m.SetIdPMetadata(t, withSigningCert(t, idpMetadata(t, idp), cert))
	old, oldCert := idp.Key, idp.Certificate
	idp.Rotate(t, key, cert)
	mellonSignIn(t, m, idp, "")

	// An IdP signing with a key its metadata at the SP does not list is
	// refused.
	idp.Rotate(t, old, oldCert)
	m.SetIdPMetadata(t, idpMetadata(t, idp))
	idp.Rotate(t, key, cert)
	resp, _ := mellonAttempt(t, Browser(), m, idp, "")
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("mellon accepted a response signed with a key its IdP metadata does not hold (%s)", resp.Request.URL)
	}
	t.Logf("a response signed with the new key before SetIdPMetadata: %s", resp.Status)

	m.SetIdPMetadata(t, idpMetadata(t, idp))
	if got := m.Whoami(t, before)["MELLON_NAME_ID"]; got != "" {
		t.Errorf("after the reload the earlier session still shows NameID %q; mellon's sessions were expected to end", got)
	}
	mellonSignIn(t, m, idp, "")
}

// withSigningCert is IdP metadata that lists cert as a further signing
// key, after the ones it has.
func withSigningCert(t *testing.T, metadata []byte, cert *x509.Certificate) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(metadata); err != nil {
		t.Fatal(err)
	}
	kds := doc.FindElements("//IDPSSODescriptor/KeyDescriptor[@use='signing']")
	if len(kds) == 0 {
		t.Fatalf("no signing KeyDescriptor in\n%s", metadata)
	}
	last := kds[len(kds)-1]
	next := last.Copy()
	c := next.FindElement(".//X509Certificate")
	if c == nil {
		t.Fatalf("no X509Certificate in the signing KeyDescriptor of\n%s", metadata)
	}
	c.SetText(base64.StdEncoding.EncodeToString(cert.Raw))
	last.Parent().InsertChildAt(last.Index()+1, next)
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withSLO is IdP metadata with a single logout service (HTTP-Redirect) at
// location, which samlidp's own metadata lacks.
func withSLO(t *testing.T, metadata []byte, location string) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(metadata); err != nil {
		t.Fatal(err)
	}
	desc := doc.FindElement("//IDPSSODescriptor")
	sso := desc.FindElement("SingleSignOnService")
	if sso == nil {
		t.Fatalf("no SingleSignOnService in\n%s", metadata)
	}
	slo := etree.NewElement("SingleLogoutService")
	slo.Space = sso.Space
	slo.CreateAttr("Binding", BindingHTTPRedirect)
	slo.CreateAttr("Location", location)
	// The schema puts SingleLogoutService before NameIDFormat and
	// SingleSignOnService.
	before := sso
	if f := desc.FindElement("NameIDFormat"); f != nil && f.Index() < sso.Index() {
		before = f
	}
	desc.InsertChildAt(before.Index(), slo)
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMellonLogoutRequest: with an IdP that has a single logout service,
// mellon's logout sends the browser there with a signed LogoutRequest
// (HTTP-Redirect) naming the session's NameID and SessionIndex, and
// ends its own session at once.
func TestMellonLogoutRequest(t *testing.T) {
	idp := NewSAMLIdP(t)
	m := Mellon(t, MellonConfig{IdPMetadata: withSLO(t, idpMetadata(t, idp), idp.URL()+"/slo"), NameIDFormats: []string{NameIDEmail},
		Settings: []MellonSetting{{"MellonSubjectConfirmationDataAddressCheck", []string{"Off"}}}})
	idp.RegisterSP(t, "mellon", m.SPMetadata)
	idp.PutUser(t, "alice", `{"name":"alice","password":"Alice!Pass123","email":"alice@example.co.jp"}`)
	browser, _ := mellonSignIn(t, m, idp, "")

	var toIdP *url.URL
	browser.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), idp.URL()) {
			toIdP = r.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := browser.Get(m.LogoutURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if toIdP == nil || toIdP.Path != "/slo" {
		t.Fatalf("logout: %s at %s, not a redirect to the IdP's /slo", resp.Status, resp.Request.URL)
	}
	q := toIdP.Query()
	raw, err := base64.StdEncoding.DecodeString(q.Get("SAMLRequest"))
	if err != nil {
		t.Fatal(err)
	}
	xml, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<samlp:LogoutRequest ", `Destination="` + idp.URL() + `/slo"`,
		`<saml:Issuer>` + m.EntityID + `</saml:Issuer>`, `>alice@example.co.jp</saml:NameID>`, `<samlp:SessionIndex>`} {
		if !strings.Contains(string(xml), want) {
			t.Errorf("LogoutRequest lacks %s:\n%s", want, xml)
		}
	}
	if q.Get("SigAlg") != "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" || q.Get("Signature") == "" {
		t.Errorf("LogoutRequest not signed with RSA-SHA256: SigAlg %q", q.Get("SigAlg"))
	}
	browser.CheckRedirect = nil
	if got := m.Whoami(t, browser)["MELLON_NAME_ID"]; got != "" {
		t.Errorf("/whoami after the LogoutRequest left: NameID %q; want no session", got)
	}
}

// TestMellonIdPInitiated: mellon takes an unsolicited response (the IdP
// starts the sign-in, as a launcher tile does) and sends the browser to
// its RelayState when that is on the SP's own host; a RelayState
// elsewhere is refused.
func TestMellonIdPInitiated(t *testing.T) {
	idp := NewSAMLIdP(t)
	m := Mellon(t, MellonConfig{IdPMetadata: idpMetadata(t, idp),
		Settings: []MellonSetting{{"MellonSubjectConfirmationDataAddressCheck", []string{"Off"}}}})
	idp.RegisterSP(t, "mellon", m.SPMetadata)
	idp.PutUser(t, "alice", `{"name":"alice","password":"Alice!Pass123","email":"alice@example.co.jp"}`)
	idp.Put(t, "/shortcuts/tile", "application/json",
		`{"name":"tile","service_provider":"`+m.EntityID+`","relay_state":"`+m.SecretURL("from-tile")+`"}`)
	idp.Put(t, "/shortcuts/elsewhere", "application/json",
		`{"name":"elsewhere","service_provider":"`+m.EntityID+`","relay_state":"http://127.0.0.2:9/phish"}`)

	browser := Browser()
	resp, err := browser.PostForm(idp.URL()+"/login", url.Values{"user": {"alice"}, "password": {"Alice!Pass123"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IdP login: %s", resp.Status)
	}
	resp, err = browser.Get(idp.URL() + "/login/tile")
	if err != nil {
		t.Fatal(err)
	}
	resp, body := FollowSAMLForms(t, browser, resp)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != m.SecretURL("from-tile") {
		t.Fatalf("IdP-initiated sign-in ended at %s with %s; want /secret/from-tile:\n%s", resp.Request.URL, resp.Status, body)
	}
	env, err := ParseMellonEnv(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if env["MELLON_NAME_ID"] != "alice@example.co.jp" {
		t.Errorf("/secret/from-tile saw NameID %q; want alice's", env["MELLON_NAME_ID"])
	}

	other := Browser()
	other.Jar = browser.Jar
	other.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host == "127.0.0.2:9" {
			t.Errorf("mellon sent the browser to the RelayState on another host: %s", r.URL)
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err = other.Get(idp.URL() + "/login/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = FollowSAMLForms(t, other, resp)
	if resp.StatusCode != http.StatusBadRequest || resp.Request.URL.String() != m.URL+"/mellon/postResponse" {
		t.Errorf("a RelayState on another host: %s at %s; want 400 Bad Request at mellon's postResponse", resp.Status, resp.Request.URL)
	}
}

// TestMellonTwoInOneBrowser: two mellon peers on 127.0.0.1 keep their
// sessions apart in one browser.
func TestMellonTwoInOneBrowser(t *testing.T) {
	idp := NewSAMLIdP(t)
	c := MellonConfig{IdPMetadata: idpMetadata(t, idp),
		Settings: []MellonSetting{{"MellonSubjectConfirmationDataAddressCheck", []string{"Off"}}}}
	a, b := Mellon(t, c), Mellon(t, c)
	idp.RegisterSP(t, "a", a.SPMetadata)
	idp.RegisterSP(t, "b", b.SPMetadata)
	idp.PutUser(t, "alice", `{"name":"alice","password":"Alice!Pass123","email":"alice@example.co.jp"}`)
	browser, _ := mellonSignIn(t, a, idp, "")
	// Signed in at the IdP already: b's sign-in needs no form.
	resp, err := browser.Get(b.SecretURL(""))
	if err != nil {
		t.Fatal(err)
	}
	resp, body := FollowSAMLForms(t, browser, resp)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != b.SecretURL("") {
		t.Fatalf("b's sign-in ended at %s with %s:\n%s", resp.Request.URL, resp.Status, body)
	}
	for _, m := range []*MellonPeer{a, b} {
		if got := m.Whoami(t, browser)["MELLON_NAME_ID"]; got != "alice@example.co.jp" {
			t.Errorf("%s/whoami: NameID %q; want alice's (each peer keeps its session)", m.URL, got)
		}
	}
}
