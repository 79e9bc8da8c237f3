// Package mfa is the contract of second factors (2-step verification):
// an authenticator app (TOTP), codes sent by SMS or voice, passkeys and
// security keys (WebAuthn). Like providers/, it holds small
// capability-shaped interfaces and plain types, and imports nothing but
// the standard library; each factor lives in a sub-package that imports
// only this one (and its library), and mfa/mfatest is the conformance
// suite every factor passes.
//
// A factor knows nothing of the store, HTTP, sessions or messages: the
// account flows (package account) keep an Enrolment's Secret sealed in
// the store, keep the opaque State of a half-finished enrolment or
// challenge server-side, hand a Prompt's Code to the notify outbox, audit
// every attempt and count tries. Recovery codes are in mfa/recovery.
package mfa

import (
	"context"
	"errors"
)

// Kind names a factor. The values are the store's Factor kinds and the
// configuration's policy.two_factor.methods.
type Kind string

// Kinds.
const (
	KindTOTP     Kind = "totp"
	KindSMS      Kind = "sms"
	KindVoice    Kind = "voice"
	KindWebAuthn Kind = "webauthn"
)

// Errors a factor returns. Each is a result, not a failure: the flow
// audits it and asks again.
var (
	// ErrInvalid means the response (a code, an assertion) is wrong.
	ErrInvalid = errors.New("mfa: invalid response")
	// ErrReplayed means the response was right but was used already (a
	// TOTP code's time step accepted before; an authenticator's signature
	// count not moving forward).
	ErrReplayed = errors.New("mfa: response used already")
	// ErrExpired means the challenge or enrolment state is too old.
	ErrExpired = errors.New("mfa: challenge expired")
	// ErrMalformed means the response cannot be read at all.
	ErrMalformed = errors.New("mfa: malformed response")
)

// Subject is the person a factor is set up for or asked of.
type Subject struct {
	// UserID is the store's user id; Email the login id; DisplayName the
	// person's name (an authenticator app and a passkey show them).
	UserID      string
	Email       string
	DisplayName string
	// Phone is the E.164 number an SMS or voice factor is enrolled with.
	Phone string
	// Language is the person's language ("ja" or "en"), for what a factor
	// words itself (a voice call's spoken text is chosen by the sender).
	Language string
}

// Enrolment is a registered factor as the flows keep it: the plain
// Secret (the flow seals it before the store), the Counter (TOTP step
// last accepted, WebAuthn signature count), and for WebAuthn the Handle
// (credential id, base64url) that finds it at a passwordless sign-in.
type Enrolment struct {
	Kind    Kind
	Name    string
	Handle  string
	Target  string // E.164 for sms and voice
	Secret  []byte
	Counter int64
}

// Prompt is what a step shows the person, or sends them.
type Prompt struct {
	// TOTP enrolment: the otpauth:// URI, the key as grouped text for
	// typing by hand, and the URI as a QR code (PNG).
	URI    string
	Secret string
	QRPNG  []byte
	// Code is what a sending factor (SMS, voice) wants delivered to
	// Target; the flow puts it in the outbox. A factor that sends nothing
	// leaves both empty.
	Code   string
	Target string
	// Options is a WebAuthn ceremony's options (JSON for
	// navigator.credentials.create or .get), passed to the page's script.
	Options []byte
}

// Enroller sets a factor up: Begin makes the Prompt and the State to keep
// (server-side, sealed) until the person answers; Finish checks the
// answer against that State and returns the Enrolment to store.
type Enroller interface {
	Kind() Kind
	BeginEnrol(ctx context.Context, s Subject) (Prompt, []byte, error)
	FinishEnrol(ctx context.Context, s Subject, state []byte, response string) (*Enrolment, error)
}

// Verifier asks a registered factor at sign-in: Challenge makes the
// Prompt (a code to send, WebAuthn options; nothing for TOTP) and the
// State to keep; Verify checks the person's response against the
// Enrolment and that State, and returns the Counter to store with
// store.TwoStep.UseFactor (which refuses one not greater than the stored
// one: that is what makes a TOTP code or a WebAuthn assertion good once).
type Verifier interface {
	Kind() Kind
	Challenge(ctx context.Context, s Subject, e *Enrolment) (Prompt, []byte, error)
	Verify(ctx context.Context, s Subject, e *Enrolment, state []byte, response string) (counter int64, err error)
}

// Factor is a second factor that can be set up and asked.
type Factor interface {
	Enroller
	Verifier
}

// Discoverer is a factor that can also sign a person in without a
// password or an email typed first (a passkey): Discover makes a Prompt
// that lets the browser offer any credential it holds for this site;
// Identify reads the response's credential handle, so the flow can load
// that Enrolment and its Subject and then call Verify.
type Discoverer interface {
	Discover(ctx context.Context) (Prompt, []byte, error)
	Identify(response string) (handle string, err error)
}
