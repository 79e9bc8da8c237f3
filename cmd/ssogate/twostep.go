package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/mfa/codes"
	"github.com/ssogate/ssogate/mfa/totp"
	"github.com/ssogate/ssogate/store"
)

// codeKeySecret names the store's secret that keys the states of SMS and
// voice codes: kept in the store, so every replica checks the codes any
// of them sent, and restarts do not void codes on their way.
const codeKeySecret = "second_factor_code_key"

// secondFactors are the factors of 2-step verification this
// configuration offers (policy.two_factor.methods) that can work here:
// the authenticator app always, SMS and voice codes when notify.sms /
// notify.voice has a sender. The gateway asks them through mfa's
// contract and names none itself.
func secondFactors(ctx context.Context, cfg *config.Config, st store.Store, now func() time.Time) ([]mfa.Factor, error) {
	var out []mfa.Factor
	var key []byte
	codeFactor := func(kind mfa.Kind) error {
		if key == nil {
			var err error
			key, err = st.Secret(ctx, codeKeySecret, func() ([]byte, error) {
				b := make([]byte, codes.MinKeySize)
				_, err := rand.Read(b)
				return b, err
			})
			if err != nil {
				return fmt.Errorf("2-step code key: %w", err)
			}
		}
		f, err := codes.New(kind, codes.Options{TTL: cfg.Policy.TwoFactor.CodeTTL.D(), Now: now, Key: key})
		if err != nil {
			return err
		}
		out = append(out, f)
		return nil
	}
	for _, m := range cfg.Policy.TwoFactor.Methods {
		var err error
		switch {
		case m == config.MethodTOTP:
			out = append(out, totp.New(totp.Options{Issuer: cfg.Portal.Title.In(cfg.Portal.DefaultLanguage), Now: now}))
		case m == config.MethodSMS && cfg.Notify.SMS.Type != "":
			err = codeFactor(mfa.KindSMS)
		case m == config.MethodVoice && cfg.Notify.Voice.Type != "":
			err = codeFactor(mfa.KindVoice)
		case m == config.MethodWebAuthn:
			if f := passkeyFactor(cfg, now); f != nil {
				out = append(out, f)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
