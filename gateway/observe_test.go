package gateway

import (
	"net/http/httptest"
	"testing"
)

// TestRouteClass checks the class each route is counted under.
func TestRouteClass(t *testing.T) {
	tests := []struct {
		path    string
		proxied bool
		want    string
	}{
		{"/auth", false, ClassAuth},
		{"/app/page", true, ClassProxy},
		{"/auth", true, ClassProxy}, // a service's own /auth behind the proxy
		{"/login", false, ClassLogin},
		{"/login/google", false, ClassLogin},
		{"/callback/adfs", false, ClassLogin},
		{"/logout", false, ClassLogin},
		{"/loginx", false, ClassPage},
		{"/", false, ClassPage},
		{"/me", false, ClassPage},
		{"/static/app.css", false, ClassStatic},
		{"/healthz", false, ClassHealth},
		{"/readyz", false, ClassHealth},
		{"/.well-known/jwks.json", false, ClassJWKS},
		{"/metrics", false, ClassPage},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.path, nil)
		if got := routeClass(r, &reqInfo{proxied: tt.proxied}); got != tt.want {
			t.Errorf("routeClass(%s, proxied %v) = %s, want %s", tt.path, tt.proxied, got, tt.want)
		}
	}
}

// TestSignInOutcome checks how audit reasons fold into outcomes.
func TestSignInOutcome(t *testing.T) {
	for reason, want := range map[string]string{
		"":                     OutcomeOK,
		"invalid_credentials":  OutcomeInvalid,
		"no_user":              OutcomeInvalid,
		"account_locked":       OutcomeLocked,
		"account_disabled":     OutcomeDenied,
		"account_expired":      OutcomeDenied,
		"denied":               OutcomeDenied,
		"not_allowed":          OutcomeDenied,
		"not_registered":       OutcomeDenied,
		"method_not_allowed":   OutcomeDenied,
		"busy":                 OutcomeBusy,
		"provider_unavailable": OutcomeUnavailable,
		"provider_error":       OutcomeError,
		"invalid_response":     OutcomeError,
		"flow_expired_or_used": OutcomeError,
		"flow_mismatch":        OutcomeError,
	} {
		if got := signInOutcome(reason); got != want {
			t.Errorf("signInOutcome(%q) = %s, want %s", reason, got, want)
		}
	}
}
