package gateway

import (
	"testing"

	"github.com/ssogate/ssogate/idp/samlidp"
)

// TestSAMLClassRef: the assertion's AuthnContextClassRef says how the
// person signed in.
func TestSAMLClassRef(t *testing.T) {
	for _, tt := range []struct {
		amr   []string
		asked string
		want  string
	}{
		{[]string{"pwd"}, "", samlidp.ContextPassword},
		{[]string{"pwd", "net"}, "", samlidp.ContextPassword},
		{[]string{"pwd", "otp", "mfa"}, "", samlidp.ContextMFA},
		{[]string{"pwd", "otp", "mfa"}, "http://schemas.microsoft.com/claims/multipleauthn", "http://schemas.microsoft.com/claims/multipleauthn"},
		{[]string{"hwk", "user", "mfa"}, "", samlidp.ContextMFA},
		{[]string{"fed"}, "", samlidp.ContextUnspecified},
		// A class asked for is not claimed without a second factor.
		{[]string{"pwd"}, samlidp.ContextMFA, samlidp.ContextPassword},
	} {
		if got := samlClassRef(tt.amr, tt.asked); got != tt.want {
			t.Errorf("samlClassRef(%q, %q) = %s, want %s", tt.amr, tt.asked, got, tt.want)
		}
	}
}
