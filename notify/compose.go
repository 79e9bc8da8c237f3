// Package notify sends the gateway's messages: mail over SMTP (and, with
// 2-step verification, SMS and voice over HTTP APIs), from ja/en
// templates, through a transactional outbox in the store. A flow writes
// its message with the change that causes it (store.Accounts.Apply); the
// Worker sends it later with retries, so no message is lost when a
// process dies and none is sent twice by several processes.
package notify

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ssogate/ssogate/store"
)

// Templates: one per kind of message, each with ja and en, text and HTML.
const (
	// TemplateAccountLocked: the account was locked after repeated wrong
	// passwords; carries the unlock link (Link) and its expiry (Expires).
	TemplateAccountLocked = "account_locked"
	// TemplatePasswordReset: a reset link (Link, Expires) asked for at
	// /password/forgot.
	TemplatePasswordReset = "password_reset"
	// TemplatePasswordResetNoPassword: a reset was asked for an account
	// without a local password; says how the person signs in (Provider).
	TemplatePasswordResetNoPassword = "password_reset_no_password"
	// TemplatePasswordChanged: the password was changed or reset.
	TemplatePasswordChanged = "password_changed"
	// TemplateEmailChangeConfirm: to the new address, the confirmation link
	// (Link, Expires, NewEmail).
	TemplateEmailChangeConfirm = "email_change_confirm"
	// TemplateEmailChangeNotice: to the old address, that a change to
	// NewEmail was asked for.
	TemplateEmailChangeNotice = "email_change_notice"
	// TemplateEmailChanged: to the old address, that the change was made.
	TemplateEmailChanged = "email_changed"
	// TemplateTest: `ssogate mail test`.
	TemplateTest = "test"
	// TemplateInvitation: an invitation with its link (Data.Link,
	// Expires, Inviter, Name).
	TemplateInvitation = "invitation"
	// TemplateInvitationAccepted: to the inviter, that Data.Email
	// accepted.
	TemplateInvitationAccepted = "invitation_accepted"
	// TemplateMethodChange: a link an administrator sent so that the
	// person chooses a new login method (Data.Link, Expires).
	TemplateMethodChange = "method_change"
	// TemplateEmailChangeLink: a link an administrator sent so that the
	// person enters a new address themselves (Data.Link, Expires,
	// Inviter).
	TemplateEmailChangeLink = "email_change_link"
	// TemplateDeviceApproval: to the administrators, a new browser waits
	// for approval (Data.Name, Email, UserAgent, ClientIP, Time, Link).
	TemplateDeviceApproval = "device_approval"
	// TemplateDeviceToken: to the person, the one-time token that lets
	// the approved browser in (Data.Code, Expires).
	TemplateDeviceToken = "device_token"
	// TemplateIdentityPIN: the PIN of an identity check, by mail, SMS or
	// voice (Data.Code, Expires).
	TemplateIdentityPIN = "identity_pin"
	// TemplateSecondFactorCode: a 2-step verification code by SMS or a
	// voice call (Data.Code, Data.Expires: how long the code works, as
	// CodeValidity writes it, "5分間" / "5 minutes"). Written with
	// Composer.Message on store.ChannelSMS or store.ChannelVoice to an
	// E.164 number (see E164).
	TemplateSecondFactorCode = "second_factor_code"
)

// Data are a message's template values. Every field is optional; a
// template uses the ones of its kind. The portal title is added when the
// message is rendered, from the configuration of the sending process.
type Data struct {
	// Name is the person's display name ("" when unknown).
	Name string `json:"name,omitempty"`
	// Email is the address the account signs in with.
	Email string `json:"email,omitempty"`
	// NewEmail is the address an email change goes to.
	NewEmail string `json:"new_email,omitempty"`
	// Link is a one-time link (a secret: never logged).
	Link string `json:"link,omitempty"`
	// Expires is when Link stops working, already formatted for the
	// person (their language and the portal's time zone).
	Expires string `json:"expires,omitempty"`
	// Provider is the label of the way the person signs in instead of a
	// password (Google, Active Directory).
	Provider string `json:"provider,omitempty"`
	// ClientIP is the address a change was made from.
	ClientIP string `json:"client_ip,omitempty"`
	// Time is when the change was made, formatted for the person.
	Time string `json:"time,omitempty"`
	// Code is a one-time code of 2-step verification (a secret: never
	// logged).
	Code string `json:"code,omitempty"`
	// Inviter is the name of the administrator who sent an invitation.
	Inviter string `json:"inviter,omitempty"`
	// UserAgent describes a browser waiting for approval.
	UserAgent string `json:"user_agent,omitempty"`
}

// ErrSealed is returned when a message's data cannot be opened: sealed
// under another master secret, or damaged.
var ErrSealed = errors.New("notify: cannot open message data")

// Composer builds outbox rows whose data is sealed with an AEAD derived
// from the gateway's master secret, since the data carries one-time links.
type Composer struct {
	aead cipher.AEAD
}

// NewComposer returns a Composer sealing with aead.
func NewComposer(aead cipher.AEAD) *Composer { return &Composer{aead: aead} }

// Mail returns an outbox row for a mail of template to the address to, in
// lang, for userID (may be empty). The caller writes it with its cause.
func (c *Composer) Mail(to, lang, template, userID string, d Data) (*store.Message, error) {
	return c.Message(store.ChannelMail, to, lang, template, userID, d)
}

// Message returns an outbox row on channel ch (mail, SMS, voice) of
// template to the recipient to (an address, or an E.164 number), in lang,
// for userID (may be empty). The caller writes it with its cause.
func (c *Composer) Message(ch store.Channel, to, lang, template, userID string, d Data) (*store.Message, error) {
	plain, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("notify: encode %s: %w", template, err)
	}
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("notify: nonce: %w", err)
	}
	sealed := c.aead.Seal(nonce, nonce, plain, []byte(template))
	return &store.Message{Channel: ch, Template: template, To: to, Language: lang,
		UserID: userID, Data: sealed}, nil
}

// Open returns the template values of m.
func (c *Composer) Open(m *store.Message) (Data, error) {
	var d Data
	n := c.aead.NonceSize()
	if len(m.Data) < n {
		return d, ErrSealed
	}
	plain, err := c.aead.Open(nil, m.Data[:n], m.Data[n:], []byte(m.Template))
	if err != nil {
		return d, ErrSealed
	}
	if err := json.Unmarshal(plain, &d); err != nil {
		return d, fmt.Errorf("notify: decode %s: %w", m.Template, err)
	}
	return d, nil
}

// Sealer returns the AEAD that seals outbox data, keyed from the gateway's
// master secret (every process sharing a store derives the same key).
func Sealer(master []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, master, nil, "ssogate outbox seal", 32)
	if err != nil {
		return nil, fmt.Errorf("notify: seal key: %w", err)
	}
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("notify: seal key: %w", err)
	}
	return cipher.NewGCM(b)
}
