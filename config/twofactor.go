package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// TwoFactor is policy.two_factor, 2-step verification:
//
//	policy:
//	  two_factor:
//	    required: true                 # everyone, at password sign-ins
//	    applies_to: [google]           # federated providers it covers too
//	    methods: [sms, totp, voice, webauthn]
//	    remember_browser: 30d
//	    code_ttl: 5m
//
// An administrator may switch Required at runtime once the admin console
// exists; the YAML gives the default.
type TwoFactor struct {
	// Required asks every person signing in with a password (local, LDAP,
	// AD) for a second factor; one who has none set up enrols at
	// /login/2fa/setup first. Default false: only people who enrolled of
	// their own accord, and services with require_2fa, are asked.
	Required bool `yaml:"required"`
	// AppliesTo lists federated providers (OIDC, SAML, plugins) whose
	// sign-ins are asked too; by default they rely on their IdP's own MFA.
	AppliesTo []string `yaml:"applies_to"`
	// Methods are the factors people may enrol, in the order the
	// enrolment page offers them. Default [sms, totp, voice, webauthn]
	// (SMS first, as the manual's v4.0 does); sms and voice need
	// notify.sms / notify.voice.
	Methods []string `yaml:"methods"`
	// RememberBrowser is how long "remember this browser" skips the step
	// after the browser's last use (sliding). Default 30d; 0s turns the
	// checkbox off.
	RememberBrowser Duration `yaml:"remember_browser"`
	// CodeTTL is how long a code sent by SMS or voice works. Default 5m.
	CodeTTL Duration `yaml:"code_ttl"`
	// MaxTries wrong codes void a sent code (a new one must be sent).
	// Default 5.
	MaxTries int `yaml:"max_tries"`
	// ResendAfter is the least time between two codes sent to one person.
	// Default 30s.
	ResendAfter Duration `yaml:"resend_after"`
	// PendingTTL is how long a sign-in may wait at the second step before
	// it must start again. Default 10m.
	PendingTTL Duration `yaml:"pending_ttl"`
}

// Second-factor method names (policy.two_factor.methods).
const (
	MethodTOTP     = "totp"
	MethodSMS      = "sms"
	MethodVoice    = "voice"
	MethodWebAuthn = "webauthn"
)

// TwoFactorMethods are the valid methods, in the default order.
var TwoFactorMethods = []string{MethodSMS, MethodTOTP, MethodVoice, MethodWebAuthn}

const (
	defaultRememberBrowser = 30 * 24 * time.Hour
	defaultCodeTTL         = 5 * time.Minute
	defaultCodeTries       = 5
	defaultResendAfter     = 30 * time.Second
	defaultPendingTTL      = 10 * time.Minute
	maxCodeTTL             = time.Hour
	maxRememberBrowser     = 400 * 24 * time.Hour
)

// twoFactorDefaults fills policy.two_factor's defaults.
func (c *Config) twoFactorDefaults() {
	t := &c.Policy.TwoFactor
	s := c.src
	set := func(key string, p *Duration, v time.Duration) {
		if !s.present(key) && *p == 0 {
			*p = Duration(v)
		}
	}
	if len(t.Methods) == 0 && !s.present("policy.two_factor.methods") {
		t.Methods = slices.Clone(TwoFactorMethods)
	}
	set("policy.two_factor.remember_browser", &t.RememberBrowser, defaultRememberBrowser)
	set("policy.two_factor.code_ttl", &t.CodeTTL, defaultCodeTTL)
	set("policy.two_factor.resend_after", &t.ResendAfter, defaultResendAfter)
	set("policy.two_factor.pending_ttl", &t.PendingTTL, defaultPendingTTL)
	if t.MaxTries == 0 && !s.present("policy.two_factor.max_tries") {
		t.MaxTries = defaultCodeTries
	}
}

// twoFactor validates policy.two_factor. A zero value not written in the
// file (a configuration built in code) stands for the default and is not
// checked.
func (v *validator) twoFactor() {
	t := &v.c.Policy.TwoFactor
	set := func(key string, zero bool) bool { return !zero || v.c.src.present(key) }
	types := map[string]string{}
	for _, p := range v.c.Providers {
		types[p.ID] = p.Type
	}
	for i, id := range t.AppliesTo {
		key := fmt.Sprintf("policy.two_factor.applies_to[%d]", i)
		switch typ, ok := types[id]; {
		case !ok:
			v.errorf(key, "%q is not a configured provider", id)
		case typ == "network":
			v.errorf(key, "%q is a network provider: sign-ins from a registered line skip 2-step verification", id)
		}
	}
	seen := map[string]bool{}
	for i, m := range t.Methods {
		key := fmt.Sprintf("policy.two_factor.methods[%d]", i)
		v.oneOf(key, "2-step method", m, TwoFactorMethods)
		if seen[m] {
			v.errorf(key, "%q is listed twice", m)
		}
		seen[m] = true
	}
	if len(t.Methods) == 0 && t.Required {
		v.errorf("policy.two_factor.methods", "must list at least one method when required is true; valid: %s",
			strings.Join(TwoFactorMethods, ", "))
	}
	if t.RememberBrowser < 0 || t.RememberBrowser.D() > maxRememberBrowser {
		v.errorf("policy.two_factor.remember_browser", "%s is out of range; use 0s (off) up to %s, e.g. 30d", t.RememberBrowser, Duration(maxRememberBrowser))
	}
	if set("policy.two_factor.code_ttl", t.CodeTTL == 0) && (t.CodeTTL < Duration(30*time.Second) || t.CodeTTL.D() > maxCodeTTL) {
		v.errorf("policy.two_factor.code_ttl", "%s is out of range; use 30s up to 1h, e.g. 5m", t.CodeTTL)
	}
	if set("policy.two_factor.max_tries", t.MaxTries == 0) && (t.MaxTries < 1 || t.MaxTries > 20) {
		v.errorf("policy.two_factor.max_tries", "%d is out of range; use 1 to 20, e.g. 5", t.MaxTries)
	}
	if t.ResendAfter < 0 || (t.CodeTTL > 0 && t.ResendAfter > t.CodeTTL) {
		v.errorf("policy.two_factor.resend_after", "%s is out of range; use 0s up to code_ttl (%s), e.g. 30s", t.ResendAfter, t.CodeTTL)
	}
	if set("policy.two_factor.pending_ttl", t.PendingTTL == 0) && (t.PendingTTL < Duration(time.Minute) || t.PendingTTL.D() > time.Hour) {
		v.errorf("policy.two_factor.pending_ttl", "%s is out of range; use 1m up to 1h, e.g. 10m", t.PendingTTL)
	}
}

// twoFactorWarnings are policy.two_factor's valid but doubtful settings.
func (c *Config) twoFactorWarnings() []*Error {
	t := c.Policy.TwoFactor
	pub := c.Server.PublicURLParsed
	if pub == nil || !c.src.present("policy.two_factor.methods") || !slices.Contains(t.Methods, MethodWebAuthn) {
		return nil
	}
	if _, err := netip.ParseAddr(pub.Hostname()); err != nil {
		return nil
	}
	return []*Error{c.ErrorAt("policy.two_factor.methods", "webauthn is listed but server.public_url's host %s is an IP address, "+
		"which browsers refuse as a passkey's site, so passkeys are off; use a host name (http://localhost:8080 for a trial)", pub.Hostname())}
}
