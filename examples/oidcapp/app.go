package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// appConfig is what the app needs to know of itself and the provider.
type appConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string // empty for a public client (PKCE alone)
	BaseURL      string // e.g. http://127.0.0.1:9005
}

// app is the demo relying party.
type app struct {
	cfg appConfig
	log *slog.Logger
	mux *http.ServeMux

	mu       sync.Mutex
	provider *oidc.Provider // nil until discovery succeeded
	flows    map[string]*flow
	sessions map[string]*session
}

// flow is one authorization request in progress, found by the browser's
// flow cookie.
type flow struct {
	state, nonce, verifier string
	expires                time.Time
}

// session is a person signed in here.
type session struct {
	claims  map[string]any
	idToken string
	sid     string
	sub     string
}

const (
	flowCookie    = "oidcapp_flow"
	sessionCookie = "oidcapp_session"
	// backChannelEvent is the event a logout token must carry (OpenID
	// Connect Back-Channel Logout 1.0, section 2.4).
	backChannelEvent = "http://schemas.openid.net/event/backchannel-logout"
)

func newApp(cfg appConfig, log *slog.Logger) (*app, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.BaseURL == "" {
		return nil, fmt.Errorf("oidcapp: issuer, client id and base URL are required")
	}
	a := &app{cfg: cfg, log: log, mux: http.NewServeMux(), flows: map[string]*flow{}, sessions: map[string]*session{}}
	a.mux.HandleFunc("GET /{$}", a.home)
	a.mux.HandleFunc("GET /login", a.login)
	a.mux.HandleFunc("GET /initiate", a.initiate)
	a.mux.HandleFunc("GET /callback", a.callback)
	a.mux.HandleFunc("GET /logout", a.logout)
	a.mux.HandleFunc("POST /backchannel-logout", a.backChannelLogout)
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	return a, nil
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// discover returns the provider, fetching its discovery document on first
// use: the app may start before the gateway.
func (a *app) discover(ctx context.Context) (*oidc.Provider, error) {
	a.mu.Lock()
	p := a.provider
	a.mu.Unlock()
	if p != nil {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, a.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.provider = p
	a.mu.Unlock()
	return p, nil
}

func (a *app) oauth2Config(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret,
		Endpoint: p.Endpoint(), RedirectURL: a.cfg.BaseURL + "/callback",
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", "groups"},
	}
}

func random() string { return rand.Text() }

func (a *app) current(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[c.Value]
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	s := a.current(r)
	if s == nil {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	keys := make([]string, 0, len(s.claims))
	for k := range s.claims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	type row struct{ Name, Value string }
	var rows []row
	for _, k := range keys {
		v, _ := json.Marshal(s.claims[k])
		rows = append(rows, row{k, string(v)})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_ = homePage.Execute(w, map[string]any{"Name": s.claims["name"], "Email": s.claims["email"], "Rows": rows})
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="ja"><meta charset="utf-8"><title>OIDC demo app</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:.2em .6em;border-bottom:1px solid #ddd}</style>
<h1>OIDC demo app</h1>
<p id="who">signed in as {{.Name}} &lt;{{.Email}}&gt;</p>
<table>{{range .Rows}}<tr><td>{{.Name}}</td><td><code>{{.Value}}</code></td></tr>{{end}}</table>
<p><a href="/logout">sign out</a></p>
</html>`))

// login starts the authorization code flow with PKCE (S256).
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	p, err := a.discover(r.Context())
	if err != nil {
		a.log.Error("discovery", "err", err)
		http.Error(w, "the identity provider cannot be reached", http.StatusBadGateway)
		return
	}
	f := &flow{state: random(), nonce: random(), verifier: oauth2.GenerateVerifier(), expires: time.Now().Add(10 * time.Minute)}
	key := random()
	a.mu.Lock()
	for k, old := range a.flows {
		if time.Now().After(old.expires) {
			delete(a.flows, k)
		}
	}
	a.flows[key] = f
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: key, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	opts := []oauth2.AuthCodeOption{oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)}
	http.Redirect(w, r, a.oauth2Config(p).AuthCodeURL(f.state, opts...), http.StatusFound)
}

// initiate is the initiate_login_uri (OpenID Connect Core 1.0 section 4):
// the launcher sends the browser here with iss; only our issuer starts a
// sign-in.
func (a *app) initiate(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("iss") != a.cfg.Issuer {
		http.Error(w, "unknown issuer", http.StatusBadRequest)
		return
	}
	a.login(w, r)
}

func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := r.Cookie(flowCookie)
	if err != nil {
		http.Error(w, "no sign-in in progress", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	f := a.flows[c.Value]
	delete(a.flows, c.Value)
	a.mu.Unlock()
	q := r.URL.Query()
	if f == nil || time.Now().After(f.expires) || q.Get("state") != f.state {
		http.Error(w, "sign-in expired or state mismatch", http.StatusBadRequest)
		return
	}
	if e := q.Get("error"); e != "" {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "sign-in refused: %s\n", e)
		return
	}
	if iss := q.Get("iss"); iss != "" && iss != a.cfg.Issuer {
		http.Error(w, "authorization response from another issuer", http.StatusBadRequest)
		return
	}
	p, err := a.discover(ctx)
	if err != nil {
		http.Error(w, "the identity provider cannot be reached", http.StatusBadGateway)
		return
	}
	tok, err := a.oauth2Config(p).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		a.log.Warn("code exchange failed", "err", err)
		http.Error(w, "sign-in failed", http.StatusBadGateway)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: a.cfg.ClientID}).Verify(ctx, raw)
	if err != nil || idt.Nonce != f.nonce {
		a.log.Warn("ID token refused", "err", err)
		http.Error(w, "sign-in failed", http.StatusBadGateway)
		return
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		http.Error(w, "sign-in failed", http.StatusBadGateway)
		return
	}
	if ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		_ = ui.Claims(&claims)
	}
	sid, _ := claims["sid"].(string)
	key := random()
	a.mu.Lock()
	a.sessions[key] = &session{claims: claims, idToken: raw, sid: sid, sub: idt.Subject}
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Path: "/", MaxAge: -1})
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: key, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusFound)
}

// logout ends the session here and asks the provider to end its own
// (RP-initiated logout), coming back to the app's front page.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	s := a.current(r)
	if c, err := r.Cookie(sessionCookie); err == nil {
		a.mu.Lock()
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1})
	p, err := a.discover(r.Context())
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err != nil || p.Claims(&meta) != nil || meta.EndSession == "" || s == nil {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	q := url.Values{"id_token_hint": {s.idToken}, "post_logout_redirect_uri": {a.cfg.BaseURL + "/"}, "client_id": {a.cfg.ClientID}}
	http.Redirect(w, r, meta.EndSession+"?"+q.Encode(), http.StatusFound)
}

// backChannelLogout verifies a logout token from the provider and ends
// the sessions it names (OpenID Connect Back-Channel Logout 1.0).
func (a *app) backChannelLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := a.discover(ctx)
	if err != nil {
		http.Error(w, "provider unreachable", http.StatusServiceUnavailable)
		return
	}
	// A logout token has no nonce and is no ID token; go-oidc checks its
	// signature, issuer, audience and expiry all the same.
	tok, err := p.Verifier(&oidc.Config{ClientID: a.cfg.ClientID}).Verify(ctx, r.PostFormValue("logout_token"))
	if err != nil {
		http.Error(w, "invalid logout token", http.StatusBadRequest)
		return
	}
	var claims struct {
		SID    string                     `json:"sid"`
		Nonce  *string                    `json:"nonce"`
		Events map[string]json.RawMessage `json:"events"`
	}
	if err := tok.Claims(&claims); err != nil || claims.Nonce != nil || claims.Events[backChannelEvent] == nil ||
		(claims.SID == "" && tok.Subject == "") {
		http.Error(w, "invalid logout token", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	n := 0
	for k, s := range a.sessions {
		if (claims.SID != "" && s.sid == claims.SID) || (claims.SID == "" && s.sub == tok.Subject) {
			delete(a.sessions, k)
			n++
		}
	}
	a.mu.Unlock()
	a.log.Info("back-channel logout", "sessions_ended", n)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
