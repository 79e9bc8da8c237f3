// Package samlidp is the protocol side of ssogate's SAML 2.0 identity
// provider, built on crewjam/saml's identity-provider types: the IdP's
// metadata, the service providers' metadata (from a file or a URL, kept
// fresh), AuthnRequests and their signatures, signed Responses and
// Assertions with the NameID and attributes each SP is configured for, and
// single-logout messages. It knows nothing of HTTP sessions or policy:
// the gateway decides who may sign in and hands a Person over.
package samlidp

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// Paths of the IdP under the gateway's public URL.
const (
	MetadataPath = "/idp/saml/metadata"
	SSOPath      = "/idp/saml/sso"
	SLOPath      = "/idp/saml/slo"
	InitPath     = "/idp/saml/init/"
)

// NameID formats the IdP issues.
const (
	NameIDEmail      = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDPersistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
)

// Authentication context classes. A request for any of MFAContexts is a
// request for a sign-in with a second factor; an assertion of such a
// sign-in carries ContextMFA (or the MFA class the SP asked for).
const (
	ContextPassword    = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	ContextMFA         = "https://refeds.org/profile/mfa"
	ContextUnspecified = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"
)

// MFAContexts are the AuthnContextClassRef values that ask for a second
// factor: REFEDS MFA, Microsoft's multipleauthn (Entra ID, Microsoft 365)
// and SAML's own classes of a one-time code or a token.
var MFAContexts = []string{
	ContextMFA,
	"http://schemas.microsoft.com/claims/multipleauthn",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
}

// ErrUnknownSP is returned for a message from an entity id that is no
// configured service provider.
var ErrUnknownSP = errors.New("samlidp: unknown service provider")

// ValidFor is how long the IdP's answers (assertions, logout requests)
// are valid after they are issued.
const ValidFor = 5 * time.Minute

// RequestWindow bounds how old an AuthnRequest or LogoutRequest may be
// when it arrives (its IssueInstant), and how far in the future.
const RequestWindow = 5 * time.Minute

// Key is a signing key of the IdP with its certificate.
type Key struct {
	Signer crypto.Signer
	Cert   *x509.Certificate
}

// IdP is the identity provider at a public URL.
type IdP struct {
	// EntityID is the metadata's URL, which is also the entity id.
	EntityID string
	SSOURL   string
	SLOURL   string
}

// New returns the IdP at publicURL (scheme://host[:port][/path], no
// trailing slash).
func New(publicURL string) *IdP {
	return &IdP{EntityID: publicURL + MetadataPath, SSOURL: publicURL + SSOPath, SLOURL: publicURL + SLOPath}
}

// MetadataValidFor is the validUntil of the metadata, from when it is
// served: long, since some apps keep it as a file they were given once
// (they must be given it again after a key rotation anyway).
const MetadataValidFor = 365 * 24 * time.Hour

// Metadata returns the IdP's metadata document at now, listing every
// certificate in certs as a signing key, so that an SP that reads it
// learns a key published ahead of its first signature.
func (idp *IdP) Metadata(certs []*x509.Certificate, now time.Time, cacheFor time.Duration) ([]byte, error) {
	var keys []saml.KeyDescriptor
	for _, c := range certs {
		keys = append(keys, saml.KeyDescriptor{Use: "signing", KeyInfo: saml.KeyInfo{
			X509Data: saml.X509Data{X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(c.Raw)}}},
		}})
	}
	no := false
	ed := saml.EntityDescriptor{
		EntityID:      idp.EntityID,
		ValidUntil:    now.Add(MetadataValidFor).UTC().Truncate(time.Second),
		CacheDuration: cacheFor,
		IDPSSODescriptors: []saml.IDPSSODescriptor{{
			SSODescriptor: saml.SSODescriptor{
				RoleDescriptor: saml.RoleDescriptor{
					ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol",
					KeyDescriptors:             keys,
				},
				SingleLogoutServices: []saml.Endpoint{
					{Binding: saml.HTTPRedirectBinding, Location: idp.SLOURL},
					{Binding: saml.HTTPPostBinding, Location: idp.SLOURL},
				},
				NameIDFormats: []saml.NameIDFormat{NameIDEmail, NameIDPersistent},
			},
			WantAuthnRequestsSigned: &no,
			SingleSignOnServices: []saml.Endpoint{
				{Binding: saml.HTTPRedirectBinding, Location: idp.SSOURL},
				{Binding: saml.HTTPPostBinding, Location: idp.SSOURL},
			},
		}},
	}
	out, err := xml.MarshalIndent(ed, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("samlidp: metadata: %w", err)
	}
	return append([]byte(xml.Header), out...), nil
}

// PersistentID is the persistent NameID of the person userID at the SP
// spEntityID: an HMAC under key, stable for the pair, different for every
// SP, and saying nothing of the user id or the address.
func PersistentID(key []byte, userID, spEntityID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("saml persistent id\x00"))
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(spEntityID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// NewID returns a fresh SAML message id (an xs:ID: it starts with a
// letter).
func NewID() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return "_" + hex.EncodeToString(b)
}

// signatureMethod is the XML signature algorithm of a ServiceSAML
// signature_algorithm ("rsa-sha256" or "rsa-sha1").
func signatureMethod(alg string) string {
	if alg == "rsa-sha1" {
		return dsig.RSASHA1SignatureMethod
	}
	return dsig.RSASHA256SignatureMethod
}

// signingContext signs with k by method.
func signingContext(k Key, method string) (*dsig.SigningContext, error) {
	ctx, err := dsig.NewSigningContext(k.Signer, [][]byte{k.Cert.Raw})
	if err != nil {
		return nil, fmt.Errorf("samlidp: signing context: %w", err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(method); err != nil {
		return nil, fmt.Errorf("samlidp: signature method: %w", err)
	}
	return ctx, nil
}
