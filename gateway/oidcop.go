package gateway

import (
	"context"
	"crypto"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ssogate/ssogate/idp/oidcop"
	"github.com/ssogate/ssogate/store"
)

// The OpenID Provider: zitadel/oidc's protocol (idp/oidcop) behind the
// gateway's own sign-in. The library answers discovery and /oauth2/…;
// the login step (GET /oauth2/login?id=…) is ours: it sends the person
// through the sign-in pipeline, the step-up or a fresh sign-in as the
// request and the service ask, applies the service's policy, and then
// has the provider answer the app with a code.

// oidcGateway is the provider and what the glue keeps beside it.
type oidcGateway struct {
	p *oidcop.Provider
	// sidKey derives the sid apps see from the gateway session id, so
	// that an app never learns a session id it could present as a cookie.
	sidKey []byte
	// services maps a client id to its service.
	services map[string]*service
	// backChannel posts logout tokens; no redirects are followed.
	backChannel *http.Client
}

// oidcSecretName is the store secret the provider's keys derive from.
const oidcSecretName = "oidc_provider"

// oidcProviderRoutes serves the OpenID Provider: discovery and /oauth2/….
// Without a service with oidc: there is no provider and no route.
func (g *Gateway) oidcProviderRoutes(mux *http.ServeMux) {
	o, err := g.newOIDCGateway(context.Background())
	if err != nil {
		g.log.Error("oidc provider disabled", "err", err)
		return
	}
	if o == nil {
		return
	}
	g.oidc = o
	mux.Handle("GET "+oidcop.PathDiscovery, o.p.Handler)
	mux.Handle("/oauth2/", o.p.Handler)
	mux.HandleFunc("GET "+oidcop.PathLogin, g.oidcLogin)
	mux.HandleFunc(oidcop.PathLogout, g.oidcLogout)
}

// newOIDCGateway builds the provider from the services with oidc: (nil
// when there is none).
func (g *Gateway) newOIDCGateway(ctx context.Context) (*oidcGateway, error) {
	o := &oidcGateway{services: map[string]*service{}, backChannel: &http.Client{
		Timeout:       backChannelTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	var clients []*oidcop.Client
	devMode := strings.HasPrefix(g.issuer, "http://")
	for _, s := range g.services {
		if s.cfg.OIDC == nil {
			continue
		}
		c, err := oidcop.NewClient(s.cfg.ID, *s.cfg.OIDC, oidcop.LoginURL(g.issuer), devMode, &http.Client{Timeout: 10 * time.Second})
		if err != nil {
			return nil, err
		}
		clients = append(clients, c)
		o.services[c.GetID()] = s
	}
	if len(clients) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// The RS256 family's first key is made now rather than at the first
	// sign-in: a replica started later then loads it with the others, so
	// every replica publishes the key before an ID token signed with it
	// reaches an app.
	if _, err := g.keys.currentAlg(ctx, jose.RS256); err != nil {
		return nil, err
	}
	master, err := g.store.Secret(ctx, oidcSecretName, func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: oidc secret: %w", err)
	}
	seal, err := hkdf.Key(sha256.New, master, nil, "ssogate oidc access token seal", 32)
	if err != nil {
		return nil, err
	}
	if o.sidKey, err = hkdf.Key(sha256.New, master, nil, "ssogate oidc sid", 32); err != nil {
		return nil, err
	}
	p, err := oidcop.New(oidcop.Config{
		Issuer: g.issuer, Store: g.store, Clients: clients, Keys: oidcKeys{g.keys},
		CryptoKey: [32]byte(seal), Now: g.now, Logger: g.log,
		OnReplay: func(ctx context.Context, what, clientID, userID string) {
			ev := store.AuditEvent{Action: "oidc_token", UserID: userID}
			if clientID != "" {
				ev.Detail = "client=" + clientID
			}
			g.auditFailure(ctx, ev, what)
		},
	})
	if err != nil {
		return nil, err
	}
	o.p = p
	return o, nil
}

// oidcKeys gives the provider the key ring's RS256 family.
type oidcKeys struct{ k *keyring }

func (o oidcKeys) SigningKey(ctx context.Context) (string, crypto.Signer, error) {
	lk, err := o.k.currentAlg(ctx, jose.RS256)
	if err != nil {
		return "", nil, err
	}
	return lk.public.KeyID, lk.private, nil
}

func (o oidcKeys) PublicKeys() []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, lk := range o.k.published(jose.RS256) {
		out = append(out, lk.public)
	}
	return out
}

// oidcMachinePath reports whether path is one of the provider's
// server-to-server endpoints: apps call them from their own servers, with
// no browser, no CSRF token and from outside the registered lines.
func oidcMachinePath(path string) bool {
	switch path {
	case oidcop.PathToken, oidcop.PathIntrospect, oidcop.PathRevoke, oidcop.PathUserinfo, oidcop.PathDiscovery:
		return true
	}
	return false
}

// oidcCrossOrigin lets apps' servers and single-page apps post to the
// machine endpoints (client authentication protects them, not a form
// token) and to RP-initiated logout (which acts only on a valid
// id_token_hint for the browser's own session).
func oidcCrossOrigin(cop *http.CrossOriginProtection) {
	for _, p := range []string{oidcop.PathToken, oidcop.PathIntrospect, oidcop.PathRevoke, oidcop.PathUserinfo, oidcop.PathLogout} {
		cop.AddInsecureBypassPattern("POST " + p)
	}
}

// oidcFormTargets are the origins of every client's redirect URIs: a
// sign-in form's redirect chain ends there, and form-action must allow it.
func oidcFormTargets(cfgs []*service, seen map[string]bool) []string {
	var out []string
	for _, s := range cfgs {
		if s.cfg.OIDC == nil {
			continue
		}
		for _, raw := range append(append([]string{}, s.cfg.OIDC.RedirectURIs...), s.cfg.OIDC.PostLogoutRedirectURIs...) {
			u, err := url.Parse(raw)
			if err != nil || u.Host == "" {
				continue
			}
			if o := origin(u); !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
	}
	return out
}

// sid is the session id apps see for gateway session id.
func (o *oidcGateway) sid(sessionID string) string {
	m := hmac.New(sha256.New, o.sidKey)
	m.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

// oidcLogin is GET /oauth2/login?id=…, where the provider sends the
// browser to sign in for an app's authorization request.
func (g *Gateway) oidcLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	o := g.oidc
	id := r.URL.Query().Get("id")
	a, err := o.p.AuthRequest(ctx, id)
	if errors.Is(err, oidcop.ErrUnknownRequest) {
		g.fail(w, r, http.StatusBadRequest, "error.oidc_request", nil)
		return
	}
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	s := o.services[a.ClientID]
	if s == nil {
		// The client left the configuration since the request began.
		g.fail(w, r, http.StatusBadRequest, "error.oidc_request", nil)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	self := oidcop.PathLogin + "?id=" + url.QueryEscape(id)
	selfURL, _ := url.Parse(g.publicURL + self)
	// again keeps the request and sends the browser on (to sign in, to
	// the second step), to come back here afterwards.
	again := func(to string) {
		if err := o.p.Keep(ctx, a); err != nil {
			g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
	}
	// refuse answers the app with an OAuth error, never a code.
	refuse := func(code, why string, userID, actor string) {
		g.auditFailure(ctx, store.AuditEvent{Action: "oidc_authorize", UserID: userID, Actor: actor,
			Detail: "client=" + a.ClientID}, code+": "+why)
		http.Redirect(w, r, o.p.ErrorRedirect(a, code, why), http.StatusFound)
	}
	sess, user, v := g.authorize(ctx, r, s)
	actor := ""
	if user != nil {
		actor = user.Email
	}
	switch v {
	case verdictError:
		_ = o.p.Keep(ctx, a) // a reload may succeed
		g.fail(w, r, http.StatusInternalServerError, "error.internal", errors.New("gateway: oidc login: session lookup failed"))
		return
	case verdictUnavailable:
		_ = o.p.Keep(ctx, a)
		w.Header().Set("Retry-After", retryAfterStore)
		g.fail(w, r, http.StatusServiceUnavailable, "error.store_unavailable", nil)
		return
	case verdictNoSession, verdictMustChange:
		if a.PromptNone() {
			refuse("login_required", "sign-in required", "", "")
			return
		}
		if v == verdictMustChange {
			again(g.publicURL + mustChangeURL)
			return
		}
		again(g.loginURLFor(self, false))
		return
	case verdictForbidden:
		refuse("access_denied", "not allowed to use this app", user.ID, actor)
		return
	case verdictStale:
		if a.PromptNone() {
			refuse("login_required", "a fresh sign-in is required", user.ID, actor)
			return
		}
		again(g.loginURLFor(self, true))
		return
	case verdictStepUp:
		if a.PromptNone() {
			refuse("interaction_required", "2-step verification required", user.ID, actor)
			return
		}
		again(g.stepUpURL(selfURL))
		return
	case verdictDevice:
		if a.PromptNone() {
			refuse("interaction_required", "browser approval required", user.ID, actor)
			return
		}
		again(g.deviceStartURL(selfURL))
		return
	}
	// The app's own demands: a sign-in no older than max_age (prompt=login
	// is max_age 0), and a second factor when acr_values asks for one. A
	// sign-in made after the request counts as fresh whatever its age.
	fresh := sess.AuthTime.After(a.CreatedAt.Truncate(time.Millisecond))
	if a.MaxAge != nil && !fresh && g.now().Sub(sess.AuthTime) > time.Duration(*a.MaxAge)*time.Second {
		if a.PromptNone() {
			refuse("login_required", "a fresh sign-in is required", user.ID, actor)
			return
		}
		again(g.loginURLFor(self, true))
		return
	}
	mfa := hasSecondFactor(sess.AMR)
	if a.WantsMFA() && !mfa {
		if a.PromptNone() {
			refuse("interaction_required", "2-step verification required", user.ID, actor)
			return
		}
		again(g.stepUpURL(selfURL))
		return
	}
	sid := o.sid(sess.ID)
	data, _ := json.Marshal(oidcClientData{SID: sid, ClientID: a.ClientID})
	err = g.store.AddSessionClient(ctx, &store.SessionClient{SessionID: sess.ID, Protocol: store.ProtocolOIDC,
		ClientID: s.cfg.ID, UserID: user.ID, Data: data, CreatedAt: g.now(), ExpiresAt: sess.AbsoluteExpiresAt})
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	to, err := o.p.Complete(ctx, a, oidcop.Grant{UserID: user.ID, SessionID: sess.ID, SID: sid, AMR: sess.AMR,
		AuthTime: sess.AuthTime, MFA: mfa})
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	g.auditSuccess(ctx, store.AuditEvent{Action: "oidc_authorize", UserID: user.ID, Actor: user.Email, Detail: "client=" + a.ClientID})
	http.Redirect(w, r, to, http.StatusFound)
}

// oidcClientData is the Data of an OIDC SessionClient.
type oidcClientData struct {
	SID      string `json:"sid"`
	ClientID string `json:"client_id"`
}

// oidcLogout is RP-initiated logout (GET or POST /oauth2/logout): with an
// id_token_hint the provider issued for this browser's session, the
// session ends as POST /logout ends it and the browser goes to the
// client's post_logout_redirect_uri (exact match) with state. Without
// one, the person confirms on the gateway's own sign-out page, so that
// no other site can sign anyone out.
func (g *Gateway) oidcLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		g.fail(w, r, http.StatusMethodNotAllowed, "error.method_not_allowed", nil)
		return
	}
	ctx := r.Context()
	o := g.oidc
	if err := r.ParseForm(); err != nil {
		g.fail(w, r, http.StatusBadRequest, "error.oidc_logout", nil)
		return
	}
	hint, postLogout, state := r.Form.Get("id_token_hint"), r.Form.Get("post_logout_redirect_uri"), r.Form.Get("state")
	clientID := r.Form.Get("client_id")
	var sub, sid string
	if hint != "" {
		claims, err := o.p.VerifyIDTokenHint(ctx, hint)
		if err != nil {
			g.log.Info("oidc logout: bad id_token_hint", "request_id", requestID(ctx), "err", err)
			g.fail(w, r, http.StatusBadRequest, "error.oidc_logout", nil)
			return
		}
		if len(claims.Audience) == 0 || (clientID != "" && clientID != claims.Audience[0]) {
			g.fail(w, r, http.StatusBadRequest, "error.oidc_logout", nil)
			return
		}
		clientID, sub = claims.Audience[0], claims.Subject
		sid, _ = claims.Claims["sid"].(string)
	}
	done := "/login?logged_out=1"
	if postLogout != "" {
		c := o.p.Client(clientID)
		if c == nil || !slices.Contains(c.PostLogoutRedirectURIs(), postLogout) {
			g.fail(w, r, http.StatusBadRequest, "error.oidc_logout", nil)
			return
		}
		u, _ := url.Parse(postLogout)
		if state != "" {
			q := u.Query()
			q.Set("state", state)
			u.RawQuery = q.Encode()
		}
		done = u.String()
	}
	sess, user, err := g.sessions.Resolve(ctx, r)
	if err != nil {
		// Signed out already: back to the app.
		http.Redirect(w, r, done, http.StatusSeeOther)
		return
	}
	if hint == "" || sub != user.ID || sid != o.sid(sess.ID) {
		http.Redirect(w, r, "/logout", http.StatusSeeOther)
		return
	}
	if _, err := g.sessions.Destroy(ctx, w, r); err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	g.handoffs.forget(sess.ID)
	g.auditSuccess(ctx, store.AuditEvent{Action: "logout", UserID: user.ID, Actor: user.Email, Detail: "oidc client=" + clientID})
	g.logoutApps(w, r, sess, done)
}

// oidcLaunchURL is where the tile of a client of the OpenID Provider
// leads: its initiate_login_uri with iss and target_link_uri (OIDC Core
// §4, third-party-initiated login), else the service's URL.
func (g *Gateway) oidcLaunchURL(s *service) string {
	if s.cfg.OIDC == nil || s.cfg.OIDC.InitiateLoginURI == "" {
		return s.cfg.URL
	}
	u, err := url.Parse(s.cfg.OIDC.InitiateLoginURI)
	if err != nil {
		return s.cfg.URL
	}
	q := u.Query()
	q.Set("iss", g.issuer)
	q.Set("target_link_uri", s.cfg.URL)
	u.RawQuery = q.Encode()
	return u.String()
}

// Back-channel logout delivery: each token is posted with a timeout, and
// retried a few times with a growing pause, in the background.
const (
	backChannelTimeout  = 5 * time.Second
	backChannelAttempts = 3
	backChannelPause    = 500 * time.Millisecond
)

// backChannelLogout sends each OIDC client in clients a logout token for
// the ended session sess, without holding up the browser, and revokes the
// tokens issued under the session.
func (g *Gateway) backChannelLogout(sess *store.Session, clients []*store.SessionClient) {
	o := g.oidc
	if o == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if n, err := o.p.RevokeSession(ctx, sess.ID); err != nil {
			g.log.Error("oidc logout: revoke the session's tokens", "err", err)
		} else if n > 0 {
			g.log.Info("oidc logout: tokens revoked", "user_id", sess.UserID, "tokens", n)
		}
		for _, sc := range clients {
			if sc.Protocol != store.ProtocolOIDC {
				continue
			}
			var d oidcClientData
			if err := json.Unmarshal(sc.Data, &d); err != nil {
				continue
			}
			c := o.p.Client(d.ClientID)
			if c == nil || c.Config().BackchannelLogoutURI == "" {
				continue
			}
			g.sendLogoutToken(ctx, c, sess.UserID, d.SID)
		}
	}()
}

// sendLogoutToken posts one logout token, retrying a few times.
func (g *Gateway) sendLogoutToken(ctx context.Context, c *oidcop.Client, sub, sid string) {
	o := g.oidc
	target := c.Config().BackchannelLogoutURI
	token, err := o.p.LogoutToken(ctx, c, sub, sid)
	if err != nil {
		g.log.Error("oidc back-channel logout: make token", "client_id", c.GetID(), "err", err)
		return
	}
	form := url.Values{"logout_token": {token}}.Encode()
	var last error
	for i := range backChannelAttempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backChannelPause << i):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form))
		if err != nil {
			last = err
			break
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := o.backChannel.Do(req)
		if err != nil {
			last = err
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent {
			g.log.Info("oidc back-channel logout sent", "client_id", c.GetID(), "user_id", sub)
			return
		}
		last = fmt.Errorf("status %d", resp.StatusCode)
		if resp.StatusCode == http.StatusBadRequest {
			break // the app refused the token; sending it again changes nothing
		}
	}
	g.log.Warn("oidc back-channel logout failed", "client_id", c.GetID(), "user_id", sub, "err", last)
}
