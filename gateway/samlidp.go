package gateway

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/go-jose/go-jose/v4"

	"github.com/ssogate/ssogate/idp/samlidp"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/store"
)

// The SAML IdP: apps that sign in with SAML are services with a saml
// block, each a service provider (SP). The protocol (metadata, messages,
// signatures) is idp/samlidp's; this file is the HTTP side and the
// gateway's policy: who may sign in to which app, and how.
//
// An AuthnRequest waits in a ticket (samlPendingPurpose) while the person
// signs in, signs in again (ForceAuthn, session_timeout), passes the
// second step (an MFA context, require_2fa) or gets a browser approved;
// the browser holds only the ticket's token, bound to it by the CSRF
// browser cookie.

// Ticket purposes of the SAML IdP.
const (
	samlPendingPurpose = "saml_authnreq"
	samlLogoutPurpose  = "saml_logout"
	samlAnswerPurpose  = "saml_slo_answer"
	// samlLogoutAskPurpose keeps an app's LogoutRequest over the
	// same-site hop after a cross-site POST.
	samlLogoutAskPurpose = "saml_slo_request"
	// samlSeenPurpose remembers each AuthnRequest answered, against
	// replay, for as long as it could be accepted.
	samlSeenPurpose = "saml_authnreq_seen"
)

// samlRequestWindow is how far an AuthnRequest's IssueInstant may be from
// now (samlidp's check).
const samlRequestWindow = samlidp.RequestWindow

// samlPendingTTL bounds a sign-in an AuthnRequest waits for; samlLogoutTTL
// one hop of a single-logout round.
const (
	samlPendingTTL = 15 * time.Minute
	samlLogoutTTL  = 5 * time.Minute
)

// samlMaxLogoutApps bounds a single-logout round.
const samlMaxLogoutApps = 20

// samlResumePath is where the browser returns after a step of the
// sign-in, with the waiting request's token.
const samlResumePath = "/idp/saml/resume"

// samlLogoutAskPath goes on with an app's LogoutRequest that came by a
// cross-site POST.
const samlLogoutAskPath = "/idp/saml/slo/request"

// samlAnswerPath answers the SP that started a single logout once the
// others are done.
const samlAnswerPath = "/idp/saml/slo/answer"

// samlIdP is the gateway's SAML IdP.
type samlIdP struct {
	idp *samlidp.IdP
	sps *samlidp.Registry

	pairOnce sync.Once
	pairKey  []byte
	pairErr  error
}

// samlPending is an AuthnRequest (or an IdP-initiated sign-in, with no
// RequestID) waiting for the person.
type samlPending struct {
	Service    string `json:"service"`
	RequestID  string `json:"request_id,omitempty"`
	ACS        string `json:"acs"`
	RelayState string `json:"relay_state,omitempty"`
	ForceAuthn bool   `json:"force_authn,omitempty"`
	// Passive is IsPassive: answer without showing the person anything.
	Passive bool      `json:"passive,omitempty"`
	MFA     string    `json:"mfa,omitempty"` // the MFA class asked for
	Started time.Time `json:"started"`
	Browser string    `json:"browser,omitempty"`
}

// samlClient is store.SessionClient.Data of a SAML sign-in: what a
// LogoutRequest to the SP names.
type samlClient struct {
	NameID       string `json:"name_id"`
	Format       string `json:"format"`
	SessionIndex string `json:"session_index"`
}

// samlLogoutTarget is one SP a single-logout round still has to visit.
type samlLogoutTarget struct {
	Service string `json:"service"`
	samlClient
}

// samlRound is a single-logout round in progress: the SPs left, where
// it ends, and the LogoutRequest now out.
type samlRound struct {
	Queue  []samlLogoutTarget `json:"queue"`
	Done   string             `json:"done"`
	Expect string             `json:"expect,omitempty"`
}

// samlAnswer is the LogoutResponse owed to the SP that started a single
// logout.
type samlAnswer struct {
	Service      string `json:"service"`
	InResponseTo string `json:"in_response_to"`
	RelayState   string `json:"relay_state,omitempty"`
}

type samlInitiatorKey struct{}

// samlIdPRoutes serves the SAML IdP: /idp/saml/….
func (g *Gateway) samlIdPRoutes(mux *http.ServeMux) {
	g.saml = &samlIdP{
		idp: samlidp.New(g.publicURL),
		sps: samlidp.NewRegistry(g.cfg.Services, nil, g.now, g.log),
	}
	mux.HandleFunc("GET "+samlidp.MetadataPath, g.samlMetadataIdP)
	mux.HandleFunc("GET "+samlidp.SSOPath, g.samlSSO)
	mux.HandleFunc("POST "+samlidp.SSOPath, g.samlSSO)
	mux.HandleFunc("GET "+samlResumePath, g.samlResume)
	mux.HandleFunc("GET "+samlidp.InitPath+"{service}", g.samlInit)
	mux.HandleFunc("GET "+samlidp.SLOPath, g.samlSLO)
	mux.HandleFunc("POST "+samlidp.SLOPath, g.samlSLO)
	mux.HandleFunc("GET "+samlAnswerPath, g.samlSLOAnswer)
	mux.HandleFunc("GET "+samlLogoutAskPath, g.samlLogoutAskResume)
}

// samlCrossOrigin lets the apps' cross-site POSTs to the SAML IdP through
// the cross-origin check, and only these: an AuthnRequest grants nothing
// by itself, a LogoutRequest ends a session only when signed or bound to
// it by its SessionIndex, a LogoutResponse only moves a round along.
func samlCrossOrigin(cop *http.CrossOriginProtection) {
	cop.AddInsecureBypassPattern("POST " + samlidp.SSOPath)
	cop.AddInsecureBypassPattern("POST " + samlidp.SLOPath)
}

// samlLaunchURL is where the tile of a service provider of the SAML IdP
// leads: the IdP-initiated sign-in.
func (g *Gateway) samlLaunchURL(s *service) string {
	return g.publicURL + samlidp.InitPath + url.PathEscape(s.cfg.ID)
}

// samlKey is the key that signs now and its certificate.
func (g *Gateway) samlKey(ctx context.Context) (samlidp.Key, error) {
	lk, err := g.keys.currentAlg(ctx, jose.RS256)
	if err != nil {
		return samlidp.Key{}, err
	}
	return samlidp.Key{Signer: lk.private, Cert: lk.cert}, nil
}

// samlPairKey is the key of persistent NameIDs, derived from the master
// secret (so it is the same on every replica and survives restarts).
func (g *Gateway) samlPairKey(ctx context.Context) ([]byte, error) {
	s := g.saml
	s.pairOnce.Do(func() {
		master, err := masterSecret(ctx, g.cfg, g.store)
		if err != nil {
			s.pairErr = err
			return
		}
		s.pairKey, s.pairErr = hkdf.Key(sha256.New, master, nil, "ssogate saml persistent nameid", 32)
	})
	return s.pairKey, s.pairErr
}

// samlMetadataIdP is GET /idp/saml/metadata: every published RS256 key,
// the one that signs first, so that an SP learns a rotated-in key before
// it signs anything.
func (g *Gateway) samlMetadataIdP(w http.ResponseWriter, r *http.Request) {
	if _, err := g.keys.currentAlg(r.Context(), jose.RS256); err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	var certs []*x509.Certificate
	for _, lk := range g.keys.published(jose.RS256) {
		certs = append(certs, lk.cert)
	}
	body, err := g.saml.idp.Metadata(certs, g.now(), time.Hour)
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/samlmetadata+xml")
	// Shorter than DefaultKeyActivation, so that a cache in between does
	// not hide a key published ahead of its activation; the SPs' own
	// refresh intervals are the operator's (docs/saml-idp.md).
	h.Set("Cache-Control", "public, max-age=30")
	_, _ = w.Write(body)
}

// samlBadRequest refuses a message the IdP cannot act on: the person
// sees a safe page, the log the cause.
func (g *Gateway) samlBadRequest(w http.ResponseWriter, r *http.Request, err error) {
	g.fail(w, r, http.StatusBadRequest, "error.bad_request", err)
}

// samlService returns the service id with a saml block, or nil.
func (g *Gateway) samlService(id string) *service {
	for _, s := range g.services {
		if s.cfg.ID == id && s.cfg.SAML != nil {
			return s
		}
	}
	return nil
}

// samlVerified reads and checks the message's issuer and signature: a
// signature is required when required says so, and checked whenever
// present. A signature that does not verify with the SP's keys makes the
// IdP read the SP's metadata again once (the SP may have rotated its
// key) before it refuses.
func (g *Gateway) samlVerified(ctx context.Context, msg *samlidp.Message, required func(*samlidp.SP, *saml.EntityDescriptor) bool) (*samlidp.SP, *saml.EntityDescriptor, *etree.Element, error) {
	issuer, root, err := msg.Issuer()
	if err != nil {
		return nil, nil, nil, err
	}
	sp, md, err := g.saml.sps.ByEntityID(ctx, issuer)
	if err != nil {
		return nil, nil, nil, err
	}
	if !msg.Signed(root) {
		if required(sp, md) {
			return sp, md, nil, fmt.Errorf("saml idp: sp %s: %w (its metadata or require_signed_requests asks for one)", sp.ServiceID, samlidp.ErrUnsigned)
		}
		return sp, md, root, nil
	}
	allowSHA1 := sp.Config.SignatureAlgorithm == "rsa-sha1"
	el, err := msg.Verify(root.Copy(), samlidp.SigningCerts(md), allowSHA1)
	if errors.Is(err, samlidp.ErrBadSignature) && g.saml.sps.Refetch(ctx, sp) {
		if md, err = g.saml.sps.Metadata(ctx, sp); err == nil {
			el, err = msg.Verify(root.Copy(), samlidp.SigningCerts(md), allowSHA1)
		}
	}
	if err != nil {
		return sp, md, nil, fmt.Errorf("saml idp: sp %s: %w", sp.ServiceID, err)
	}
	return sp, md, el, nil
}

// samlSSO is GET/POST /idp/saml/sso: an SP's AuthnRequest, by the
// HTTP-Redirect or the HTTP-POST binding.
func (g *Gateway) samlSSO(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	msg, err := samlidp.ReadMessage(r)
	if err != nil || msg.Param != "SAMLRequest" {
		g.samlBadRequest(w, r, cmpErr(err, "saml idp: sso: not an AuthnRequest"))
		return
	}
	sp, md, el, err := g.samlVerified(ctx, msg, func(sp *samlidp.SP, md *saml.EntityDescriptor) bool { return sp.WantsSignedRequests(md) })
	if err != nil {
		if sp != nil {
			g.auditFailure(ctx, store.AuditEvent{Action: "saml_sso", Detail: "service=" + sp.ServiceID}, "bad_request_signature")
		}
		g.samlBadRequest(w, r, err)
		return
	}
	areq, err := samlidp.ParseAuthnRequest(el, g.saml.idp.SSOURL, g.now())
	if err != nil {
		g.samlBadRequest(w, r, fmt.Errorf("saml idp: sp %s: %w", sp.ServiceID, err))
		return
	}
	acs, err := samlidp.ACS(md, areq.AssertionConsumerServiceURL, areq.AssertionConsumerServiceIndex)
	if err != nil {
		g.samlBadRequest(w, r, err)
		return
	}
	s := g.samlService(sp.ServiceID)
	if s == nil {
		g.samlBadRequest(w, r, fmt.Errorf("saml idp: sp %s: no such service", sp.ServiceID))
		return
	}
	// Each AuthnRequest is answered once: a copy sent again (a replayed
	// link, a captured signed request) is refused.
	now := g.now()
	if err := g.store.CreateTicket(ctx, &store.Ticket{ID: ticketID(sp.ServiceID + "\x00" + areq.ID), Purpose: samlSeenPurpose,
		CreatedAt: now, ExpiresAt: now.Add(2 * samlRequestWindow)}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			g.auditFailure(ctx, store.AuditEvent{Action: "saml_sso", Detail: "service=" + sp.ServiceID}, "request_replayed")
			g.samlBadRequest(w, r, fmt.Errorf("saml idp: sp %s: AuthnRequest %s seen before", sp.ServiceID, areq.ID))
			return
		}
		status, key := storeFailure(w, err)
		g.fail(w, r, status, key, err)
		return
	}
	mfa, _ := areq.WantsMFA()
	g.samlContinue(w, r, s, &samlPending{
		Service: s.cfg.ID, RequestID: areq.ID, ACS: acs.Location, RelayState: msg.RelayState,
		ForceAuthn: areq.Force(), MFA: mfa, Started: g.now(), Passive: areq.IsPassive != nil && *areq.IsPassive,
	})
}

// samlInit is GET /idp/saml/init/{service}: the tile's IdP-initiated
// sign-in to the app.
func (g *Gateway) samlInit(w http.ResponseWriter, r *http.Request) {
	s := g.samlService(r.PathValue("service"))
	if s == nil {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	md, err := g.saml.sps.Metadata(r.Context(), g.saml.sps.Get(s.cfg.ID))
	if err != nil {
		g.fail(w, r, http.StatusBadGateway, "error.internal", err)
		return
	}
	acs, err := samlidp.ACS(md, "", "")
	if err != nil {
		g.fail(w, r, http.StatusBadGateway, "error.internal", err)
		return
	}
	g.samlContinue(w, r, s, &samlPending{Service: s.cfg.ID, ACS: acs.Location, RelayState: s.cfg.SAML.RelayState, Started: g.now()})
}

// samlResume is GET /idp/saml/resume?t=…: back from a step of the
// sign-in, to the request that waits.
func (g *Gateway) samlResume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := g.store.ConsumeTicket(ctx, samlPendingPurpose, ticketID(r.URL.Query().Get("t")), g.now())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			g.fail(w, r, http.StatusBadRequest, "error.bad_request", errors.New("saml idp: resume: no such request (expired or used)"))
			return
		}
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	var p samlPending
	if err := json.Unmarshal(t.Data, &p); err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	// A link to someone else's waiting request leads nowhere. (A request
	// not yet bound is on its one same-site hop: samlPark.)
	if p.Browser != "" && !hmac.Equal([]byte(p.Browser), []byte(g.samlBrowser(w, r))) {
		g.fail(w, r, http.StatusBadRequest, "error.bad_request", errors.New("saml idp: resume: another browser's request"))
		return
	}
	s := g.samlService(p.Service)
	if s == nil {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	g.samlContinue(w, r, s, &p)
}

// samlBrowser identifies the browser (its CSRF cookie) without holding
// the cookie's value.
func (g *Gateway) samlBrowser(w http.ResponseWriter, r *http.Request) string {
	return g.csrf.mac(g.csrf.browserID(w, r), "saml idp pending")
}

// samlContinue decides a sign-in to s: answer the SP, or send the person
// to the step that is missing and come back.
func (g *Gateway) samlContinue(w http.ResponseWriter, r *http.Request, s *service, p *samlPending) {
	ctx := r.Context()
	sess, user, v := g.authorize(ctx, r, s)
	switch v {
	case verdictError:
		g.fail(w, r, http.StatusInternalServerError, "error.internal", nil)
		return
	case verdictUnavailable:
		w.Header().Set("Retry-After", retryAfterStore)
		g.fail(w, r, http.StatusServiceUnavailable, "error.store_unavailable", nil)
		return
	case verdictMustChange:
		http.Redirect(w, r, mustChangeURL, http.StatusSeeOther)
		return
	case verdictForbidden:
		g.samlDeny(w, r, s, p, user)
		return
	case verdictNoSession:
		g.samlPark(w, r, p, func(resume string) string { return g.loginURLFor(resume, false) })
		return
	case verdictStale:
		g.samlPark(w, r, p, func(resume string) string { return g.loginURLFor(resume, true) })
		return
	case verdictStepUp:
		g.samlPark(w, r, p, func(resume string) string { return g.stepUpURL(parseResume(resume)) })
		return
	case verdictDevice:
		g.samlPark(w, r, p, func(resume string) string { return g.deviceStartURL(parseResume(resume)) })
		return
	}
	// The store keeps times to the millisecond: a sign-in in the same
	// millisecond as the request counts as after it.
	if p.ForceAuthn && sess.AuthTime.Before(p.Started.Truncate(time.Millisecond)) {
		g.samlPark(w, r, p, func(resume string) string { return g.loginURLFor(resume, true) })
		return
	}
	// An app that asks for a second factor gets one: a registered line
	// does not stand in for it here, since the assertion will say MFA.
	if p.MFA != "" && !hasSecondFactor(sess.AMR) {
		g.samlPark(w, r, p, func(resume string) string { return g.stepUpURL(parseResume(resume)) })
		return
	}
	g.samlGrant(w, r, s, p, sess, user)
}

// parseResume parses a resume URL this file made (it always parses).
func parseResume(s string) *url.URL {
	u, _ := url.Parse(s)
	return u
}

// samlPark keeps p in a ticket and sends the browser to the step next
// returns, which comes back to the resume URL it is given. An IsPassive
// request, which must not show the person anything, is answered
// NoPassive instead.
func (g *Gateway) samlPark(w http.ResponseWriter, r *http.Request, p *samlPending, next func(resume string) string) {
	ctx := r.Context()
	if p.Passive {
		g.samlRefuse(w, r, g.samlService(p.Service), p, nil, samlidp.StatusNoPassive)
		return
	}
	// An app's cross-site POST (HTTP-POST binding) carries none of the
	// gateway's SameSite=Lax cookies, even when the browser is signed in:
	// first a same-site hop to the resume URL (a top-level GET carries
	// them), which decides again and binds the request to the browser.
	// Binding it here would replace the browser's CSRF cookie.
	hop := r.Method == http.MethodPost && cookieValue(r, g.sessions.name) == ""
	if hop {
		p.Browser = ""
		next = func(resume string) string { return resume }
	} else {
		p.Browser = g.samlBrowser(w, r)
	}
	data, err := json.Marshal(p)
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	token := newToken()
	now := g.now()
	if err := g.store.CreateTicket(ctx, &store.Ticket{ID: ticketID(token), Purpose: samlPendingPurpose, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(samlPendingTTL)}); err != nil {
		status, key := storeFailure(w, err)
		g.fail(w, r, status, key, err)
		return
	}
	http.Redirect(w, r, next(g.publicURL+samlResumePath+"?t="+url.QueryEscape(token)), http.StatusSeeOther)
}

// samlClassRef is the AuthnContextClassRef of a sign-in with amr: MFA
// after a second factor (the class the SP asked for, when it named one),
// PasswordProtectedTransport after a password (always over TLS in
// production), unspecified otherwise (a federated sign-in: the other
// IdP's method is not known here).
func samlClassRef(amr []string, asked string) string {
	switch {
	case hasSecondFactor(amr) && asked != "":
		return asked
	case hasSecondFactor(amr):
		return samlidp.ContextMFA
	case slices.Contains(amr, "pwd"):
		return samlidp.ContextPassword
	}
	return samlidp.ContextUnspecified
}

// samlPerson is what the IdP hands over of user.
func samlPerson(u *store.User) samlidp.Person {
	return samlidp.Person{UserID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Groups: u.Groups,
		Department: u.Department, Organization: u.Organization, Phone: u.Phone, Mobile: u.Mobile}
}

// samlGrant answers the SP with a signed assertion of the session, and
// records the app as one the session signed in to (for single logout).
func (g *Gateway) samlGrant(w http.ResponseWriter, r *http.Request, s *service, p *samlPending, sess *store.Session, user *store.User) {
	ctx := r.Context()
	sp := g.saml.sps.Get(s.cfg.ID)
	md, err := g.saml.sps.Metadata(ctx, sp)
	if err != nil {
		g.fail(w, r, http.StatusBadGateway, "error.internal", err)
		return
	}
	k, err := g.samlKey(ctx)
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	pair, err := g.samlPairKey(ctx)
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	person := samlPerson(user)
	nameID, format := samlidp.NameID(sp.Config, pair, &person, md.EntityID)
	classRef := samlClassRef(sess.AMR, p.MFA)
	end := sess.AbsoluteExpiresAt
	if t := s.cfg.SessionTimeout.D(); t > 0 && sess.AuthTime.Add(t).Before(end) {
		end = sess.AuthTime.Add(t)
	}
	now := g.now()
	grant := &samlidp.Grant{
		SP: sp, SPEntityID: md.EntityID, ACS: p.ACS, InResponseTo: p.RequestID, Person: person,
		NameID: nameID, NameIDFormat: format, SessionIndex: samlidp.NewID(), AuthnInstant: sess.AuthTime,
		SessionNotOnOrAfter: end, ClassRef: classRef, ClientAddress: clientIP(ctx).String(), Now: now,
	}
	resp, err := g.saml.idp.Response(k, grant)
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	data, _ := json.Marshal(samlClient{NameID: nameID, Format: format, SessionIndex: grant.SessionIndex})
	if err := g.store.AddSessionClient(ctx, &store.SessionClient{SessionID: sess.ID, Protocol: store.ProtocolSAML,
		ClientID: s.cfg.ID, UserID: user.ID, Data: data, CreatedAt: now, ExpiresAt: sess.AbsoluteExpiresAt}); err != nil {
		status, key := storeFailure(w, err)
		g.fail(w, r, status, key, err)
		return
	}
	detail := "service=" + s.cfg.ID
	if p.RequestID == "" {
		detail += " idp_initiated"
	}
	g.auditSuccess(ctx, store.AuditEvent{Action: "saml_sso", UserID: user.ID, Actor: user.Email, Detail: detail})
	fields := map[string][]string{"SAMLResponse": {resp}}
	if p.RelayState != "" {
		fields["RelayState"] = []string{p.RelayState}
	}
	g.samlPost(w, r, sess, user, s, p.ACS, fields, "post.app_explain")
}

// samlDeny answers an SP's request for a person s does not allow with a
// signed Response of status RequestDenied and no assertion; an
// IdP-initiated sign-in (no request to answer) shows the refusal page.
func (g *Gateway) samlDeny(w http.ResponseWriter, r *http.Request, s *service, p *samlPending, user *store.User) {
	ctx := r.Context()
	g.auditFailure(ctx, store.AuditEvent{Action: "saml_sso", UserID: user.ID, Actor: user.Email, Detail: "service=" + s.cfg.ID}, "not_allowed")
	if p.RequestID == "" {
		g.fail(w, r, http.StatusForbidden, "error.forbidden", nil)
		return
	}
	g.samlRefuse(w, r, s, p, user, saml.StatusRequestDenied)
}

// samlRefuse answers the SP's request with a signed Response of status
// Responder / status and no assertion.
func (g *Gateway) samlRefuse(w http.ResponseWriter, r *http.Request, s *service, p *samlPending, user *store.User, status string) {
	ctx := r.Context()
	k, err := g.samlKey(ctx)
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	resp, err := g.saml.idp.Refused(k, g.saml.sps.Get(s.cfg.ID), p.ACS, p.RequestID, status, g.now())
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	fields := map[string][]string{"SAMLResponse": {resp}}
	if p.RelayState != "" {
		fields["RelayState"] = []string{p.RelayState}
	}
	g.samlPost(w, r, nil, user, s, p.ACS, fields, "post.app_explain")
}

// samlPost renders the page that posts fields to action (an SP's
// endpoint): it submits itself by a small same-origin script, which the
// page's policy allows, and has a button for a browser without scripts.
func (g *Gateway) samlPost(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User, s *service, action string, fields map[string][]string, explain string) {
	targets := slices.Clone(g.formTargets)
	if u, err := url.Parse(action); err == nil && u.Host != "" {
		targets = append(targets, origin(u))
	}
	h := w.Header()
	h.Set("Content-Security-Policy", strings.Replace(contentSecurityPolicy(targets), "script-src 'none'", "script-src 'self'", 1))
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	lang := g.lang(r)
	g.renderPage(w, r, http.StatusOK, portal.PagePost, portal.PostPage{
		Base: g.base(w, r, sess, user), Action: action, Fields: fields, ProviderLabel: s.cfg.Name.In(lang),
		ExplainKey: explain, AutoSubmit: true,
	})
}

// samlSend sends an outgoing message through the browser.
func (g *Gateway) samlSend(w http.ResponseWriter, r *http.Request, s *service, out *samlidp.Outgoing) {
	if out.RedirectURL != "" {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, out.RedirectURL, http.StatusFound)
		return
	}
	g.samlPost(w, r, nil, nil, s, out.PostURL, out.PostFields, "post.logout_explain")
}

// cmpErr is err, or a new error with msg when err is nil.
func cmpErr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}
