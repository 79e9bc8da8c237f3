package portal

import (
	"encoding/base64"
	"html/template"
	"reflect"
	"strings"
	"time"
)

// Pages of 2-step verification.
const (
	// PageTwoStep is /login/2fa: a code from a registered factor.
	PageTwoStep = "twostep"
	// PageTwoStepRecovery is /login/2fa/recovery: a recovery code instead.
	PageTwoStepRecovery = "twostep_recovery"
	// PageTwoStepSetup is /login/2fa/setup: the first enrolment when
	// 2-step verification is required.
	PageTwoStepSetup = "twostep_setup"
	// PageTwoStepCodes shows recovery codes once.
	PageTwoStepCodes = "twostep_codes"
	// PageTwoStepDone says 2-step verification is set up.
	PageTwoStepDone = "twostep_done"
	// PageTwoStepAccount is /account/2fa: the person's methods.
	PageTwoStepAccount = "twostep_account"
)

func init() {
	pageTypes[PageTwoStep] = reflect.TypeFor[TwoStepPage]()
	pageTypes[PageTwoStepRecovery] = reflect.TypeFor[TwoStepRecoveryPage]()
	pageTypes[PageTwoStepSetup] = reflect.TypeFor[TwoStepSetupPage]()
	pageTypes[PageTwoStepCodes] = reflect.TypeFor[TwoStepCodesPage]()
	pageTypes[PageTwoStepDone] = reflect.TypeFor[TwoStepDonePage]()
	pageTypes[PageTwoStepAccount] = reflect.TypeFor[TwoStepAccountPage]()
}

// TwoStepFactor is a registered second factor as the pages list it.
type TwoStepFactor struct {
	ID string
	// Kind is "totp", "sms", "voice" or "webauthn"; the pages name it
	// with the key "twostep.kind.<kind>".
	Kind string
	Name string
	// Target is an SMS or voice factor's masked number (***-****-*678).
	Target    string
	CreatedAt time.Time
	LastUsed  time.Time
}

// TwoStepPage is /login/2fa. Its code form posts code, remember (= "1")
// and csrf_token; a factor that sends its code (SMS, voice) has a form
// that posts send = "1"; each other factor a form that posts factor (its
// ID) to be asked instead.
type TwoStepPage struct {
	Base
	Factors []TwoStepFactor
	Chosen  TwoStepFactor
	// Sends shows the "send the code" button; Sent says a code went to
	// Chosen.Target.
	Sends bool
	Sent  bool
	// Remember offers "remember this browser" for RememberDays days.
	Remember     bool
	RememberDays int
	TriesLeft    int
	RecoveryLeft int
	// StepUp explains that a service asks for the second step although
	// the person is signed in.
	StepUp   bool
	ErrorKey string
	// Options are a WebAuthn ceremony's options for the page's script.
	Options string
}

// TwoStepRecoveryPage is /login/2fa/recovery: it posts recovery_code,
// remember and csrf_token.
type TwoStepRecoveryPage struct {
	Base
	Remember     bool
	RememberDays int
	ErrorKey     string
}

// TwoStepEnrolment is a factor being set up: for an authenticator app the
// otpauth URI, the key grouped for typing and the QR code (PNG); for SMS
// and voice the masked number the code went to.
type TwoStepEnrolment struct {
	Kind      string
	URI       string
	Secret    string
	QRPNG     []byte
	Target    string
	TriesLeft int
	// Token is the enrolment's, posted back as "enrolment" (/account/2fa).
	Token string
	// Options are a passkey enrolment's creation options, for the page's
	// script (webauthn.js), which posts its answer as "code".
	Options string
}

// QRDataURL is the QR code as an inline image URL (the CSP allows
// img-src data:).
func (e TwoStepEnrolment) QRDataURL() template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QRPNG))
}

// TwoStepSetupPage is /login/2fa/setup: the methods in Methods order
// (each a form posting method, and phone for sms and voice), then the
// enrolment under way (a form posting code, remember and csrf_token).
type TwoStepSetupPage struct {
	Base
	Methods []string
	// Phone prefills the number (the person's mobile).
	Phone        string
	Enrol        *TwoStepEnrolment
	Remember     bool
	RememberDays int
	StepUp       bool
	ErrorKey     string
}

// TwoStepCodesPage shows recovery codes once: a form that posts saved
// (= "1", the "I saved them" checkbox) and csrf_token to Action, and a
// download of the codes as text at Download.
type TwoStepCodesPage struct {
	Base
	Codes    []string
	Action   string
	Download string
	// Renewed says the set replaces the one a code was used from.
	Renewed  bool
	ErrorKey string
}

// TwoStepDonePage says 2-step verification is set up; Continue is where
// the person goes next.
type TwoStepDonePage struct {
	Base
	Continue string
}

// TwoStepAccountPage is /account/2fa: the person's factors (each with a
// form posting remove = its ID; passkeys also rename = its ID and name),
// the methods that may be added (a form posting add = the kind, and
// phone), an enrolment under way (enrolment, code, name), and new
// recovery codes (renew = "1", password when NeedPassword).
type TwoStepAccountPage struct {
	Base
	Factors      []TwoStepFactor
	RecoveryLeft int
	Methods      []string
	Required     bool
	Phone        string
	Enrol        *TwoStepEnrolment
	// Codes are new recovery codes, shown once.
	Codes []string
	// NeedPassword asks for the password before new recovery codes; an
	// account without one signs in again instead (ReauthURL).
	NeedPassword bool
	ReauthURL    string
	ErrorKey     string
}

// CodesFile is Codes as a text file to download, a data: URL: the codes
// are shown once, and no later request could fetch them again.
func (p TwoStepAccountPage) CodesFile() template.URL {
	login := ""
	if p.User != nil {
		login = p.User.LoginID
	}
	return template.URL("data:text/plain;charset=utf-8;base64," +
		base64.StdEncoding.EncodeToString([]byte(CodesText(p.Lang, p.SiteTitle, login, p.Codes))))
}

// CodesText is the text of a recovery-codes file: a heading naming the
// portal and the account, the codes one a line, and how to use them.
func CodesText(lang, title, login string, codes []string) string {
	var b strings.Builder
	b.WriteString(T(lang, "twostep.codes.file_heading", title, login))
	b.WriteString("\r\n\r\n")
	for _, c := range codes {
		b.WriteString(c)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(T(lang, "twostep.codes.file_note"))
	b.WriteString("\r\n")
	return b.String()
}
