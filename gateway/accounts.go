package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/mfa"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/store"
)

// newAccountService builds the account flows for this configuration: its
// policy, the first local provider's hashing, links on the public URL.
func (g *Gateway) newAccountService(st store.Store, cfg *config.Config, factors []mfa.Factor) *account.Service {
	pol := cfg.Policy
	var svc *account.Service
	svc = account.New(account.Options{
		Store:     st,
		Compose:   g.shared.compose,
		Passwords: localPasswords{g: g},
		Link: func(path, ticket string) string {
			return g.publicURL + path + "?ticket=" + url.QueryEscape(ticket)
		},
		Policy: account.Policy{
			MaxFailures:        pol.Lockout.MaxFailures,
			UnlockLinkTTL:      pol.Lockout.UnlockLinkTTL.D(),
			ResetLinkTTL:       pol.PasswordReset.LinkTTL.D(),
			EmailChangeLinkTTL: pol.EmailChange.LinkTTL.D(),

			ThrottleMaxFailures:     pol.Throttle.MaxFailures,
			ThrottleLineMaxFailures: pol.Throttle.LineMaxFailures,
			ThrottleWindow:          pol.Throttle.Window.D(),
			MailLanguage:            cfg.Portal.DefaultLanguage,
		},
		Location:      cfg.Portal.Location,
		Now:           g.now,
		Log:           g.log,
		Rule:          g.localRule(),
		ProviderLabel: g.providerLabel,
		Enqueued:      g.kick,
		ResetSecondFactor: func(ctx context.Context, userID string) error {
			return svc.ResetTwoStep(ctx, userID, "", account.Origin{RequestID: requestID(ctx)})
		},
		TwoStep:    g.twoStepPolicy(cfg),
		Factors:    factors,
		PendingKey: g.shared.twoStep.pending,
		FactorKey:  g.shared.twoStep.factor,

		Org: func() (bool, bool) {
			o := g.orgSettings()
			return o.TwoFactorRequired, o.LineOnly()
		},
	})
	return svc
}

// passwordHasher is a password provider that hashes new passwords (local).
type passwordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
}

// errNoLocalProvider is returned by the account flows' password checks
// when no local provider is configured.
var errNoLocalProvider = errors.New("gateway: no local provider configured")

// localPasswords adapts the configured local provider to account.Passwords.
type localPasswords struct{ g *Gateway }

func (l localPasswords) local() (providers.PasswordAuthenticator, passwordHasher, error) {
	p, _ := l.g.localProvider("")
	if p == nil {
		return nil, nil, errNoLocalProvider
	}
	h, ok := p.(passwordHasher)
	if !ok {
		return nil, nil, errNoLocalProvider
	}
	return p, h, nil
}

func (l localPasswords) Hash(ctx context.Context, password string) (string, error) {
	_, h, err := l.local()
	if err != nil {
		return "", err
	}
	return h.Hash(ctx, password)
}

func (l localPasswords) Check(ctx context.Context, email, password string) error {
	p, _, err := l.local()
	if err != nil {
		return err
	}
	if _, err := p.Authenticate(ctx, email, password); err != nil {
		if errors.Is(err, providers.ErrInvalidCredentials) {
			return fmt.Errorf("%w: %w", account.ErrWrongPassword, err)
		}
		return err
	}
	return nil
}
