package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ssogate/ssogate/internal/testpeers"
)

// federatedBrowserExtras adds the Active Directory provider (the shared
// Samba AD DC) to the federated browser test's configuration.
func federatedBrowserExtras(t *testing.T) []harnessOption {
	d := testpeers.Samba(t)
	email := strings.ToLower(d.Users["yamada"].Email)
	domain := email[strings.LastIndexByte(email, '@')+1:]
	return []harnessOption{adProvider(d, "    provision: true\n    provision_domains: ["+domain+"]\n")}
}

// federatedBrowserLegs signs in through AD's own form, as yamada
// (sAMAccountName), and lands on the launcher.
func federatedBrowserLegs(t *testing.T, ctx context.Context, h *harness) {
	d := testpeers.Samba(t)
	u := d.Users["yamada"]
	t.Run("active directory", func(t *testing.T) {
		browserSignInVia(t, ctx, h, "ad", func() error {
			return chromedp.Do(ctx,
				chromedp.WaitVisible(chromedp.ID("login-form")),
				chromedp.SendKeys(chromedp.ID("email"), u.Login),
				chromedp.SendKeys(chromedp.ID("password"), u.Password),
				chromedp.Click(chromedp.ID("login-submit")),
			)
		}, strings.ToLower(u.Email))
	})
}
