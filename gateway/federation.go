package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/store"
)

// errNotRegistered means a genuine identity maps to no user and may not
// create one: "not registered — ask your administrator".
var errNotRegistered = errors.New("gateway: identity not registered")

// A login flow binds a redirect-style provider's state to the browser that
// started it: the state lives in the store as a one-time ticket keyed by
// the SHA-256 of a random token, and the token lives in a cookie. The
// callback consumes the ticket, so a flow completes at most once, within
// flowTTL, in the browser that began it.
const (
	flowPurpose = "login_flow"
	flowTTL     = 10 * time.Minute
)

// flowData is what a login flow remembers.
type flowData struct {
	Provider string `json:"p"`
	State    []byte `json:"s"`
	ReturnTo string `json:"r"`
	// Invite, when set, links the identity to an invited person.
	Invite *flowInvite `json:"i,omitempty"`
}

func ticketID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// flowCookie is the cookie that carries a login flow's token. A SAML IdP
// on another site answers with a cross-site POST, which carries only
// SameSite=None cookies; browsers accept those only when Secure, so on
// http (development) the cookie is Lax.
func (g *Gateway) flowCookie(value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: "ssogate_flow", Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if g.secure {
		c.Name, c.Secure, c.SameSite = "__Host-ssogate_flow", true, http.SameSiteNoneMode
	}
	return c
}

// providerLogin starts a sign-in with provider {id}: a redirect to the
// external provider, or a directory's password form.
func (g *Gateway) providerLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	p, ok := g.providers.Get(id)
	if !ok || p.Type() == "local" {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	returnTo, _ := g.redirects.Safe(r.URL.Query().Get("return_to"))
	refuse := func(status int, key string) {
		page := g.loginView(w, r, returnTo)
		page.ErrorKey = key
		g.renderPage(w, r, status, portal.PageLogin, page)
	}
	if !g.policyAllows(id) {
		refuse(http.StatusForbidden, "login.error.method")
		return
	}
	hctx, cancel := context.WithTimeout(ctx, loginHealthWait)
	err := g.providerHealthy(hctx, p)
	cancel()
	if err != nil {
		g.log.Warn("provider temporarily unavailable", "request_id", requestID(ctx), "provider", id, "err", err)
		refuse(http.StatusServiceUnavailable, "login.error.unavailable")
		return
	}
	switch p := p.(type) {
	case providers.RedirectAuthenticator:
		res, err := p.Begin(ctx, providers.BeginRequest{
			CallbackURL: g.publicURL + "/callback/" + id,
			LoginHint:   truncate(r.URL.Query().Get("login_hint"), 254),
		})
		if err != nil {
			status, key, _ := g.classifyProviderError(ctx, id, err)
			refuse(status, key)
			return
		}
		token := newToken()
		data, _ := json.Marshal(flowData{Provider: id, State: res.State, ReturnTo: returnTo})
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
	case providers.PasswordAuthenticator:
		g.renderPage(w, r, http.StatusOK, portal.PageLogin, g.directoryView(w, r, id, returnTo))
	default:
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
	}
}

// directoryView is the password form of a directory provider (LDAP / AD).
func (g *Gateway) directoryView(w http.ResponseWriter, r *http.Request, id, returnTo string) portal.LoginPage {
	return portal.LoginPage{
		Base: g.base(w, r, nil, nil), ReturnTo: returnTo, ShowPasswordForm: true, DirectoryLogin: true,
		FormAction: "/login/" + id, PasswordLabel: g.providerLabel(id, g.lang(r)), OtherMethods: true,
	}
}

// providerLoginSubmit is a directory provider's password form.
func (g *Gateway) providerLoginSubmit(w http.ResponseWriter, r *http.Request) {
	p, ok := g.providers.Get(r.PathValue("id"))
	pa, isPassword := p.(providers.PasswordAuthenticator)
	if !ok || !isPassword || p.Type() == "local" {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	g.passwordLogin(w, r, pa, true)
}

// callback completes a redirect-style sign-in: the OIDC redirect (GET) or
// the SAML assertion consumer (POST). It carries no CSRF token by nature;
// the one-time, browser-bound flow and the provider's own checks (state,
// nonce, InResponseTo, signatures) protect it.
func (g *Gateway) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	p, ok := g.providers.Get(id)
	ra, isRedirect := p.(providers.RedirectAuthenticator)
	if !ok || !isRedirect {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	refuse := func(status int, key string) {
		page := g.loginView(w, r, "")
		page.ErrorKey = key
		g.renderPage(w, r, status, portal.PageLogin, page)
	}
	ev := store.AuditEvent{Action: "login", Detail: "provider=" + id}
	var flow flowData
	if c, err := r.Cookie(g.flowCookie("", 0).Name); err == nil && c.Value != "" {
		http.SetCookie(w, g.flowCookie("", -1))
		t, err := g.store.ConsumeTicket(ctx, flowPurpose, ticketID(c.Value), g.now())
		if errors.Is(err, store.ErrNotFound) {
			g.auditFailure(ctx, ev, "flow_expired_or_used")
			refuse(http.StatusBadRequest, "login.error.expired_flow")
			return
		}
		if err != nil {
			g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
			return
		}
		if err := json.Unmarshal(t.Data, &flow); err != nil || flow.Provider != id {
			g.auditFailure(ctx, ev, "flow_mismatch")
			refuse(http.StatusBadRequest, "login.error.invalid_response")
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		refuse(http.StatusBadRequest, "login.error.invalid_response")
		return
	}
	var form = r.PostForm
	if r.Method != http.MethodPost {
		form = nil
	}
	ident, err := ra.Complete(ctx, providers.CompleteRequest{
		CallbackURL: g.publicURL + "/callback/" + id, Query: r.URL.Query(), Form: form, State: flow.State,
	})
	if err != nil {
		status, key, reason := g.classifyProviderError(ctx, id, err)
		g.auditFailure(ctx, ev, reason)
		refuse(status, key)
		return
	}
	current, _, _ := g.sessions.Resolve(ctx, r)
	if flow.Invite != nil {
		if status, key := g.finishInviteLogin(w, r, p, ident, flow.Invite, current, ev); key != "" {
			refuse(status, key)
		}
		return
	}
	if status, key := g.finishLogin(w, r, p, ident, flow.ReturnTo, current, ev); key != "" {
		refuse(status, key)
	}
}

// samlMetadata serves a provider's SP metadata.
func (g *Gateway) samlMetadata(w http.ResponseWriter, r *http.Request) {
	p, ok := g.providers.Get(r.PathValue("id"))
	mp, isMeta := p.(providers.MetadataPublisher)
	if !ok || !isMeta {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	md, err := mp.Metadata(r.Context())
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(md)
}

// federation returns the linking settings of provider id, or nil.
func (g *Gateway) federation(id string) *config.Federation {
	for i := range g.cfg.Providers {
		if g.cfg.Providers[i].ID == id {
			return g.cfg.Providers[i].Federated()
		}
	}
	return nil
}

// userFor maps a provider's identity to a gateway user. Local accounts use
// the user id as subject; a federated identity is found by its link, else
// linked by verified email, else provisioned, else refused (see
// config.Federation).
func (g *Gateway) userFor(ctx context.Context, p providers.Provider, id *providers.Identity) (*store.User, error) {
	if p.Type() == "local" {
		return g.store.GetUser(ctx, id.Subject)
	}
	fed := g.federation(p.ID())
	if fed == nil || id.Subject == "" {
		return nil, errNotRegistered
	}
	u, err := g.store.UserByIdentity(ctx, p.ID(), id.Subject)
	if err == nil {
		_ = g.store.TouchIdentity(ctx, p.ID(), id.Subject, g.now())
		return g.applyProviderData(ctx, u, fed, id)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	email := strings.ToLower(strings.TrimSpace(id.Email))
	domain := domainOf(email)
	if domain == "" || !id.EmailVerified {
		return nil, errNotRegistered
	}
	link := func(u *store.User, action string) (*store.User, error) {
		now := g.now()
		if err := g.store.LinkIdentity(ctx, &store.IdentityLink{ProviderID: p.ID(), Subject: id.Subject, UserID: u.ID,
			Email: email, CreatedAt: now, LastUsedAt: now}); err != nil {
			return nil, fmt.Errorf("link identity: %w", err)
		}
		g.auditSuccess(ctx, store.AuditEvent{Action: action, UserID: u.ID, Actor: u.Email, Detail: "provider=" + p.ID()})
		return g.applyProviderData(ctx, u, fed, id)
	}
	if slices.Contains(fed.LinkDomains, domain) {
		u, err := g.store.GetUserByEmail(ctx, email)
		if err == nil {
			return link(u, "identity_link")
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	if fed.Provision && slices.Contains(fed.ProvisionDomains, domain) &&
		(len(fed.ProvisionGroups) == 0 || anyGroup(id.Groups, fed.ProvisionGroups)) {
		now := g.now()
		u := &store.User{Email: email, DisplayName: orDefault(strings.TrimSpace(id.DisplayName), email),
			Role: store.RoleUser, Status: store.StatusActive, CreatedAt: now, UpdatedAt: now}
		if err := g.store.CreateUser(ctx, u); errors.Is(err, store.ErrConflict) {
			// A user with this email exists but this provider may not link
			// to it by email: an administrator decides.
			return nil, errNotRegistered
		} else if err != nil {
			return nil, err
		}
		return link(u, "user_provision")
	}
	return nil, errNotRegistered
}

// applyProviderData overwrites the fields the provider owns and, with a
// group mapping, the user's groups.
func (g *Gateway) applyProviderData(ctx context.Context, u *store.User, fed *config.Federation, id *providers.Identity) (*store.User, error) {
	updated := *u
	for _, f := range fed.OwnedFields {
		switch f {
		case "display_name":
			if v := strings.TrimSpace(id.DisplayName); v != "" {
				updated.DisplayName = truncate(v, 400)
			}
		case "phone":
			updated.Phone = truncate(id.Phone, 64)
		case "mobile":
			updated.Mobile = truncate(id.Mobile, 64)
		case "organization":
			updated.Organization = truncate(id.Organization, 400)
		case "department":
			updated.Department = truncate(id.Department, 400)
		}
	}
	if len(fed.GroupMapping) > 0 {
		updated.Groups = mapGroups(fed.GroupMapping, id.Groups)
	}
	if len(changedFields(u, &updated)) == 0 && slices.Equal(u.Groups, updated.Groups) {
		return u, nil
	}
	if err := g.store.UpdateUser(ctx, &updated); err != nil {
		return nil, fmt.Errorf("update user from provider: %w", err)
	}
	g.sessions.forgetUser(u.ID)
	return &updated, nil
}

// mapGroups applies the mapping rules to a provider's groups, in rule
// order, without duplicates.
func mapGroups(rules []config.GroupRule, groups []string) []string {
	var out []string
	for _, rule := range rules {
		if !anyGroup(groups, []string{rule.From}) {
			continue
		}
		for _, to := range rule.To {
			if !slices.Contains(out, to) {
				out = append(out, to)
			}
		}
	}
	return out
}

// anyGroup reports whether groups and want share a name, case-insensitively
// (LDAP DNs and AD group names are case-insensitive).
func anyGroup(groups, want []string) bool {
	for _, g := range groups {
		for _, w := range want {
			if strings.EqualFold(g, w) {
				return true
			}
		}
	}
	return false
}

func domainOf(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 {
		return ""
	}
	return email[at+1:]
}

// managedFields returns, for the user's linked providers, the profile
// fields each owns, mapped to the provider's label in lang.
func (g *Gateway) managedFields(ctx context.Context, userID, lang string) (map[string]string, error) {
	links, err := g.store.ListUserIdentities(ctx, userID)
	if err != nil {
		return nil, err
	}
	managed := map[string]string{}
	for _, l := range links {
		fed := g.federation(l.ProviderID)
		if fed == nil {
			continue
		}
		for _, f := range fed.OwnedFields {
			managed[f] = g.providerLabel(l.ProviderID, lang)
		}
	}
	return managed, nil
}
