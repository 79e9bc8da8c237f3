package main

import (
	"net"
	"net/url"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/mfa/webauthn"
)

// passkeyFactor is the WebAuthn factor (passkeys and security keys) of
// cfg: the public URL is its relying party, the portal title the name an
// authenticator shows. It is nil when the public URL's host is an IP
// address, which browsers refuse as a passkey's relying party: passkeys
// are then not offered (the login page has no passkey button, and
// /account/2fa does not list them).
func passkeyFactor(cfg *config.Config, now func() time.Time) mfa.Factor {
	u, err := url.Parse(cfg.Server.PublicURL)
	if err != nil || net.ParseIP(u.Hostname()) != nil {
		return nil
	}
	f, err := webauthn.New(webauthn.Config{PublicURL: cfg.Server.PublicURL,
		DisplayName: cfg.Portal.Title.In(cfg.Portal.DefaultLanguage), Now: now})
	if err != nil {
		return nil
	}
	return f
}
