package gateway

import (
	"testing"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers/local"
)

// TestPasswordReasonsHaveMessages holds every reason a new password can be
// refused for to a message in the portal's catalog: a reason without one
// would show the person its key.
func TestPasswordReasonsHaveMessages(t *testing.T) {
	reasons := []string{
		local.ReasonTooShort, local.ReasonTooLong, local.ReasonTooFewClasses, local.ReasonContainsEmail,
		account.ReasonCommon, account.ReasonContainsName, account.ReasonMismatch, account.ReasonSameAsCurrent,
	}
	for _, key := range reasonKeys(&account.WeakPasswordError{Reasons: reasons}) {
		if !portal.HasKey(key) {
			t.Errorf("no message %q", key)
		}
	}
	for _, key := range []string{linkErrorKey(account.ErrLinkExpired), linkErrorKey(account.ErrLinkUsed),
		emailLinkErrorKey(account.ErrLinkExpired), emailLinkErrorKey(account.ErrLinkUsed)} {
		if !portal.HasKey(key) {
			t.Errorf("no message %q", key)
		}
	}
	for _, key := range emailErrorKeys {
		if !portal.HasKey(key) {
			t.Errorf("no message %q", key)
		}
	}
}
