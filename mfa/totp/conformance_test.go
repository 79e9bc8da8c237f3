package totp

import (
	"testing"
	"time"

	"github.com/pquerna/otp"

	"github.com/ssogate/ssogate/internal/testclock"
	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/mfa/mfatest"
)

// TestConformance runs the factor suite on TOTP, answering as an
// authenticator app does: the code of the key read from the otpauth://
// URI (at enrolment) or the enrolment's key, at the clock's time.
func TestConformance(t *testing.T) {
	clock := testclock.New(time.Date(2026, 12, 6, 9, 0, 7, 0, time.UTC))
	code := func(t *testing.T, secret string) string {
		t.Helper()
		c, err := Code(secret, Step(clock.Now()))
		if err != nil {
			t.Fatalf("code: %v", err)
		}
		return c
	}
	mfatest.Run(t, mfatest.Harness{
		Factor:  New(Options{Issuer: "どこでもBOX", Now: clock.Now}),
		Kind:    mfa.KindTOTP,
		Clock:   clock,
		Subject: mfa.Subject{UserID: "u-taro", Email: "taro@example.jp", DisplayName: "山田 太郎"},
		Other:   mfa.Subject{UserID: "u-hanako", Email: "hanako@example.jp", DisplayName: "佐藤 花子"},
		EnrolAnswer: func(t *testing.T, p mfa.Prompt) string {
			k, err := otp.NewKeyFromURL(p.URI)
			if err != nil {
				t.Fatalf("otpauth URI %q: %v", p.URI, err)
			}
			return code(t, k.Secret())
		},
		Answer: func(t *testing.T, _ mfa.Prompt, e *mfa.Enrolment) string {
			return code(t, b32.EncodeToString(e.Secret))
		},
		Step:       Period,
		Valid:      Period,
		Expiry:     2 * Period,
		ExpiredErr: mfa.ErrInvalid,
	})
}
