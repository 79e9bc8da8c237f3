package main

import (
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/mfa/totp"
)

// secondFactors are the factors of 2-step verification this
// configuration offers (policy.two_factor.methods) that can work here:
// the authenticator app always. The gateway asks them through mfa's
// contract and names none itself.
func secondFactors(cfg *config.Config, now func() time.Time) []mfa.Factor {
	var out []mfa.Factor
	for _, m := range cfg.Policy.TwoFactor.Methods {
		switch m {
		case config.MethodTOTP:
			out = append(out, totp.New(totp.Options{Issuer: cfg.Portal.Title.In(cfg.Portal.DefaultLanguage), Now: now}))
		case config.MethodWebAuthn:
			if f := passkeyFactor(cfg, now); f != nil {
				out = append(out, f)
			}
		}
	}
	return out
}
