package saml

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssogate/ssogate/providers"
)

// crewjamMu serialises calls into crewjam/saml, which reads its clock and
// tolerances from package variables; see the package doc.
var crewjamMu sync.Mutex

// withCrewjam runs fn with crewjam/saml's clock fixed at now and its
// tolerances set from s, then restores them. A panic in fn (crewjam/saml
// dereferences optional elements of signed assertions) becomes an error.
func withCrewjam(now time.Time, s *settings, fn func() error) (err error) {
	crewjamMu.Lock()
	defer crewjamMu.Unlock()
	prevNow, prevClock, prevSkew, prevDelay := crewjam.TimeNow, crewjam.Clock, crewjam.MaxClockSkew, crewjam.MaxIssueDelay
	defer func() {
		crewjam.TimeNow, crewjam.Clock, crewjam.MaxClockSkew, crewjam.MaxIssueDelay = prevNow, prevClock, prevSkew, prevDelay
	}()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed message (crewjam/saml: %v)", r)
		}
	}()
	now = now.UTC()
	crewjam.TimeNow = func() time.Time { return now }
	crewjam.Clock = dsig.NewFakeClockAt(now)
	crewjam.MaxClockSkew = s.ClockSkew
	crewjam.MaxIssueDelay = s.issueDelay
	return fn()
}

// serviceProvider is the crewjam/saml SP for one call with metadata m.
// It asks for no NameID format: AD FS fails a request whose format no
// claim rule issues, and the metadata states the preference instead.
func (p *Provider) serviceProvider(m *idpMetadata) *crewjam.ServiceProvider {
	return &crewjam.ServiceProvider{
		EntityID:                    p.s.EntityID,
		Key:                         p.s.Key,
		Certificate:                 p.s.Certificate,
		MetadataURL:                 p.s.metadataURL,
		AcsURL:                      p.s.acsURL,
		IDPMetadata:                 m.ed,
		AuthnNameIDFormat:           crewjam.UnspecifiedNameIDFormat,
		SignatureMethod:             p.s.sigMethod,
		SignatureVerifier:           signaturePolicy{allowSHA1: p.s.AllowSHA1},
		ValidateAudienceRestriction: p.checkAudience,
	}
}

// verify runs crewjam/saml's checks on the decoded Response, and this
// package's on top, and returns the verified assertion.
func (p *Provider) verify(m *idpMetadata, raw []byte, st *authState) (*crewjam.Assertion, error) {
	if err := checkEncryption(raw); err != nil {
		return nil, p.refuse(err)
	}
	sp := p.serviceProvider(m)
	var possible []string
	if st != nil {
		possible = []string{st.RequestID}
	} else {
		// crewjam/saml then skips InResponseTo on the Response and every
		// SubjectConfirmation; the Response is checked here, the
		// SubjectConfirmations in checkAssertion.
		sp.AllowIDPInitiated = true
		sp.ValidateRequestID = func(r crewjam.Response, _ []string) error {
			if r.InResponseTo != "" {
				return errSolicited
			}
			return nil
		}
	}
	var a *crewjam.Assertion
	err := withCrewjam(p.s.Now(), p.s, func() (err error) {
		a, err = sp.ParseXMLResponse(raw, possible, p.s.acsURL)
		return err
	})
	if err != nil {
		return nil, p.responseError(raw, err)
	}
	if err := p.checkAssertion(a, st); err != nil {
		return nil, err
	}
	return a, nil
}

// responseError turns crewjam/saml's error, whose message is always
// "Authentication failed", into its cause, or a ProviderError for a
// non-Success status.
func (p *Provider) responseError(raw []byte, err error) error {
	cause := err
	var ire *crewjam.InvalidResponseError
	if errors.As(err, &ire) && ire.PrivateErr != nil {
		cause = ire.PrivateErr
	}
	var bad crewjam.ErrBadStatus
	if errors.As(cause, &bad) {
		return p.statusError(raw, bad.Status)
	}
	return p.refuse(cause)
}

// statusPrefix is the namespace of SAML's status codes.
const statusPrefix = "urn:oasis:names:tc:SAML:2.0:status:"

// statusError describes a non-Success Response: crewjam/saml has checked
// its Destination, InResponseTo, IssueInstant and Issuer, but not its
// signature, which IdPs often omit on errors. A forged one can only make
// the sign-in fail.
func (p *Provider) statusError(raw []byte, top string) error {
	var r crewjam.Response
	_ = xml.Unmarshal(raw, &r) // crewjam/saml has parsed it already
	code := strings.TrimPrefix(top, statusPrefix)
	sub := ""
	if sc := r.Status.StatusCode.StatusCode; sc != nil && sc.Value != "" {
		sub = sc.Value
		code += "/" + strings.TrimPrefix(sub, statusPrefix)
	}
	perr := &providers.ProviderError{Code: clip(code), Err: providers.ErrInvalidResponse}
	if r.Status.StatusMessage != nil {
		perr.Description = clip(strings.TrimSpace(r.Status.StatusMessage.Value))
	}
	if top == crewjam.StatusRequester || sub == crewjam.StatusAuthnFailed || sub == crewjam.StatusRequestDenied {
		perr.Err = providers.ErrDenied
	}
	return fmt.Errorf("saml: provider %q: response status: %w", p.id, perr)
}

const bearerMethod = "urn:oasis:names:tc:SAML:2.0:cm:bearer"

// checkAssertion adds what the Web Browser SSO profile requires and
// crewjam/saml does not check: a bearer SubjectConfirmation with
// Recipient and NotOnOrAfter, and an assertion id; and, for an
// IdP-initiated response, no InResponseTo.
func (p *Provider) checkAssertion(a *crewjam.Assertion, st *authState) error {
	if a.ID == "" {
		return p.invalid("assertion without ID")
	}
	if a.Subject == nil {
		return p.invalid("assertion without Subject")
	}
	bearer := false
	for _, sc := range a.Subject.SubjectConfirmations {
		d := sc.SubjectConfirmationData
		if d == nil {
			continue
		}
		if st == nil && d.InResponseTo != "" {
			return p.refuse(errSolicited)
		}
		if sc.Method == bearerMethod && d.Recipient == p.s.acsURL.String() && !d.NotOnOrAfter.IsZero() {
			bearer = true
		}
	}
	if !bearer {
		return p.invalid("assertion without a bearer SubjectConfirmation for %s with NotOnOrAfter", p.s.acsURL.String())
	}
	return nil
}

// checkAudience requires at least one AudienceRestriction and the
// gateway's entity id in every one: without one, an assertion the IdP
// issued to any other SP would do here.
func (p *Provider) checkAudience(a *crewjam.Assertion) error {
	if a.Conditions == nil || len(a.Conditions.AudienceRestrictions) == 0 {
		return errors.New("assertion without AudienceRestriction")
	}
	for _, r := range a.Conditions.AudienceRestrictions {
		if r.Audience.Value != p.s.EntityID {
			return fmt.Errorf("assertion Audience is %q, not this SP's entity id %q", clip(r.Audience.Value), p.s.EntityID)
		}
	}
	return nil
}

// signaturePolicy refuses SHA-1 signatures and digests before
// crewjam/saml's own validation (the Signature element is the one
// crewjam/saml found, the only ds:Signature child of el).
type signaturePolicy struct{ allowSHA1 bool }

func (sp signaturePolicy) VerifySignature(vc *dsig.ValidationContext, el *etree.Element) error {
	if !sp.allowSHA1 {
		for _, sig := range el.ChildElements() {
			if sig.Tag != "Signature" {
				continue
			}
			algs := append(sig.FindElements("./SignedInfo/SignatureMethod"), sig.FindElements("./SignedInfo/Reference/DigestMethod")...)
			for _, m := range algs {
				if alg := m.SelectAttrValue("Algorithm", ""); strings.HasSuffix(strings.ToLower(alg), "sha1") {
					return fmt.Errorf("cannot validate signature on %s: %w %s: SHA-1 (set AllowSHA1 for an IdP that cannot sign with SHA-256)", el.Tag, errAlgorithm, alg)
				}
			}
		}
	}
	if _, err := vc.Validate(el); err != nil {
		return fmt.Errorf("cannot validate signature on %s: %w: %w", el.Tag, errSignature, err)
	}
	return nil
}

// errSignature marks a signature that does not verify against the IdP's
// certificates in the metadata in use: a forgery, or a key the IdP has
// rolled over to since the metadata was read.
var errSignature = errors.New("signature does not verify with the IdP metadata's certificates")

// checkEncryption refuses a Response whose EncryptedAssertion uses an
// algorithm outside acceptedEncryption. Parse errors are left to
// crewjam/saml to report.
func checkEncryption(raw []byte) error {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil
	}
	for _, m := range doc.FindElements("//EncryptionMethod") {
		alg := m.SelectAttrValue("Algorithm", "")
		ok := false
		for _, a := range acceptedEncryption {
			ok = ok || alg == a
		}
		if !ok {
			return fmt.Errorf("%w: encrypted assertion uses %q", errAlgorithm, clip(alg))
		}
	}
	return nil
}
