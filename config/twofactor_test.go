package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const twoFactorBase = `
server:
  public_url: http://127.0.0.1:8080
providers:
  - id: local
    type: local
  - id: office
    type: network
    networks: [192.0.2.0/24]
`

// TestTwoFactorConfig: policy.two_factor's defaults, and each wrong
// value refused with its key, line and what would be valid.
func TestTwoFactorConfig(t *testing.T) {
	c := mustParse(t, twoFactorBase)
	tf := c.Policy.TwoFactor
	if tf.Required || tf.RememberBrowser.D() != 30*24*time.Hour || tf.CodeTTL.D() != 5*time.Minute ||
		tf.MaxTries != 5 || tf.ResendAfter.D() != 30*time.Second || tf.PendingTTL.D() != 10*time.Minute ||
		strings.Join(tf.Methods, ",") != "sms,totp,voice,webauthn" {
		t.Fatalf("defaults = %+v", tf)
	}
	c = mustParse(t, twoFactorBase+"policy:\n  two_factor:\n    required: true\n    methods: [totp]\n    remember_browser: 0s\n")
	if !c.Policy.TwoFactor.Required || c.Policy.TwoFactor.RememberBrowser != 0 {
		t.Fatalf("remember_browser 0s (off) was not kept: %+v", c.Policy.TwoFactor)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"    applies_to: [nope]\n", `policy.two_factor.applies_to[0]: "nope" is not a configured provider`},
		{"    applies_to: [office]\n", `"office" is a network provider`},
		{"    methods: [totp, fax]\n", `unknown 2-step method "fax"`},
		{"    methods: [totp, totp]\n", `"totp" is listed twice`},
		{"    required: true\n    methods: []\n", "must list at least one method"},
		{"    code_ttl: 10s\n", "policy.two_factor.code_ttl: 10s is out of range"},
		{"    max_tries: 0\n", "policy.two_factor.max_tries: 0 is out of range"},
		{"    resend_after: 10m\n", "policy.two_factor.resend_after: 10m is out of range"},
		{"    pending_ttl: 2h\n", "policy.two_factor.pending_ttl: 2h is out of range"},
		{"    remember_browser: 500d\n", "policy.two_factor.remember_browser: 500d is out of range"},
		{"    required: true\n    methods: [sms]\n", "sms needs notify.sms, which is not set"},
	} {
		got := parseErr(t, twoFactorBase+"policy:\n  two_factor:\n"+tc.yaml)
		if !strings.Contains(got, tc.want) || !strings.Contains(got, "x.yaml:") {
			t.Errorf("%q: error %q, want it to say %q with the line", tc.yaml, got, tc.want)
		}
	}
}

// TestPhoneConfig: notify.sms / notify.voice, each type's required keys,
// plain http only to this machine, and the development directory.
func TestPhoneConfig(t *testing.T) {
	c := mustParse(t, twoFactorBase+`notify:
  sms:
    type: twilio
    account_sid: AC123
    auth_token: tok
    from: "+815012345678"
  voice:
    type: dir
    dir: ../data/sms
`)
	if c.Notify.SMS.URL != DefaultTwilioURL || c.Notify.SMS.DefaultRegion != "JP" || c.Notify.SMS.Timeout.D() != 10*time.Second {
		t.Fatalf("twilio defaults = %+v", c.Notify.SMS)
	}
	if c.Notify.Voice.Dir != "../data/sms" {
		t.Fatalf("dir = %q", c.Notify.Voice.Dir)
	}
	// Loaded from a file, the directory is the file's neighbour.
	path := filepath.Join(t.TempDir(), "etc", "ssogate.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(twoFactorBase+"notify:\n  sms:\n    type: dir\n    dir: ../data/sms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(path); err != nil {
		t.Fatal(err)
	} else if want := filepath.Join(filepath.Dir(path), "..", "data", "sms"); c.Notify.SMS.Dir != want {
		t.Fatalf("dir = %q, want %q", c.Notify.SMS.Dir, want)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"  sms:\n    type: carrier-pigeon\n", `unknown sender type "carrier-pigeon"`},
		{"  sms:\n    type: twilio\n    auth_token: t\n    from: \"+815012345678\"\n", "notify.sms.account_sid: must be set for twilio"},
		{"  sms:\n    type: twilio\n    account_sid: AC1\n    from: \"+815012345678\"\n", "notify.sms.auth_token_file: must be set for twilio"},
		{"  sms:\n    type: twilio\n    account_sid: AC1\n    auth_token: t\n", "notify.sms.from: must be set for twilio"},
		{"  voice:\n    type: webhook\n    url: http://sms.example.co.jp/call\n", "http:// would send codes and credentials unencrypted"},
		{"  voice:\n    type: webhook\n    url: not a url\n", "is not an http(s) URL"},
		{"  voice:\n    type: dir\n", "notify.voice.dir: must be set for type dir"},
		{"  voice:\n    type: webhook\n    url: https://sms.example.co.jp/\n    dir: x\n", "notify.voice.dir: is for type dir"},
		{"  voice:\n    type: webhook\n    url: https://sms.example.co.jp/\n    default_region: JPN\n", `"JPN" is not a two-letter region code`},
	} {
		got := parseErr(t, twoFactorBase+"notify:\n"+tc.yaml)
		if !strings.Contains(got, tc.want) {
			t.Errorf("%q: error %q, want it to say %q", tc.yaml, got, tc.want)
		}
	}
	c = mustParse(t, strings.Replace(twoFactorBase, "http://127.0.0.1:8080", "https://sso.example.co.jp", 1)+
		"notify:\n  sms:\n    type: dir\n    dir: sms\n")
	var warned bool
	for _, w := range c.Warnings() {
		warned = warned || strings.Contains(w.Error(), "notify.sms.type: dir writes codes")
	}
	if !warned {
		t.Fatalf("no warning for an SMS directory with an https public_url: %v", c.Warnings())
	}
}

// TestReservedProviderIDs: /login/2fa and /login/passkey are the
// gateway's own, so no provider may be called 2fa or passkey.
func TestReservedProviderIDs(t *testing.T) {
	for _, id := range []string{"2fa", "passkey"} {
		got := parseErr(t, "providers:\n  - id: "+id+"\n    type: local\n")
		if !strings.Contains(got, `providers[0].id: "`+id+`" is taken by the gateway's own /login/`+id) {
			t.Errorf("id %s: error %q", id, got)
		}
	}
}

// TestPasskeysOnAnIPWarned: listing webauthn with a public URL whose host
// is an IP address warns that passkeys are off; the default list does
// not (the demo runs on 127.0.0.1).
func TestPasskeysOnAnIPWarned(t *testing.T) {
	warned := func(c *Config) bool {
		for _, w := range c.Warnings() {
			if strings.Contains(w.Error(), "passkeys are off") {
				return true
			}
		}
		return false
	}
	if c := mustParse(t, twoFactorBase); warned(c) {
		t.Fatal("warned with the default methods")
	}
	if c := mustParse(t, twoFactorBase+"policy:\n  two_factor:\n    methods: [totp, webauthn]\n"); !warned(c) {
		t.Fatal("no warning for webauthn on http://127.0.0.1:8080")
	}
	named := strings.Replace(twoFactorBase, "127.0.0.1:8080", "localhost:8080", 1)
	if c := mustParse(t, named+"policy:\n  two_factor:\n    methods: [totp, webauthn]\n"); warned(c) {
		t.Fatal("warned for webauthn on http://localhost:8080")
	}
}
