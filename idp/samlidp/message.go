package samlidp

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	xrv "github.com/mattermost/xml-roundtrip-validator"
	dsig "github.com/russellhaering/goxmldsig"
)

// maxMessageBytes bounds a protocol message once decoded and inflated.
const maxMessageBytes = 256 << 10

// Bindings of a Message.
const (
	BindingRedirect = "redirect"
	BindingPost     = "post"
)

// ErrUnsigned is returned by Verify for a message that carries no
// signature.
var ErrUnsigned = errors.New("samlidp: message is not signed")

// ErrBadSignature is returned by Verify for a signature that does not
// verify with any of the SP's keys, or uses an algorithm not accepted.
var ErrBadSignature = errors.New("samlidp: signature does not verify")

// Message is a SAML protocol message as it arrived through the browser,
// by the HTTP-Redirect or the HTTP-POST binding.
type Message struct {
	Binding string
	// Param is "SAMLRequest" or "SAMLResponse".
	Param      string
	XML        []byte
	RelayState string

	// sigAlg and signature are the HTTP-Redirect binding's; signed is
	// the exact octets they sign.
	sigAlg, signature, signed string
}

// ReadMessage reads the SAML message of r: from the query (GET,
// HTTP-Redirect, deflated) or the form (POST, HTTP-POST). The caller
// bounds a POST body first.
func ReadMessage(r *http.Request) (*Message, error) {
	switch r.Method {
	case http.MethodGet:
		return readRedirect(r.URL.RawQuery)
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("samlidp: form: %w", err)
		}
		m := &Message{Binding: BindingPost, RelayState: r.PostForm.Get("RelayState")}
		v := r.PostForm.Get("SAMLRequest")
		m.Param = "SAMLRequest"
		if v == "" {
			v, m.Param = r.PostForm.Get("SAMLResponse"), "SAMLResponse"
		}
		if v == "" {
			return nil, errors.New("samlidp: no SAMLRequest or SAMLResponse")
		}
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
		if err != nil {
			return nil, fmt.Errorf("samlidp: message encoding: %w", err)
		}
		if len(raw) > maxMessageBytes {
			return nil, errors.New("samlidp: message too large")
		}
		m.XML = raw
		return m, nil
	}
	return nil, errors.New("samlidp: method not allowed")
}

// readRedirect reads an HTTP-Redirect binding query, keeping each
// parameter's encoded form: the signature covers the octets as sent
// (SAML bindings §3.4.4.1), not a re-encoding.
func readRedirect(rawQuery string) (*Message, error) {
	raw := map[string]string{}
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if _, dup := raw[k]; dup {
			return nil, fmt.Errorf("samlidp: parameter %s twice", k)
		}
		raw[k] = v
	}
	m := &Message{Binding: BindingRedirect, Param: "SAMLRequest"}
	enc, ok := raw["SAMLRequest"]
	if !ok {
		m.Param = "SAMLResponse"
		if enc, ok = raw["SAMLResponse"]; !ok {
			return nil, errors.New("samlidp: no SAMLRequest or SAMLResponse")
		}
	}
	unesc := func(k string) (string, error) {
		v, err := url.QueryUnescape(raw[k])
		if err != nil {
			return "", fmt.Errorf("samlidp: parameter %s: %w", k, err)
		}
		return v, nil
	}
	b64, err := unesc(m.Param)
	if err != nil {
		return nil, err
	}
	if m.RelayState, err = unesc("RelayState"); err != nil {
		return nil, err
	}
	if m.sigAlg, err = unesc("SigAlg"); err != nil {
		return nil, err
	}
	if m.signature, err = unesc("Signature"); err != nil {
		return nil, err
	}
	m.signed = m.Param + "=" + enc
	if rs, ok := raw["RelayState"]; ok {
		m.signed += "&RelayState=" + rs
	}
	m.signed += "&SigAlg=" + raw["SigAlg"]
	compressed, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(b64), ""))
	if err != nil {
		return nil, fmt.Errorf("samlidp: message encoding: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(compressed)), maxMessageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("samlidp: inflate: %w", err)
	}
	if len(out) > maxMessageBytes {
		return nil, errors.New("samlidp: message too large")
	}
	m.XML = out
	return m, nil
}

// Issuer returns the message's Issuer and root element, after checking
// that the XML reads back as it parses (no round-trip tricks).
func (m *Message) Issuer() (string, *etree.Element, error) {
	if err := xrv.Validate(bytes.NewReader(m.XML)); err != nil {
		return "", nil, fmt.Errorf("samlidp: message xml: %w", err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(m.XML); err != nil {
		return "", nil, fmt.Errorf("samlidp: message xml: %w", err)
	}
	root := doc.Root()
	if root == nil {
		return "", nil, errors.New("samlidp: empty message")
	}
	iss := root.FindElement("./Issuer")
	if iss == nil {
		return "", nil, errors.New("samlidp: message has no Issuer")
	}
	return strings.TrimSpace(iss.Text()), root, nil
}

// Signed reports whether the message carries a signature (in the query
// or in the XML).
func (m *Message) Signed(root *etree.Element) bool {
	return m.signature != "" || root.FindElement("./Signature") != nil
}

// accepted reports whether an XML signature method is acceptable: SHA-2,
// or SHA-1 only when allowSHA1.
func accepted(method string, allowSHA1 bool) (crypto.Hash, bool) {
	switch method {
	case dsig.RSASHA256SignatureMethod:
		return crypto.SHA256, true
	case dsig.RSASHA384SignatureMethod:
		return crypto.SHA384, true
	case dsig.RSASHA512SignatureMethod:
		return crypto.SHA512, true
	case dsig.RSASHA1SignatureMethod:
		return crypto.SHA1, allowSHA1
	}
	return 0, false
}

// Verify checks the message's signature against certs: the query's
// (HTTP-Redirect) or the root element's enveloped XML signature. It
// returns the root element that was verified (for an XML signature, the
// signed content only). ErrUnsigned when there is no signature.
func (m *Message) Verify(root *etree.Element, certs []*x509.Certificate, allowSHA1 bool) (*etree.Element, error) {
	if m.signature != "" {
		h, ok := accepted(m.sigAlg, allowSHA1)
		if !ok {
			return nil, fmt.Errorf("%w: algorithm %q not accepted", ErrBadSignature, m.sigAlg)
		}
		sig, err := base64.StdEncoding.DecodeString(m.signature)
		if err != nil {
			return nil, fmt.Errorf("%w: encoding", ErrBadSignature)
		}
		d := h.New()
		d.Write([]byte(m.signed))
		sum := d.Sum(nil)
		for _, c := range certs {
			if pk, ok := c.PublicKey.(*rsa.PublicKey); ok && rsa.VerifyPKCS1v15(pk, h, sum, sig) == nil {
				return root, nil
			}
		}
		return nil, ErrBadSignature
	}
	sigEl := root.FindElement("./Signature")
	if sigEl == nil {
		return nil, ErrUnsigned
	}
	method := ""
	if sm := sigEl.FindElement("./SignedInfo/SignatureMethod"); sm != nil {
		method = sm.SelectAttrValue("Algorithm", "")
	}
	if _, ok := accepted(method, allowSHA1); !ok {
		return nil, fmt.Errorf("%w: algorithm %q not accepted", ErrBadSignature, method)
	}
	if len(certs) == 0 {
		return nil, ErrBadSignature
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: certs})
	vc.IdAttribute = "ID"
	// The key comes from the SP's metadata, never from the message: a
	// KeyInfo naming another key would otherwise be refused rather than
	// checked against the keys held.
	if ki := sigEl.FindElement("./KeyInfo"); ki != nil && ki.FindElement("./X509Data/X509Certificate") == nil {
		sigEl.RemoveChild(ki)
	}
	verified, err := vc.Validate(root)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return verified, nil
}

// AuthnRequest is the part of an SP's AuthnRequest the IdP acts on.
type AuthnRequest struct {
	saml.AuthnRequest
	// ClassRefs are the requested authentication context classes.
	ClassRefs []string
}

// ParseAuthnRequest reads an AuthnRequest from el (as verified, or the
// root when unsigned) and checks its version, its Destination (when
// present: it must be ssoURL) and its age against now.
func ParseAuthnRequest(el *etree.Element, ssoURL string, now time.Time) (*AuthnRequest, error) {
	if el.Tag != "AuthnRequest" {
		return nil, fmt.Errorf("samlidp: %s is not an AuthnRequest", el.Tag)
	}
	var req AuthnRequest
	if err := unmarshalElement(el, &req.AuthnRequest); err != nil {
		return nil, fmt.Errorf("samlidp: AuthnRequest: %w", err)
	}
	for _, c := range el.FindElements("./RequestedAuthnContext/AuthnContextClassRef") {
		req.ClassRefs = append(req.ClassRefs, strings.TrimSpace(c.Text()))
	}
	if err := checkRequest(req.Version, req.Destination, ssoURL, req.IssueInstant, now); err != nil {
		return nil, err
	}
	if req.ID == "" {
		return nil, errors.New("samlidp: AuthnRequest has no ID")
	}
	return &req, nil
}

// WantsMFA reports whether the request asks for a sign-in with a second
// factor (one of MFAContexts), and which class it named.
func (r *AuthnRequest) WantsMFA() (string, bool) {
	for _, c := range r.ClassRefs {
		if slices.Contains(MFAContexts, c) {
			return c, true
		}
	}
	return "", false
}

// ForceAuthn reports whether the SP asks for a fresh sign-in.
func (r *AuthnRequest) Force() bool { return r.ForceAuthn != nil && *r.ForceAuthn }

func checkRequest(version, destination, want string, issued, now time.Time) error {
	if version != "2.0" {
		return fmt.Errorf("samlidp: SAML version %q, want 2.0", version)
	}
	if destination != "" && destination != want {
		return fmt.Errorf("samlidp: Destination %q, want %q", destination, want)
	}
	if issued.Before(now.Add(-RequestWindow)) || issued.After(now.Add(RequestWindow)) {
		return fmt.Errorf("samlidp: request issued at %s, too far from now (%s)", issued.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// ParseLogoutRequest reads an SP's LogoutRequest from el and checks it
// as ParseAuthnRequest does.
func ParseLogoutRequest(el *etree.Element, sloURL string, now time.Time) (*saml.LogoutRequest, error) {
	if el.Tag != "LogoutRequest" {
		return nil, fmt.Errorf("samlidp: %s is not a LogoutRequest", el.Tag)
	}
	var req saml.LogoutRequest
	if err := unmarshalElement(el, &req); err != nil {
		return nil, fmt.Errorf("samlidp: LogoutRequest: %w", err)
	}
	if err := checkRequest(req.Version, req.Destination, sloURL, req.IssueInstant, now); err != nil {
		return nil, err
	}
	if req.NameID == nil {
		return nil, errors.New("samlidp: LogoutRequest has no NameID")
	}
	return &req, nil
}

// ParseLogoutResponse reads an SP's LogoutResponse from el.
func ParseLogoutResponse(el *etree.Element) (*saml.LogoutResponse, error) {
	if el.Tag != "LogoutResponse" {
		return nil, fmt.Errorf("samlidp: %s is not a LogoutResponse", el.Tag)
	}
	var resp saml.LogoutResponse
	if err := unmarshalElement(el, &resp); err != nil {
		return nil, fmt.Errorf("samlidp: LogoutResponse: %w", err)
	}
	return &resp, nil
}

func unmarshalElement(el *etree.Element, v any) error {
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	b, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	return xml.Unmarshal(b, v)
}
