package samlidp

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"

	"github.com/ssogate/ssogate/config"
)

// Person is who signs in, as the gateway knows them.
type Person struct {
	UserID       string
	Email        string
	DisplayName  string
	Groups       []string
	Department   string
	Organization string
	Phone        string
	Mobile       string
}

// field returns the values of one of config.SAMLAttributeSources.
func (p *Person) field(name string) []string {
	one := func(v string) []string {
		if v == "" {
			return nil
		}
		return []string{v}
	}
	switch name {
	case "email", "login_id":
		return one(p.Email)
	case "display_name":
		return one(p.DisplayName)
	case "groups":
		return p.Groups
	case "department":
		return one(p.Department)
	case "organization":
		return one(p.Organization)
	case "phone":
		return one(p.Phone)
	case "mobile":
		return one(p.Mobile)
	}
	return nil
}

// attributeNameFormats maps attribute_name_format to SAML's URIs.
var attributeNameFormats = map[string]string{
	"":            "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
	"basic":       "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
	"uri":         "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
	"unspecified": "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified",
}

// Attributes are the SAML attributes the SP c receives for p, in the
// order of their names; a field with no value is left out.
func Attributes(c *config.ServiceSAML, p *Person) []saml.Attribute {
	names, sources := c.AttributeMap()
	var out []saml.Attribute
	for _, n := range names {
		vals := p.field(sources[n])
		if len(vals) == 0 {
			continue
		}
		a := saml.Attribute{Name: n, NameFormat: attributeNameFormats[c.AttributeNameFormat]}
		for _, v := range vals {
			a.Values = append(a.Values, saml.AttributeValue{Type: "xs:string", Value: v})
		}
		out = append(out, a)
	}
	return out
}

// NameID returns the NameID of p at the SP (entity id spEntityID) and its
// format: the email address, or the persistent pairwise id under key.
func NameID(c *config.ServiceSAML, key []byte, p *Person, spEntityID string) (value, format string) {
	if c.NameIDFormat == config.SAMLNameIDPersistent {
		return PersistentID(key, p.UserID, spEntityID), NameIDPersistent
	}
	return p.Email, NameIDEmail
}

// Grant is one sign-in to answer: who, how, to which SP, in answer to
// which request (empty for IdP-initiated).
type Grant struct {
	SP           *SP
	SPEntityID   string
	ACS          string
	InResponseTo string
	Person       Person
	NameID       string
	NameIDFormat string
	SessionIndex string
	AuthnInstant time.Time
	// SessionNotOnOrAfter is when the SP should end its own session.
	SessionNotOnOrAfter time.Time
	ClassRef            string
	ClientAddress       string
	Now                 time.Time
}

// Response returns the signed, base64-encoded Response of a granted
// sign-in, signed as the SP's configuration says (both, response or
// assertion) with the SP's signature algorithm.
func (idp *IdP) Response(k Key, g *Grant) (string, error) {
	c := g.SP.Config
	notOnOrAfter := g.Now.Add(ValidFor)
	sessEnd := g.SessionNotOnOrAfter
	a := &saml.Assertion{
		ID:           NewID(),
		IssueInstant: g.Now,
		Version:      "2.0",
		Issuer:       saml.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: idp.EntityID},
		Subject: &saml.Subject{
			NameID: &saml.NameID{Format: g.NameIDFormat, NameQualifier: idp.EntityID, SPNameQualifier: g.SPEntityID, Value: g.NameID},
			SubjectConfirmations: []saml.SubjectConfirmation{{
				Method: "urn:oasis:names:tc:SAML:2.0:cm:bearer",
				SubjectConfirmationData: &saml.SubjectConfirmationData{
					InResponseTo: g.InResponseTo, NotOnOrAfter: notOnOrAfter, Recipient: g.ACS,
				},
			}},
		},
		Conditions: &saml.Conditions{
			NotBefore:            g.Now.Add(-saml.MaxClockSkew),
			NotOnOrAfter:         notOnOrAfter,
			AudienceRestrictions: []saml.AudienceRestriction{{Audience: saml.Audience{Value: g.SPEntityID}}},
		},
		AuthnStatements: []saml.AuthnStatement{{
			AuthnInstant: g.AuthnInstant,
			SessionIndex: g.SessionIndex,
			SessionNotOnOrAfter: func() *time.Time {
				if sessEnd.IsZero() {
					return nil
				}
				return &sessEnd
			}(),
			AuthnContext: saml.AuthnContext{AuthnContextClassRef: &saml.AuthnContextClassRef{Value: g.ClassRef}},
		}},
	}
	if g.ClientAddress != "" {
		a.AuthnStatements[0].SubjectLocality = &saml.SubjectLocality{Address: g.ClientAddress}
	}
	if attrs := Attributes(c, &g.Person); len(attrs) > 0 {
		a.AttributeStatements = []saml.AttributeStatement{{Attributes: attrs}}
	}
	method := signatureMethod(c.SignatureAlgorithm)
	sign := c.Sign
	if sign == "" {
		sign = config.SAMLSignBoth
	}
	assertionEl := a.Element()
	if sign == config.SAMLSignBoth || sign == config.SAMLSignAssertion {
		sc, err := signingContext(k, method)
		if err != nil {
			return "", err
		}
		signed, err := sc.SignEnveloped(assertionEl)
		if err != nil {
			return "", fmt.Errorf("samlidp: sign assertion: %w", err)
		}
		a.Signature = signed.ChildElements()[len(signed.ChildElements())-1]
		assertionEl = a.Element()
	}
	resp := &saml.Response{
		ID:           NewID(),
		InResponseTo: g.InResponseTo,
		Version:      "2.0",
		IssueInstant: g.Now,
		Destination:  g.ACS,
		Issuer:       &saml.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: idp.EntityID},
		Status:       saml.Status{StatusCode: saml.StatusCode{Value: saml.StatusSuccess}},
	}
	return idp.finishResponse(k, resp, assertionEl, sign == config.SAMLSignBoth || sign == config.SAMLSignResponse, method)
}

// StatusNoPassive is the second-level status of a refusal to an
// IsPassive request that needs the person (SAML core §3.2.2.2).
const StatusNoPassive = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"

// Denied returns the signed, base64-encoded Response refusing the
// request inResponseTo (empty for IdP-initiated): status Responder /
// RequestDenied, no assertion.
func (idp *IdP) Denied(k Key, sp *SP, acs, inResponseTo string, now time.Time) (string, error) {
	return idp.Refused(k, sp, acs, inResponseTo, saml.StatusRequestDenied, now)
}

// Refused returns the signed, base64-encoded Response refusing the
// request inResponseTo with status Responder / status (RequestDenied,
// NoPassive), no assertion.
func (idp *IdP) Refused(k Key, sp *SP, acs, inResponseTo, status string, now time.Time) (string, error) {
	resp := &saml.Response{
		ID:           NewID(),
		InResponseTo: inResponseTo,
		Version:      "2.0",
		IssueInstant: now,
		Destination:  acs,
		Issuer:       &saml.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: idp.EntityID},
		Status: saml.Status{StatusCode: saml.StatusCode{
			Value: saml.StatusResponder, StatusCode: &saml.StatusCode{Value: status},
		}},
	}
	return idp.finishResponse(k, resp, nil, true, signatureMethod(sp.Config.SignatureAlgorithm))
}

func (idp *IdP) finishResponse(k Key, resp *saml.Response, assertionEl *etree.Element, signResponse bool, method string) (string, error) {
	el := resp.Element()
	if assertionEl != nil {
		el.AddChild(assertionEl)
	}
	if signResponse {
		sc, err := signingContext(k, method)
		if err != nil {
			return "", err
		}
		signed, err := sc.SignEnveloped(el)
		if err != nil {
			return "", fmt.Errorf("samlidp: sign response: %w", err)
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
		return "", fmt.Errorf("samlidp: response: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Outgoing is a message the IdP sends through the browser: a URL to
// redirect to (HTTP-Redirect), or a form to post (HTTP-POST).
type Outgoing struct {
	RedirectURL string
	PostURL     string
	PostFields  map[string][]string
}

// LogoutRequest returns the signed LogoutRequest ending the SP's session
// of nameID / sessionIndex, for the SP's endpoint ep, with relayState.
// The NameID is the assertion's, qualifiers included (an SP such as
// mellon finds its session by the whole NameID). It returns the
// message's ID too, to match the LogoutResponse.
func (idp *IdP) LogoutRequest(k Key, sp *SP, spEntityID string, ep *saml.Endpoint, nameID, format, sessionIndex, relayState string, now time.Time) (*Outgoing, string, error) {
	nb := now.Add(ValidFor)
	req := &saml.LogoutRequest{
		ID:           NewID(),
		Version:      "2.0",
		IssueInstant: now,
		NotOnOrAfter: &nb,
		Destination:  ep.Location,
		Issuer:       &saml.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: idp.EntityID},
		NameID:       &saml.NameID{Format: format, Value: nameID, NameQualifier: idp.EntityID, SPNameQualifier: spEntityID},
	}
	if sessionIndex != "" {
		req.SessionIndex = &saml.SessionIndex{Value: sessionIndex}
	}
	out, err := idp.send(k, sp, ep.Binding, ep.Location, "SAMLRequest", req.Element(), func(sig *etree.Element) *etree.Element {
		req.Signature = sig
		return req.Element()
	}, relayState)
	return out, req.ID, err
}

// LogoutResponse returns the signed LogoutResponse (Success) answering
// the SP's LogoutRequest inResponseTo, for the SP's endpoint ep.
func (idp *IdP) LogoutResponse(k Key, sp *SP, ep *saml.Endpoint, inResponseTo, relayState string, now time.Time) (*Outgoing, error) {
	loc := ep.Location
	if ep.ResponseLocation != "" {
		loc = ep.ResponseLocation
	}
	resp := &saml.LogoutResponse{
		ID:           NewID(),
		InResponseTo: inResponseTo,
		Version:      "2.0",
		IssueInstant: now,
		Destination:  loc,
		Issuer:       &saml.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: idp.EntityID},
		Status:       saml.Status{StatusCode: saml.StatusCode{Value: saml.StatusSuccess}},
	}
	return idp.send(k, sp, ep.Binding, loc, "SAMLResponse", resp.Element(), func(sig *etree.Element) *etree.Element {
		resp.Signature = sig
		return resp.Element()
	}, relayState)
}

// send signs el for the binding: the query for HTTP-Redirect (SAML
// bindings §3.4.4.1), an enveloped XML signature for HTTP-POST.
func (idp *IdP) send(k Key, sp *SP, binding, location, param string, el *etree.Element, withSig func(*etree.Element) *etree.Element, relayState string) (*Outgoing, error) {
	method := signatureMethod(sp.Config.SignatureAlgorithm)
	sc, err := signingContext(k, method)
	if err != nil {
		return nil, err
	}
	if binding == saml.HTTPRedirectBinding {
		doc := etree.NewDocument()
		doc.SetRoot(el)
		var buf bytes.Buffer
		fw, _ := flate.NewWriter(&buf, flate.BestCompression)
		if _, err := doc.WriteTo(fw); err != nil {
			return nil, fmt.Errorf("samlidp: %s: %w", param, err)
		}
		if err := fw.Close(); err != nil {
			return nil, fmt.Errorf("samlidp: %s: %w", param, err)
		}
		q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
		if relayState != "" {
			q += "&RelayState=" + url.QueryEscape(relayState)
		}
		q += "&SigAlg=" + url.QueryEscape(method)
		sig, err := sc.SignString(q)
		if err != nil {
			return nil, fmt.Errorf("samlidp: sign %s: %w", param, err)
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
		sep := "?"
		if strings.Contains(location, "?") {
			sep = "&"
		}
		return &Outgoing{RedirectURL: location + sep + q}, nil
	}
	signed, err := sc.SignEnveloped(el)
	if err != nil {
		return nil, fmt.Errorf("samlidp: sign %s: %w", param, err)
	}
	el = withSig(signed.ChildElements()[len(signed.ChildElements())-1])
	doc := etree.NewDocument()
	doc.SetRoot(el)
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("samlidp: %s: %w", param, err)
	}
	fields := map[string][]string{param: {base64.StdEncoding.EncodeToString(b)}}
	if relayState != "" {
		fields["RelayState"] = []string{relayState}
	}
	return &Outgoing{PostURL: location, PostFields: fields}, nil
}
