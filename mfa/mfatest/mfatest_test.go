package mfatest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testclock"
	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/mfa/codes"
	"github.com/ssogate/ssogate/mfa/mfatest"
)

// brokenEnv names the breakage TestBrokenFactor runs the suite on; the
// test is a child process of TestSuiteCatches when it is set.
const brokenEnv = "MFATEST_BROKEN"

// TestSuiteCatches runs the suite, in a child process each, on factors
// broken in one way, and checks it fails them in the case meant to catch
// that (and passes the unbroken one): a suite that passes anything is no
// suite.
func TestSuiteCatches(t *testing.T) {
	cases := []struct{ broken, failCase string }{
		{"none", ""},
		{"accepts-wrong", "WrongResponse"},
		{"malformed-as-error", "Malformed"},
		{"replays", "Replay"},
		{"stuck-counter", "CounterIncreases"},
		{"ignores-subject", "OtherSubject"},
		{"never-expires", "Expiry"},
	}
	for _, c := range cases {
		t.Run(c.broken, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenFactor$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+c.broken)
			out, err := cmd.CombinedOutput()
			if c.failCase == "" {
				if err != nil || !strings.Contains(string(out), "--- PASS: TestBrokenFactor/Concurrent") {
					t.Fatalf("the unbroken factor failed the suite (%v):\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("the suite passed a factor that %s:\n%s", c.broken, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestBrokenFactor/"+c.failCase+" ") {
				t.Errorf("a factor that %s did not fail %s:\n%s", c.broken, c.failCase, out)
			}
		})
	}
}

// TestBrokenFactor is TestSuiteCatches's child: it runs the suite on the
// SMS code factor broken as the environment says. Run directly, without
// the variable, it has nothing to do.
func TestBrokenFactor(t *testing.T) {
	broken := os.Getenv(brokenEnv)
	if broken == "" {
		return
	}
	clock := testclock.New(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))
	const ttl = 5 * time.Minute
	o := codes.Options{TTL: ttl, Now: clock.Now, Key: []byte(strings.Repeat("k", codes.MinKeySize))}
	if broken == "never-expires" {
		o.TTL = 1000 * time.Hour
	}
	f, err := codes.New(mfa.KindSMS, o)
	if err != nil {
		t.Fatal(err)
	}
	code := func(_ *testing.T, p mfa.Prompt) string { return p.Code }
	mfatest.Run(t, mfatest.Harness{
		Factor:      brokenFactor{Factor: f, how: broken},
		Kind:        mfa.KindSMS,
		Clock:       clock,
		Subject:     mfa.Subject{UserID: "a", Phone: "+819012345678"},
		Other:       mfa.Subject{UserID: "b", Phone: "+819012345678"},
		EnrolAnswer: code,
		Answer:      func(t *testing.T, p mfa.Prompt, _ *mfa.Enrolment) string { return code(t, p) },
		Valid:       ttl - time.Nanosecond,
		Expiry:      ttl,
	})
}

// brokenFactor is a real factor with one fault put in.
type brokenFactor struct {
	*codes.Factor
	how string
}

// FinishEnrol passes to the real factor, as the fault says.
func (b brokenFactor) FinishEnrol(ctx context.Context, s mfa.Subject, state []byte, response string) (*mfa.Enrolment, error) {
	if b.how == "ignores-subject" {
		s = mfa.Subject{Phone: s.Phone}
	}
	e, err := b.Factor.FinishEnrol(ctx, s, state, response)
	return e, b.fault(err)
}

// BeginEnrol passes to the real factor, as the fault says.
func (b brokenFactor) BeginEnrol(ctx context.Context, s mfa.Subject) (mfa.Prompt, []byte, error) {
	if b.how == "ignores-subject" {
		s = mfa.Subject{Phone: s.Phone}
	}
	return b.Factor.BeginEnrol(ctx, s)
}

// Challenge passes to the real factor, as the fault says.
func (b brokenFactor) Challenge(ctx context.Context, s mfa.Subject, e *mfa.Enrolment) (mfa.Prompt, []byte, error) {
	if b.how == "ignores-subject" {
		s = mfa.Subject{}
	}
	return b.Factor.Challenge(ctx, s, e)
}

// Verify passes to the real factor, as the fault says.
func (b brokenFactor) Verify(ctx context.Context, s mfa.Subject, e *mfa.Enrolment, state []byte, response string) (int64, error) {
	switch b.how {
	case "ignores-subject":
		s = mfa.Subject{}
	case "replays":
		fresh := *e
		fresh.Counter = 0
		e = &fresh
	}
	c, err := b.Factor.Verify(ctx, s, e, state, response)
	if b.how == "stuck-counter" && err == nil {
		c = e.Counter
	}
	if b.how == "accepts-wrong" && errors.Is(err, mfa.ErrInvalid) {
		return e.Counter + 1, nil
	}
	return c, b.fault(err)
}

// fault turns the real factor's error into the broken one's.
func (b brokenFactor) fault(err error) error {
	if b.how == "malformed-as-error" && errors.Is(err, mfa.ErrMalformed) {
		return errors.New("broken: cannot read the response")
	}
	if b.how == "accepts-wrong" && errors.Is(err, mfa.ErrInvalid) {
		return nil
	}
	return err
}
