package testpeers

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"html/template"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml/samlidp"
	dsig "github.com/russellhaering/goxmldsig"
)

// SAMLLoginForm is the test IdP's login page. samlidp's default form
// posts to /login, which only answers with session JSON; this one
// continues the SAML flow at /sso. Browser tests find it by the ids
// idp-login, idp-user, idp-password and idp-submit.
var SAMLLoginForm = template.Must(template.New("login").Parse(`<html><body><p>{{.Toast}}</p>` +
	`<form method="post" action="/sso" id="idp-login">` +
	`<input type="text" name="user" id="idp-user"><input type="password" name="password" id="idp-password">` +
	`<input type="hidden" name="SAMLRequest" value="{{.SAMLRequest}}">` +
	`<input type="hidden" name="RelayState" value="{{.RelayState}}">` +
	`<button type="submit" id="idp-submit">Sign in</button></form></body></html>`))

// SAMLIdP is a crewjam/saml samlidp identity provider on 127.0.0.1,
// signing with RSA-SHA256. It has no users and knows no service
// providers until a test adds them.
type SAMLIdP struct {
	Server      *httptest.Server // the loopback server
	IdP         *samlidp.Server  // the samlidp server behind it
	Key         crypto.Signer    // the IdP's signing key
	Certificate *x509.Certificate

	handler *atomic.Pointer[samlidp.Server]
	lock    func() func()
}

type samlConfig struct {
	key       crypto.Signer
	cert      *x509.Certificate
	serialize *sync.Mutex
	mode      func() string
	hits      *atomic.Int32
}

// SAMLOption configures NewSAMLIdP.
type SAMLOption func(*samlConfig)

// SAMLKeyPair makes the IdP sign with key and cert instead of an RSA pair
// of its own.
func SAMLKeyPair(key crypto.Signer, cert *x509.Certificate) SAMLOption {
	return func(c *samlConfig) { c.key, c.cert = key, cert }
}

// SAMLSerialize makes the IdP hold mu while it starts and around every
// request it serves (but for the metadata faults of SAMLMetadataFaults).
// crewjam/saml reads package variables that a provider under test may set
// under its own lock; an IdP in the same process must then share it.
func SAMLSerialize(mu *sync.Mutex) SAMLOption {
	return func(c *samlConfig) { c.serialize = mu }
}

// SAMLMetadataFaults makes /metadata answer as mode says at each request:
// "" serves the metadata, "down" answers 503, "garbage" serves HTML and
// "hang" never answers (until the client gives up). Every request to
// /metadata adds one to hits, if not nil.
func SAMLMetadataFaults(mode func() string, hits *atomic.Int32) SAMLOption {
	return func(c *samlConfig) { c.mode, c.hits = mode, hits }
}

// NewSAMLIdP starts a test IdP, closed when tb's test ends.
func NewSAMLIdP(tb testing.TB, opts ...SAMLOption) *SAMLIdP {
	tb.Helper()
	var c samlConfig
	for _, o := range opts {
		o(&c)
	}
	if c.key == nil {
		c.key, c.cert = RSAKeyPair(tb, "idp.example.test")
	}
	lock := func() func() {
		if c.serialize == nil {
			return func() {}
		}
		c.serialize.Lock()
		return c.serialize.Unlock
	}
	var handler atomic.Pointer[samlidp.Server]
	idp := &SAMLIdP{Key: c.key, Certificate: c.cert, handler: &handler, lock: lock}
	idp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metadata" && (c.mode != nil || c.hits != nil) {
			if c.hits != nil {
				c.hits.Add(1)
			}
			if c.mode != nil {
				switch c.mode() {
				case "down":
					http.Error(w, "maintenance", http.StatusServiceUnavailable)
					return
				case "garbage":
					io.WriteString(w, "<html><body>sign in to continue</body></html>")
					return
				case "hang":
					<-r.Context().Done()
					return
				}
			}
		}
		defer lock()()
		handler.Load().ServeHTTP(w, r)
	}))
	tb.Cleanup(idp.Server.Close)
	u, err := url.Parse(idp.Server.URL)
	if err != nil {
		tb.Fatal(err)
	}
	idp.start(tb, *u, c.key, c.cert, &samlidp.MemoryStore{})
	return idp
}

// start makes a samlidp server at u signing with key and cert, keeping
// users, service providers and sessions in store, and serves it.
func (idp *SAMLIdP) start(tb testing.TB, u url.URL, key crypto.Signer, cert *x509.Certificate, store samlidp.Store) {
	tb.Helper()
	unlock := idp.lock()
	s, err := samlidp.New(samlidp.Options{
		URL:               u,
		Key:               key,
		Certificate:       cert,
		Store:             store,
		LoginFormTemplate: SAMLLoginForm,
		Logger:            log.New(io.Discard, "", 0),
	})
	if err == nil {
		s.IDP.SignatureMethod = dsig.RSASHA256SignatureMethod // SHA-1 is refused by default
	}
	unlock()
	if err != nil {
		tb.Fatal(err)
	}
	idp.IdP, idp.Key, idp.Certificate = s, key, cert
	idp.handler.Store(s)
}

// Rotate rolls the IdP's signing key over to key and cert, as an IdP
// does: from now on a new samlidp server at the same URL, with the same
// users, service providers and sessions, signs with the new key and
// publishes only the new certificate in its metadata.
func (idp *SAMLIdP) Rotate(tb testing.TB, key crypto.Signer, cert *x509.Certificate) {
	tb.Helper()
	u, err := url.Parse(idp.Server.URL)
	if err != nil {
		tb.Fatal(err)
	}
	idp.start(tb, *u, key, cert, idp.IdP.Store)
}

// URL is the IdP's base URL, http://127.0.0.1:port.
func (idp *SAMLIdP) URL() string { return idp.Server.URL }

// MetadataURL is where the IdP publishes its metadata; it is also its
// entity ID.
func (idp *SAMLIdP) MetadataURL() string { return idp.Server.URL + "/metadata" }

// PutUser adds or replaces the user name, described in samlidp's JSON
// (password, email, groups, given_name, surname, common_name …).
func (idp *SAMLIdP) PutUser(tb testing.TB, name, userJSON string) {
	tb.Helper()
	idp.Put(tb, "/users/"+url.PathEscape(name), "application/json", userJSON)
}

// RegisterSP tells the IdP about the service provider id from its
// metadata.
func (idp *SAMLIdP) RegisterSP(tb testing.TB, id string, metadata []byte) {
	tb.Helper()
	idp.Put(tb, "/services/"+url.PathEscape(id), "application/samlmetadata+xml", string(metadata))
}

// Put PUTs body to samlidp's API at path, failing tb unless it succeeds.
func (idp *SAMLIdP) Put(tb testing.TB, path, contentType, body string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPut, idp.Server.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := idp.Server.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("PUT %s: %s %s", path, resp.Status, b)
	}
}

// WithoutEncryptionKey returns SP metadata without its encryption keys,
// so that an IdP it is registered with sends plain (signed) assertions.
func WithoutEncryptionKey(tb testing.TB, metadata []byte) []byte {
	tb.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(metadata); err != nil {
		tb.Fatal(err)
	}
	for _, kd := range doc.FindElements("//KeyDescriptor[@use='encryption']") {
		kd.Parent().RemoveChild(kd)
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// RSAKeyPair is a new 2048-bit RSA key and a self-signed certificate for
// it.
func RSAKeyPair(tb testing.TB, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return key, SelfSigned(tb, cn, key)
}

// SelfSigned is a certificate for key, signed by itself, for signing and
// encryption, valid from a day ago for a year.
func SelfSigned(tb testing.TB, cn string, key crypto.Signer) *x509.Certificate {
	tb.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-24 * time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return cert
}
