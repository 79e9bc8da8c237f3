package codes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testclock"
	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/mfa/mfatest"
)

// testKey is an HMAC key of the minimum size.
var testKey = bytes.Repeat([]byte{7}, MinKeySize)

// start is where the tests' clocks stand.
var start = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

// TestConformance runs the factor suite on both kinds, answering as the
// person does: with the code the phone received. Both people share one
// number (a family's phone), so the code must be bound to the person,
// not only to the number.
func TestConformance(t *testing.T) {
	for _, kind := range []mfa.Kind{mfa.KindSMS, mfa.KindVoice} {
		t.Run(string(kind), func(t *testing.T) {
			clock := testclock.New(start)
			const ttl = 5 * time.Minute
			f, err := New(kind, Options{TTL: ttl, Now: clock.Now, Key: testKey})
			if err != nil {
				t.Fatal(err)
			}
			received := func(t *testing.T, p mfa.Prompt) string {
				t.Helper()
				if p.Target != "+819012345678" {
					t.Fatalf("code sent to %q, want +819012345678", p.Target)
				}
				return p.Code
			}
			mfatest.Run(t, mfatest.Harness{
				Factor:      f,
				Kind:        kind,
				Clock:       clock,
				Subject:     mfa.Subject{UserID: "u-taro", Email: "taro@example.jp", Phone: "+819012345678", Language: "ja"},
				Other:       mfa.Subject{UserID: "u-hanako", Email: "hanako@example.jp", Phone: "+819012345678", Language: "en"},
				EnrolAnswer: received,
				Answer:      func(t *testing.T, p mfa.Prompt, _ *mfa.Enrolment) string { return received(t, p) },
				Step:        time.Second,
				Valid:       ttl - time.Nanosecond,
				Expiry:      ttl,
			})
		})
	}
}

// TestNew checks the factor refuses what would make it unsafe or wrong.
func TestNew(t *testing.T) {
	cases := []struct {
		name string
		kind mfa.Kind
		o    Options
		ok   bool
	}{
		{"sms", mfa.KindSMS, Options{Key: testKey}, true},
		{"voice", mfa.KindVoice, Options{Key: testKey, TTL: time.Minute}, true},
		{"totp kind", mfa.KindTOTP, Options{Key: testKey}, false},
		{"no key", mfa.KindSMS, Options{}, false},
		{"short key", mfa.KindSMS, Options{Key: testKey[:MinKeySize-1]}, false},
		{"negative ttl", mfa.KindSMS, Options{Key: testKey, TTL: -time.Second}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := New(c.kind, c.o)
			if c.ok && (err != nil || f.Kind() != c.kind) {
				t.Errorf("New: %v", err)
			}
			if !c.ok && err == nil {
				t.Error("New succeeded")
			}
		})
	}
	f, _ := New(mfa.KindSMS, Options{Key: testKey})
	if f.ttl != DefaultTTL {
		t.Errorf("default TTL %v, want %v", f.ttl, DefaultTTL)
	}
}

// TestPrompt checks what the flow sends: six digits to the enrolled
// number; a code's state does not contain it; enrolment wants E.164.
func TestPrompt(t *testing.T) {
	f, _ := New(mfa.KindSMS, Options{Key: testKey, Now: testclock.New(start).Now})
	s := mfa.Subject{UserID: "u1", Phone: "+819012345678"}
	p, state, err := f.BeginEnrol(context.Background(), s)
	if err != nil {
		t.Fatalf("BeginEnrol: %v", err)
	}
	if len(p.Code) != Digits || strings.Trim(p.Code, "0123456789") != "" || p.Target != s.Phone {
		t.Errorf("prompt code %q to %q; want 6 digits to %s", p.Code, p.Target, s.Phone)
	}
	if len(state) != stateSize || bytes.Contains(state, []byte(p.Code)) {
		t.Errorf("state %x (%d bytes) holds the code or has the wrong size", state, len(state))
	}
	e, err := f.FinishEnrol(context.Background(), s, state, p.Code)
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != mfa.KindSMS || e.Target != s.Phone || e.Counter != start.UnixNano() || e.Secret != nil {
		t.Errorf("enrolment %+v; want sms, target %s, counter %d, no secret", e, s.Phone, start.UnixNano())
	}
	p2, _, err := f.Challenge(context.Background(), mfa.Subject{UserID: "u1", Phone: "+815011112222"}, e)
	if err != nil || p2.Target != s.Phone {
		t.Errorf("Challenge sent to %q (%v): want the enrolment's number %s, not the profile's", p2.Target, err, s.Phone)
	}
	for _, phone := range []string{"", "09012345678", "090-1234-5678", "+0812345678", "+81 90 1234 5678", "+81901234567890123", "+8190abc5678"} {
		if _, _, err := f.BeginEnrol(context.Background(), mfa.Subject{UserID: "u1", Phone: phone}); err == nil {
			t.Errorf("BeginEnrol with phone %q succeeded", phone)
		}
	}
	if _, _, err := f.Challenge(context.Background(), s, &mfa.Enrolment{Kind: mfa.KindSMS}); err == nil {
		t.Error("Challenge of an enrolment without a number succeeded")
	}
}

// TestCodesUniform draws many codes and checks each digit position is
// about uniform (a modulo or formatting bug would skew or fix digits)
// and that codes do not repeat more than chance allows.
func TestCodesUniform(t *testing.T) {
	const n = 20000
	var counts [Digits][10]int
	seen := map[string]int{}
	for range n {
		c, err := newCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != Digits {
			t.Fatalf("code %q", c)
		}
		seen[c]++
		for i := range Digits {
			counts[i][c[i]-'0']++
		}
	}
	// 2,000 expected per digit and position; 15% is over ten standard
	// deviations.
	for i := range Digits {
		for d, got := range counts[i] {
			if got < n/10*85/100 || got > n/10*115/100 {
				t.Errorf("digit %d at position %d drawn %d times of %d", d, i, got, n)
			}
		}
	}
	// About 200 pairs repeat among 20,000 draws of a million; 400 is far
	// out.
	if dup := n - len(seen); dup > 400 {
		t.Errorf("%d repeated codes among %d", dup, n)
	}
}

// TestVerifyInput checks typed forms of the code pass, unreadable ones
// are ErrMalformed, and states that were altered or made under another
// key, kind or number fail.
func TestVerifyInput(t *testing.T) {
	clock := testclock.New(start)
	sms, _ := New(mfa.KindSMS, Options{Key: testKey, Now: clock.Now})
	voice, _ := New(mfa.KindVoice, Options{Key: testKey, Now: clock.Now})
	otherKey, _ := New(mfa.KindSMS, Options{Key: bytes.Repeat([]byte{8}, MinKeySize), Now: clock.Now})
	s := mfa.Subject{UserID: "u1", Phone: "+819012345678"}
	e := &mfa.Enrolment{Kind: mfa.KindSMS, Target: s.Phone}
	p, state, err := sms.Challenge(context.Background(), s, e)
	if err != nil {
		t.Fatal(err)
	}
	full := strings.Map(func(r rune) rune { return r + 0xFEE0 }, p.Code)
	for _, in := range []string{p.Code, " " + p.Code[:3] + " " + p.Code[3:], p.Code[:3] + "-" + p.Code[3:], full} {
		if c, err := sms.Verify(context.Background(), s, e, state, in); err != nil || c != start.UnixNano() {
			t.Errorf("Verify(%q) = %d, %v; want %d", in, c, err, start.UnixNano())
		}
	}
	for _, in := range []string{"", "12345", "1234567", "12345a"} {
		if _, err := sms.Verify(context.Background(), s, e, state, in); !errors.Is(err, mfa.ErrMalformed) {
			t.Errorf("Verify(%q): %v, want ErrMalformed", in, err)
		}
	}
	invalid := []struct {
		name  string
		f     *Factor
		e     *mfa.Enrolment
		state []byte
	}{
		{"voice factor", voice, e, state},
		{"other key", otherKey, e, state},
		{"other number", sms, &mfa.Enrolment{Kind: mfa.KindSMS, Target: "+819087654321"}, state},
		{"issue time moved", sms, e, flip(state, 7)},
		{"expiry moved", sms, e, flip(state, 15)},
		{"mac altered", sms, e, flip(state, stateSize-1)},
	}
	for _, c := range invalid {
		if _, err := c.f.Verify(context.Background(), s, c.e, c.state, p.Code); !errors.Is(err, mfa.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", c.name, err)
		}
	}
	if _, err := sms.Verify(context.Background(), s, e, state[:20], p.Code); err == nil || errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("short state: %v, want a plain error", err)
	}
	if _, err := sms.Verify(context.Background(), s, nil, state, p.Code); err == nil {
		t.Error("Verify without an enrolment succeeded")
	}
}

// flip returns a copy of b with byte i changed.
func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 1
	return c
}

// TestResend checks the codes of a resend: the newer code passes, and
// once it has, the older one is refused as used (its issue time is not
// after the counter stored); each code is judged by its own expiry.
func TestResend(t *testing.T) {
	clock := testclock.New(start)
	f, _ := New(mfa.KindVoice, Options{Key: testKey, Now: clock.Now, TTL: time.Minute})
	s := mfa.Subject{UserID: "u1", Phone: "+819012345678"}
	e := &mfa.Enrolment{Kind: mfa.KindVoice, Target: s.Phone}
	p1, st1, _ := f.Challenge(context.Background(), s, e)
	clock.Advance(30 * time.Second)
	p2, st2, _ := f.Challenge(context.Background(), s, e)
	c2, err := f.Verify(context.Background(), s, e, st2, p2.Code)
	if err != nil {
		t.Fatalf("the resent code: %v", err)
	}
	e.Counter = c2
	if _, err := f.Verify(context.Background(), s, e, st1, p1.Code); !errors.Is(err, mfa.ErrReplayed) {
		t.Errorf("the first code after the second passed: %v, want ErrReplayed", err)
	}
	clock.Advance(30 * time.Second)
	if _, err := f.Verify(context.Background(), s, &mfa.Enrolment{Kind: mfa.KindVoice, Target: s.Phone}, st1, p1.Code); !errors.Is(err, mfa.ErrExpired) {
		t.Errorf("the first code at its TTL: %v, want ErrExpired", err)
	}
	if _, err := f.Verify(context.Background(), s, &mfa.Enrolment{Kind: mfa.KindVoice, Target: s.Phone}, st2, p2.Code); err != nil {
		t.Errorf("the second code 30 s into its minute: %v", err)
	}
}

// ExampleFactor shows the flow's use: a code to send, then the person's
// answer checked against the kept state.
func ExampleFactor() {
	f, err := New(mfa.KindSMS, Options{Key: testKey})
	if err != nil {
		panic(err)
	}
	s := mfa.Subject{UserID: "u1", Phone: "+819012345678"}
	p, state, _ := f.BeginEnrol(context.Background(), s)
	// The flow puts p.Code in the outbox for p.Target, keeps state sealed
	// with the pending step, and reads the person's answer from the form.
	e, err := f.FinishEnrol(context.Background(), s, state, p.Code)
	fmt.Println(e.Kind, e.Target, err)
	// Output: sms +819012345678 <nil>
}
