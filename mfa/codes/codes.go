// Package codes is the factor of one-time codes sent to a phone, by SMS
// or read out by a voice call: one type serves both kinds, since they
// differ only in how the flow delivers Prompt.Code (notify's SMS or voice
// sender) and in the amr value they earn.
//
// The factor sends nothing and keeps nothing: each Prompt carries a fresh
// 6-digit code for the flow to put in the outbox, and the state to keep
// with the pending step is an HMAC of that code bound to the kind, the
// person and the number, with its issue and expiry times. The code itself
// is never stored. The flow counts tries and throttles resends; the
// counter Verify returns (the code's issue time) makes each code good
// once through store.TwoStep.UseFactor.
package codes

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"time"

	"github.com/ssogate/ssogate/mfa"
)

// Digits is the length of a code.
const Digits = 6

// DefaultTTL is how long a code is good when Options.TTL is zero (the
// configuration's policy.two_factor.code_ttl default).
const DefaultTTL = 5 * time.Minute

// MinKeySize is the shortest HMAC key New accepts, in bytes.
const MinKeySize = 32

// stateSize is the length of a state: issued-at and expiry (Unix
// nanoseconds, big-endian) and the HMAC-SHA256.
const stateSize = 8 + 8 + sha256.Size

// Options configures the factor.
type Options struct {
	// TTL is how long a sent code is good; default DefaultTTL.
	TTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Key is the HMAC key of the states, derived from the master secret
	// (at least MinKeySize bytes). The flow seals states as well; the MAC
	// is what keeps the code itself out of them.
	Key []byte
}

// Factor is the SMS or voice code factor. It holds no state of its own
// and is safe for concurrent use.
type Factor struct {
	kind mfa.Kind
	ttl  time.Duration
	now  func() time.Time
	key  []byte
}

var _ mfa.Factor = (*Factor)(nil)

// New returns the code factor of kind (mfa.KindSMS or mfa.KindVoice).
// It fails for another kind, a negative TTL or a key shorter than
// MinKeySize.
func New(kind mfa.Kind, o Options) (*Factor, error) {
	if kind != mfa.KindSMS && kind != mfa.KindVoice {
		return nil, fmt.Errorf("codes: kind %q: want %q or %q", kind, mfa.KindSMS, mfa.KindVoice)
	}
	if len(o.Key) < MinKeySize {
		return nil, fmt.Errorf("codes: %s: key of %d bytes, want at least %d", kind, len(o.Key), MinKeySize)
	}
	if o.TTL < 0 {
		return nil, fmt.Errorf("codes: %s: negative ttl %v", kind, o.TTL)
	}
	f := &Factor{kind: kind, ttl: o.TTL, now: o.Now, key: append([]byte(nil), o.Key...)}
	if f.ttl == 0 {
		f.ttl = DefaultTTL
	}
	if f.now == nil {
		f.now = time.Now
	}
	return f, nil
}

// Kind returns the factor's kind, mfa.KindSMS or mfa.KindVoice.
func (f *Factor) Kind() mfa.Kind { return f.kind }

// BeginEnrol makes a code for s.Phone (E.164, as the flow normalised it)
// and returns it as Prompt.Code with Prompt.Target = s.Phone; the flow
// sends it there and keeps the state.
func (f *Factor) BeginEnrol(_ context.Context, s mfa.Subject) (mfa.Prompt, []byte, error) {
	if !e164(s.Phone) {
		return mfa.Prompt{}, nil, fmt.Errorf("codes: %s: enrol: phone number is not E.164", f.kind)
	}
	return f.issue(s, s.Phone)
}

// FinishEnrol checks the code the person received at s.Phone against
// state and returns the Enrolment: Target is the number, Counter the
// code's issue time (so the code cannot also pass a later sign-in).
func (f *Factor) FinishEnrol(_ context.Context, s mfa.Subject, state []byte, response string) (*mfa.Enrolment, error) {
	issued, err := f.check(s, s.Phone, state, response)
	if err != nil {
		return nil, fmt.Errorf("codes: %s: enrol: %w", f.kind, err)
	}
	return &mfa.Enrolment{Kind: f.kind, Target: s.Phone, Counter: issued}, nil
}

// Challenge makes a new code for e.Target, to send there.
func (f *Factor) Challenge(_ context.Context, s mfa.Subject, e *mfa.Enrolment) (mfa.Prompt, []byte, error) {
	if e == nil || !e164(e.Target) {
		return mfa.Prompt{}, nil, fmt.Errorf("codes: %s: challenge: enrolment without an E.164 target", f.kind)
	}
	return f.issue(s, e.Target)
}

// Verify checks the code the person received at e.Target against state
// and returns its issue time in Unix nanoseconds, the counter to store. A
// state past its expiry is mfa.ErrExpired; a wrong code, or a state made
// for another person, number, kind or key, is mfa.ErrInvalid; a code
// issued no later than e.Counter (the one used last, or an older one) is
// mfa.ErrReplayed; a response that is not six digits once spaces, dashes
// and full-width forms are undone is mfa.ErrMalformed.
func (f *Factor) Verify(_ context.Context, s mfa.Subject, e *mfa.Enrolment, state []byte, response string) (int64, error) {
	if e == nil {
		return 0, fmt.Errorf("codes: %s: verify: no enrolment", f.kind)
	}
	issued, err := f.check(s, e.Target, state, response)
	if err != nil {
		return 0, fmt.Errorf("codes: %s: verify: %w", f.kind, err)
	}
	if issued <= e.Counter {
		return 0, fmt.Errorf("codes: %s: verify: code issued at %d, last used %d: %w", f.kind, issued, e.Counter, mfa.ErrReplayed)
	}
	return issued, nil
}

// issue makes a code for target and its state.
func (f *Factor) issue(s mfa.Subject, target string) (mfa.Prompt, []byte, error) {
	code, err := newCode()
	if err != nil {
		return mfa.Prompt{}, nil, fmt.Errorf("codes: %s: %w", f.kind, err)
	}
	now := f.now()
	issued, expires := now.UnixNano(), now.Add(f.ttl).UnixNano()
	state := make([]byte, 16, stateSize)
	binary.BigEndian.PutUint64(state[0:8], uint64(issued))
	binary.BigEndian.PutUint64(state[8:16], uint64(expires))
	state = append(state, f.mac(s, target, code, state[:16])...)
	return mfa.Prompt{Code: code, Target: target}, state, nil
}

// check returns the issue time of state when response is its code for s
// at target and it has not expired.
func (f *Factor) check(s mfa.Subject, target string, state []byte, response string) (int64, error) {
	if len(state) != stateSize {
		return 0, fmt.Errorf("state of %d bytes, want %d", len(state), stateSize)
	}
	code, err := mfa.ReadDigits(response, Digits)
	if err != nil {
		return 0, err
	}
	issued := int64(binary.BigEndian.Uint64(state[0:8]))
	expires := int64(binary.BigEndian.Uint64(state[8:16]))
	// Expiry first: past it, the person needs a new code whether or not
	// this one was right, and the answer tells nothing of the code.
	if f.now().UnixNano() >= expires {
		return 0, mfa.ErrExpired
	}
	if !hmac.Equal(state[16:], f.mac(s, target, code, state[:16])) {
		return 0, mfa.ErrInvalid
	}
	return issued, nil
}

// mac binds code to the factor's kind, the person, the number and the
// times. Each variable-length field is length-prefixed, so no two
// different inputs share a MAC input.
func (f *Factor) mac(s mfa.Subject, target, code string, times []byte) []byte {
	m := hmac.New(sha256.New, f.key)
	for _, field := range []string{string(f.kind), s.UserID, target, code} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(field)))
		m.Write(n[:])
		m.Write([]byte(field))
	}
	m.Write(times)
	return m.Sum(nil)
}

// million is the number of possible codes.
var million = big.NewInt(1_000_000)

// newCode returns Digits decimal digits, uniform over all 10^6 codes:
// crypto/rand.Int draws below the bound without the bias of taking a
// random number modulo it.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, million)
	if err != nil {
		return "", fmt.Errorf("code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// e164 reports whether s has the shape of an E.164 number: '+', a
// country code not starting with 0, at most 15 digits in all.
func e164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
