package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
)

// Step-up: a service with services[].require_2fa only lets through a
// session whose sign-in used a second factor. Any other session is sent
// through the second step (stepUpPath), which replaces it with a new
// session whose amr holds the factor and "mfa", and then returns to the
// page the person was going to.
//
// A registered line stands in for the second factor, as it does at
// sign-in, but only while the request itself comes from the line: the
// session's "net" says where the sign-in happened, not where the person
// is now, and a laptop that left the office keeps its session.

// stepUpPath is the gateway page that starts the second step for a
// signed-in person (GET, return_to = where to go afterwards).
const stepUpPath = "/login/2fa/step-up"

// amrFederated and amrLine are ssogate's own amr values, outside the
// RFC 8176 registry: a sign-in at a federated identity provider, and a
// sign-in from a registered line.
const (
	amrFederated = "fed"
	amrLine      = "net"
)

// hasSecondFactor reports whether a sign-in with these amr values (RFC
// 8176) used a second factor: "mfa", or one of the possession factors
// ssogate's second step (or an identity provider) uses — an
// authenticator app or recovery code ("otp"), a code by SMS ("sms") or
// by a call ("tel"), a security key or passkey ("hwk", "swk").
func hasSecondFactor(amr []string) bool {
	for _, m := range amr {
		switch m {
		case "mfa", "otp", "sms", "tel", "hwk", "swk":
			return true
		}
	}
	return false
}

// rfc8176 are the authentication method reference values RFC 8176
// registers (section 2).
var rfc8176 = map[string]bool{
	"face": true, "fpt": true, "geo": true, "hwk": true, "iris": true, "kba": true, "mca": true,
	"mfa": true, "otp": true, "pin": true, "pwd": true, "rba": true, "retina": true, "sc": true,
	"sms": true, "swk": true, "tel": true, "user": true, "vbm": true, "wia": true,
}

// cleanAMR is the amr a session records: the RFC 8176 values of amr and
// ssogate's own "fed" and "net", each once, in their order. An identity
// provider's other values (Entra ID's "rsa", "ngcmfa", "wiaormfa", or
// anything else an IdP or plugin sends) would reach every service's
// assertion with a meaning no service can rely on, so they are left out.
// amr itself is returned when it needs no change.
func cleanAMR(amr []string) []string {
	keep := func(i int) bool {
		m := amr[i]
		return (rfc8176[m] || m == amrFederated || m == amrLine) && !slices.Contains(amr[:i], m)
	}
	for i := range amr {
		if keep(i) {
			continue
		}
		out := slices.Clone(amr[:i])
		for j := i + 1; j < len(amr); j++ {
			if keep(j) && !slices.Contains(out, amr[j]) {
				out = append(out, amr[j])
			}
		}
		return out
	}
	return amr
}

// needsStepUp reports whether a session of an allowed person must still
// pass the second step to use s: s requires it, the session's sign-in
// used no second factor (second), and the request does not come from a
// registered line. Only a service with require_2fa asks anything, and a
// session with a second factor nothing more.
func (g *Gateway) needsStepUp(ctx context.Context, s *service, second bool) bool {
	return s.cfg.Require2FA && !second && g.lineFor(ctx, clientIP(ctx)) == ""
}

// stepUpURL is the gateway's step-up page, returning to orig afterwards
// (when orig is a safe target; the page checks return_to again).
func (g *Gateway) stepUpURL(orig *url.URL) string {
	u := g.publicURL + stepUpPath
	if orig != nil {
		if target, ok := g.redirects.Safe(orig.String()); ok {
			u += "?return_to=" + url.QueryEscape(target)
		}
	}
	return u
}

// challengeStepUp asks for the second step: a redirect to the step-up
// page for a browser navigating (or through Traefik and Caddy), 401 with
// the page in Location otherwise (nginx turns that into the redirect).
// The 401 says why, so that an API client can tell it from "sign in".
func (g *Gateway) challengeStepUp(w http.ResponseWriter, orig *url.URL, redirect bool) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Location", g.stepUpURL(orig))
	if redirect {
		w.WriteHeader(http.StatusFound)
		return
	}
	// The error code is OAuth's for the same refusal (RFC 9470): signed
	// in, but not strongly enough for this resource.
	h.Set("WWW-Authenticate", `Cookie realm="ssogate", error="insufficient_user_authentication", error_description="2-step verification required"`)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("401 2-step verification required for this service\n"))
}

// stepUpPage is GET /login/2fa/step-up?return_to=URL, where a require_2fa
// service sends a session without a second factor. return_to is checked
// here again, as every redirect target is. Without a session it is the
// login page, returning to the same URL (which then asks for the step);
// a session with a second factor goes straight on; any other starts the
// second step (stepUp), which replaces the session and then returns to
// return_to. Starting the step sends nothing (a code by SMS or voice is
// sent by the step's own form), so a GET may start it.
func (g *Gateway) stepUpPage(w http.ResponseWriter, r *http.Request) {
	target, _ := g.redirects.Safe(r.URL.Query().Get("return_to"))
	sess, user, second, err := g.sessions.resolve(r.Context(), r)
	switch {
	case errors.Is(err, errNoSession):
		http.Redirect(w, r, g.loginURLFor(target, false), http.StatusSeeOther)
		return
	case err != nil:
		g.fail(w, r, http.StatusInternalServerError, "error.internal", err)
		return
	case second:
		http.Redirect(w, r, orDefault(target, "/"), http.StatusSeeOther)
		return
	}
	g.stepUp(w, r, sess, user, target)
}
