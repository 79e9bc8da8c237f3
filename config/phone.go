package config

import (
	"fmt"
	"net/url"
	"slices"
	"time"
)

// Phone is notify.sms or notify.voice: an HTTP API that sends a text
// message or places a call that reads a code aloud.
//
//	notify:
//	  sms:
//	    type: twilio                       # or webhook
//	    account_sid: ACxxxxxxxxxxxxxxxx
//	    auth_token_file: /run/secrets/twilio
//	    from: "+815012345678"
//	  voice:
//	    type: webhook
//	    url: https://sms.example.co.jp/call
//	    token_file: /run/secrets/sms-webhook
//
// A generic webhook receives a JSON POST ({"to": E.164, "text": ...,
// "code": ..., "language": ...} with "Authorization: Bearer <token>");
// twilio uses Twilio's Messages API (SMS) and Calls API with TwiML (voice).
type Phone struct {
	// Type is "webhook", "twilio", or "dir" (development: each message is
	// written to a file in Dir and its code logged, so that `make run`
	// needs no SMS service); empty means the channel is off.
	Type string `yaml:"type"`
	// Dir is the directory of type dir, relative to the configuration
	// file's directory.
	Dir string `yaml:"dir"`
	// URL is the webhook's address; for twilio, the API base (default
	// https://api.twilio.com), which tests point at a local server.
	URL string `yaml:"url"`
	// Token (or TokenFile) is the webhook's bearer token.
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	// AccountSID, AuthToken (or AuthTokenFile) and From are Twilio's
	// account, secret and sending number (E.164).
	AccountSID    string `yaml:"account_sid"`
	AuthToken     string `yaml:"auth_token"`
	AuthTokenFile string `yaml:"auth_token_file"`
	From          string `yaml:"from"`
	// CAFile is a PEM file of CA certificates for the API's TLS.
	CAFile string `yaml:"ca_file"`
	// Timeout bounds one request. Default 10s.
	Timeout Duration `yaml:"timeout"`
	// DefaultRegion is the region of numbers written without a country
	// code (090-1234-5678). Default JP.
	DefaultRegion string `yaml:"default_region"`
}

// Phone sender types.
const (
	PhoneWebhook = "webhook"
	PhoneTwilio  = "twilio"
	PhoneDir     = "dir"
)

// PhoneTypes are the valid notify.sms / notify.voice types.
var PhoneTypes = []string{PhoneWebhook, PhoneTwilio, PhoneDir}

// DefaultTwilioURL is Twilio's API base.
const DefaultTwilioURL = "https://api.twilio.com"

const defaultPhoneTimeout = 10 * time.Second

// phoneConfigured reports whether the channel of method ("sms" or
// "voice") has a sender.
func (c *Config) phoneConfigured(method string) bool {
	switch method {
	case MethodSMS:
		return c.Notify.SMS.Type != ""
	case MethodVoice:
		return c.Notify.Voice.Type != ""
	}
	return false
}

// phoneDefaults fills notify.sms and notify.voice's defaults.
func (c *Config) phoneDefaults() {
	for _, p := range []*Phone{&c.Notify.SMS, &c.Notify.Voice} {
		if p.Type == "" {
			continue
		}
		if p.Type == PhoneTwilio {
			setString(&p.URL, DefaultTwilioURL)
		}
		if p.Dir != "" {
			p.Dir = c.src.resolve(p.Dir)
		}
		setString(&p.DefaultRegion, "JP")
		if p.Timeout == 0 {
			p.Timeout = Duration(defaultPhoneTimeout)
		}
	}
}

// phoneFiles reads notify.sms / notify.voice's *_file keys while decoding.
func (d *decoder) phoneFiles(p *Phone, key string) {
	d.readSecretFile(&p.Token, p.TokenFile, key+".token", key+".token_file")
	d.readSecretFile(&p.AuthToken, p.AuthTokenFile, key+".auth_token", key+".auth_token_file")
	d.checkFile(&p.CAFile, key+".ca_file")
}

// phones validates notify.sms and notify.voice.
func (v *validator) phones() {
	for _, ch := range []struct {
		key string
		p   *Phone
	}{{"notify.sms", &v.c.Notify.SMS}, {"notify.voice", &v.c.Notify.Voice}} {
		p := ch.p
		if p.Type == "" {
			continue
		}
		v.oneOf(ch.key+".type", "sender type", p.Type, PhoneTypes)
		if p.Type == PhoneDir {
			if p.Dir == "" {
				v.errorf(ch.key+".dir", "must be set for type dir: the directory messages are written to, e.g. ../data/sms")
			}
			if p.URL != "" {
				v.errorf(ch.key+".url", "is for webhook and twilio; type dir writes files to dir")
			}
			continue
		}
		if p.Dir != "" {
			v.errorf(ch.key+".dir", "is for type dir (development) only")
		}
		if u, err := url.Parse(p.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.errorf(ch.key+".url", "%q is not an http(s) URL, e.g. https://sms.example.co.jp/send", p.URL)
		} else if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
			v.errorf(ch.key+".url", "http:// would send codes and credentials unencrypted to %s; use https://", u.Hostname())
		}
		switch p.Type {
		case PhoneTwilio:
			if p.AccountSID == "" {
				v.errorf(ch.key+".account_sid", "must be set for twilio (ACxxxxxxxx…)")
			}
			if p.AuthToken == "" {
				v.errorf(ch.key+".auth_token_file", "must be set for twilio (auth_token_file: /run/secrets/twilio)")
			}
			if p.From == "" {
				v.errorf(ch.key+".from", "must be set for twilio: the sending number in E.164, e.g. \"+815012345678\"")
			}
		case PhoneWebhook:
			if p.AccountSID != "" || p.From != "" {
				v.errorf(ch.key+".account_sid", "is for type twilio; a webhook takes url and token_file")
			}
		}
		if p.Timeout <= 0 {
			v.errorf(ch.key+".timeout", "must be greater than 0, e.g. 10s")
		}
		if len(p.DefaultRegion) != 2 {
			v.errorf(ch.key+".default_region", "%q is not a two-letter region code, e.g. JP", p.DefaultRegion)
		}
	}
	for i, m := range v.c.Policy.TwoFactor.Methods {
		if (m == MethodSMS || m == MethodVoice) && !v.c.phoneConfigured(m) && v.c.Policy.TwoFactor.Required &&
			!slices.ContainsFunc(v.c.Policy.TwoFactor.Methods, func(o string) bool { return o == MethodTOTP || o == MethodWebAuthn }) {
			v.errorf(fmt.Sprintf("policy.two_factor.methods[%d]", i), "%s needs notify.%s, which is not set", m, m)
		}
	}
}

// phoneWarnings are notify.sms / notify.voice's valid but doubtful
// settings.
func (c *Config) phoneWarnings() []*Error {
	var ws []*Error
	for _, ch := range []struct {
		key string
		p   Phone
	}{{"notify.sms", c.Notify.SMS}, {"notify.voice", c.Notify.Voice}} {
		if ch.p.Type == PhoneDir && c.Server.PublicURLParsed != nil && c.Server.PublicURLParsed.Scheme == "https" {
			ws = append(ws, c.ErrorAt(ch.key+".type", "dir writes codes to files and the log instead of sending them; "+
				"it is for development (`make run`), but public_url is https; use twilio or webhook for production"))
		}
	}
	return ws
}
