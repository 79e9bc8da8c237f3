package main

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
)

// app is the demo service provider.
type app struct {
	md  *url.URL
	sp  *samlsp.Middleware
	mux *http.ServeMux

	mu     sync.Mutex
	loaded bool // the IdP's metadata was fetched
}

func newApp(base, idpMetadata *url.URL, key *rsa.PrivateKey, cert *x509.Certificate) *app {
	// The IdP's metadata is fetched on the first sign-in, not here: the
	// app may start before the gateway, and serves its own metadata
	// (which needs nothing of the IdP) meanwhile.
	sp, _ := samlsp.New(samlsp.Options{
		URL: *base, Key: key, Certificate: cert,
		IDPMetadata:       &saml.EntityDescriptor{},
		AllowIDPInitiated: true, DefaultRedirectURI: "/",
	})
	// Single logout by the Redirect binding only (what singleLogout reads).
	sp.ServiceProvider.LogoutBindings = []string{saml.HTTPRedirectBinding}
	a := &app{md: idpMetadata, sp: sp, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /saml/metadata", sp.ServeMetadata)
	a.mux.Handle("GET /saml/slo", a.withIdP(http.HandlerFunc(a.singleLogout)))
	a.mux.Handle("/saml/", a.withIdP(sp))
	a.mux.Handle("GET /{$}", a.withIdP(sp.RequireAccount(http.HandlerFunc(home))))
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	return a
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// withIdP fetches the IdP's metadata before h runs, once.
func (a *app) withIdP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		if !a.loaded {
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			md, err := samlsp.FetchMetadata(ctx, http.DefaultClient, *a.md)
			cancel()
			if err != nil {
				a.mu.Unlock()
				http.Error(w, "the identity provider's metadata cannot be fetched", http.StatusBadGateway)
				return
			}
			a.sp.ServiceProvider.IDPMetadata = md
			a.loaded = true
		}
		a.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// singleLogout answers the IdP's LogoutRequest (HTTP-Redirect binding)
// during its single-logout round: the session here ends, and the browser
// goes back to the IdP with a LogoutResponse. A demo: a real app also
// checks the request's signature against the IdP's metadata.
func (a *app) singleLogout(w http.ResponseWriter, r *http.Request) {
	raw, err := base64.StdEncoding.DecodeString(r.URL.Query().Get("SAMLRequest"))
	if err != nil {
		http.Error(w, "bad SAMLRequest", http.StatusBadRequest)
		return
	}
	xmlBytes, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), 1<<20))
	if err != nil {
		http.Error(w, "bad SAMLRequest", http.StatusBadRequest)
		return
	}
	var req saml.LogoutRequest
	if err := xml.Unmarshal(xmlBytes, &req); err != nil || req.ID == "" {
		http.Error(w, "bad SAMLRequest", http.StatusBadRequest)
		return
	}
	_ = a.sp.Session.DeleteSession(w, r)
	back, err := a.sp.ServiceProvider.MakeRedirectLogoutResponse(req.ID, r.URL.Query().Get("RelayState"))
	if err != nil {
		http.Error(w, "cannot answer the logout", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func home(w http.ResponseWriter, r *http.Request) {
	s, ok := samlsp.SessionFromContext(r.Context()).(samlsp.JWTSessionClaims)
	if !ok {
		http.Error(w, "no session", http.StatusUnauthorized)
		return
	}
	type row struct{ Name, Value string }
	var rows []row
	for k, v := range s.Attributes {
		rows = append(rows, row{k, strings.Join(v, ", ")})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_ = homePage.Execute(w, map[string]any{"NameID": s.Subject, "Rows": rows})
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="ja"><meta charset="utf-8"><title>SAML demo app</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:.2em .6em;border-bottom:1px solid #ddd}</style>
<h1>SAML demo app</h1>
<p id="who">signed in as <code>{{.NameID}}</code></p>
<table>{{range .Rows}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>{{end}}</table>
</html>`))
