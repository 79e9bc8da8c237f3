package webauthn_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testclock"
	"github.com/ssogate/ssogate/internal/testpasskey"
	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/mfa/mfatest"
	"github.com/ssogate/ssogate/mfa/webauthn"
)

// TestConformance runs the factor suite against passkeys, answered by a
// software authenticator that keeps a signature count.
func TestConformance(t *testing.T) {
	clk := testclock.New(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	f, err := webauthn.New(webauthn.Config{PublicURL: origin, DisplayName: "テスト社ポータル", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	a := testpasskey.New(origin)
	mfatest.Run(t, mfatest.Harness{
		Factor:  f,
		Kind:    mfa.KindWebAuthn,
		Clock:   clk,
		Subject: subject,
		Other:   mfa.Subject{UserID: "fedcba9876543210fedcba9876543210", Email: "hanako@example.test", DisplayName: "佐藤花子"},
		EnrolAnswer: func(t *testing.T, p mfa.Prompt) string {
			r, err := a.Create(p.Options)
			if err != nil {
				t.Fatal(err)
			}
			return r
		},
		Answer: func(t *testing.T, p mfa.Prompt, e *mfa.Enrolment) string {
			r, err := a.Get(p.Options)
			if err != nil {
				t.Fatal(err)
			}
			return r
		},
		Wrong:     otherChallenge,
		Malformed: []string{"", "123456", "{}", `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}`},
		Valid:     webauthn.DefaultTimeout,
		Expiry:    webauthn.DefaultTimeout + time.Second,
	})
}

// otherChallenge answers another ceremony: the response with the
// challenge its client data names replaced (still well-formed).
func otherChallenge(t *testing.T, response string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(response), &m); err != nil {
		t.Fatal(err)
	}
	r := m["response"].(map[string]any)
	raw, err := base64.RawURLEncoding.DecodeString(r["clientDataJSON"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var cd map[string]any
	if err := json.Unmarshal(raw, &cd); err != nil {
		t.Fatal(err)
	}
	cd["challenge"] = base64.RawURLEncoding.EncodeToString([]byte("another ceremony's challenge"))
	raw, _ = json.Marshal(cd)
	r["clientDataJSON"] = base64.RawURLEncoding.EncodeToString(raw)
	out, _ := json.Marshal(m)
	return string(out)
}
