package config

import "time"

// IdentityCheck is policy.identity_check, the PIN identity check at
// /identity-check (a forgotten login id or password, without the old
// mailbox):
//
//	policy:
//	  invitation: {link_ttl: 14d}
//	  device_approval: false
//	  identity_check: {pin_ttl: 15m, max_tries: 5}
type IdentityCheck struct {
	// PINTTL is how long a sent PIN works. Default 15m.
	PINTTL Duration `yaml:"pin_ttl"`
	// MaxTries wrong PINs end the check. Default 5.
	MaxTries int `yaml:"max_tries"`
}

const (
	defaultInvitationTTL = 14 * 24 * time.Hour
	defaultPINTTL        = 15 * time.Minute
	defaultPINTries      = 5
)

// adminDefaults fills the defaults of the administrator's policies.
func (c *Config) adminDefaults() {
	s := c.src
	if !s.present("policy.invitation.link_ttl") && c.Policy.Invitation.LinkTTL == 0 {
		c.Policy.Invitation.LinkTTL = Duration(defaultInvitationTTL)
	}
	if !s.present("policy.identity_check.pin_ttl") && c.Policy.IdentityCheck.PINTTL == 0 {
		c.Policy.IdentityCheck.PINTTL = Duration(defaultPINTTL)
	}
	if !s.present("policy.identity_check.max_tries") && c.Policy.IdentityCheck.MaxTries == 0 {
		c.Policy.IdentityCheck.MaxTries = defaultPINTries
	}
}

// admin validates the administrator's policies. A zero value not written
// in the file (a configuration built in code) stands for the default.
func (v *validator) admin() {
	p := &v.c.Policy
	set := func(key string, zero bool) bool { return !zero || v.c.src.present(key) }
	if set("policy.invitation.link_ttl", p.Invitation.LinkTTL == 0) &&
		(p.Invitation.LinkTTL < Duration(time.Hour) || p.Invitation.LinkTTL.D() > 90*24*time.Hour) {
		v.errorf("policy.invitation.link_ttl", "%s is out of range; use 1h up to 90d, e.g. 14d", p.Invitation.LinkTTL)
	}
	if set("policy.identity_check.pin_ttl", p.IdentityCheck.PINTTL == 0) &&
		(p.IdentityCheck.PINTTL < Duration(time.Minute) || p.IdentityCheck.PINTTL.D() > time.Hour) {
		v.errorf("policy.identity_check.pin_ttl", "%s is out of range; use 1m up to 1h, e.g. 15m", p.IdentityCheck.PINTTL)
	}
	if set("policy.identity_check.max_tries", p.IdentityCheck.MaxTries == 0) &&
		(p.IdentityCheck.MaxTries < 1 || p.IdentityCheck.MaxTries > 10) {
		v.errorf("policy.identity_check.max_tries", "%d is out of range; use 1 to 10, e.g. 5", p.IdentityCheck.MaxTries)
	}
}
