package account_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/mfa/totp"
	"github.com/ssogate/ssogate/store"
)

// twoStepEnv is env with 2-step verification on: the real TOTP factor on
// the env's clock, under pol.
func twoStepEnv(t *testing.T, pol account.TwoStepPolicy) *env {
	t.Helper()
	e := newEnv(t)
	if pol.MaxTries == 0 {
		pol.MaxTries = 5
	}
	if pol.PendingTTL == 0 {
		pol.PendingTTL = 10 * time.Minute
	}
	if len(pol.Methods) == 0 {
		pol.Methods = []string{"totp"}
	}
	key := bytes.Repeat([]byte{7}, 32)
	e.svc = account.New(account.Options{
		Store: e.st, Compose: e.comp, Passwords: passwords{e.pw}, Now: e.clock.Now,
		Log:     slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		TwoStep: pol, Factors: []mfa.Factor{totp.New(totp.Options{Issuer: "テスト社", Now: e.clock.Now})},
		PendingKey: key, FactorKey: bytes.Repeat([]byte{9}, 32),
	})
	return e
}

var origin = account.Origin{ClientIP: "198.51.100.7", RequestID: "req", Lang: "ja", UserAgent: "test"}

// enrol sets up the authenticator app for u through a pending sign-in
// and returns its key (base32) and the recovery codes.
func (e *env) enrol(u *store.User) (string, []string) {
	e.t.Helper()
	ctx := context.Background()
	b, err := e.svc.BeginSignIn(ctx, account.SignIn{User: u, Provider: "local", Password: true, AMR: []string{"pwd"}, StepUp: "enrol"}, origin)
	if err != nil || b.Stage != account.StageSetup {
		e.t.Fatalf("begin: %+v, %v", b, err)
	}
	tok, err := e.svc.BeginSetup(ctx, b.Token, "totp", "", origin)
	if err != nil {
		e.t.Fatal(err)
	}
	v, err := e.svc.Pending(ctx, tok)
	if err != nil {
		e.t.Fatal(err)
	}
	secret := strings.ReplaceAll(v.EnrolSecret, " ", "")
	st, err := e.svc.FinishSetup(ctx, tok, e.code(secret, 0), false, origin)
	if err != nil || st.Token == "" {
		e.t.Fatalf("finish: %+v, %v", st, err)
	}
	v, err = e.svc.Pending(ctx, st.Token)
	if err != nil || v.Stage != account.StageCodes || len(v.Codes) != 10 {
		e.t.Fatalf("codes: %+v, %v", v, err)
	}
	e.clock.Advance(30 * time.Second)
	return secret, v.Codes
}

func (e *env) code(secret string, offset int64) string {
	e.t.Helper()
	c, err := totp.Code(secret, totp.Step(e.clock.Now())+offset)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func TestSecondStepDecision(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		pol   account.TwoStepPolicy
		enrol bool
		in    account.SignIn
		want  string // "" skipped, else the stage
	}{
		{"not required, not enrolled", account.TwoStepPolicy{}, false, account.SignIn{Provider: "local", Password: true}, ""},
		{"required, not enrolled", account.TwoStepPolicy{Required: true}, false, account.SignIn{Provider: "local", Password: true}, account.StageSetup},
		{"enrolled of own accord", account.TwoStepPolicy{}, true, account.SignIn{Provider: "local", Password: true}, account.StageVerify},
		{"directory password", account.TwoStepPolicy{Required: true}, true, account.SignIn{Provider: "ad", Password: true}, account.StageVerify},
		{"federated, not covered", account.TwoStepPolicy{Required: true}, true, account.SignIn{Provider: "google"}, ""},
		{"federated, applies_to", account.TwoStepPolicy{Required: true, AppliesTo: []string{"google"}}, true, account.SignIn{Provider: "google"}, account.StageVerify},
		{"federated with its own mfa", account.TwoStepPolicy{Required: true, AppliesTo: []string{"google"}}, true, account.SignIn{Provider: "google", AMR: []string{"pwd", "mfa"}}, ""},
		{"registered line", account.TwoStepPolicy{Required: true}, true, account.SignIn{Provider: "local", Password: true, Line: "本社回線"}, ""},
		{"amr net", account.TwoStepPolicy{Required: true}, true, account.SignIn{Provider: "local", Password: true, AMR: []string{"pwd", "net"}}, ""},
		{"line_only", account.TwoStepPolicy{Required: true, LineOnly: true}, true, account.SignIn{Provider: "local", Password: true}, ""},
		{"step-up, not enrolled", account.TwoStepPolicy{}, false, account.SignIn{StepUp: "s1", Line: "本社回線"}, account.StageSetup},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := twoStepEnv(t, tt.pol)
			u := e.addUser("alice@example.co.jp", "Alice", "")
			if tt.enrol {
				e.enrol(u)
			}
			tt.in.User = u
			b, err := e.svc.BeginSignIn(ctx, tt.in, origin)
			if err != nil {
				t.Fatal(err)
			}
			if b.Stage != tt.want || (b.Token == "") != (tt.want == "") {
				t.Fatalf("begin = %+v, want stage %q", b, tt.want)
			}
		})
	}
}

func TestVerifyCodeAndReplay(t *testing.T) {
	ctx := context.Background()
	month := 30 * 24 * time.Hour
	e := twoStepEnv(t, account.TwoStepPolicy{Required: true, RememberBrowser: month})
	u := e.addUser("alice@example.co.jp", "Alice", "")
	secret, _ := e.enrol(u)
	in := account.SignIn{User: u, Provider: "local", Password: true, AMR: []string{"pwd"}, ReturnTo: "/wiki/", ClientIP: "198.51.100.7"}

	b1, err := e.svc.BeginSignIn(ctx, in, origin)
	if err != nil || b1.Stage != account.StageVerify {
		t.Fatalf("begin: %+v %v", b1, err)
	}
	// The sealed ticket holds none of the sign-in's data in the clear.
	sum := sha256.Sum256([]byte(b1.Token))
	tk, err := e.st.PeekTicket(ctx, store.PurposeSignInPending, hex.EncodeToString(sum[:]), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(tk.Data, []byte("/wiki/")) || bytes.Contains(tk.Data, []byte("198.51.100.7")) {
		t.Fatal("pending data is not sealed")
	}
	st, err := e.svc.VerifyCode(ctx, b1.Token, e.code(secret, 0), true, origin)
	if err != nil || st.Passed == nil {
		t.Fatalf("right code: %+v %v", st, err)
	}
	p := st.Passed
	if strings.Join(p.AMR, ",") != "pwd,otp,mfa" || p.ReturnTo != "/wiki/" || p.RememberToken == "" || p.User.ID != u.ID {
		t.Fatalf("passed = %+v", p)
	}
	// Used up.
	if _, err := e.svc.VerifyCode(ctx, b1.Token, e.code(secret, 0), false, origin); !errors.Is(err, account.ErrPendingGone) {
		t.Fatalf("second use of the ticket: %v", err)
	}
	// The same code in another pending sign-in: used already.
	b2, _ := e.svc.BeginSignIn(ctx, in, origin)
	st, err = e.svc.VerifyCode(ctx, b2.Token, e.code(secret, 0), false, origin)
	if !errors.Is(err, account.ErrCodeUsed) || st.Token == "" || st.Token == b2.Token {
		t.Fatalf("replayed code: %+v %v", st, err)
	}
	// The remembered browser skips the step, by the clock: 30 days
	// sliding.
	in.Browser = p.RememberToken
	for range 2 {
		e.clock.Advance(month - time.Minute)
		b, err := e.svc.BeginSignIn(ctx, in, origin)
		if err != nil || b.Token != "" || !b.Remembered {
			t.Fatalf("remembered browser: %+v %v", b, err)
		}
	}
	// A step-up is asked whatever the browser.
	if b, _ := e.svc.BeginSignIn(ctx, account.SignIn{User: u, StepUp: "s1", Browser: p.RememberToken}, origin); b.Token == "" {
		t.Fatal("a remembered browser skipped a step-up")
	}
	e.clock.Advance(month + time.Minute)
	if b, _ := e.svc.BeginSignIn(ctx, in, origin); b.Token == "" {
		t.Fatal("remembered browser past 30 days unused skipped the step")
	}
}

func TestPendingExpiresAndTries(t *testing.T) {
	ctx := context.Background()
	e := twoStepEnv(t, account.TwoStepPolicy{Required: true, MaxTries: 2})
	u := e.addUser("alice@example.co.jp", "Alice", "")
	secret, _ := e.enrol(u)
	in := account.SignIn{User: u, Provider: "local", Password: true}

	b, _ := e.svc.BeginSignIn(ctx, in, origin)
	e.clock.Advance(10*time.Minute + time.Second)
	if _, err := e.svc.VerifyCode(ctx, b.Token, e.code(secret, 0), false, origin); !errors.Is(err, account.ErrPendingGone) {
		t.Fatalf("after pending_ttl: %v", err)
	}

	b, _ = e.svc.BeginSignIn(ctx, in, origin)
	st, err := e.svc.VerifyCode(ctx, b.Token, "123", false, origin)
	if !errors.Is(err, account.ErrWrongCode) {
		t.Fatalf("malformed code: %v", err)
	}
	if v, _ := e.svc.Pending(ctx, st.Token); v.TriesLeft != 1 {
		t.Fatalf("tries left = %d, want 1", v.TriesLeft)
	}
	st, err = e.svc.VerifyCode(ctx, st.Token, "000000", false, origin)
	if !errors.Is(err, account.ErrTooManyTries) || st.Token != "" {
		t.Fatalf("second wrong code: %+v %v", st, err)
	}
	if n := strings.Count(e.logs.String(), "action=mfa_failed"); n != 2 {
		t.Errorf("%d mfa_failed audit lines, want 2", n)
	}
}

func TestCodeEntryLimits(t *testing.T) {
	ctx := context.Background()
	e := twoStepEnv(t, account.TwoStepPolicy{Required: true, MaxTries: 20})
	u := e.addUser("alice@example.co.jp", "Alice", "")
	secret, _ := e.enrol(u)
	b, _ := e.svc.BeginSignIn(ctx, account.SignIn{User: u, Provider: "local", Password: true}, origin)
	tok := b.Token
	for i := range account.CodeEntriesPerUser - 1 { // the enrolment's code was one entry
		st, err := e.svc.VerifyCode(ctx, tok, "000000", false, origin)
		if !errors.Is(err, account.ErrWrongCode) {
			t.Fatalf("entry %d: %v", i, err)
		}
		tok = st.Token
	}
	// Over the limit: refused before the code is looked at, even the
	// right one; the window's end lets it through.
	if _, err := e.svc.VerifyCode(ctx, tok, e.code(secret, 0), false, origin); !errors.Is(err, account.ErrRateLimited) {
		t.Fatalf("over the limit: %v", err)
	}
	e.clock.Advance(account.CodeEntryWindow)
	b, _ = e.svc.BeginSignIn(ctx, account.SignIn{User: u, Provider: "local", Password: true}, origin)
	if st, err := e.svc.VerifyCode(ctx, b.Token, e.code(secret, 0), false, origin); err != nil || st.Passed == nil {
		t.Fatalf("after the window: %+v %v", st, err)
	}
}

func TestRecoveryCodesAndManagement(t *testing.T) {
	ctx := context.Background()
	e := twoStepEnv(t, account.TwoStepPolicy{Required: true})
	u := e.addUser("alice@example.co.jp", "Alice", "Alice-Passw0rd!")
	_, codes := e.enrol(u)
	in := account.SignIn{User: u, Provider: "local", Password: true}

	b, _ := e.svc.BeginSignIn(ctx, in, origin)
	st, err := e.svc.UseRecoveryCode(ctx, b.Token, " "+strings.ToUpper(codes[0])+" ", false, origin)
	if err != nil || st.Token == "" {
		t.Fatalf("recovery code: %+v %v", st, err)
	}
	v, _ := e.svc.Pending(ctx, st.Token)
	if v.Stage != account.StageCodes || len(v.Codes) != 10 || v.Codes[0] == codes[0] {
		t.Fatalf("renewed codes: %+v", v)
	}
	p, err := e.svc.CodesSaved(ctx, st.Token, origin)
	if err != nil || strings.Join(p.AMR, ",") != "pwd,otp,mfa" {
		t.Fatalf("codes saved: %+v %v", p, err)
	}
	// The old set is gone, the new one works.
	b, _ = e.svc.BeginSignIn(ctx, in, origin)
	if _, err := e.svc.UseRecoveryCode(ctx, b.Token, codes[1], false, origin); !errors.Is(err, account.ErrWrongCode) {
		t.Fatalf("old set: %v", err)
	}

	// New codes need the password.
	if _, err := e.svc.RenewRecoveryCodes(ctx, u, "wrong", false, origin); !errors.Is(err, account.ErrWrongPassword) {
		t.Fatalf("renew with a wrong password: %v", err)
	}
	fresh, err := e.svc.RenewRecoveryCodes(ctx, u, "Alice-Passw0rd!", false, origin)
	if err != nil || len(fresh) != 10 {
		t.Fatalf("renew: %v %v", fresh, err)
	}
	// An account without a password needs a fresh sign-in instead.
	bob := e.addUser("bob@example.co.jp", "Bob", "")
	e.enrol(bob)
	if _, err := e.svc.RenewRecoveryCodes(ctx, bob, "", false, origin); !errors.Is(err, account.ErrReauthNeeded) {
		t.Fatalf("renew without a password, not fresh: %v", err)
	}

	// The last factor stays while required.
	s, _ := e.svc.Status(ctx, u.ID)
	if err := e.svc.RemoveFactor(ctx, u, s.Factors[0].ID, origin); !errors.Is(err, account.ErrLastFactor) {
		t.Fatalf("remove the last factor: %v", err)
	}
	if err := e.svc.RemoveFactor(ctx, u, "nope", origin); !errors.Is(err, account.ErrNoSuchFactor) {
		t.Fatalf("remove another's factor: %v", err)
	}

	// Reset removes everything, pending sign-ins included.
	b, _ = e.svc.BeginSignIn(ctx, in, origin)
	if err := e.svc.ResetTwoStep(ctx, u.ID, "cli:admin", origin); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Pending(ctx, b.Token); !errors.Is(err, account.ErrPendingGone) {
		t.Fatalf("pending sign-in after the reset: %v", err)
	}
	if s, _ := e.svc.Status(ctx, u.ID); len(s.Factors) != 0 || s.RecoveryLeft != 0 {
		t.Fatalf("after reset: %+v", s)
	}
}

func TestFactorSecretSealed(t *testing.T) {
	ctx := context.Background()
	e := twoStepEnv(t, account.TwoStepPolicy{Required: true})
	u := e.addUser("alice@example.co.jp", "Alice", "")
	secret, _ := e.enrol(u)
	fs, err := e.st.ListFactors(ctx, u.ID)
	if err != nil || len(fs) != 1 {
		t.Fatalf("factors: %v %v", fs, err)
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(fs[0].Secret, key) || len(fs[0].Secret) <= len(key) {
		t.Fatal("the TOTP key is stored in the clear")
	}
}
