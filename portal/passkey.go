package portal

import "reflect"

// Pages of passkeys (WebAuthn).
const (
	// PagePasskeyLogin is /login/passkey: the passwordless sign-in with a
	// passkey or security key.
	PagePasskeyLogin = "passkey_login"
)

func init() {
	pageTypes[PagePasskeyLogin] = reflect.TypeFor[PasskeyLoginPage]()
}

// PasskeyLoginPage is the ceremony page of a passwordless sign-in. Its
// form runs static/webauthn.js (the gateway allows that script on this
// page only) and posts the browser's answer as "credential".
type PasskeyLoginPage struct {
	Base
	// Options is the JSON of the WebAuthn request options, for the
	// script; empty when the page only explains an error.
	Options  string
	ReturnTo string
	// ErrorKey is a message key, or "".
	ErrorKey string
}

// Scripted is a page that may run static/webauthn.js. The gateway allows
// that script (script-src 'self') on exactly the pages whose UsesScript
// is true, the same condition under which the page loads it; every other
// page allows no script at all.
type Scripted interface {
	UsesScript() bool
}

// kindWebAuthn is the factor kind of passkeys.
const kindWebAuthn = "webauthn"

// UsesScript is true while the page has a ceremony to run.
func (p PasskeyLoginPage) UsesScript() bool { return p.Options != "" }

// UsesScript is true when the second step asks a passkey.
func (p TwoStepPage) UsesScript() bool { return p.Chosen.Kind == kindWebAuthn && p.Options != "" }

// UsesScript is true while a passkey is being registered.
func (p TwoStepSetupPage) UsesScript() bool { return p.Enrol.UsesScript() }

// UsesScript is true while a passkey is being registered.
func (p TwoStepAccountPage) UsesScript() bool { return p.Enrol.UsesScript() }

// UsesScript is true for a passkey's enrolment (e may be nil).
func (e *TwoStepEnrolment) UsesScript() bool {
	return e != nil && e.Kind == kindWebAuthn && e.Options != ""
}
