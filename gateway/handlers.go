package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// maxFormBytes bounds every form body.
const maxFormBytes = 64 << 10

// maxUploadBytes bounds a multipart body (a CSV file of invitations:
// some 10,000 rows).
const maxUploadBytes = 1 << 20

func (g *Gateway) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", g.home)
	mux.HandleFunc("GET /login", g.loginPage)
	mux.HandleFunc("POST /login", g.loginSubmit)
	mux.HandleFunc("GET /login/{id}", g.providerLogin)
	mux.HandleFunc("POST /login/{id}", g.providerLoginSubmit)
	mux.HandleFunc("GET /login/passkey", g.passkeyLoginPage)
	mux.HandleFunc("POST /login/passkey", g.passkeyLoginSubmit)
	mux.HandleFunc("GET /callback/{id}", g.callback)
	mux.HandleFunc("POST /callback/{id}", g.callback)
	mux.HandleFunc("GET /saml/{id}/metadata", g.samlMetadata)
	mux.HandleFunc("GET /unlock", g.unlockPage)
	mux.HandleFunc("POST /unlock", g.unlockSubmit)
	g.inviteRoutes(mux)
	mux.HandleFunc("GET /logout", g.logoutPage)
	mux.HandleFunc("POST /logout", g.logoutSubmit)
	mux.HandleFunc("GET /me", g.profilePage)
	mux.HandleFunc("POST /me", g.profileSubmit)
	mux.HandleFunc("POST /lang", g.setLang)
	mux.HandleFunc("GET /account", g.accountMenu)
	mux.HandleFunc("GET /account/password", g.changePasswordPage)
	mux.HandleFunc("POST /account/password", g.changePasswordSubmit)
	mux.HandleFunc("GET /account/email", g.emailPage)
	mux.HandleFunc("POST /account/email", g.emailSubmit)
	g.twoStepRoutes(mux)
	g.deviceRoutes(mux)
	mux.HandleFunc("GET "+stepUpPath, g.stepUpPage)
	mux.HandleFunc("GET /account/sessions", g.sessionsPage)
	mux.HandleFunc("POST /account/sessions", g.sessionsSubmit)
	mux.HandleFunc("GET /password/forgot", g.forgotPage)
	mux.HandleFunc("POST /password/forgot", g.forgotSubmit)
	mux.HandleFunc("GET "+identityCheckPath, g.identityCheckPage)
	mux.HandleFunc("POST "+identityCheckPath, g.identityCheckSubmit)
	mux.HandleFunc("GET /password/reset", g.resetPage)
	mux.HandleFunc("POST /password/reset", g.resetSubmit)
	mux.HandleFunc("GET /email/change", g.emailLinkPage)
	mux.HandleFunc("POST /email/change", g.emailLinkSubmit)
	mux.HandleFunc("GET /email/confirm", g.emailConfirmPage)
	mux.HandleFunc("POST /email/confirm", g.emailConfirmSubmit)
	g.auditRoutes(mux)
	mux.HandleFunc("GET /.well-known/jwks.json", g.jwks)
	mux.HandleFunc("GET /healthz", g.healthz)
	mux.HandleFunc("GET /readyz", g.readyz)
	g.adminUserRoutes(mux)
	g.oidcProviderRoutes(mux)
	g.samlIdPRoutes(mux)
	mux.Handle("GET /static/", portal.Static())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
	})
	return mux
}

// lang picks the page language: the person's choice, else Accept-Language.
func (g *Gateway) lang(r *http.Request) string {
	var choice string
	if c, err := r.Cookie(g.langCk); err == nil {
		choice = c.Value
	}
	return portal.MatchLanguage(choice, r.Header.Get("Accept-Language"), g.cfg.Portal.DefaultLanguage)
}

// base fills what every page needs.
func (g *Gateway) base(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User) portal.Base {
	lang := g.lang(r)
	b := portal.Base{
		Lang:      lang,
		SiteTitle: g.cfg.Portal.Title.In(lang),
		Path:      r.URL.RequestURI(),
		RequestID: requestID(r.Context()),
	}
	sid := ""
	if sess != nil {
		sid = sess.ID
	}
	b.CSRFToken = g.csrf.token(w, r, sid)
	if user != nil {
		b.User = &portal.UserHeader{LoginID: user.Email, Name: user.DisplayName, ShortID: account.ShortID(user.ID)}
	}
	return b
}

// fail logs err (if any) with the request id and renders a safe error page.
// A server error caused by a store that cannot write becomes the 503 of
// storeFailure, whatever status and key the caller chose.
func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, status int, key string, err error) {
	ctx := r.Context()
	if status >= 500 && errors.Is(err, store.ErrUnavailable) {
		status, key = storeFailure(w, err)
	}
	if err != nil {
		level := slog.LevelWarn
		if status >= 500 {
			level = slog.LevelError
		}
		g.log.LogAttrs(ctx, level, "request failed",
			slog.String("request_id", requestID(ctx)),
			slog.Int("status", status),
			slog.String("err", err.Error()))
	}
	sess, user, _ := g.sessions.Resolve(ctx, r)
	page := portal.ErrorPage{Base: g.base(w, r, sess, user), Status: status, MessageKey: key}
	g.renderPage(w, r, status, portal.PageError, page)
}

// retryAfterStore is the Retry-After, in seconds, of a request that could
// not save because the store cannot write.
const retryAfterStore = "30"

// storeFailure is the status and message key for a request that failed
// on a store call. A store that cannot save right now (store.ErrUnavailable:
// disk full, read-only, overloaded) is a 503 with Retry-After that says
// so, since trying again later can work; anything else is a 500.
func storeFailure(w http.ResponseWriter, err error) (int, string) {
	if errors.Is(err, store.ErrUnavailable) {
		w.Header().Set("Retry-After", retryAfterStore)
		return http.StatusServiceUnavailable, "error.store_unavailable"
	}
	return http.StatusInternalServerError, "error.internal"
}

func (g *Gateway) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	if s, ok := data.(portal.Scripted); ok && s.UsesScript() {
		g.allowScript(w)
	}
	if err := g.render.Render(w, status, name, data); err != nil {
		g.log.Error("render failed", "request_id", requestID(r.Context()), "page", name, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
}

// requireSession returns the signed-in session and user, or sends the
// browser to the login page (returning here afterwards) and returns false.
func (g *Gateway) requireSession(w http.ResponseWriter, r *http.Request) (*store.Session, *store.User, bool) {
	sess, user, err := g.sessions.Resolve(r.Context(), r)
	switch {
	case err == nil:
		return sess, user, true
	case errors.Is(err, errNoSession):
		login := "/login"
		if target, ok := g.redirects.Safe(r.URL.RequestURI()); ok {
			login += "?return_to=" + url.QueryEscape(target)
		}
		http.Redirect(w, r, login, http.StatusSeeOther)
	default:
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
	}
	return nil, nil, false
}

// requireSessionForm is requireSession for a signed-in person's form:
// the session, then the bounded body and its CSRF token bound to it.
func (g *Gateway) requireSessionForm(w http.ResponseWriter, r *http.Request) (*store.Session, *store.User, bool) {
	sess, user, ok := g.requireSession(w, r)
	if !ok || !g.parseForm(w, r, sess.ID) {
		return nil, nil, false
	}
	return sess, user, true
}

// parseForm bounds and parses a POST body and checks its CSRF token against
// the browser and the given session ids. It answers the request and
// returns false when either fails.
func (g *Gateway) parseForm(w http.ResponseWriter, r *http.Request, sessionIDs ...string) bool {
	// A file upload (the console's CSV invitations) is a multipart body,
	// which ParseForm leaves unread, and may be larger than a form.
	multi := strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
	limit := int64(maxFormBytes)
	if multi {
		limit = maxUploadBytes
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	err := r.ParseForm()
	if err == nil && multi {
		err = r.ParseMultipartForm(maxUploadBytes)
	}
	if err != nil {
		g.fail(w, r, http.StatusBadRequest, "error.bad_request", err)
		return false
	}
	if !g.csrf.valid(r, sessionIDs...) {
		g.log.Warn("csrf token rejected", "request_id", requestID(r.Context()), "path", r.URL.Path)
		g.fail(w, r, http.StatusForbidden, "error.csrf", nil)
		return false
	}
	return true
}

func (g *Gateway) home(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := g.requireSession(w, r)
	if !ok {
		return
	}
	page := portal.HomePage{Base: g.base(w, r, sess, user), Tiles: g.tiles(user, g.lang(r))}
	g.renderPage(w, r, http.StatusOK, portal.PageHome, page)
}

// tiles returns the services user may use, in configuration order.
func (g *Gateway) tiles(user *store.User, lang string) []portal.Tile {
	var out []portal.Tile
	for _, s := range g.services {
		if !s.allows(user) {
			continue
		}
		out = append(out, portal.Tile{ID: s.cfg.ID, Name: s.cfg.Name.In(lang), Description: s.cfg.Description.In(lang),
			Icon: s.cfg.Icon, URL: g.tileURL(s)})
	}
	if user.Role == store.RoleAdmin {
		out = append(out, adminTile(lang))
	}
	return out
}

// tileURL is where a service's tile leads: an app that signs in through
// the gateway's OpenID Provider or SAML IdP is launched signed in;
// anything else is opened at its URL.
func (g *Gateway) tileURL(s *service) string {
	switch {
	case s.cfg.OIDC != nil:
		return g.oidcLaunchURL(s)
	case s.cfg.SAML != nil:
		return g.samlLaunchURL(s)
	}
	return s.cfg.URL
}

// allows reports whether user is in one of the service's groups (or the
// service is open to every signed-in user).
func (s *service) allows(user *store.User) bool {
	if len(s.groups) == 0 {
		return true
	}
	for _, gname := range user.Groups {
		if s.groups[gname] {
			return true
		}
	}
	return false
}

// loginView is the main login page for returnTo: the local password form
// (unless hidden by policy) and a button per other allowed provider.
func (g *Gateway) loginView(w http.ResponseWriter, r *http.Request, returnTo string) portal.LoginPage {
	page := portal.LoginPage{Base: g.base(w, r, nil, nil), ReturnTo: returnTo}
	if lp, label := g.localProvider(page.Lang); lp != nil && !g.cfg.Policy.HidePasswordForm && g.policyAllows(lp.ID()) {
		page.ShowPasswordForm, page.PasswordLabel = true, label
		page.ForgotPassword = true
	}
	page.Passkey = g.passkeyOn()
	var buttons []providers.Provider
	for _, p := range g.providers.All() {
		_, redirect := p.(providers.RedirectAuthenticator)
		_, password := p.(providers.PasswordAuthenticator)
		if p.Type() == "local" || !(redirect || password) || !g.policyAllows(p.ID()) {
			continue
		}
		buttons = append(buttons, p)
	}
	// Health answers from a cache; a check that is running is waited for
	// only briefly, so that a hanging directory cannot hold the page.
	ctx, cancel := context.WithTimeout(r.Context(), loginHealthWait)
	defer cancel()
	health := g.providersHealth(ctx, buttons)
	for i, p := range buttons {
		u := "/login/" + p.ID()
		if returnTo != "" {
			u += "?return_to=" + url.QueryEscape(returnTo)
		}
		page.Providers = append(page.Providers, portal.ProviderButton{ID: p.ID(), Label: g.providerLabel(p.ID(), page.Lang), URL: u,
			Unavailable: health[i] != nil})
	}
	return page
}

// loginHealthWait bounds how long the login page waits for providers'
// health; readyzWait bounds the whole of /readyz.
const (
	loginHealthWait = 500 * time.Millisecond
	readyzWait      = 2 * time.Second
)

// localProvider returns the first local provider and its label in lang.
func (g *Gateway) localProvider(lang string) (providers.PasswordAuthenticator, string) {
	for _, p := range g.providers.All() {
		if pa, ok := p.(providers.PasswordAuthenticator); ok && p.Type() == "local" {
			return pa, g.providerLabel(p.ID(), lang)
		}
	}
	return nil, ""
}

// providerLabel is the configured label of provider id in lang, or its id.
func (g *Gateway) providerLabel(id, lang string) string {
	for _, pc := range g.cfg.Providers {
		if pc.ID == id {
			if label := pc.Label.In(lang); label != "" {
				return label
			}
			break
		}
	}
	if p, ok := g.providers.Get(id); ok && p.Type() == "local" {
		return ""
	}
	return id
}

// policyAllows reports whether the organisation allows signing in with
// provider id.
func (g *Gateway) policyAllows(id string) bool {
	m := g.cfg.Policy.LoginMethods
	return len(m) == 0 || slices.Contains(m, id)
}

func (g *Gateway) loginPage(w http.ResponseWriter, r *http.Request) {
	returnTo, _ := g.redirects.Safe(r.URL.Query().Get("return_to"))
	// reauth=1 comes from a service that needs a fresher sign-in than the
	// session has: show the page although a session exists.
	reauth := r.URL.Query().Get("reauth") == "1"
	if _, _, err := g.sessions.Resolve(r.Context(), r); err == nil && !reauth {
		http.Redirect(w, r, orDefault(returnTo, "/"), http.StatusSeeOther)
		return
	}
	page := g.loginView(w, r, returnTo)
	switch {
	case r.URL.Query().Get("logged_out") == "1":
		page.NoticeKey = "logout.done"
	case r.URL.Query().Get("password_reset") == "1":
		page.NoticeKey = "password.reset.done"
	case r.URL.Query().Get("session_ended") == "kept":
		page.NoticeKey = "login.session_ended_kept"
	case r.URL.Query().Get("session_ended") == "lost":
		page.NoticeKey = "login.session_ended"
	}
	g.renderPage(w, r, http.StatusOK, portal.PageLogin, page)
}

func (g *Gateway) loginSubmit(w http.ResponseWriter, r *http.Request) {
	lp, _ := g.localProvider("")
	if lp == nil || g.cfg.Policy.HidePasswordForm {
		g.fail(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	g.passwordLogin(w, r, lp, false)
}

// passwordLogin handles a password form for p: the local form at /login,
// or a directory's at /login/<id>.
func (g *Gateway) passwordLogin(w http.ResponseWriter, r *http.Request, p providers.PasswordAuthenticator, directory bool) {
	ctx := r.Context()
	current, _, _ := g.sessions.Resolve(ctx, r)
	sids := []string{""}
	if current != nil {
		sids = append(sids, current.ID)
	}
	if !g.parseForm(w, r, sids...) {
		return
	}
	login := strings.TrimSpace(foldASCII(r.PostFormValue("email")))
	password := r.PostFormValue("password")
	returnTo, _ := g.redirects.Safe(r.PostFormValue("return_to"))

	again := func(status int, key string) {
		var page portal.LoginPage
		if directory {
			page = g.directoryView(w, r, p.ID(), returnTo)
		} else {
			page = g.loginView(w, r, returnTo)
		}
		page.Email, page.ErrorKey = truncate(login, 254), key
		g.renderPage(w, r, status, portal.PageLogin, page)
	}
	if login == "" || password == "" {
		again(http.StatusBadRequest, "login.error.required")
		return
	}
	ev := store.AuditEvent{Action: "login", Actor: truncate(login, 254), Detail: "provider=" + p.ID()}
	if !g.policyAllows(p.ID()) {
		g.auditFailure(ctx, ev, "method_not_allowed")
		again(http.StatusForbidden, "login.error.method")
		return
	}
	if g.throttled(w, r, ev) {
		return
	}
	id, err := p.Authenticate(ctx, login, password)
	r, id, refusal, err := g.lockout(w, r, p, directory, login, id, err)
	if err != nil {
		status, key, reason := g.classifyProviderError(ctx, p.ID(), err)
		g.auditFailure(ctx, ev, cmp.Or(refusal, reason))
		if errors.Is(err, providers.ErrBusy) {
			w.Header().Set("Retry-After", retryAfterBusy)
		}
		again(status, key)
		return
	}
	if status, key := g.finishLogin(w, r, p, id, returnTo, current, ev); key != "" {
		again(status, key)
		return
	}
	g.rehash(ctx, p, id, password, ev.Actor)
}

// retryAfterBusy is the Retry-After, in seconds, of a sign-in refused
// because too many password hashes are queued: a storm's queue drains in
// seconds, and a client that honours it should not come back at once.
const retryAfterBusy = "5"

// rehasher is a password provider that keeps the hashes itself (local):
// after a successful sign-in it can bring a hash made with an older cost
// up to the current one. It returns the old and new cost, or "" when
// there was nothing to do.
type rehasher interface {
	Rehash(ctx context.Context, id *providers.Identity, password string) (from, to string, err error)
}

// rehash stores the password of a sign-in just made with the current
// hashing cost, when p keeps hashes and this one is out of date, so that a
// cost change reaches every account as people sign in. A failure (busy)
// only delays it to the next sign-in.
func (g *Gateway) rehash(ctx context.Context, p providers.PasswordAuthenticator, id *providers.Identity, password, actor string) {
	rh, ok := p.(rehasher)
	if !ok {
		return
	}
	from, to, err := rh.Rehash(ctx, id, password)
	switch {
	case err != nil:
		g.log.Warn("password rehash failed; the next sign-in tries again", "request_id", requestID(ctx),
			"provider", p.ID(), "user_id", id.Subject, "err", err)
	case from != "":
		g.auditSuccess(ctx, store.AuditEvent{Action: "password_rehash", UserID: id.Subject, Actor: actor,
			Detail: "provider=" + p.ID() + " from=" + from + " to=" + to})
	}
}

// classifyProviderError turns a provider's error into a status, the
// message key the person sees and the audit reason. Failures that are not
// the person's doing are logged.
func (g *Gateway) classifyProviderError(ctx context.Context, provider string, err error) (int, string, string) {
	var acct *providers.AccountError
	switch {
	case errors.Is(err, providers.ErrInvalidCredentials):
		return http.StatusUnauthorized, "login.error.invalid", "invalid_credentials"
	case errors.As(err, &acct):
		key := map[string]string{
			providers.ReasonLocked: "login.error.locked", providers.ReasonDisabled: "login.error.account_disabled",
			providers.ReasonExpired: "login.error.account_expired", providers.ReasonPasswordExpired: "login.error.password_expired",
			providers.ReasonMustChangePassword: "login.error.must_change_password",
		}[acct.Reason]
		if key == "" {
			key = "login.error.disabled"
		}
		return http.StatusForbidden, key, "account_" + acct.Reason
	case errors.Is(err, providers.ErrAccountDisabled):
		return http.StatusForbidden, "login.error.disabled", "account_disabled"
	case errors.Is(err, providers.ErrBusy):
		return http.StatusServiceUnavailable, "login.error.busy", "busy"
	case errors.Is(err, providers.ErrDenied):
		g.log.Info("sign-in denied at the provider", "request_id", requestID(ctx), "provider", provider, "err", err)
		return http.StatusUnauthorized, "login.error.denied", "denied"
	case errors.Is(err, providers.ErrNotAllowed):
		g.log.Info("identity not allowed", "request_id", requestID(ctx), "provider", provider, "err", err)
		return http.StatusForbidden, "login.error.not_allowed", "not_allowed"
	case errors.Is(err, providers.ErrInvalidResponse):
		g.log.Warn("invalid response from provider", "request_id", requestID(ctx), "provider", provider, "err", err)
		return http.StatusBadRequest, "login.error.invalid_response", "invalid_response"
	case errors.Is(err, providers.ErrUnavailable):
		g.log.Error("provider unavailable", "request_id", requestID(ctx), "provider", provider, "err", err)
		return http.StatusServiceUnavailable, "login.error.unavailable", "provider_unavailable"
	default:
		g.log.Error("provider failed", "request_id", requestID(ctx), "provider", provider, "err", err)
		return http.StatusServiceUnavailable, "error.internal", "provider_error"
	}
}

// finishLogin turns a proven identity into a session: it finds (or links,
// or provisions) the user, checks status and login-method policy, ends any
// current session, starts a new one and sends the browser on. It returns
// a status and message key when the sign-in is refused (nothing written).
func (g *Gateway) finishLogin(w http.ResponseWriter, r *http.Request, p providers.Provider, id *providers.Identity,
	returnTo string, current *store.Session, ev store.AuditEvent) (int, string) {
	ctx := r.Context()
	user, err := g.userFor(ctx, p, id)
	switch {
	case errors.Is(err, errNotRegistered):
		ev.Actor = orDefault(ev.Actor, truncate(id.Email, 254))
		g.auditFailure(ctx, ev, "not_registered")
		return http.StatusForbidden, "login.error.not_registered"
	case errors.Is(err, store.ErrNotFound):
		g.auditFailure(ctx, ev, "no_user")
		return http.StatusUnauthorized, "login.error.invalid"
	case err != nil:
		g.log.Error("user lookup failed", "request_id", requestID(ctx), "provider", p.ID(), "err", err)
		return storeFailure(w, err)
	}
	ev.UserID = user.ID
	ev.Actor = orDefault(ev.Actor, user.Email)
	if user.Status != store.StatusActive && !trustedLocked(ctx, user) {
		g.auditFailure(ctx, ev, "account_"+string(user.Status))
		return http.StatusForbidden, "login.error.disabled"
	}
	if len(user.LoginMethods) > 0 && !slices.Contains(user.LoginMethods, p.ID()) {
		g.auditFailure(ctx, ev, "method_not_allowed")
		return http.StatusForbidden, "login.error.method"
	}
	amr := id.AMR
	if len(amr) == 0 {
		amr = []string{"pwd"}
	}
	// The line the sign-in came through is a factor of its own (amr
	// "net"): 2-step verification is not asked from a registered line.
	line := g.lineFor(ctx, clientIP(ctx))
	if line != "" && !slices.Contains(amr, "net") {
		amr = append(slices.Clone(amr), "net")
	}
	// The second step, when the policy asks it, comes before any
	// session: the browser waits at /login/2fa with a pending sign-in.
	if waits, status, key := g.secondStep(w, r, p, user, amr, line, returnTo); waits {
		return status, key
	}
	// Device approval, when on, comes last: a new browser waits for an
	// administrator at /login/device.
	if waits, status, key := g.deviceStep(w, r, p.ID(), user, amr, line, returnTo); waits {
		return status, key
	}
	// A new session at every sign-in: the old one, if any, ends here.
	if current != nil {
		if err := g.store.DeleteSession(ctx, current.ID); err != nil {
			g.log.Error("end previous session failed", "request_id", requestID(ctx), "err", err)
			return storeFailure(w, err)
		}
		g.sessions.forget(current.ID)
		g.handoffs.forget(current.ID)
	}
	next, err := g.sessions.Create(ctx, w, r, user, amr, clientIP(ctx).String(), line)
	if err != nil {
		g.log.Error("create session failed", "request_id", requestID(ctx), "err", err)
		return storeFailure(w, err)
	}
	if current != nil {
		g.handOverApps(ctx, current, next)
	}
	if err := g.store.RecordLogin(ctx, user.ID, g.now()); err != nil {
		g.log.Error("record login failed", "request_id", requestID(ctx), "err", err)
	}
	g.auditSuccess(ctx, ev)
	http.Redirect(w, r, orDefault(returnTo, "/"), http.StatusSeeOther)
	return 0, ""
}

func (g *Gateway) logoutPage(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := g.requireSession(w, r)
	if !ok {
		return
	}
	g.renderPage(w, r, http.StatusOK, portal.PageLogout, portal.LogoutPage{Base: g.base(w, r, sess, user)})
}

func (g *Gateway) logoutSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, user, err := g.sessions.Resolve(ctx, r)
	if err != nil {
		// Nothing to end; a stale form lands on the login page.
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if !g.parseForm(w, r, sess.ID) {
		return
	}
	if _, err := g.sessions.Destroy(ctx, w, r); err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	g.handoffs.forget(sess.ID)
	g.auditSuccess(ctx, store.AuditEvent{Action: "logout", UserID: user.ID, Actor: user.Email})
	g.logoutApps(w, r, sess, "/login?logged_out=1")
}

func (g *Gateway) profilePage(w http.ResponseWriter, r *http.Request) {
	sess, user, ok := g.requireSession(w, r)
	if !ok {
		return
	}
	page := g.profileView(w, r, sess, user)
	page.Form = portal.ProfileForm{DisplayName: user.DisplayName, Phone: user.Phone, Mobile: user.Mobile,
		Organization: user.Organization, Department: user.Department}
	page.Saved = r.URL.Query().Get("saved") == "1"
	if draft, ok := g.takeDraft(w, r, user); ok {
		// Fields a provider owns stay as stored: they cannot be edited.
		for f := range page.Managed {
			setProfileField(&draft, f, profileValue(user, f))
		}
		page.Form, page.Saved, page.NoticeKey = draft, false, "profile.draft_restored"
	}
	g.renderPage(w, r, http.StatusOK, portal.PageProfile, page)
}

func (g *Gateway) profileView(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User) portal.ProfilePage {
	managed, err := g.managedFields(r.Context(), user.ID, g.lang(r))
	if err != nil {
		g.log.Error("managed fields lookup failed", "request_id", requestID(r.Context()), "err", err)
	}
	return portal.ProfilePage{
		Base: g.base(w, r, sess, user), Email: user.Email, Groups: user.Groups, Managed: managed,
		PreviousLogin: user.PreviousLoginAt, SessionIP: sess.ClientIP, SessionLine: sess.Line,
		DraftOwner: g.draftOwner(w, r, user.ID), MobileForSMS: slices.Contains(g.account.EnrolMethods(), "sms"),
	}
}

func (g *Gateway) profileSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, user, err := g.sessions.Resolve(ctx, r)
	switch {
	case errors.Is(err, errNoSession):
		g.profileSessionEnded(w, r)
		return
	case err != nil:
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	if !g.parseForm(w, r, sess.ID) {
		return
	}
	// Fields a linked provider owns keep their stored value, whatever was
	// submitted: the provider overwrites them at each sign-in anyway.
	managed, err := g.managedFields(ctx, user.ID, "")
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	for f := range managed {
		r.PostForm.Set(f, profileValue(user, f))
	}
	form, errs := validateProfile(r.PostForm)
	for f := range managed {
		delete(errs, f)
	}
	if len(errs) > 0 {
		page := g.profileView(w, r, sess, user)
		page.Form, page.Errors = form, errs
		g.renderPage(w, r, http.StatusBadRequest, portal.PageProfile, page)
		return
	}
	// Start from the stored record, not the cached one: the cache may be a
	// few seconds old, and writing it back could undo an admin's change.
	fresh, err := g.store.GetUser(ctx, user.ID)
	if err != nil {
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	}
	updated := *fresh
	updated.DisplayName, updated.Phone, updated.Mobile = form.DisplayName, form.Phone, form.Mobile
	updated.Organization, updated.Department = form.Organization, form.Department
	changed := changedFields(fresh, &updated)
	if len(changed) > 0 {
		if err := g.store.UpdateUser(ctx, &updated); err != nil {
			g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
			return
		}
		g.sessions.forgetUser(user.ID)
		g.auditSuccess(ctx, store.AuditEvent{Action: "profile_update", UserID: user.ID, Actor: user.Email,
			Detail: "fields=" + strings.Join(changed, ",")})
	}
	http.Redirect(w, r, "/me?saved=1", http.StatusSeeOther)
}

// setProfileField sets field of form to v.
func setProfileField(form *portal.ProfileForm, field, v string) {
	switch field {
	case "display_name":
		form.DisplayName = v
	case "phone":
		form.Phone = v
	case "mobile":
		form.Mobile = v
	case "organization":
		form.Organization = v
	case "department":
		form.Department = v
	}
}

// profileValue is the stored value of a profile field.
func profileValue(u *store.User, field string) string {
	switch field {
	case "display_name":
		return u.DisplayName
	case "phone":
		return u.Phone
	case "mobile":
		return u.Mobile
	case "organization":
		return u.Organization
	case "department":
		return u.Department
	}
	return ""
}

func changedFields(a, b *store.User) []string {
	var out []string
	for _, f := range []struct {
		name string
		x, y string
	}{
		{"display_name", a.DisplayName, b.DisplayName},
		{"phone", a.Phone, b.Phone},
		{"mobile", a.Mobile, b.Mobile},
		{"organization", a.Organization, b.Organization},
		{"department", a.Department, b.Department},
	} {
		if f.x != f.y {
			out = append(out, f.name)
		}
	}
	return out
}

func (g *Gateway) setLang(w http.ResponseWriter, r *http.Request) {
	sess, user, _ := g.sessions.Resolve(r.Context(), r)
	sids := []string{""}
	if sess != nil {
		sids = append(sids, sess.ID)
	}
	if !g.parseForm(w, r, sids...) {
		return
	}
	lang := r.PostFormValue("lang")
	if !slices.Contains(portal.Languages(), lang) {
		g.fail(w, r, http.StatusBadRequest, "error.bad_request", nil)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: g.langCk, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		Secure: g.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	if user != nil {
		g.rememberLanguage(r.Context(), user, lang)
	}
	http.Redirect(w, r, g.redirects.SamePage(r.PostFormValue("return_to")), http.StatusSeeOther)
}

// rememberLanguage keeps lang on the user record, where the mails sent to
// the person (lock, reset, email change) take their language from. A
// failure costs only the mail's language, so it is logged, not shown.
func (g *Gateway) rememberLanguage(ctx context.Context, user *store.User, lang string) {
	// The record as stored now, not as cached: the cached copy may not yet
	// show this person's previous choice (so comparing with it could skip
	// a needed write), and a change made meanwhile elsewhere (groups,
	// status) must not be written back over.
	u, err := g.store.GetUser(ctx, user.ID)
	if err == nil && u.Language == lang {
		return
	}
	if err == nil {
		u.Language = lang
		err = g.store.UpdateUser(ctx, u)
	}
	if err != nil {
		g.log.Warn("remembering the person's language failed", "request_id", requestID(ctx), "user_id", user.ID, "err", err)
	}
}

func (g *Gateway) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz answers 200 while the gateway can serve: the store answers.
// The first line is "ok" when every provider is healthy too, else
// "degraded"; then one line per provider, "provider ID: ok" or
// "provider ID: unavailable: reason". A provider that cannot answer (the
// IdP's metadata or discovery failing, the directory down, a plugin
// restarting) does not make the replica unready: people already signed
// in and every other provider still work, and a load balancer that took
// every replica out for one IdP's outage would stop them all. Only a
// store that does not answer gives 503.
func (g *Gateway) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyzWait)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	all := g.providers.All()
	health := make(chan []error, 1)
	go func() { health <- g.providersHealth(ctx, all) }()
	if err := g.store.Ping(ctx); err != nil {
		msg := "store: unreachable"
		if errors.Is(err, store.ErrUnavailable) {
			msg = "store: cannot write"
		}
		g.log.Error("readiness: "+msg, "request_id", requestID(ctx), "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(msg + "\n"))
		return
	}
	errs := <-health
	// Reasons name internal hosts and URLs (the metadata URL, the
	// directory's address): only a caller on this machine sees them; the
	// rest learn which provider is down, and the log has why.
	reasons := PeerIP(r).IsLoopback()
	status := "ok"
	var detail strings.Builder
	for i, p := range all {
		if errs[i] == nil {
			fmt.Fprintf(&detail, "provider %s: ok\n", p.ID())
			continue
		}
		status = "degraded"
		if reasons {
			fmt.Fprintf(&detail, "provider %s: unavailable: %s\n", p.ID(), oneLine(errs[i].Error()))
		} else {
			fmt.Fprintf(&detail, "provider %s: unavailable\n", p.ID())
			g.log.Warn("readiness: provider unavailable", "request_id", requestID(ctx), "provider", p.ID(), "err", errs[i])
		}
	}
	_, _ = w.Write([]byte(status + "\n" + detail.String()))
}

// oneLine keeps a reason on one line of /readyz, and short.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "") + "..."
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
