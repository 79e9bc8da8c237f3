package webauthn_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testpasskey"
	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/mfa/webauthn"
)

const origin = "https://sso.example.test"

var subject = mfa.Subject{UserID: "0123456789abcdef0123456789abcdef", Email: "taro@example.test", DisplayName: "山田太郎", Language: "ja"}

// clock is a clock the test moves.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newFactor(t *testing.T) (*webauthn.Factor, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	f, err := webauthn.New(webauthn.Config{PublicURL: origin + "/", DisplayName: "サンプル社 ポータル", Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

// enrol registers a passkey of a with f and returns the Enrolment.
func enrol(t *testing.T, f *webauthn.Factor, a *testpasskey.Authenticator) *mfa.Enrolment {
	t.Helper()
	ctx := context.Background()
	p, st, err := f.BeginEnrol(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Create(p.Options)
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.FinishEnrol(ctx, subject, st, resp)
	if err != nil {
		t.Fatalf("FinishEnrol: %v", err)
	}
	return e
}

func TestOptions(t *testing.T) {
	f, _ := newFactor(t)
	p, _, err := f.BeginEnrol(context.Background(), subject)
	if err != nil {
		t.Fatal(err)
	}
	var create struct {
		RP                     struct{ ID, Name string }
		User                   struct{ ID, Name, DisplayName string }
		Challenge              string
		Attestation            string
		AuthenticatorSelection struct{ ResidentKey, UserVerification string }
	}
	if err := json.Unmarshal(p.Options, &create); err != nil {
		t.Fatal(err)
	}
	if create.RP.ID != "sso.example.test" || create.RP.Name != "サンプル社 ポータル" {
		t.Errorf("rp = %+v", create.RP)
	}
	if id, _ := base64.RawURLEncoding.DecodeString(create.User.ID); string(id) != subject.UserID ||
		create.User.Name != subject.Email || create.User.DisplayName != subject.DisplayName {
		t.Errorf("user = %+v", create.User)
	}
	if c, _ := base64.RawURLEncoding.DecodeString(create.Challenge); len(c) < 16 {
		t.Errorf("challenge %q too short", create.Challenge)
	}
	if create.AuthenticatorSelection.ResidentKey != "preferred" || create.AuthenticatorSelection.UserVerification != "preferred" ||
		create.Attestation != "none" {
		t.Errorf("selection = %+v, attestation %q", create.AuthenticatorSelection, create.Attestation)
	}

	e := enrol(t, f, testpasskey.New(origin))
	p, _, err = f.Challenge(context.Background(), subject, e)
	if err != nil {
		t.Fatal(err)
	}
	var get struct {
		RPID             string
		UserVerification string
		AllowCredentials []struct{ ID string }
	}
	if err := json.Unmarshal(p.Options, &get); err != nil {
		t.Fatal(err)
	}
	if get.RPID != "sso.example.test" || get.UserVerification != "preferred" ||
		len(get.AllowCredentials) != 1 || get.AllowCredentials[0].ID != e.Handle {
		t.Errorf("challenge options = %+v, want the one credential %s", get, e.Handle)
	}

	p, _, err = f.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	get.AllowCredentials = nil
	if err := json.Unmarshal(p.Options, &get); err != nil {
		t.Fatal(err)
	}
	if get.UserVerification != "required" || len(get.AllowCredentials) != 0 {
		t.Errorf("discover options = %s, want userVerification required and no allowCredentials", p.Options)
	}
}

func TestNewRefusesAnIPAddress(t *testing.T) {
	// Browsers refuse an IP address as RP ID: a passkey needs a host name.
	for _, u := range []string{"http://127.0.0.1:8080", "sso.example.test", ""} {
		if _, err := webauthn.New(webauthn.Config{PublicURL: u}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}

func TestEnrolment(t *testing.T) {
	f, _ := newFactor(t)
	a := testpasskey.New(origin)
	e := enrol(t, f, a)
	c := a.Credentials()[0]
	if e.Kind != mfa.KindWebAuthn || e.Handle != base64.RawURLEncoding.EncodeToString(c.ID) || e.Counter != 0 {
		t.Errorf("enrolment = %+v", e)
	}
	var rec struct {
		PublicKey     []byte
		Transport     []string
		Authenticator struct{ AAGUID []byte }
	}
	if err := json.Unmarshal(e.Secret, &rec); err != nil {
		t.Fatalf("secret is not a JSON credential record: %v", err)
	}
	if len(rec.PublicKey) == 0 || len(rec.Authenticator.AAGUID) != 16 || rec.Authenticator.AAGUID[0] != 0x5e ||
		len(rec.Transport) != 1 || rec.Transport[0] != "internal" {
		t.Errorf("record = %+v", rec)
	}
}

func TestEnrolmentRefusals(t *testing.T) {
	ctx := context.Background()
	f, clk := newFactor(t)
	tests := []struct {
		name string
		// answer returns the response to the options, and may move the
		// clock or use another subject.
		answer  func(t *testing.T, options []byte) (string, mfa.Subject)
		wantErr error
	}{
		{"other origin", func(t *testing.T, o []byte) (string, mfa.Subject) {
			r, err := testpasskey.New("https://evil.example.test").Create(o)
			if err != nil {
				t.Fatal(err)
			}
			return r, subject
		}, mfa.ErrInvalid},
		{"other person finishing", func(t *testing.T, o []byte) (string, mfa.Subject) {
			r, err := testpasskey.New(origin).Create(o)
			if err != nil {
				t.Fatal(err)
			}
			other := subject
			other.UserID = "ffffffffffffffffffffffffffffffff"
			return r, other
		}, mfa.ErrInvalid},
		{"too late", func(t *testing.T, o []byte) (string, mfa.Subject) {
			r, err := testpasskey.New(origin).Create(o)
			if err != nil {
				t.Fatal(err)
			}
			clk.t = clk.t.Add(webauthn.DefaultTimeout + time.Second)
			return r, subject
		}, mfa.ErrExpired},
		{"not JSON", func(t *testing.T, o []byte) (string, mfa.Subject) { return "credential", subject }, mfa.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, st, err := f.BeginEnrol(ctx, subject)
			if err != nil {
				t.Fatal(err)
			}
			resp, s := tt.answer(t, p.Options)
			if _, err := f.FinishEnrol(ctx, s, st, resp); !errors.Is(err, tt.wantErr) {
				t.Errorf("FinishEnrol = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// verify asks e with f, lets a answer and returns Verify's result.
func verify(t *testing.T, f *webauthn.Factor, a *testpasskey.Authenticator, e *mfa.Enrolment) (int64, error) {
	t.Helper()
	p, st, err := f.Challenge(context.Background(), subject, e)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Get(p.Options)
	if err != nil {
		t.Fatal(err)
	}
	return f.Verify(context.Background(), subject, e, st, resp)
}

func TestVerifyCounter(t *testing.T) {
	f, _ := newFactor(t)
	a := testpasskey.New(origin)
	e := enrol(t, f, a)
	for want := int64(1); want <= 3; want++ {
		n, err := verify(t, f, a, e)
		if err != nil || n != want {
			t.Fatalf("Verify = %d, %v; want %d", n, err, want)
		}
		e.Counter = n
	}

	// A cloned authenticator reports a count not above the stored one.
	a.Credentials()[0].Count = 1
	if _, err := verify(t, f, a, e); !errors.Is(err, mfa.ErrReplayed) {
		t.Errorf("count going back: %v, want ErrReplayed", err)
	}

	// The same assertion twice: the second is not above the first.
	p, st, _ := f.Challenge(context.Background(), subject, e)
	a.Credentials()[0].Count = 10
	resp, _ := a.Get(p.Options)
	n, err := f.Verify(context.Background(), subject, e, st, resp)
	if err != nil || n != 11 {
		t.Fatalf("Verify = %d, %v", n, err)
	}
	e.Counter = n
	if _, err := f.Verify(context.Background(), subject, e, st, resp); !errors.Is(err, mfa.ErrReplayed) {
		t.Errorf("replayed assertion: %v, want ErrReplayed", err)
	}
}

func TestVerifyWithoutCounter(t *testing.T) {
	// Many passkey providers keep no count and report 0 each time: 0 after
	// 0 is accepted (the store's UseFactor accepts it too).
	f, _ := newFactor(t)
	a := testpasskey.New(origin)
	a.NoCounter = true
	e := enrol(t, f, a)
	for range 3 {
		if n, err := verify(t, f, a, e); err != nil || n != 0 {
			t.Fatalf("Verify = %d, %v; want 0, nil", n, err)
		}
	}
}

func TestVerifyRefusals(t *testing.T) {
	ctx := context.Background()
	f, clk := newFactor(t)
	a := testpasskey.New(origin)
	e := enrol(t, f, a)
	other := testpasskey.New(origin)
	enrol(t, f, other)

	tests := []struct {
		name    string
		answer  func(t *testing.T, options []byte) string
		wantErr error
	}{
		{"bad signature", func(t *testing.T, o []byte) string {
			r, _ := a.Get(o)
			return tamper(t, r, "signature")
		}, mfa.ErrInvalid},
		{"other origin", func(t *testing.T, o []byte) string {
			evil := *a
			evil.Origin = "https://evil.example.test"
			r, _ := evil.Get(o)
			return r
		}, mfa.ErrInvalid},
		{"another credential", func(t *testing.T, o []byte) string {
			r, err := other.Assert(other.Credentials()[0], o)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}, mfa.ErrInvalid},
		{"other challenge", func(t *testing.T, o []byte) string {
			p2, _, _ := f.Challenge(ctx, subject, e)
			r, _ := a.Get(p2.Options)
			return r
		}, mfa.ErrInvalid},
		{"too late", func(t *testing.T, o []byte) string {
			r, _ := a.Get(o)
			clk.t = clk.t.Add(webauthn.DefaultTimeout + time.Second)
			return r
		}, mfa.ErrExpired},
		{"malformed", func(t *testing.T, o []byte) string { return `{"id":"x"}` }, mfa.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, st, err := f.Challenge(ctx, subject, e)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Verify(ctx, subject, e, st, tt.answer(t, p.Options)); !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// tamper flips a bit of the response's field.
func tamper(t *testing.T, response, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(response), &m); err != nil {
		t.Fatal(err)
	}
	r := m["response"].(map[string]any)
	b, _ := base64.RawURLEncoding.DecodeString(r[field].(string))
	b[len(b)-1] ^= 1
	r[field] = base64.RawURLEncoding.EncodeToString(b)
	out, _ := json.Marshal(m)
	return string(out)
}

func TestDiscover(t *testing.T) {
	ctx := context.Background()
	f, _ := newFactor(t)
	a := testpasskey.New(origin)
	e := enrol(t, f, a)

	p, st, err := f.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Get(p.Options)
	if err != nil {
		t.Fatal(err)
	}
	handle, err := f.Identify(resp)
	if err != nil || handle != e.Handle {
		t.Fatalf("Identify = %q, %v; want %q", handle, err, e.Handle)
	}
	if n, err := f.Verify(ctx, subject, e, st, resp); err != nil || n != 1 {
		t.Fatalf("Verify = %d, %v", n, err)
	}
	if !f.UserVerified(resp) {
		t.Error("UserVerified = false for a response with UV")
	}

	// The user handle names the owner: a passkey of one person cannot
	// sign in as another whose record it is checked against.
	someone := subject
	someone.UserID = "ffffffffffffffffffffffffffffffff"
	p, st, _ = f.Discover(ctx)
	resp, _ = a.Get(p.Options)
	if _, err := f.Verify(ctx, someone, e, st, resp); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("Verify for another person = %v, want ErrInvalid", err)
	}

	// Without user verification a passkey alone is one factor: refused
	// for a sign-in without a password, though good as a second step.
	a.UV = false
	p, st, _ = f.Discover(ctx)
	resp, _ = a.Get(p.Options)
	if _, err := f.Verify(ctx, subject, e, st, resp); !errors.Is(err, mfa.ErrInvalid) {
		t.Fatalf("Verify without UV: %v, want ErrInvalid", err)
	}
	if f.UserVerified(resp) {
		t.Error("UserVerified = true for a response without UV")
	}
	e.Counter = int64(a.Credentials()[0].Count)
	if _, err := verify(t, f, a, e); err != nil {
		t.Errorf("second step without UV: %v", err)
	}

	if _, err := f.Identify("{}"); !errors.Is(err, mfa.ErrMalformed) {
		t.Errorf("Identify({}) = %v, want ErrMalformed", err)
	}
	if _, err := f.Identify(strings.Repeat("x", 10)); !errors.Is(err, mfa.ErrMalformed) {
		t.Errorf("Identify(garbage) = %v, want ErrMalformed", err)
	}
}

func TestEnrolExcludesRegisteredPasskeys(t *testing.T) {
	ctx := context.Background()
	f, _ := newFactor(t)
	a := testpasskey.New(origin)
	e := enrol(t, f, a)

	p, st, err := f.BeginEnrolExcluding(ctx, subject, []*mfa.Enrolment{e})
	if err != nil {
		t.Fatal(err)
	}
	var o struct{ ExcludeCredentials []struct{ ID, Type string } }
	if err := json.Unmarshal(p.Options, &o); err != nil {
		t.Fatal(err)
	}
	if len(o.ExcludeCredentials) != 1 || o.ExcludeCredentials[0].ID != e.Handle || o.ExcludeCredentials[0].Type != "public-key" {
		t.Fatalf("excludeCredentials = %+v, want the registered %s", o.ExcludeCredentials, e.Handle)
	}
	// The authenticator holding it declines; another one registers.
	if _, err := a.Create(p.Options); !errors.Is(err, testpasskey.ErrExcluded) {
		t.Fatalf("the same authenticator registered again: %v", err)
	}
	resp, err := testpasskey.New(origin).Create(p.Options)
	if err != nil {
		t.Fatal(err)
	}
	if e2, err := f.FinishEnrol(ctx, subject, st, resp); err != nil || e2.Handle == e.Handle {
		t.Fatalf("second authenticator: %v %+v", err, e2)
	}
}
