// Package mfatest is the conformance suite every second factor passes:
// Run takes a Harness (the factor, the clock it reads, two people, and
// how the person's app, phone or authenticator answers a Prompt) and
// checks the contract of package mfa as the account flows rely on it —
// enrol then verify, wrong and unreadable responses, each response good
// once, counters that only grow, one person's state or response useless
// to another, expiry by moving the clock, and concurrent use.
package mfatest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/mfa"
)

// Clock is the movable time the factor under test reads (its Now is the
// factor's clock); internal/testclock's Clock is one. The suite only
// moves it forward.
type Clock interface {
	Now() time.Time
	Advance(d time.Duration)
}

// Harness is a factor and what the suite needs to drive it.
type Harness struct {
	// Factor is the factor under test; Kind the kind it must report.
	Factor mfa.Factor
	Kind   mfa.Kind
	// Clock is the time Factor reads.
	Clock Clock
	// Subject and Other are two different people (different UserIDs)
	// whose prompts, states and responses must not serve each other. For
	// a code factor, giving both the same phone checks that the number
	// alone does not bind a code.
	Subject mfa.Subject
	Other   mfa.Subject

	// EnrolAnswer answers an enrolment's Prompt as the person's app or
	// authenticator would, at the clock's time (TOTP: the code of the
	// URI's key; codes: the code received; WebAuthn: an attestation).
	EnrolAnswer func(t *testing.T, p mfa.Prompt) string
	// Answer answers a challenge's Prompt for enrolment e, at the clock's
	// time. The suite calls both from the test's goroutine only.
	Answer func(t *testing.T, p mfa.Prompt, e *mfa.Enrolment) string
	// Wrong returns a response of the right form that is not right (a
	// code with a digit changed, an assertion with a bad signature).
	// Default: the response with its last digit changed, for digit codes.
	Wrong func(t *testing.T, response string) string

	// Malformed are responses that cannot be read at all; default a few
	// that are not six digits ("", "12345", "1234567", "abcdef").
	Malformed []string
	// MalformedErr is what FinishEnrol and Verify return for them;
	// default mfa.ErrMalformed.
	MalformedErr error
	// ReplayErr is what Verify returns for a response verified once
	// already, against the enrolment whose Counter is the counter that
	// verification returned; default mfa.ErrReplayed.
	ReplayErr error

	// Step is how far the clock must move between two verifications for
	// the second one's counter to be new (TOTP: a period); default 1 s.
	Step time.Duration
	// Valid is the longest the clock may move between a Prompt and the
	// check of its response with the response still good (TOTP: one
	// period, the skew; codes: the TTL less a nanosecond).
	Valid time.Duration
	// Expiry is a move after which the response is no longer good (TOTP:
	// two periods; codes: the TTL). It must be greater than Valid.
	Expiry time.Duration
	// ExpiredErr is what a response past Expiry gets; default
	// mfa.ErrExpired (TOTP says mfa.ErrInvalid: an old code is a wrong
	// code).
	ExpiredErr error
}

// Run runs the conformance cases against h's factor, each as a subtest.
func Run(t *testing.T, h Harness) {
	h.defaults(t)
	s := &suite{h: h, ctx: context.Background()}
	t.Run("Kind", s.kind)
	t.Run("EnrolThenVerify", s.enrolThenVerify)
	t.Run("WrongResponse", s.wrongResponse)
	t.Run("Malformed", s.malformed)
	t.Run("Replay", s.replay)
	t.Run("CounterIncreases", s.counterIncreases)
	t.Run("OtherSubject", s.otherSubject)
	t.Run("Expiry", s.expiry)
	t.Run("Concurrent", s.concurrent)
}

// defaults fills h's optional fields and fails on a harness that cannot
// run the suite.
func (h *Harness) defaults(t *testing.T) {
	t.Helper()
	switch {
	case h.Factor == nil || h.Clock == nil || h.EnrolAnswer == nil || h.Answer == nil:
		t.Fatal("mfatest: Harness needs Factor, Clock, EnrolAnswer and Answer")
	case h.Subject.UserID == "" || h.Other.UserID == "" || h.Subject.UserID == h.Other.UserID:
		t.Fatal("mfatest: Harness needs two subjects with different UserIDs")
	case h.Valid <= 0 || h.Expiry <= h.Valid:
		t.Fatalf("mfatest: Harness.Valid (%v) must be positive and Expiry (%v) greater", h.Valid, h.Expiry)
	}
	if h.Wrong == nil {
		h.Wrong = WrongDigit
	}
	if h.Malformed == nil {
		h.Malformed = []string{"", "12345", "1234567", "abcdef"}
	}
	if h.MalformedErr == nil {
		h.MalformedErr = mfa.ErrMalformed
	}
	if h.ReplayErr == nil {
		h.ReplayErr = mfa.ErrReplayed
	}
	if h.ExpiredErr == nil {
		h.ExpiredErr = mfa.ErrExpired
	}
	if h.Step <= 0 {
		h.Step = time.Second
	}
}

// WrongDigit returns response with its last character, a digit, moved
// by one (9 becomes 0): the default Harness.Wrong for digit codes.
func WrongDigit(t *testing.T, response string) string {
	t.Helper()
	n := len(response)
	if n == 0 || response[n-1] < '0' || response[n-1] > '9' {
		t.Fatalf("mfatest: response %q does not end in a digit: set Harness.Wrong", response)
	}
	return response[:n-1] + string(rune('0'+(response[n-1]-'0'+1)%10))
}

// suite is one run's harness and context.
type suite struct {
	h   Harness
	ctx context.Context
}

// enrol enrols s and fails the test if that fails.
func (s *suite) enrol(t *testing.T, who mfa.Subject) *mfa.Enrolment {
	t.Helper()
	p, state, err := s.h.Factor.BeginEnrol(s.ctx, who)
	if err != nil {
		t.Fatalf("BeginEnrol(%s): %v", who.UserID, err)
	}
	e, err := s.h.Factor.FinishEnrol(s.ctx, who, state, s.h.EnrolAnswer(t, p))
	if err != nil {
		t.Fatalf("FinishEnrol(%s) with the right answer: %v", who.UserID, err)
	}
	if e == nil {
		t.Fatalf("FinishEnrol(%s) returned no enrolment and no error", who.UserID)
	}
	return e
}

// challenge challenges e for who and answers the Prompt.
func (s *suite) challenge(t *testing.T, who mfa.Subject, e *mfa.Enrolment) (state []byte, response string) {
	t.Helper()
	p, state, err := s.h.Factor.Challenge(s.ctx, who, e)
	if err != nil {
		t.Fatalf("Challenge(%s): %v", who.UserID, err)
	}
	return state, s.h.Answer(t, p, e)
}

// verified verifies the right response to a new challenge of e one Step
// later, checks the counter moved forward, and stores it in e as the
// flow would (store.TwoStep.UseFactor).
func (s *suite) verified(t *testing.T, who mfa.Subject, e *mfa.Enrolment) int64 {
	t.Helper()
	s.h.Clock.Advance(s.h.Step)
	state, resp := s.challenge(t, who, e)
	c, err := s.h.Factor.Verify(s.ctx, who, e, state, resp)
	if err != nil {
		t.Fatalf("Verify(%s) with the right answer: %v", who.UserID, err)
	}
	if c <= e.Counter {
		t.Fatalf("Verify(%s) returned counter %d, not greater than the enrolment's %d: UseFactor would refuse it", who.UserID, c, e.Counter)
	}
	e.Counter = c
	return c
}

// kind checks the factor and its enrolments report the harness's kind.
func (s *suite) kind(t *testing.T) {
	if k := s.h.Factor.Kind(); k != s.h.Kind {
		t.Fatalf("Kind() = %q, want %q", k, s.h.Kind)
	}
	if e := s.enrol(t, s.h.Subject); e.Kind != s.h.Kind {
		t.Errorf("enrolment Kind = %q, want %q", e.Kind, s.h.Kind)
	}
}

// enrolThenVerify checks the path every person takes: enrol, then pass
// the step at a later sign-in.
func (s *suite) enrolThenVerify(t *testing.T) {
	e := s.enrol(t, s.h.Subject)
	s.verified(t, s.h.Subject, e)
}

// wrongResponse checks a wrong answer is ErrInvalid at enrolment and at
// sign-in, and spends nothing: the right answer still passes after it.
func (s *suite) wrongResponse(t *testing.T) {
	f, who := s.h.Factor, s.h.Subject
	p, state, err := f.BeginEnrol(s.ctx, who)
	if err != nil {
		t.Fatalf("BeginEnrol: %v", err)
	}
	right := s.h.EnrolAnswer(t, p)
	if _, err := f.FinishEnrol(s.ctx, who, state, s.h.Wrong(t, right)); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("FinishEnrol with a wrong answer: %v, want ErrInvalid", err)
	}
	e, err := f.FinishEnrol(s.ctx, who, state, right)
	if err != nil {
		t.Fatalf("FinishEnrol with the right answer after a wrong one: %v", err)
	}
	s.h.Clock.Advance(s.h.Step)
	state, resp := s.challenge(t, who, e)
	if _, err := f.Verify(s.ctx, who, e, state, s.h.Wrong(t, resp)); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("Verify with a wrong answer: %v, want ErrInvalid", err)
	}
	if _, err := f.Verify(s.ctx, who, e, state, resp); err != nil {
		t.Errorf("Verify with the right answer after a wrong one: %v", err)
	}
}

// malformed checks unreadable responses get MalformedErr, not a failure
// of another kind.
func (s *suite) malformed(t *testing.T) {
	f, who := s.h.Factor, s.h.Subject
	e := s.enrol(t, who)
	_, enrolState, err := f.BeginEnrol(s.ctx, who)
	if err != nil {
		t.Fatalf("BeginEnrol: %v", err)
	}
	s.h.Clock.Advance(s.h.Step)
	_, state, err := f.Challenge(s.ctx, who, e)
	if err != nil {
		t.Fatalf("Challenge: %v", err)
	}
	for _, in := range s.h.Malformed {
		if _, err := f.FinishEnrol(s.ctx, who, enrolState, in); !errors.Is(err, s.h.MalformedErr) {
			t.Errorf("FinishEnrol(%q): %v, want %v", in, err, s.h.MalformedErr)
		}
		if _, err := f.Verify(s.ctx, who, e, state, in); !errors.Is(err, s.h.MalformedErr) {
			t.Errorf("Verify(%q): %v, want %v", in, err, s.h.MalformedErr)
		}
	}
}

// replay checks a response passes once: verified again against the
// enrolment with the counter it earned, now and a Step later (still
// inside its validity), it gets ReplayErr; the enrolment's own answer
// cannot pass a sign-in either.
func (s *suite) replay(t *testing.T) {
	f, who := s.h.Factor, s.h.Subject
	e := s.enrol(t, who)
	s.h.Clock.Advance(s.h.Step)
	state, resp := s.challenge(t, who, e)
	c, err := f.Verify(s.ctx, who, e, state, resp)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	e.Counter = c
	if _, err := f.Verify(s.ctx, who, e, state, resp); !errors.Is(err, s.h.ReplayErr) {
		t.Errorf("the same response again: %v, want %v", err, s.h.ReplayErr)
	}
	if s.h.Step <= s.h.Valid {
		s.h.Clock.Advance(s.h.Step)
		if _, err := f.Verify(s.ctx, who, e, state, resp); !errors.Is(err, s.h.ReplayErr) {
			t.Errorf("the same response a step later: %v, want %v", err, s.h.ReplayErr)
		}
	}
}

// counterIncreases checks successive sign-ins return counters that only
// grow, so the store's compare-and-set accepts each once.
func (s *suite) counterIncreases(t *testing.T) {
	e := s.enrol(t, s.h.Subject)
	prev := e.Counter
	for i := range 4 {
		c := s.verified(t, s.h.Subject, e)
		if c <= prev {
			t.Fatalf("verification %d: counter %d after %d", i+1, c, prev)
		}
		prev = c
	}
}

// otherSubject checks one person's prompt, state and response are
// useless to another, at enrolment and at sign-in; the rightful use
// still passes afterwards.
func (s *suite) otherSubject(t *testing.T) {
	f, a, b := s.h.Factor, s.h.Subject, s.h.Other
	pa, stateA, err := f.BeginEnrol(s.ctx, a)
	if err != nil {
		t.Fatalf("BeginEnrol(a): %v", err)
	}
	_, stateB, err := f.BeginEnrol(s.ctx, b)
	if err != nil {
		t.Fatalf("BeginEnrol(b): %v", err)
	}
	respA := s.h.EnrolAnswer(t, pa)
	if _, err := f.FinishEnrol(s.ctx, b, stateB, respA); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("b's enrolment with a's answer: %v, want ErrInvalid", err)
	}
	if _, err := f.FinishEnrol(s.ctx, b, stateA, respA); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("b's enrolment with a's state and answer: %v, want ErrInvalid", err)
	}
	ea, err := f.FinishEnrol(s.ctx, a, stateA, respA)
	if err != nil {
		t.Fatalf("a's enrolment after b's tries: %v", err)
	}
	eb := s.enrol(t, b)

	s.h.Clock.Advance(s.h.Step)
	stA, rA := s.challenge(t, a, ea)
	stB, _ := s.challenge(t, b, eb)
	if _, err := f.Verify(s.ctx, b, eb, stB, rA); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("b's sign-in with a's answer: %v, want ErrInvalid", err)
	}
	if _, err := f.Verify(s.ctx, b, eb, stA, rA); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("b's sign-in with a's state and answer: %v, want ErrInvalid", err)
	}
	if _, err := f.Verify(s.ctx, a, ea, stA, rA); err != nil {
		t.Errorf("a's sign-in after b's tries: %v", err)
	}
}

// expiry checks a response is good for Valid after its Prompt and not
// after Expiry, at enrolment and at sign-in.
func (s *suite) expiry(t *testing.T) {
	f, who := s.h.Factor, s.h.Subject
	var states [2][]byte
	var answers [2]string
	for i := range states {
		p, state, err := f.BeginEnrol(s.ctx, who)
		if err != nil {
			t.Fatalf("BeginEnrol: %v", err)
		}
		states[i], answers[i] = state, s.h.EnrolAnswer(t, p)
	}
	s.h.Clock.Advance(s.h.Valid)
	e, err := f.FinishEnrol(s.ctx, who, states[0], answers[0])
	if err != nil {
		t.Fatalf("FinishEnrol %v after the prompt: %v", s.h.Valid, err)
	}
	s.h.Clock.Advance(s.h.Expiry - s.h.Valid)
	if _, err := f.FinishEnrol(s.ctx, who, states[1], answers[1]); !errors.Is(err, s.h.ExpiredErr) {
		t.Errorf("FinishEnrol %v after the prompt: %v, want %v", s.h.Expiry, err, s.h.ExpiredErr)
	}

	s.h.Clock.Advance(s.h.Step)
	st0, r0 := s.challenge(t, who, e)
	st1, r1 := s.challenge(t, who, e)
	s.h.Clock.Advance(s.h.Valid)
	// Verify leaves e's counter as it was, so the second response fails
	// for its age, not as a replay.
	if _, err := f.Verify(s.ctx, who, e, st0, r0); err != nil {
		t.Errorf("Verify %v after the challenge: %v", s.h.Valid, err)
	}
	s.h.Clock.Advance(s.h.Expiry - s.h.Valid)
	if _, err := f.Verify(s.ctx, who, e, st1, r1); !errors.Is(err, s.h.ExpiredErr) {
		t.Errorf("Verify %v after the challenge: %v, want %v", s.h.Expiry, err, s.h.ExpiredErr)
	}
}

// concurrent runs every method of one factor from many goroutines at
// once (run with -race): right answers pass, wrong ones fail, and no
// call sees another's.
func (s *suite) concurrent(t *testing.T) {
	const n = 16
	f := s.h.Factor
	who := make([]mfa.Subject, n)
	for i := range who {
		who[i] = s.h.Subject
		who[i].UserID = fmt.Sprintf("%s-%d", s.h.Subject.UserID, i)
	}
	var (
		prompts = make([]mfa.Prompt, n)
		states  = make([][]byte, n)
		answers = make([]string, n)
		enrols  = make([]*mfa.Enrolment, n)
		counts  = make([]int64, n)
		errs    = make([]error, n)
		wrong   = make([]error, n)
	)
	parallel := func(do func(i int)) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { do(i) })
		}
		wg.Wait()
	}
	fail := func(what string) {
		t.Helper()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s %d: %v", what, i, err)
			}
		}
	}

	parallel(func(i int) { prompts[i], states[i], errs[i] = f.BeginEnrol(s.ctx, who[i]) })
	fail("BeginEnrol")
	for i := range n {
		answers[i] = s.h.EnrolAnswer(t, prompts[i])
	}
	parallel(func(i int) { enrols[i], errs[i] = f.FinishEnrol(s.ctx, who[i], states[i], answers[i]) })
	fail("FinishEnrol")

	s.h.Clock.Advance(s.h.Step)
	parallel(func(i int) { prompts[i], states[i], errs[i] = f.Challenge(s.ctx, who[i], enrols[i]) })
	fail("Challenge")
	for i := range n {
		answers[i] = s.h.Answer(t, prompts[i], enrols[i])
	}
	bad := make([]string, n)
	for i := range n {
		bad[i] = s.h.Wrong(t, answers[i])
	}
	parallel(func(i int) {
		_, wrong[i] = f.Verify(s.ctx, who[i], enrols[i], states[i], bad[i])
		counts[i], errs[i] = f.Verify(s.ctx, who[i], enrols[i], states[i], answers[i])
	})
	fail("Verify")
	for i := range n {
		if !errors.Is(wrong[i], mfa.ErrInvalid) {
			t.Errorf("Verify %d with a wrong answer: %v, want ErrInvalid", i, wrong[i])
		}
		if counts[i] <= enrols[i].Counter {
			t.Errorf("Verify %d: counter %d, not greater than %d", i, counts[i], enrols[i].Counter)
		}
	}
}
