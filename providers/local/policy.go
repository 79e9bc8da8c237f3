package local

import "github.com/ssogate/ssogate/credentials"

// The password rule lives in package credentials, which the account flows
// share; these names keep the local provider's API as it was.
type (
	// Policy is the rule a new password must meet; see
	// credentials.PasswordRule.
	Policy = credentials.PasswordRule
	// PolicyError is returned by Policy.Check; see credentials.RuleError.
	PolicyError = credentials.RuleError
)

// Reason codes of a PolicyError, and the rule's defaults and limits.
const (
	ReasonTooShort      = credentials.ReasonTooShort
	ReasonTooLong       = credentials.ReasonTooLong
	ReasonTooFewClasses = credentials.ReasonTooFewClasses
	ReasonContainsEmail = credentials.ReasonContainsEmail
	DefaultMinLength    = credentials.DefaultMinLength
	DefaultMinClasses   = credentials.DefaultMinClasses
	MaxPasswordRunes    = credentials.MaxPasswordRunes
)
