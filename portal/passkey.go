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
