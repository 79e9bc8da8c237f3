package gateway

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/crewjam/saml"

	"github.com/ssogate/ssogate/idp/samlidp"
	"github.com/ssogate/ssogate/store"
)

// samlLogoutRound starts the single-logout round through the SAML service
// providers in clients, ending at done, and reports whether it answered.
// Each SP with a single-logout endpoint gets a signed LogoutRequest
// through the browser and sends its LogoutResponse back to
// /idp/saml/slo, which goes on to the next; the round's state is a
// ticket whose token is the RelayState. An SP whose endpoint does not
// answer is passed over (the browser would be stuck on an error page), as
// is one that answers badly.
func (g *Gateway) samlLogoutRound(w http.ResponseWriter, r *http.Request, sess *store.Session, clients []*store.SessionClient, done string) bool {
	if g.saml == nil {
		return false
	}
	ctx := r.Context()
	initiator, _ := ctx.Value(samlInitiatorKey{}).(string)
	var queue []samlLogoutTarget
	for _, c := range clients {
		if c.Protocol != store.ProtocolSAML || c.ClientID == initiator || len(queue) == samlMaxLogoutApps {
			continue
		}
		sp := g.saml.sps.Get(c.ClientID)
		if sp == nil {
			continue
		}
		md, err := g.saml.sps.Metadata(ctx, sp)
		if err != nil || samlidp.SLOEndpoint(md) == nil {
			continue
		}
		var d samlClient
		if err := json.Unmarshal(c.Data, &d); err != nil {
			continue
		}
		queue = append(queue, samlLogoutTarget{Service: c.ClientID, samlClient: d})
	}
	if len(queue) == 0 {
		return false
	}
	g.samlLogoutNext(w, r, &samlRound{Queue: queue, Done: done})
	return true
}

// samlLogoutNext sends the browser to the next SP of the round, or to
// its end.
func (g *Gateway) samlLogoutNext(w http.ResponseWriter, r *http.Request, round *samlRound) {
	ctx := r.Context()
	for len(round.Queue) > 0 {
		t := round.Queue[0]
		round.Queue = round.Queue[1:]
		out, s, err := g.samlLogoutRequest(ctx, round, t)
		if err != nil {
			g.log.Warn("saml idp: single logout: skipped an app", "request_id", requestID(ctx), "service", t.Service, "err", err)
			continue
		}
		g.samlSend(w, r, s, out)
		return
	}
	http.Redirect(w, r, round.Done, http.StatusSeeOther)
}

// samlLogoutRequest makes the LogoutRequest to t, keeping the round
// (with the request's ID) in a new ticket named by the RelayState.
func (g *Gateway) samlLogoutRequest(ctx context.Context, round *samlRound, t samlLogoutTarget) (*samlidp.Outgoing, *service, error) {
	s := g.samlService(t.Service)
	sp := g.saml.sps.Get(t.Service)
	if s == nil || sp == nil {
		return nil, nil, fmt.Errorf("saml idp: service %s is gone", t.Service)
	}
	md, err := g.saml.sps.Metadata(ctx, sp)
	if err != nil {
		return nil, nil, err
	}
	ep := samlidp.SLOEndpoint(md)
	if ep == nil {
		return nil, nil, fmt.Errorf("saml idp: sp %s has no single-logout endpoint", t.Service)
	}
	if !g.saml.sps.Reachable(ctx, ep.Location) {
		return nil, nil, fmt.Errorf("saml idp: sp %s: single-logout endpoint does not answer", t.Service)
	}
	k, err := g.samlKey(ctx)
	if err != nil {
		return nil, nil, err
	}
	token := newToken()
	out, id, err := g.saml.idp.LogoutRequest(k, sp, md.EntityID, ep, t.NameID, t.Format, t.SessionIndex, token, g.now())
	if err != nil {
		return nil, nil, err
	}
	round.Expect = id
	data, err := json.Marshal(round)
	if err != nil {
		return nil, nil, err
	}
	now := g.now()
	if err := g.store.CreateTicket(ctx, &store.Ticket{ID: ticketID(token), Purpose: samlLogoutPurpose, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(samlLogoutTTL)}); err != nil {
		return nil, nil, err
	}
	return out, s, nil
}

// samlSLO is GET/POST /idp/saml/slo: an SP's LogoutResponse in a round,
// or an SP's LogoutRequest starting one.
func (g *Gateway) samlSLO(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	msg, err := samlidp.ReadMessage(r)
	if err != nil {
		g.samlBadRequest(w, r, err)
		return
	}
	if msg.Param == "SAMLResponse" {
		g.samlLogoutResponse(w, r, msg)
		return
	}
	g.samlSPLogout(w, r, msg)
}

// samlLogoutResponse goes on with the round the LogoutResponse's
// RelayState names. The answer carries no authority (the gateway session
// is already gone), so one that does not parse or says the SP failed is
// logged and the round goes on.
func (g *Gateway) samlLogoutResponse(w http.ResponseWriter, r *http.Request, msg *samlidp.Message) {
	ctx := r.Context()
	t, err := g.store.ConsumeTicket(ctx, samlLogoutPurpose, ticketID(msg.RelayState), g.now())
	if err != nil {
		// A round that expired or was used: the person is signed out.
		http.Redirect(w, r, "/login?logged_out=1", http.StatusSeeOther)
		return
	}
	var round samlRound
	if err := json.Unmarshal(t.Data, &round); err != nil {
		http.Redirect(w, r, "/login?logged_out=1", http.StatusSeeOther)
		return
	}
	if _, root, err := msg.Issuer(); err != nil {
		g.log.Warn("saml idp: single logout: unreadable LogoutResponse", "request_id", requestID(ctx), "err", err)
	} else if resp, err := samlidp.ParseLogoutResponse(root); err != nil || resp.InResponseTo != round.Expect || resp.Status.StatusCode.Value != saml.StatusSuccess {
		g.log.Warn("saml idp: single logout: an app did not confirm", "request_id", requestID(ctx), "err", err)
	}
	g.samlLogoutNext(w, r, &round)
}

// samlSPLogout ends the gateway session at an SP's LogoutRequest, the
// way POST /logout does, takes the person through the other apps'
// single logout, and answers the SP at the end. The request must name
// the session's own NameID at that SP, and be signed or carry the
// session's SessionIndex (which only the SP knows), so that no other
// site can sign the person out.
func (g *Gateway) samlSPLogout(w http.ResponseWriter, r *http.Request, msg *samlidp.Message) {
	ctx := r.Context()
	sp, _, el, err := g.samlVerified(ctx, msg, func(*samlidp.SP, *saml.EntityDescriptor) bool { return false })
	if err != nil {
		g.samlBadRequest(w, r, err)
		return
	}
	// samlVerified checked any signature the message has.
	_, root, _ := msg.Issuer()
	lr, err := samlidp.ParseLogoutRequest(el, g.saml.idp.SLOURL, g.now())
	if err != nil {
		g.samlBadRequest(w, r, fmt.Errorf("saml idp: sp %s: %w", sp.ServiceID, err))
		return
	}
	q := samlLogoutAsk{Service: sp.ServiceID, ID: lr.ID, NameID: lr.NameID.Value, RelayState: msg.RelayState, Signed: msg.Signed(root)}
	if lr.SessionIndex != nil {
		q.SessionIndex = lr.SessionIndex.Value
	}
	if r.Method == http.MethodPost && cookieValue(r, g.sessions.name) == "" {
		// An app's cross-site POST carries no SameSite=Lax cookie, even
		// when the browser has a session: go on after a same-site hop
		// (a top-level GET carries it), the request kept in a ticket.
		data, _ := json.Marshal(q)
		token := newToken()
		now := g.now()
		if err := g.store.CreateTicket(ctx, &store.Ticket{ID: ticketID(token), Purpose: samlLogoutAskPurpose, Data: data,
			CreatedAt: now, ExpiresAt: now.Add(samlLogoutTTL)}); err != nil {
			status, key := storeFailure(w, err)
			g.fail(w, r, status, key, err)
			return
		}
		http.Redirect(w, r, samlLogoutAskPath+"?t="+url.QueryEscape(token), http.StatusSeeOther)
		return
	}
	g.samlEndSession(w, r, q)
}

// samlLogoutAsk is an app's verified LogoutRequest.
type samlLogoutAsk struct {
	Service      string `json:"service"`
	ID           string `json:"id"`
	NameID       string `json:"name_id"`
	SessionIndex string `json:"session_index,omitempty"`
	RelayState   string `json:"relay_state,omitempty"`
	Signed       bool   `json:"signed,omitempty"`
}

// samlLogoutAskResume is GET /idp/saml/slo/request?t=…: an app's
// LogoutRequest that came by a cross-site POST, after the same-site hop.
func (g *Gateway) samlLogoutAskResume(w http.ResponseWriter, r *http.Request) {
	t, err := g.store.ConsumeTicket(r.Context(), samlLogoutAskPurpose, ticketID(r.URL.Query().Get("t")), g.now())
	if err != nil {
		http.Redirect(w, r, "/login?logged_out=1", http.StatusSeeOther)
		return
	}
	var q samlLogoutAsk
	if err := json.Unmarshal(t.Data, &q); err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	g.samlEndSession(w, r, q)
}

// samlEndSession acts on an app's verified LogoutRequest q: it ends the
// browser's gateway session when q names it (see samlSPLogout), takes
// the person through the other apps, and answers the app at the end.
func (g *Gateway) samlEndSession(w http.ResponseWriter, r *http.Request, q samlLogoutAsk) {
	ctx := r.Context()
	sp := g.saml.sps.Get(q.Service)
	s := g.samlService(q.Service)
	if sp == nil || s == nil {
		http.Redirect(w, r, "/login?logged_out=1", http.StatusSeeOther)
		return
	}
	md, err := g.saml.sps.Metadata(ctx, sp)
	if err != nil {
		http.Redirect(w, r, "/login?logged_out=1", http.StatusSeeOther)
		return
	}
	answer := samlAnswer{Service: q.Service, InResponseTo: q.ID, RelayState: q.RelayState}
	sess, user, err := g.sessions.Resolve(ctx, r)
	if err != nil {
		g.samlAnswerSP(w, r, answer, md)
		return
	}
	clients, err := g.store.ListSessionClients(ctx, sess.ID)
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	match := false
	for _, c := range clients {
		var d samlClient
		if c.Protocol != store.ProtocolSAML || c.ClientID != q.Service || json.Unmarshal(c.Data, &d) != nil {
			continue
		}
		index := q.SessionIndex != "" && hmac.Equal([]byte(q.SessionIndex), []byte(d.SessionIndex))
		match = q.NameID == d.NameID && (q.Signed || index)
	}
	if !match {
		// Not this browser's session at that app: the app signed its
		// own session out; the gateway's stays.
		g.log.Info("saml idp: LogoutRequest for another session; gateway session kept", "request_id", requestID(ctx), "service", q.Service)
		g.samlAnswerSP(w, r, answer, md)
		return
	}
	if _, err := g.sessions.Destroy(ctx, w, r); err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	g.handoffs.forget(sess.ID)
	g.auditSuccess(ctx, store.AuditEvent{Action: "logout", UserID: user.ID, Actor: user.Email, Detail: "saml_slo service=" + q.Service})
	data, _ := json.Marshal(answer)
	token := newToken()
	now := g.now()
	if err := g.store.CreateTicket(ctx, &store.Ticket{ID: ticketID(token), Purpose: samlAnswerPurpose, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(samlLogoutTTL)}); err != nil {
		// The other apps are still told; this one gets its answer now.
		g.log.Error("saml idp: keep the single-logout answer", "request_id", requestID(ctx), "err", err)
		g.samlAnswerSP(w, r, answer, md)
		return
	}
	g.logoutApps(w, r.WithContext(context.WithValue(ctx, samlInitiatorKey{}, q.Service)), sess, samlAnswerPath+"?t="+url.QueryEscape(token))
}

// samlSLOAnswer is GET /idp/saml/slo/answer?t=…: the end of an
// SP-initiated single logout, answering the SP that started it.
func (g *Gateway) samlSLOAnswer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := g.store.ConsumeTicket(ctx, samlAnswerPurpose, ticketID(r.URL.Query().Get("t")), g.now())
	if err != nil {
		http.Redirect(w, r, "/login?logged_out=1", http.StatusSeeOther)
		return
	}
	var a samlAnswer
	if err := json.Unmarshal(t.Data, &a); err != nil {
		http.Redirect(w, r, "/login?logged_out=1", http.StatusSeeOther)
		return
	}
	sp := g.saml.sps.Get(a.Service)
	if sp == nil {
		http.Redirect(w, r, "/login?logged_out=1", http.StatusSeeOther)
		return
	}
	md, err := g.saml.sps.Metadata(ctx, sp)
	if err != nil {
		http.Redirect(w, r, "/login?logged_out=1", http.StatusSeeOther)
		return
	}
	g.samlAnswerSP(w, r, a, md)
}

// samlAnswerSP sends the SP its LogoutResponse (Success), or the browser
// to the signed-out page when the SP has no endpoint for it.
func (g *Gateway) samlAnswerSP(w http.ResponseWriter, r *http.Request, a samlAnswer, md *saml.EntityDescriptor) {
	ctx := r.Context()
	sp := g.saml.sps.Get(a.Service)
	ep := samlidp.SLOEndpoint(md)
	s := g.samlService(a.Service)
	if sp == nil || ep == nil || s == nil {
		http.Redirect(w, r, "/login?logged_out=1", http.StatusSeeOther)
		return
	}
	k, err := g.samlKey(ctx)
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	out, err := g.saml.idp.LogoutResponse(k, sp, ep, a.InResponseTo, a.RelayState, g.now())
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	g.samlSend(w, r, s, out)
}
