package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/store"
)

// Where the login-method choice lives: an invitation, a login-method
// change an administrator sent, and the page a provider's sign-in from
// either ends on.
const (
	invitePath     = "/invite"
	methodPath     = "/login-method"
	inviteDonePath = "/invite/done"
)

// flowInvite is what a provider's sign-in started from an invitation or
// a login-method link carries in its flow: the link's ticket id (its
// hash: the link itself stays in the person's mail) and the person, so
// that the callback links the identity to them instead of refusing an
// identity nobody registered.
type flowInvite struct {
	Kind     string `json:"k"`
	TicketID string `json:"t"`
	UserID   string `json:"u"`
}

// inviteRoutes registers the invitation and login-method pages and the
// console's invitations.
func (g *Gateway) inviteRoutes(mux *http.ServeMux) {
	for path, kind := range map[string]string{invitePath: account.KindInvitation, methodPath: account.KindMethodChange} {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) { g.invitePage(w, r, kind) })
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) { g.inviteSubmit(w, r, kind) })
	}
	mux.HandleFunc("GET "+inviteDonePath, g.inviteDone)
	g.adminRoute(mux, "GET /admin/invitations", g.adminInvitations)
	g.adminRoute(mux, "POST /admin/invitations", g.adminInvitationsSubmit)
}

// inviteView is the page of the link ticket of kind, for its person u.
func (g *Gateway) inviteView(w http.ResponseWriter, r *http.Request, kind, ticket string, u *store.User) portal.InvitePage {
	sess, user, _ := g.sessionIDs(r)
	path := invitePath
	if kind == account.KindMethodChange {
		path = methodPath
	}
	page := portal.InvitePage{Base: g.base(w, r, sess, user), Action: path + "?ticket=" + url.QueryEscape(ticket),
		MethodChange: kind == account.KindMethodChange, State: portal.InviteChoose}
	if u != nil {
		page.Email, page.Name = u.Email, u.DisplayName
	}
	// An account an administrator limited to some methods is offered
	// only those: another would be linked, then refused at sign-in.
	allowed := func(id string) bool {
		return u == nil || len(u.LoginMethods) == 0 || slices.Contains(u.LoginMethods, id)
	}
	if lp, _ := g.localProvider(page.Lang); lp != nil && g.policyAllows(lp.(providers.Provider).ID()) && allowed(lp.(providers.Provider).ID()) {
		page.Password, page.Rule = true, g.passwordRule()
	}
	for _, p := range g.linkableProviders() {
		if !allowed(p.ID()) {
			continue
		}
		page.Providers = append(page.Providers, portal.ProviderButton{ID: p.ID(), Label: g.providerLabel(p.ID(), page.Lang)})
	}
	return page
}

// linkableProviders are the providers an invited person may choose: the
// redirect-style ones (OIDC, SAML) and directories (AD, LDAP) with
// linking settings, that the policy allows.
func (g *Gateway) linkableProviders() []providers.Provider {
	var out []providers.Provider
	for _, p := range g.providers.All() {
		_, redirect := p.(providers.RedirectAuthenticator)
		_, directory := p.(providers.PasswordAuthenticator)
		if (redirect || directory) && p.Type() != "local" && g.federation(p.ID()) != nil && g.policyAllows(p.ID()) {
			out = append(out, p)
		}
	}
	return out
}

// inviteInvalid renders the page of a link that no longer works.
func (g *Gateway) inviteInvalid(w http.ResponseWriter, r *http.Request, page portal.InvitePage, err error) {
	if !errors.Is(err, account.ErrLinkExpired) && !errors.Is(err, account.ErrLinkUsed) {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	page.State, page.LinkErrorKey = portal.InviteInvalid, "invite.link_used"
	if errors.Is(err, account.ErrLinkExpired) {
		page.LinkErrorKey = "invite.link_expired"
	}
	page.Action, page.Password, page.Providers = "", false, nil
	g.renderPage(w, r, http.StatusGone, portal.PageInvite, page)
}

// invitePage shows the choice of method. Opening the link changes
// nothing (mail scanners open links).
func (g *Gateway) invitePage(w http.ResponseWriter, r *http.Request, kind string) {
	ticket := r.URL.Query().Get("ticket")
	u, err := g.account.CheckMethodLink(r.Context(), kind, ticket)
	page := g.inviteView(w, r, kind, ticket, u)
	if err != nil {
		g.inviteInvalid(w, r, page, err)
		return
	}
	g.renderPage(w, r, http.StatusOK, portal.PageInvite, page)
}

// inviteSubmit is every form of the page, by its step: "password" checks
// and keeps a password, "provider" picks a provider, both then show the
// confirmation screen (申込確認); "confirm" stores the password, or
// starts the provider's sign-in whose callback links the identity.
func (g *Gateway) inviteSubmit(w http.ResponseWriter, r *http.Request, kind string) {
	ctx := r.Context()
	_, _, sids := g.sessionIDs(r)
	if !g.parseForm(w, r, sids...) {
		return
	}
	ticket := r.URL.Query().Get("ticket")
	u, err := g.account.CheckMethodLink(ctx, kind, ticket)
	page := g.inviteView(w, r, kind, ticket, u)
	if err != nil {
		g.inviteInvalid(w, r, page, err)
		return
	}
	provider := r.PostFormValue("provider")
	if provider != "" && !slices.ContainsFunc(page.Providers, func(b portal.ProviderButton) bool { return b.ID == provider }) {
		page.ErrorKeys = []string{"invite.provider_unknown"}
		g.renderPage(w, r, http.StatusBadRequest, portal.PageInvite, page)
		return
	}
	switch r.PostFormValue("step") {
	case "password":
		if !page.Password {
			g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
			return
		}
		token, err := g.account.ChoosePassword(ctx, kind, ticket, r.PostFormValue("password"), r.PostFormValue("password_confirm"))
		if keys := reasonKeys(err); keys != nil {
			page.ErrorKeys = keys
			g.renderPage(w, r, http.StatusBadRequest, portal.PageInvite, page)
			return
		}
		if err != nil {
			g.inviteInvalid(w, r, page, err)
			return
		}
		page.State, page.Token, page.MethodLabel = portal.InviteConfirm, token, portal.T(page.Lang, "invite.method_password")
	case "provider":
		if provider == "" {
			g.fail(w, r, http.StatusBadRequest, "error.bad_request", nil)
			return
		}
		page.State, page.Provider, page.MethodLabel = portal.InviteConfirm, provider, g.providerLabel(provider, page.Lang)
	case "confirm", "directory":
		if provider != "" {
			inv := &flowInvite{Kind: kind, TicketID: account.MethodTicketID(ticket), UserID: u.ID}
			p, _ := g.providers.Get(provider)
			if pa, ok := p.(providers.PasswordAuthenticator); ok {
				g.inviteDirectory(w, r, pa, inv, page)
				return
			}
			g.beginInviteFlow(w, r, provider, inv)
			return
		}
		if _, err := g.account.FinishPassword(ctx, kind, ticket, r.PostFormValue("token"), g.flowOrigin(r)); err != nil {
			if errors.Is(err, account.ErrLinkUsed) {
				// The link still checked out above: what is gone is the
				// kept password (it waited too long); choose again.
				if _, cerr := g.account.CheckMethodLink(ctx, kind, ticket); cerr == nil {
					page.ErrorKeys = []string{"invite.choice_expired"}
					g.renderPage(w, r, http.StatusBadRequest, portal.PageInvite, page)
					return
				}
			}
			g.inviteInvalid(w, r, page, err)
			return
		}
		g.sessions.forgetUser(u.ID)
		page.State = portal.InviteDone
	default:
		g.fail(w, r, http.StatusBadRequest, "error.bad_request", nil)
		return
	}
	g.renderPage(w, r, http.StatusOK, portal.PageInvite, page)
}

// beginInviteFlow starts the sign-in at provider id as /login/{id} does,
// with the invitation in the flow.
func (g *Gateway) beginInviteFlow(w http.ResponseWriter, r *http.Request, id string, inv *flowInvite) {
	ctx := r.Context()
	p, _ := g.providers.Get(id)
	ra := p.(providers.RedirectAuthenticator)
	res, err := ra.Begin(ctx, providers.BeginRequest{CallbackURL: g.publicURL + "/callback/" + id})
	if err != nil {
		status, key, _ := g.classifyProviderError(ctx, id, err)
		g.fail(w, r, status, key, err)
		return
	}
	token := newToken()
	data, _ := json.Marshal(flowData{Provider: id, State: res.State, ReturnTo: inviteDonePath, Invite: inv})
	now := g.now()
	if err := g.store.CreateTicket(ctx, &store.Ticket{ID: ticketID(token), Purpose: flowPurpose, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(flowTTL)}); err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	http.SetCookie(w, g.flowCookie(token, int(flowTTL/time.Second)))
	if res.PostForm != nil {
		if u, err := url.Parse(res.RedirectURL); err == nil && u.Host != "" {
			w.Header().Set("Content-Security-Policy", contentSecurityPolicy(append(slices.Clone(g.formTargets), origin(u))))
		}
		g.renderPage(w, r, http.StatusOK, portal.PagePost, portal.PostPage{
			Base: g.base(w, r, nil, nil), Action: res.RedirectURL, Fields: res.PostForm, ProviderLabel: g.providerLabel(id, g.lang(r))})
		return
	}
	http.Redirect(w, r, res.RedirectURL, http.StatusFound)
}

// finishInviteLogin ends a provider's sign-in started from an invitation
// or login-method link: the identity is linked to the link's person, the
// link used, and the person signed in. It reports a refusal as
// finishLogin does (status, message key), or 0, "" when it answered.
func (g *Gateway) finishInviteLogin(w http.ResponseWriter, r *http.Request, p providers.Provider, id *providers.Identity,
	inv *flowInvite, current *store.Session, ev store.AuditEvent) (int, string) {
	_, err := g.account.FinishIdentity(r.Context(), inv.Kind, inv.TicketID, inv.UserID,
		account.Identity{ProviderID: p.ID(), Subject: id.Subject, Email: id.Email}, g.flowOrigin(r))
	switch {
	case errors.Is(err, account.ErrIdentityTaken):
		return http.StatusConflict, "invite.identity_taken"
	case errors.Is(err, account.ErrLinkExpired):
		return http.StatusGone, "invite.link_expired"
	case errors.Is(err, account.ErrLinkUsed):
		return http.StatusGone, "invite.link_used"
	case err != nil:
		g.log.Error("invitation identity failed", "request_id", requestID(r.Context()), "provider", p.ID(), "err", err)
		return storeFailure(w, err)
	}
	g.sessions.forgetUser(inv.UserID)
	return g.finishLogin(w, r, p, id, inviteDonePath, current, ev)
}

// inviteDone is the completion page after a provider's sign-in.
func (g *Gateway) inviteDone(w http.ResponseWriter, r *http.Request) {
	sess, user, _ := g.sessionIDs(r)
	g.renderPage(w, r, http.StatusOK, portal.PageInvite, portal.InvitePage{Base: g.base(w, r, sess, user), State: portal.InviteDone})
}

// inviteDirectory is a directory's sign-in from the page: its form
// (step "confirm"), then its post (step "directory"), whose identity is
// linked to the link's person as a redirect provider's callback does.
func (g *Gateway) inviteDirectory(w http.ResponseWriter, r *http.Request, p providers.PasswordAuthenticator, inv *flowInvite, page portal.InvitePage) {
	ctx := r.Context()
	page.State, page.Provider, page.MethodLabel = portal.InviteDirectory, p.ID(), g.providerLabel(p.ID(), page.Lang)
	if r.PostFormValue("step") == "confirm" {
		g.renderPage(w, r, http.StatusOK, portal.PageInvite, page)
		return
	}
	again := func(status int, key string) {
		page.ErrorKeys = []string{key}
		g.renderPage(w, r, status, portal.PageInvite, page)
	}
	login := strings.TrimSpace(foldASCII(r.PostFormValue("login")))
	password := r.PostFormValue("password")
	if login == "" || password == "" {
		again(http.StatusBadRequest, "login.error.required")
		return
	}
	ev := store.AuditEvent{Action: "login", Actor: truncate(login, 254), Detail: "provider=" + p.ID()}
	if g.throttled(w, r, ev) {
		return
	}
	id, err := p.Authenticate(ctx, login, password)
	if err != nil {
		status, key, reason := g.classifyProviderError(ctx, p.ID(), err)
		g.auditFailure(ctx, ev, reason)
		again(status, key)
		return
	}
	current, _, _ := g.sessions.Resolve(ctx, r)
	if status, key := g.finishInviteLogin(w, r, p, id, inv, current, ev); key != "" {
		again(status, key)
	}
}
