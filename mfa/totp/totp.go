// Package totp is the authenticator-app factor: time-based one-time
// passwords (RFC 6238) with the parameters Google Authenticator,
// Microsoft Authenticator and the others expect without asking — HMAC-SHA-1,
// 6 digits, a 30-second step — and a code accepted one step early or late.
//
// Enrolment shows an otpauth:// URI (as a QR code rendered here, and as
// the key grouped for typing by hand); the person's first code proves the
// app holds the key. The key is the Enrolment's Secret (the flow seals
// it); the Counter is the time step last accepted, so a code is good once.
package totp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/skip2/go-qrcode"

	"github.com/ssogate/ssogate/mfa"
)

// The parameters every authenticator app understands. Other values exist
// in the otpauth format but some apps ignore them silently and then show
// wrong codes, so they are fixed here.
const (
	// Period is the length of a time step.
	Period = 30 * time.Second
	// Digits is the length of a code.
	Digits = 6
	// KeySize is the key length in bytes: 160 bits, the HMAC-SHA-1 output
	// size RFC 4226 recommends.
	KeySize = 20
	// Skew is how many steps early or late a code is still accepted
	// (clocks of phones drift; people type slowly).
	Skew = 1
	// QRSize is about the width and height of the QR code image, in
	// pixels (a whole number of pixels per module: see qrPNG).
	QRSize = 240
)

// b32 is the key's text form in the URI: RFC 4648 base32 without padding,
// as the otpauth format wants.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Options configures the factor.
type Options struct {
	// Issuer names the service in the app's list (the portal title); it is
	// both the label's prefix and the issuer parameter. Default "ssogate".
	Issuer string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Factor is the TOTP factor. It holds no state of its own and is safe for
// concurrent use.
type Factor struct {
	issuer string
	now    func() time.Time
}

var _ mfa.Factor = (*Factor)(nil)

// New returns the TOTP factor with o's issuer and clock.
func New(o Options) *Factor {
	f := &Factor{issuer: o.Issuer, now: o.Now}
	if f.issuer == "" {
		f.issuer = "ssogate"
	}
	if f.now == nil {
		f.now = time.Now
	}
	return f
}

// Kind returns mfa.KindTOTP.
func (f *Factor) Kind() mfa.Kind { return mfa.KindTOTP }

// BeginEnrol makes a fresh key for s and the Prompt that hands it to the
// app: the otpauth:// URI, the same as a PNG QR code, and the key in
// groups of four for typing. The state is the key and a tag of s (so a
// state answered for another person fails); the flow keeps it sealed
// until FinishEnrol.
func (f *Factor) BeginEnrol(_ context.Context, s mfa.Subject) (mfa.Prompt, []byte, error) {
	account := s.Email
	if account == "" {
		account = s.UserID
	}
	if account == "" {
		return mfa.Prompt{}, nil, errors.New("totp: enrol: subject has neither email nor user id")
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return mfa.Prompt{}, nil, fmt.Errorf("totp: enrol: key: %w", err)
	}
	uri := URI(f.issuer, account, key)
	png, err := qrPNG(uri)
	if err != nil {
		return mfa.Prompt{}, nil, fmt.Errorf("totp: enrol: %w", err)
	}
	state := append(key, subjectTag(s)...)
	return mfa.Prompt{URI: uri, Secret: group(b32.EncodeToString(key)), QRPNG: png}, state, nil
}

// FinishEnrol checks the first code the app shows against the key in
// state and returns the Enrolment: Secret is the key, Counter the step of
// that code (so it cannot also pass the sign-in that follows). A state
// begun for another person is mfa.ErrInvalid.
func (f *Factor) FinishEnrol(_ context.Context, s mfa.Subject, state []byte, response string) (*mfa.Enrolment, error) {
	if len(state) != stateSize {
		return nil, fmt.Errorf("totp: enrol: state of %d bytes, want %d", len(state), stateSize)
	}
	key, tag := state[:KeySize], state[KeySize:]
	step, err := f.match(key, response)
	if err != nil {
		return nil, fmt.Errorf("totp: enrol: %w", err)
	}
	if subtle.ConstantTimeCompare(tag, subjectTag(s)) != 1 {
		return nil, fmt.Errorf("totp: enrol: state of another person: %w", mfa.ErrInvalid)
	}
	return &mfa.Enrolment{Kind: mfa.KindTOTP, Secret: append([]byte(nil), key...), Counter: step}, nil
}

// stateSize is the length of an enrolment state: the key and the tag.
const stateSize = KeySize + tagSize

// tagSize is the length of a subject tag.
const tagSize = 16

// subjectTag names s in an enrolment state. It is a hash, not a MAC: the
// flow seals the state, so this only keeps one person's state from
// finishing another's enrolment by a mix-up.
func subjectTag(s mfa.Subject) []byte {
	sum := sha256.Sum256([]byte(s.UserID + "\x00" + s.Email))
	return sum[:tagSize]
}

// Challenge returns an empty Prompt and no state: the app shows the code
// without being asked.
func (f *Factor) Challenge(context.Context, mfa.Subject, *mfa.Enrolment) (mfa.Prompt, []byte, error) {
	return mfa.Prompt{}, nil, nil
}

// Verify checks a code against e's key at the clock's time step, one step
// either side, and returns the step it matched. A step not after
// e.Counter is mfa.ErrReplayed (each code is accepted once); a code of
// none of the steps is mfa.ErrInvalid; a response that is not six digits
// once spaces, dashes and full-width forms are undone is mfa.ErrMalformed.
func (f *Factor) Verify(_ context.Context, _ mfa.Subject, e *mfa.Enrolment, _ []byte, response string) (int64, error) {
	if e == nil || len(e.Secret) == 0 {
		return 0, errors.New("totp: verify: enrolment without a key")
	}
	step, err := f.match(e.Secret, response)
	if err != nil {
		return 0, fmt.Errorf("totp: verify: %w", err)
	}
	if step <= e.Counter {
		return 0, fmt.Errorf("totp: verify: step %d, last accepted %d: %w", step, e.Counter, mfa.ErrReplayed)
	}
	return step, nil
}

// match returns the latest time step around now whose code is response.
// Every step in the window is computed and compared in constant time, so
// how long it takes says nothing of which step (or how much of a code)
// was right.
func (f *Factor) match(key []byte, response string) (int64, error) {
	code, err := mfa.ReadDigits(response, Digits)
	if err != nil {
		return 0, err
	}
	secret := b32.EncodeToString(key)
	now := Step(f.now())
	matched := int64(-1)
	for step := now - Skew; step <= now+Skew; step++ {
		want, err := Code(secret, step)
		if err != nil {
			return 0, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched = step
		}
	}
	if matched < 0 {
		return 0, mfa.ErrInvalid
	}
	return matched, nil
}

// Step returns the RFC 6238 time step of t: whole periods since the Unix
// epoch.
func Step(t time.Time) int64 {
	return t.Unix() / int64(Period/time.Second)
}

// Code returns the code of the base32 secret at time step step, as an
// authenticator app computes it.
func Code(secret string, step int64) (string, error) {
	c, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", fmt.Errorf("totp: code: %w", err)
	}
	return c, nil
}

// qrPNG renders text as a PNG QR code of about QRSize pixels, with
// medium error correction (a phone held at an angle to a glossy screen
// still reads it). Each module gets the same whole number of pixels:
// modules of uneven width, what scaling to exactly QRSize gives, are
// misread by some decoders.
func qrPNG(text string) ([]byte, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	modules := len(q.Bitmap()) // quiet zone included
	scale := max(1, (QRSize+modules/2)/modules)
	png, err := q.PNG(-scale)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	return png, nil
}

// URI returns the otpauth:// URI of key for account at issuer, in the
// Key Uri Format authenticator apps read from a QR code. The label and
// parameters are percent-encoded (a space as %20, which every app reads,
// unlike '+'; a ':' in the issuer as %3A, so the label's one literal ':'
// stays the separator), so any issuer, a Japanese one included, survives.
// An '@' stays literal in the label, as in the format's own examples.
func URI(issuer, account string, key []byte) string {
	return "otpauth://totp/" + escapeLabel(issuer) + ":" + escapeLabel(account) +
		"?secret=" + b32.EncodeToString(key) +
		"&issuer=" + escape(issuer) +
		"&algorithm=SHA1&digits=6&period=30"
}

// escape percent-encodes s for a query value of the URI.
func escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// escapeLabel percent-encodes s for the URI's label (its path), where
// '@' needs no escaping.
func escapeLabel(s string) string {
	return strings.ReplaceAll(escape(s), "%40", "@")
}

// group splits a base32 key into groups of four, the way apps show a
// key to type ("ABCD EFGH ...").
func group(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}
