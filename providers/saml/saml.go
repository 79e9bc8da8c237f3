// Package saml is the SAML 2.0 provider: the gateway as a service
// provider (SP) of the organisation's identity provider — AD FS, Entra
// ID, Shibboleth, Keycloak, HENNGE and the like — built on crewjam/saml's
// ServiceProvider. The gateway owns sessions and state; this package only
// makes requests and verifies responses.
//
// Begin signs an AuthnRequest and sends it by the HTTP-Redirect binding
// (a signed query string) or the HTTP-POST binding (BeginResult.PostForm,
// an enveloped signature) with a random RelayState; BeginResult.State
// holds the request id and the RelayState. The IdP posts its Response
// back to the ACS (HTTP-POST binding only: no artifact resolution, so
// Complete never calls out).
//
// Complete refuses a response unless
//
//   - its RelayState equals the State's (compared in constant time);
//   - the Response or every Assertion carries a valid signature by a
//     signing certificate in the IdP metadata (an unsigned response is
//     refused; SHA-1 is refused unless Config.AllowSHA1);
//   - Destination (when present or signed) and the bearer
//     SubjectConfirmation's Recipient are the ACS; the Issuer is the IdP;
//   - InResponseTo, on the Response and every SubjectConfirmation, is the
//     State's request id — or, for an IdP-initiated response (no State,
//     only with AllowIDPInitiated), absent;
//   - every AudienceRestriction names the gateway's entity id, and there
//     is at least one;
//   - IssueInstant is at most ClockSkew plus a minute old, and NotBefore /
//     NotOnOrAfter hold within ClockSkew, by Config.Now;
//   - encrypted assertions use AES (GCM or CBC) with RSA-OAEP, never RSA
//     PKCS#1 v1.5 or 3DES;
//   - its assertion id was not used before: it is remembered in the
//     ReplayCache until the assertion can no longer be accepted.
//
// A non-Success status becomes a *providers.ProviderError whose Code is
// the status without the urn:oasis:names:tc:SAML:2.0:status: prefix
// ("Responder/AuthnFailed") and whose Description is the StatusMessage;
// it wraps providers.ErrDenied for Requester, AuthnFailed and
// RequestDenied, else providers.ErrInvalidResponse. Every other refusal
// wraps providers.ErrInvalidResponse; a missing IdP metadata or a
// failing ReplayCache wraps providers.ErrUnavailable.
//
// # Identity
//
// Subject is, in this order: a NameID of the persistent format (opaque
// and stable by definition); else the first attribute of the preset's
// subject list followed by its email list (below); else a NameID of any
// format but transient. A transient NameID alone is refused: it changes
// at every sign-in. Subjects that are addresses (an email, a UPN) are
// lower-cased. The choice is part of the identity link (provider id,
// subject): changing the preset or the NameID configuration of an
// existing provider makes people new users.
//
// Email is the email attribute, lower-cased, kept only if it is one plain
// address, and EmailVerified is then true: the assertion is signed by the
// organisation's own IdP, which the admin trusts for its people and which
// reads the address from the directory, not from the person.
//
// DisplayName is the name attribute; when there is none, surname and
// given name in Japanese order with a space ("山田 太郎"), or whichever
// of the two there is. Groups is the union of the values of every group
// attribute, in order, without duplicates. Claims holds every attribute
// by Name. AMR is ["fed"].
//
// Attribute names by preset (an attribute matches by Name or
// FriendlyName, ignoring case; the first name present wins):
//
//	field        plain                               adfs                               entra
//	subject      subject-id, then email              upn, then email                    objectidentifier, upn, name (the UPN), then email
//	email        mail (0.9.2342.19200300.100.1.3)    …/claims/emailaddress              …/claims/emailaddress
//	name         displayName, cn                     …/claims/name, CommonName,         …/identity/claims/displayname
//	                                                 …/identity/claims/displayname
//	given name   givenName                           …/claims/givenname                 …/claims/givenname
//	surname      sn                                  …/claims/surname                   …/claims/surname
//	phone        telephoneNumber                     …/claims/otherphone,               …/claims/otherphone,
//	                                                 telephoneNumber                    telephonenumber
//	mobile       mobile                              …/claims/mobilephone, mobile       …/claims/mobilephone, mobilephone
//	organization o                                   company                            companyname
//	department   ou                                  department                         department
//	groups       eduPersonAffiliation, memberOf,     claims/Group, …/claims/groups,     …/claims/groups, …/claims/role
//	             isMemberOf                          …/claims/role
//
// Plain names also match their OIDs (urn:oid:…). Entra ID sends group
// object ids unless it is told to send names, and past 150 groups only a
// groups.link claim (kept in Claims, not resolved).
//
// # IdP metadata
//
// Metadata from IDPMetadataURL is fetched at Open and every
// MetadataRefresh. A failure at Open does not fail Open: a background
// refresher retries with backoff, Begin and Complete retry at most every
// few seconds, and meanwhile fail with providers.ErrUnavailable. A
// failed refresh keeps the last good copy. Close stops the refresher.
// Refresh (a configuration reload) fetches at once.
//
// A response whose signature does not verify with the certificates in
// the metadata in use makes Complete fetch the metadata again and verify
// once more before refusing: an IdP that rolled its signing key over is
// followed at its next sign-in, not at the next scheduled refresh. Such
// fetches happen at most once every 30 seconds, and concurrent failures
// share one, so forged responses cannot make the gateway hammer the IdP.
//
// Health fails while no metadata is loaded, when the copy in use has
// passed its validUntil, and when it is older than two refresh
// intervals because the refreshes since failed.
//
// # crewjam/saml's globals
//
// crewjam/saml reads its clock and tolerances from package variables
// (TimeNow, Clock, MaxClockSkew, MaxIssueDelay). Each Provider has its
// own, so every call into crewjam/saml sets them under one process-wide
// lock and restores them after. A call is a few milliseconds of XML and
// RSA work, so sign-ins barely queue; nothing else in the gateway may
// use crewjam/saml concurrently.
package saml

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"

	"github.com/ssogate/ssogate/providers"
)

const (
	// maxResponseBytes caps the base64 SAMLResponse (one with hundreds
	// of groups is well under 200 KB).
	maxResponseBytes = 1 << 20
	// maxStateBytes caps the State handed back by the gateway.
	maxStateBytes = 1024
	// maxErrorText caps IdP-supplied text kept for the log.
	maxErrorText = 256
)

// Provider signs people in at a SAML 2.0 identity provider. It is safe
// for concurrent use.
type Provider struct {
	id string
	s  *settings

	idp atomic.Pointer[idpMetadata]

	mu        sync.Mutex
	inflight  *fetchCall
	fetchErr  error
	fetchedAt time.Time
	// sigFetchAt is when a signature failure last caused a fetch.
	sigFetchAt time.Time

	// life ends at Close; metadata fetches and the refresher run under it.
	life      context.Context
	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

var (
	_ providers.RedirectAuthenticator = (*Provider)(nil)
	_ providers.MetadataPublisher     = (*Provider)(nil)
	_ providers.HealthChecker         = (*Provider)(nil)
	_ providers.Refresher             = (*Provider)(nil)
)

// Open returns a SAML provider with the given id after validating cfg.
// Static IDPMetadata must be valid. Metadata from IDPMetadataURL is
// fetched while ctx lasts (one fetch takes at most 30s), but an IdP that
// cannot be reached or serves bad metadata does not fail Open — see the
// package doc. Close the provider to stop its refresher.
func Open(ctx context.Context, id string, cfg Config) (*Provider, error) {
	if id == "" {
		return nil, errors.New("saml: empty provider id")
	}
	s, err := cfg.resolve()
	if err != nil {
		return nil, fmt.Errorf("saml: provider %q: %w", id, err)
	}
	p := &Provider{id: id, s: s, life: context.Background()}
	if len(s.IDPMetadata) > 0 {
		m, err := parseIDPMetadata(s.IDPMetadata, s.Now())
		if err != nil {
			return nil, fmt.Errorf("saml: provider %q: idp_metadata_file: %w", id, err)
		}
		p.idp.Store(m)
		return p, nil
	}
	p.life, p.stop = context.WithCancel(context.Background())
	p.done = make(chan struct{})
	p.mu.Lock()
	c := p.startFetchLocked()
	p.mu.Unlock()
	failures := 0
	if err := p.wait(ctx, c); err != nil {
		failures = 1
		s.Logger.Error("saml: IdP metadata unavailable at start; sign-ins fail until it loads",
			"provider_id", id, "url", s.IDPMetadataURL, "err", err)
	}
	go p.refresher(p.life, failures)
	return p, nil
}

// Close stops the metadata refresher, cancels a running fetch and waits
// for both. Sign-ins keep the metadata they have; without it they fail
// with providers.ErrUnavailable. It is safe to call more than once.
func (p *Provider) Close() error {
	p.closeOnce.Do(func() {
		if p.stop == nil {
			return
		}
		p.stop()
		<-p.done
		// No fetch starts once life has ended; wait for the last one.
		p.mu.Lock()
		c := p.inflight
		p.mu.Unlock()
		if c != nil {
			<-c.done
		}
	})
	return nil
}

// ID returns the provider's configured id.
func (p *Provider) ID() string { return p.id }

// Type returns "saml".
func (p *Provider) Type() string { return "saml" }

// authState is what Begin hands the gateway to keep and Complete gets
// back.
type authState struct {
	Provider  string `json:"p"`
	RequestID string `json:"r"`
	Relay     string `json:"s"`
}

// Begin starts a sign-in: a signed AuthnRequest for the IdP's SSO
// endpoint, by Config.Binding (or the other binding when the IdP offers
// only that), with a fresh RelayState. With the redirect binding
// RedirectURL carries the request; with the post binding RedirectURL is
// the endpoint and PostForm holds SAMLRequest and RelayState. The
// request's ACS is always Config.ACSURL, the one in the SP metadata;
// req.CallbackURL and req.LoginHint are not used. Begin fails with an
// error wrapping providers.ErrUnavailable while no IdP metadata has
// loaded.
func (p *Provider) Begin(ctx context.Context, req providers.BeginRequest) (*providers.BeginResult, error) {
	m, err := p.metadata(ctx)
	if err != nil {
		return nil, err
	}
	binding, location := p.ssoEndpoint(m)
	relay := randomString()
	sp := p.serviceProvider(m)
	res := &providers.BeginResult{}
	var requestID string
	err = withCrewjam(p.s.Now(), p.s, func() error {
		ar, err := sp.MakeAuthenticationRequest(location, binding, crewjam.HTTPPostBinding)
		if err != nil {
			return err
		}
		requestID = ar.ID
		if binding == crewjam.HTTPRedirectBinding {
			// Redirect appends RelayState unescaped; base64url needs none.
			u, err := ar.Redirect(relay, sp)
			if err != nil {
				return err
			}
			res.RedirectURL = u.String()
			return nil
		}
		doc := etree.NewDocument()
		doc.SetRoot(ar.Element())
		xmlReq, err := doc.WriteToBytes()
		if err != nil {
			return err
		}
		res.RedirectURL = location
		res.PostForm = url.Values{
			"SAMLRequest": {base64.StdEncoding.EncodeToString(xmlReq)},
			"RelayState":  {relay},
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("saml: provider %q: make AuthnRequest: %w", p.id, err)
	}
	res.State, err = json.Marshal(authState{Provider: p.id, RequestID: requestID, Relay: relay})
	if err != nil {
		return nil, fmt.Errorf("saml: provider %q: encode state: %w", p.id, err)
	}
	return res, nil
}

// ssoEndpoint picks the configured binding if the IdP offers it, else
// the one it offers.
func (p *Provider) ssoEndpoint(m *idpMetadata) (binding, location string) {
	if p.s.Binding == BindingPost && m.postSSO != "" || m.redirectSSO == "" {
		return crewjam.HTTPPostBinding, m.postSSO
	}
	return crewjam.HTTPRedirectBinding, m.redirectSSO
}

// Refusals that Complete wraps in providers.ErrInvalidResponse.
var (
	errRelayState  = errors.New("RelayState does not match this browser's sign-in")
	errUnsolicited = errors.New("unsolicited response (no sign-in was started in this browser) and allow_idp_initiated is off")
	errSolicited   = errors.New("response to an AuthnRequest posted as unsolicited")
	errReplay      = errors.New("assertion already used (replay)")
	errAlgorithm   = errors.New("refused algorithm")
)

// Complete verifies the Response the browser posted (req.Form's
// SAMLResponse and RelayState) against the State from Begin, or with no
// State as an IdP-initiated response when Config.AllowIDPInitiated, and
// returns the Identity it asserts. See the package doc for what is
// checked, the errors, and how attributes are mapped.
func (p *Provider) Complete(ctx context.Context, req providers.CompleteRequest) (*providers.Identity, error) {
	encoded := req.Form.Get("SAMLResponse")
	switch {
	case encoded != "":
	case req.Query.Get("SAMLResponse") != "":
		return nil, p.invalid("SAMLResponse in the query string: responses must use the HTTP-POST binding")
	case req.Form.Get("SAMLart") != "" || req.Query.Get("SAMLart") != "":
		return nil, p.invalid("SAML artifact: the artifact binding is not supported")
	default:
		return nil, p.invalid("callback without SAMLResponse")
	}
	if len(encoded) > maxResponseBytes {
		return nil, p.invalid("SAMLResponse of %d bytes, more than %d", len(encoded), maxResponseBytes)
	}

	var st *authState
	if len(req.State) > 0 {
		st = new(authState)
		if len(req.State) > maxStateBytes || json.Unmarshal(req.State, st) != nil ||
			st.Provider != p.id || st.RequestID == "" || st.Relay == "" {
			return nil, p.invalid("unreadable state, or state of another provider")
		}
		if subtle.ConstantTimeCompare([]byte(req.Form.Get("RelayState")), []byte(st.Relay)) != 1 {
			return nil, p.refuse(errRelayState)
		}
	} else if !p.s.AllowIDPInitiated {
		return nil, p.refuse(errUnsolicited)
	}

	m, err := p.metadata(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return nil, p.invalid("SAMLResponse is not base64: %v", err)
	}
	a, err := p.verify(m, raw, st)
	if errors.Is(err, errSignature) {
		// The IdP may have rolled its signing key over since the metadata
		// was read: read it again (rate-limited) and verify once more,
		// rather than refuse every sign-in until the next refresh.
		if fresh := p.metadataAfterSignatureFailure(ctx, m); fresh != nil {
			a, err = p.verify(fresh, raw, st)
			if err == nil {
				p.s.Logger.Info("saml: the IdP's signing certificate changed; the refetched metadata verified the response",
					"provider_id", p.id, "url", p.s.IDPMetadataURL)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if err := p.remember(ctx, a); err != nil {
		return nil, err
	}
	return p.identity(a)
}

// remember records the assertion id in the ReplayCache until the
// assertion could no longer be accepted anyway.
func (p *Provider) remember(ctx context.Context, a *crewjam.Assertion) error {
	until := a.IssueInstant.Add(p.s.issueDelay)
	later := func(t time.Time) {
		if !t.IsZero() && t.Add(p.s.ClockSkew).After(until) {
			until = t.Add(p.s.ClockSkew)
		}
	}
	if a.Conditions != nil {
		later(a.Conditions.NotOnOrAfter)
	}
	for _, sc := range a.Subject.SubjectConfirmations {
		if sc.SubjectConfirmationData != nil {
			later(sc.SubjectConfirmationData.NotOnOrAfter)
		}
	}
	first, err := p.s.Replay.Remember(ctx, "saml:"+p.id+":"+a.ID, until)
	if err != nil {
		return fmt.Errorf("saml: provider %q: remember assertion id: %w: %w", p.id, providers.ErrUnavailable, err)
	}
	if !first {
		return p.refuse(fmt.Errorf("%w: %s", errReplay, clip(a.ID)))
	}
	return nil
}

// invalid returns an error wrapping providers.ErrInvalidResponse.
func (p *Provider) invalid(format string, args ...any) error {
	return fmt.Errorf("saml: provider %q: %w: %s", p.id, providers.ErrInvalidResponse, fmt.Sprintf(format, args...))
}

// refuse wraps err, the reason, with providers.ErrInvalidResponse.
func (p *Provider) refuse(err error) error {
	return fmt.Errorf("saml: provider %q: %w: %w", p.id, providers.ErrInvalidResponse, err)
}

// clip shortens IdP- or browser-supplied text kept for the log.
func clip(s string) string {
	if len(s) > maxErrorText {
		return s[:maxErrorText] + "..."
	}
	return s
}

// randomString returns 24 random bytes, base64url-encoded: 32
// characters, within SAML's 80-byte limit for RelayState.
func randomString() string {
	b := make([]byte, 24)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}
