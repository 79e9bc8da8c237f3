package saml

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"

	"github.com/ssogate/ssogate/providers"
)

const (
	// maxMetadataBytes caps IdP metadata (AD FS's is about 60 KB).
	maxMetadataBytes = 5 << 20
	// lazyRetry is how long a failed metadata fetch is remembered before
	// a sign-in may try again, so that a down IdP costs one request per
	// interval, not one per sign-in.
	lazyRetry = 5 * time.Second
	// Retries of the background refresher after a failure: from
	// retryMin, doubling, up to retryMax (or MetadataRefresh if shorter).
	retryMin = 5 * time.Second
	retryMax = 5 * time.Minute

	samlProtocol = "urn:oasis:names:tc:SAML:2.0:protocol"
)

// idpMetadata is the part of the IdP's metadata the provider uses.
type idpMetadata struct {
	ed          *crewjam.EntityDescriptor
	redirectSSO string
	postSSO     string
	loaded      time.Time
}

// parseIDPMetadata reads an EntityDescriptor, or an EntitiesDescriptor
// with exactly one IdP in it, and checks that it can be used: a SAML 2.0
// IDPSSODescriptor with an HTTP-Redirect or HTTP-POST SSO endpoint and
// at least one readable signing certificate, and not expired.
func parseIDPMetadata(data []byte, now time.Time) (*idpMetadata, error) {
	root, err := rootName(data)
	if err != nil {
		return nil, fmt.Errorf("not XML: %w", err)
	}
	var candidates []crewjam.EntityDescriptor
	switch root {
	case "EntityDescriptor":
		var ed crewjam.EntityDescriptor
		if err := xml.Unmarshal(data, &ed); err != nil {
			return nil, fmt.Errorf("read EntityDescriptor: %w", err)
		}
		candidates = append(candidates, ed)
	case "EntitiesDescriptor":
		var eds crewjam.EntitiesDescriptor
		if err := xml.Unmarshal(data, &eds); err != nil {
			return nil, fmt.Errorf("read EntitiesDescriptor: %w", err)
		}
		if eds.ValidUntil != nil && !eds.ValidUntil.IsZero() && now.After(*eds.ValidUntil) {
			return nil, fmt.Errorf("metadata expired at %s (validUntil)", eds.ValidUntil.UTC().Format(time.RFC3339))
		}
		candidates = flatten(eds)
	default:
		return nil, fmt.Errorf("root element %s: want EntityDescriptor or EntitiesDescriptor", root)
	}
	var idps []crewjam.EntityDescriptor
	for _, ed := range candidates {
		for _, d := range ed.IDPSSODescriptors {
			if strings.Contains(d.ProtocolSupportEnumeration, samlProtocol) {
				idps = append(idps, ed)
				break
			}
		}
	}
	switch len(idps) {
	case 0:
		return nil, errors.New("no SAML 2.0 IDPSSODescriptor: is this an IdP's metadata?")
	case 1:
	default:
		return nil, fmt.Errorf("%d identity providers in one EntitiesDescriptor; give the metadata of one", len(idps))
	}
	ed := idps[0]
	if ed.EntityID == "" {
		return nil, errors.New("EntityDescriptor without entityID")
	}
	if !ed.ValidUntil.IsZero() && now.After(ed.ValidUntil) {
		return nil, fmt.Errorf("metadata of %s expired at %s (validUntil)", ed.EntityID, ed.ValidUntil.UTC().Format(time.RFC3339))
	}
	m := &idpMetadata{ed: &ed, loaded: now}
	signing := 0
	for _, d := range ed.IDPSSODescriptors {
		for _, sso := range d.SingleSignOnServices {
			switch {
			case sso.Binding == crewjam.HTTPRedirectBinding && m.redirectSSO == "":
				m.redirectSSO = sso.Location
			case sso.Binding == crewjam.HTTPPostBinding && m.postSSO == "":
				m.postSSO = sso.Location
			}
		}
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				if _, err := decodeCertificate(c.Data); err != nil {
					return nil, fmt.Errorf("signing certificate of %s: %w", ed.EntityID, err)
				}
				signing++
			}
		}
	}
	if m.redirectSSO == "" && m.postSSO == "" {
		return nil, fmt.Errorf("%s has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding", ed.EntityID)
	}
	if signing == 0 {
		return nil, fmt.Errorf("%s has no signing certificate (KeyDescriptor use=signing)", ed.EntityID)
	}
	return m, nil
}

// rootName returns the local name of data's root element.
func rootName(data []byte) (string, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return "", err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local, nil
		}
	}
}

func flatten(eds crewjam.EntitiesDescriptor) []crewjam.EntityDescriptor {
	out := append([]crewjam.EntityDescriptor(nil), eds.EntityDescriptors...)
	for _, child := range eds.EntitiesDescriptors {
		out = append(out, flatten(child)...)
	}
	return out
}

var whitespace = regexp.MustCompile(`\s+`)

func decodeCertificate(data string) ([]byte, error) {
	der, err := base64.StdEncoding.DecodeString(whitespace.ReplaceAllString(data, ""))
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	return der, nil
}

// MetadataStatus says which IdP metadata a provider uses and how its
// last fetch went, for health checks and the admin.
type MetadataStatus struct {
	// EntityID is the IdP's entity id; empty while no metadata was ever
	// loaded, when sign-ins fail with providers.ErrUnavailable.
	EntityID string
	// Loaded is when the metadata in use was read.
	Loaded time.Time
	// LastAttempt is when IDPMetadataURL was last fetched.
	LastAttempt time.Time
	// LastError is the last fetch's error; nil if it succeeded.
	LastError error
}

// MetadataStatus reports the IdP metadata in use and the last fetch.
func (p *Provider) MetadataStatus() MetadataStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := MetadataStatus{LastAttempt: p.fetchedAt, LastError: p.fetchErr}
	if m := p.idp.Load(); m != nil {
		st.EntityID, st.Loaded = m.ed.EntityID, m.loaded
	}
	return st
}

// fetchCall is one fetch of IDPMetadataURL; err is set before done is
// closed.
type fetchCall struct {
	done chan struct{}
	err  error
}

// startFetchLocked returns the running fetch, or starts one. p.mu must
// be held. A fetch runs under the provider's lifetime, not a caller's
// context: others may wait for it, and Close cancels it.
func (p *Provider) startFetchLocked() *fetchCall {
	if p.inflight != nil {
		return p.inflight
	}
	c := &fetchCall{done: make(chan struct{})}
	if p.life.Err() != nil {
		c.err = fmt.Errorf("saml: provider %q: closed: %w", p.id, providers.ErrUnavailable)
		close(c.done)
		return c
	}
	p.inflight = c
	go p.fetch(c)
	return c
}

// fetch downloads, checks and installs the IdP metadata, and records the
// outcome.
func (p *Provider) fetch(c *fetchCall) {
	m, err := p.download(p.life)
	if err != nil {
		err = fmt.Errorf("saml: provider %q: IdP metadata from %s: %w: %w", p.id, p.s.IDPMetadataURL, providers.ErrUnavailable, err)
	} else {
		p.idp.Store(m)
	}
	c.err = err
	p.mu.Lock()
	p.fetchErr, p.fetchedAt, p.inflight = err, p.s.Now(), nil
	p.mu.Unlock()
	close(c.done)
}

// wait waits for c to end, or ctx.
func (p *Provider) wait(ctx context.Context, c *fetchCall) error {
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return fmt.Errorf("saml: provider %q: wait for IdP metadata: %w: %w", p.id, providers.ErrUnavailable, ctx.Err())
	}
}

// RefreshMetadata fetches IDPMetadataURL now. On success the new
// metadata is used from the next sign-in on; on failure the last good
// copy stays in use and the error, wrapping providers.ErrUnavailable,
// is returned. With static IDPMetadata it does nothing.
func (p *Provider) RefreshMetadata(ctx context.Context) error {
	if p.s.IDPMetadataURL == "" {
		return nil
	}
	p.mu.Lock()
	c := p.inflight
	p.mu.Unlock()
	if c != nil {
		// That fetch may have begun before the caller's reason to
		// refresh: let it end, then fetch again.
		if err := p.wait(ctx, c); ctx.Err() != nil {
			return err
		}
	}
	p.mu.Lock()
	c = p.startFetchLocked()
	p.mu.Unlock()
	return p.wait(ctx, c)
}

// Refresh fetches IDPMetadataURL now (see RefreshMetadata); a
// configuration reload calls it for a provider it keeps.
func (p *Provider) Refresh(ctx context.Context) error { return p.RefreshMetadata(ctx) }

// sigRefetchEvery is how often a signature failure may make Complete
// fetch the IdP metadata again.
const sigRefetchEvery = 30 * time.Second

// metadataAfterSignatureFailure returns IdP metadata newer than used, to
// verify a response again whose signature failed with used; nil when
// there is none to try: static metadata, a failed fetch, or a fetch for
// a signature failure less than sigRefetchEvery ago. A fetch already
// running (another failing sign-in's, the refresher's) is shared.
func (p *Provider) metadataAfterSignatureFailure(ctx context.Context, used *idpMetadata) *idpMetadata {
	if p.s.IDPMetadataURL == "" {
		return nil
	}
	if cur := p.idp.Load(); cur != used {
		return cur // fetched since this sign-in read it
	}
	p.mu.Lock()
	c := p.inflight
	if c == nil {
		now := p.s.Now()
		if !p.sigFetchAt.IsZero() && now.Sub(p.sigFetchAt) < sigRefetchEvery {
			p.mu.Unlock()
			return nil
		}
		p.sigFetchAt = now
		c = p.startFetchLocked()
	}
	p.mu.Unlock()
	if err := p.wait(ctx, c); err != nil {
		p.s.Logger.Warn("saml: IdP metadata refetch after a signature failure failed",
			"provider_id", p.id, "url", p.s.IDPMetadataURL, "err", err)
		return nil
	}
	if cur := p.idp.Load(); cur != used {
		return cur
	}
	return nil
}

// Health reports whether sign-ins can work: nil while usable IdP
// metadata is loaded. It fails, wrapping providers.ErrUnavailable, when
// none is (it then tries a fetch, as a sign-in would, waiting at most
// until ctx ends), when the copy in use passed its validUntil, and when
// the copy is older than two refresh intervals because refreshing it
// failed since.
func (p *Provider) Health(ctx context.Context) error {
	m, err := p.metadata(ctx)
	if err != nil {
		return err
	}
	now := p.s.Now()
	if vu := m.ed.ValidUntil; !vu.IsZero() && now.After(vu) {
		return fmt.Errorf("saml: provider %q: IdP metadata expired at %s (validUntil): %w",
			p.id, vu.UTC().Format(time.RFC3339), providers.ErrUnavailable)
	}
	if p.s.IDPMetadataURL == "" {
		return nil
	}
	st := p.MetadataStatus()
	if age := now.Sub(m.loaded); st.LastError != nil && age > 2*p.s.MetadataRefresh {
		return fmt.Errorf("saml: provider %q: IdP metadata is %s old (refresh every %s), and fetching it fails: %w",
			p.id, age.Round(time.Second), p.s.MetadataRefresh, st.LastError)
	}
	return nil
}

// metadata returns the IdP metadata in use. When none was ever loaded it
// fetches IDPMetadataURL, unless a fetch failed less than lazyRetry ago,
// and fails with an error wrapping providers.ErrUnavailable.
func (p *Provider) metadata(ctx context.Context) (*idpMetadata, error) {
	for {
		if m := p.idp.Load(); m != nil {
			return m, nil
		}
		p.mu.Lock()
		c := p.inflight
		if c == nil {
			if p.fetchErr != nil && p.s.Now().Sub(p.fetchedAt) < lazyRetry {
				err := p.fetchErr
				p.mu.Unlock()
				return nil, err
			}
			c = p.startFetchLocked()
		}
		p.mu.Unlock()
		if err := p.wait(ctx, c); err != nil {
			return nil, err
		}
	}
}

func (p *Provider) download(ctx context.Context) (*idpMetadata, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.s.IDPMetadataURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8")
	resp, err := p.s.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxMetadataBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxMetadataBytes)
	}
	return parseIDPMetadata(data, p.s.Now())
}

// refresher fetches IDPMetadataURL every MetadataRefresh, and after a
// failure sooner, backing off, until ctx ends.
func (p *Provider) refresher(ctx context.Context, failures int) {
	defer close(p.done)
	for {
		wait := jitter(p.s.MetadataRefresh)
		if failures > 0 {
			wait = min(retryMin<<min(failures-1, 16), retryMax, p.s.MetadataRefresh)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		err := p.RefreshMetadata(ctx)
		switch {
		case err == nil:
			failures = 0
		case ctx.Err() != nil:
			return
		default:
			failures++
			if st := p.MetadataStatus(); st.EntityID != "" {
				p.s.Logger.Warn("saml: IdP metadata refresh failed; keeping the last good copy",
					"provider_id", p.id, "url", p.s.IDPMetadataURL, "loaded", st.Loaded, "err", err)
			} else {
				p.s.Logger.Error("saml: IdP metadata unavailable; sign-ins fail until it loads",
					"provider_id", p.id, "url", p.s.IDPMetadataURL, "err", err)
			}
		}
	}
}

// jitter spreads d by up to -10 %, so that replicas started together do
// not fetch together.
func jitter(d time.Duration) time.Duration {
	return d - time.Duration(rand.Int64N(int64(d)/10+1))
}

// SP metadata constants.
const (
	mdNS            = "urn:oasis:names:tc:SAML:2.0:metadata"
	dsNS            = "http://www.w3.org/2000/09/xmldsig#"
	nameIDEmail     = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	nameIDUnspecify = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
)

// acceptedEncryption are the XML Encryption algorithms an IdP may use
// for assertions to the gateway, strongest first; they are offered in
// the metadata, and a response using any other (RSA PKCS#1 v1.5, whose
// padding oracle leaks the key, or 3DES) is refused.
var acceptedEncryption = []string{
	"http://www.w3.org/2009/xmlenc11#aes128-gcm",
	"http://www.w3.org/2001/04/xmlenc#aes256-cbc",
	"http://www.w3.org/2001/04/xmlenc#aes192-cbc",
	"http://www.w3.org/2001/04/xmlenc#aes128-cbc",
	"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
}

// Metadata returns the gateway's SP metadata: its entity id; its
// certificate for signing and, with an RSA key, for encryption; that it
// signs AuthnRequests and wants assertions signed; the NameID formats it
// prefers (persistent first); and the ACS with the HTTP-POST binding.
// It has no validUntil, so that an IdP holding a copy never sees it
// expire.
func (p *Provider) Metadata(ctx context.Context) ([]byte, error) {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	ed := doc.CreateElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", mdNS)
	ed.CreateAttr("xmlns:ds", dsNS)
	ed.CreateAttr("entityID", p.s.EntityID)

	sp := ed.CreateElement("md:SPSSODescriptor")
	sp.CreateAttr("AuthnRequestsSigned", "true")
	sp.CreateAttr("WantAssertionsSigned", "true")
	sp.CreateAttr("protocolSupportEnumeration", samlProtocol)

	cert := base64.StdEncoding.EncodeToString(p.s.Certificate.Raw)
	keyDescriptor := func(use string) *etree.Element {
		kd := sp.CreateElement("md:KeyDescriptor")
		kd.CreateAttr("use", use)
		kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(cert)
		return kd
	}
	keyDescriptor("signing")
	if p.s.encrypt {
		kd := keyDescriptor("encryption")
		for _, alg := range acceptedEncryption {
			kd.CreateElement("md:EncryptionMethod").CreateAttr("Algorithm", alg)
		}
	}
	for _, f := range []string{nameIDPersistent, nameIDEmail, nameIDUnspecify} {
		sp.CreateElement("md:NameIDFormat").SetText(f)
	}
	acs := sp.CreateElement("md:AssertionConsumerService")
	acs.CreateAttr("Binding", crewjam.HTTPPostBinding)
	acs.CreateAttr("Location", p.s.acsURL.String())
	acs.CreateAttr("index", "0")
	acs.CreateAttr("isDefault", "true")

	doc.Indent(2)
	return doc.WriteToBytes()
}
