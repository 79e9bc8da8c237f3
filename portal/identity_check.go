package portal

import "reflect"

// PageIdentityCheck is /identity-check, the PIN identity check.
const PageIdentityCheck = "identity_check"

func init() {
	pageTypes[PageIdentityCheck] = reflect.TypeFor[IdentityCheckPage]()
}

// Steps of the identity check's page.
const (
	// CheckStepDetails asks for login_id and phone.
	CheckStepDetails = "details"
	// CheckStepChannel offers the PIN's channels (posts channel).
	CheckStepChannel = "channel"
	// CheckStepPIN asks for the PIN (posts pin), and offers to send again.
	CheckStepPIN = "pin"
	// CheckStepReset offers a new password (action=password, password,
	// password_confirm) or a new email (action=email, email,
	// email_confirm).
	CheckStepReset = "reset"
	// CheckStepDone says what was done: DoneKey.
	CheckStepDone = "done"
)

// CheckChoice is a channel the PIN may go through: Channel is "sms",
// "voice" or "mail"; Target the masked number ("" for mail: the
// registered address, never shown).
type CheckChoice struct {
	Channel string
	Target  string
}

// IdentityCheckPage is /identity-check; every form posts to it with
// csrf_token.
type IdentityCheckPage struct {
	Base
	Step string
	// LoginID and Phone are the details typed (CheckStepDetails).
	LoginID string
	Phone   string
	Choices []CheckChoice
	// Channel and Target are where the PIN went; TriesLeft how many
	// wrong PINs end the check; Expires the PIN's validity, written.
	Channel   string
	Target    string
	TriesLeft int
	Expires   string
	// Email is the account's login email (CheckStepReset); Passwords is
	// true when a new password can be set here.
	Email     string
	Passwords bool
	Rule      PasswordRule
	NewEmail  string
	// ErrorKey / ErrorKeys explain a refused step; NoticeKey (Base)
	// confirms one; DoneKey is the final message.
	ErrorKey  string
	ErrorKeys []string
	DoneKey   string
}
