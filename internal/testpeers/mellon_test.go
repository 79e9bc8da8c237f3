package testpeers

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
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

// mellonSignIn opens path under /secret/ with a new browser, signs in at
// the test IdP as alice and returns the browser and what /secret/ showed.
func mellonSignIn(t *testing.T, m *MellonPeer, idp *SAMLIdP, path string) (*http.Client, MellonEnv) {
	t.Helper()
	browser := Browser()
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
	resp, body = FollowSAMLForms(t, browser, resp)
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
	})
	if !strings.Contains(string(m.SPMetadata), `entityID="`+m.URL+`/mellon/metadata"`) {
		t.Fatalf("SP metadata without the entity ID %s/mellon/metadata:\n%s", m.URL, m.SPMetadata)
	}
	idp.RegisterSP(t, "mellon", m.SPMetadata)
	idp.PutUser(t, "alice", `{"name":"alice","password":"Alice!Pass123","email":"alice@example.co.jp",`+
		`"groups":["engineering","経理"],"common_name":"山田 花子"}`)

	browser, env := mellonSignIn(t, m, idp, "page?x=1")
	if env["MELLON_NAME_ID"] != "alice@example.co.jp" || env["REMOTE_USER"] != "alice@example.co.jp" ||
		env["AUTH_TYPE"] != "Mellon" || env["SSO_MAIL"] != "alice@example.co.jp" ||
		env["MELLON_displayName"] != "山田 花子" || !slices.Equal(env.Values("MELLON_groups"), []string{"engineering", "経理"}) {
		t.Errorf("/secret/ saw %v; want alice's NameID, mail, displayName and both groups", env)
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
