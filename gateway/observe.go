package gateway

import (
	"net/http"
	"strings"
	"time"

	"github.com/ssogate/ssogate/store"
)

// The route classes Options.Observe is called with: few and fixed, so that
// a metrics backend can prepare one series per class ahead of time.
const (
	ClassAuth   = "auth"   // /auth, forward auth for a front proxy
	ClassProxy  = "proxy"  // a request sent on to a service's upstream
	ClassLogin  = "login"  // sign-in and sign-out: /login, /callback, /logout
	ClassPage   = "page"   // the portal's other pages and unknown paths
	ClassStatic = "static" // /static/ style sheets and images
	ClassHealth = "health" // /healthz and /readyz
	ClassJWKS   = "jwks"   // /.well-known/jwks.json
	ClassOIDC   = "oidc"   // the OpenID Provider's server-to-server endpoints: token, introspect, revoke, userinfo, discovery
)

// The sign-in outcomes Options.SignIn is called with.
const (
	OutcomeOK          = "ok"          // signed in
	OutcomeInvalid     = "invalid"     // wrong login or password, unknown user
	OutcomeLocked      = "locked"      // the account is locked at the provider
	OutcomeDenied      = "denied"      // proven, but refused by a rule or account state
	OutcomeBusy        = "busy"        // too many password hashes waiting
	OutcomeUnavailable = "unavailable" // the provider's peer cannot be reached
	OutcomeError       = "error"       // a failed or forged answer, an expired flow
)

// routeClass is the class of r's route, once it was answered.
func routeClass(r *http.Request, ri *reqInfo) string {
	p := r.URL.Path
	switch {
	case ri.proxied:
		return ClassProxy
	case p == "/auth":
		return ClassAuth
	case p == "/healthz" || p == "/readyz":
		return ClassHealth
	case strings.HasPrefix(p, "/static/"):
		return ClassStatic
	case p == "/.well-known/jwks.json":
		return ClassJWKS
	case oidcMachinePath(p):
		return ClassOIDC
	case p == "/login" || p == "/logout" || strings.HasPrefix(p, "/oauth2/") || strings.HasPrefix(p, "/login/") || strings.HasPrefix(p, "/callback/"):
		return ClassLogin
	}
	return ClassPage
}

// observeRequest hands a finished request to Options.Observe.
func (g *Gateway) observeRequest(r *http.Request, ri *reqInfo, status int, start time.Time) {
	if g.observe == nil {
		return
	}
	if status == 0 {
		status = 499 // the client went away before an answer, as in the access log
	}
	g.observe(routeClass(r, ri), status, time.Since(start))
}

// observeSignIn hands a sign-in's outcome to Options.SignIn; ev is the
// audit event as the sign-in built it (Detail "provider=ID") and reason
// the audit reason of a failure, "" for a success.
func (g *Gateway) observeSignIn(ev store.AuditEvent, reason string) {
	if g.signIn == nil || ev.Action != "login" {
		return
	}
	provider, _ := strings.CutPrefix(ev.Detail, "provider=")
	g.signIn(provider, signInOutcome(reason))
}

// signInOutcome folds an audit reason into one of the Outcome constants.
func signInOutcome(reason string) string {
	switch reason {
	case "":
		return OutcomeOK
	case "invalid_credentials", "no_user":
		return OutcomeInvalid
	case "account_locked":
		return OutcomeLocked
	case "busy":
		return OutcomeBusy
	case "provider_unavailable":
		return OutcomeUnavailable
	case "provider_error", "invalid_response", "flow_expired_or_used", "flow_mismatch":
		return OutcomeError
	}
	return OutcomeDenied
}
