package samlidp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssogate/ssogate/config"
)

func testKey(tb testing.TB) Key {
	tb.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return Key{Signer: priv, Cert: cert}
}

func testGrant(c *config.ServiceSAML) *Grant {
	return &Grant{
		SP: &SP{ServiceID: "app", Config: c}, SPEntityID: "https://app.example.co.jp", ACS: "https://app.example.co.jp/acs",
		InResponseTo: "_req", Person: Person{UserID: "u1", Email: "taro@example.co.jp", DisplayName: "山田 太郎",
			Groups: []string{"staff", "経理"}, Department: "経理部"},
		NameID: "taro@example.co.jp", NameIDFormat: NameIDEmail, SessionIndex: NewID(), AuthnInstant: time.Now(),
		ClassRef: ContextPassword, Now: time.Now(),
	}
}

// TestResponseSigning: sign says which of the Response and the Assertion
// carry a signature; each verifies with the IdP's certificate; the
// attributes keep Japanese values and one value per group.
func TestResponseSigning(t *testing.T) {
	k := testKey(t)
	idp := New("https://sso.example.co.jp")
	for _, tt := range []struct {
		sign                string
		response, assertion bool
	}{
		{"", true, true}, {"both", true, true}, {"response", true, false}, {"assertion", false, true},
	} {
		b64, err := idp.Response(k, testGrant(&config.ServiceSAML{Sign: tt.sign}))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(b64)
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(raw); err != nil {
			t.Fatal(err)
		}
		root := doc.Root()
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{k.Cert}})
		if got := root.FindElement("./Signature") != nil; got != tt.response {
			t.Errorf("sign %q: response signed %v", tt.sign, got)
		} else if got {
			if _, err := vc.Validate(root.Copy()); err != nil {
				t.Errorf("sign %q: response signature: %v", tt.sign, err)
			}
		}
		a := root.FindElement("./Assertion")
		if got := a.FindElement("./Signature") != nil; got != tt.assertion {
			t.Errorf("sign %q: assertion signed %v", tt.sign, got)
		} else if got {
			if _, err := vc.Validate(a.Copy()); err != nil {
				t.Errorf("sign %q: assertion signature: %v", tt.sign, err)
			}
		}
		if !strings.Contains(string(raw), ">山田 太郎<") || len(a.FindElements("./AttributeStatement/Attribute[@Name='groups']/AttributeValue")) != 2 {
			t.Errorf("attributes:\n%s", raw)
		}
	}
}

// BenchmarkResponse is the cost of one signed answer (Response and
// Assertion signed, RSA-2048, SHA-256).
func BenchmarkResponse(b *testing.B) {
	k := testKey(b)
	idp := New("https://sso.example.co.jp")
	g := testGrant(&config.ServiceSAML{})
	for b.Loop() {
		if _, err := idp.Response(k, g); err != nil {
			b.Fatal(err)
		}
	}
}
