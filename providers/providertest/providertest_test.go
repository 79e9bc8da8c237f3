package providertest_test

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/providers/providertest"
)

func TestRunPassesConformingProviders(t *testing.T) {
	t.Run("password", func(t *testing.T) {
		providertest.Run(t, passwordHarness(&passwordFake{id: "pw"}))
	})
	t.Run("redirect", func(t *testing.T) {
		providertest.Run(t, redirectHarness(newRedirectFake("idp", "")))
	})
	t.Run("redirect with metadata", func(t *testing.T) {
		h := redirectHarness(newRedirectFake("sp", ""))
		h.Provider, h.Metadata = samlishFake{h.Provider.(*redirectFake)}, true
		providertest.Run(t, h)
	})
	t.Run("request", func(t *testing.T) {
		providertest.Run(t, requestHarness(requestFake{}))
	})
	t.Run("password with health", func(t *testing.T) {
		h := passwordHarness(passwordWithHealth{passwordFake: &passwordFake{id: "pw"}})
		h.Health = true
		providertest.Run(t, h)
	})
}

// brokenEnv names the broken case a child process runs.
const brokenEnv = "PROVIDERTEST_BROKEN_CASE"

// brokenCases are providers that break the contract in one way each, and
// the subtests of Run (leaves, as go test prints them) that must fail:
// those and no others.
var brokenCases = map[string]struct {
	harness func() providertest.Harness
	fail    []string
}{
	"ID changes": {
		func() providertest.Harness { return passwordHarness(&passwordFake{id: "pw", fault: faultUnstableID}) },
		[]string{"Provider/ID_and_Type", "Password/good_credentials", "Password/stable_subject",
			"Password/good_credentials_after_failures", "Password/concurrent"},
	},
	"undeclared capability": {
		func() providertest.Harness { return passwordHarness(passwordWithMetadata{&passwordFake{id: "pw"}}) },
		[]string{"Provider/capabilities"},
	},
	"declared capability missing": {
		func() providertest.Harness {
			h := passwordHarness(&passwordFake{id: "pw"})
			h.Metadata = true
			return h
		},
		[]string{"Provider/capabilities", "Metadata"},
	},
	"wrong Type": {
		func() providertest.Harness {
			h := passwordHarness(&passwordFake{id: "pw"})
			h.Type = "ldap"
			return h
		},
		[]string{"Provider/ID_and_Type"},
	},
	"subject changes": {
		func() providertest.Harness {
			h := passwordHarness(&passwordFake{id: "pw", fault: faultRandomSubject})
			h.Password.Expect.Subject = ""
			return h
		},
		[]string{"Password/stable_subject", "Password/concurrent"},
	},
	"empty group":       {faultyPassword(faultEmptyGroup), goodPasswordSubtests},
	"nil claim":         {faultyPassword(faultNilClaim), goodPasswordSubtests},
	"no AMR":            {faultyPassword(faultNoAMR), goodPasswordSubtests},
	"other provider id": {faultyPassword(faultOtherProviderID), goodPasswordSubtests},
	"invalid UTF-8":     {faultyPassword(faultBadUTF8), goodPasswordSubtests},
	"verified, no email": {
		func() providertest.Harness {
			h := passwordHarness(&passwordFake{id: "pw", fault: faultVerifiedNoEmail})
			h.Password.Expect.Email = ""
			return h
		},
		goodPasswordSubtests,
	},
	"errors enumerate logins":    {faultyPassword(faultEnumerates), []string{"Password/wrong_password_and_unknown_login_look_alike"}},
	"error echoes the password":  {faultyPassword(faultEchoesPassword), []string{"Password/wrong_password", "Password/wrong_password_and_unknown_login_look_alike"}},
	"unknown login is an outage": {faultyPassword(faultUnknownIsOutage), []string{"Password/unknown_login", "Password/wrong_password_and_unknown_login_look_alike", "Password/concurrent"}},
	"empty password accepted":    {faultyPassword(faultEmptyPasswordOK), []string{"Password/empty_password"}},
	"identity with the error":    {faultyPassword(faultIdentityWithErr), []string{"Password/wrong_password", "Password/empty_password"}},
	"cancelled context ignored":  {faultyPassword(faultIgnoresCtx), []string{"Password/cancelled_context"}},
	"cancelled context hangs":    {faultyPassword(faultHangsOnCancel), []string{"Password/cancelled_context"}},
	"cancel counts as wrong":     {faultyPassword(faultCancelIsInvalid), []string{"Password/cancelled_context"}},
	"busy under light load":      {faultyPassword(faultBusyUnderLoad), []string{"Password/concurrent"}},

	"replay accepted":        {faultyRedirect(faultReplayable), []string{"Redirect/replay"}},
	"replay is not invalid":  {faultyRedirect(faultReplayIsDenied), []string{"Redirect/replay"}},
	"state not checked":      {faultyRedirect(faultIgnoresState), []string{"Redirect/state_of_another_sign-in"}},
	"missing state accepted": {faultyRedirect(faultAcceptsNoState), []string{"Redirect/no_state"}},
	"state reused":           {faultyRedirect(faultFixedState), []string{"Redirect/begin", "Redirect/state_of_another_sign-in"}},
	"relative redirect":      {faultyRedirect(faultRelativeRedirect), []string{"Redirect/begin"}},
	"empty metadata": {
		func() providertest.Harness {
			h := redirectHarness(newRedirectFake("sp", faultEmptyMetadata))
			h.Provider, h.Metadata = samlishFake{h.Provider.(*redirectFake)}, true
			return h
		},
		[]string{"Metadata"},
	},

	"unhealthy with the peer up": {faultyHealth(faultUnhealthy), []string{"Health/healthy", "Health/concurrent"}},
	"health error not wrapped":   {faultyHealth(faultHealthNotWrapped), []string{"Health/cancelled_context"}},
	"health hangs on cancel":     {faultyHealth(faultHealthHangs), []string{"Health/cancelled_context"}},
	"declared health missing": {
		func() providertest.Harness {
			h := passwordHarness(&passwordFake{id: "pw"})
			h.Health = true
			return h
		},
		[]string{"Provider/capabilities", "Health"},
	},

	"invalid IP matched":  {faultyRequest(faultMatchesInvalid), []string{"Request/invalid_client_IP"}},
	"wrong verdict name":  {faultyRequest(faultWrongName), []string{"Request/matches", "Request/concurrent"}},
	"error for a miss":    {faultyRequest(faultErrorOnMiss), []string{"Request/misses", "Request/concurrent"}},
	"request not offered": {func() providertest.Harness { return requestHarness(&passwordFake{id: "office"}) }, []string{"Provider/ID_and_Type", "Provider/capabilities", "Request"}},

	// Mistakes in the harness fail Run before any subtest.
	"harness without a style": {func() providertest.Harness { return providertest.Harness{Provider: &passwordFake{id: "pw"}} }, nil},
	"harness with the good password as the wrong one": {
		func() providertest.Harness {
			h := passwordHarness(&passwordFake{id: "pw"})
			h.Password.WrongPassword = goodPassword
			return h
		},
		nil,
	},
	"harness without a browser": {
		func() providertest.Harness {
			h := redirectHarness(newRedirectFake("idp", ""))
			h.Redirect.Browser = nil
			return h
		},
		nil,
	},
}

// goodPasswordSubtests are the subtests that check Good's Identity.
var goodPasswordSubtests = []string{"Password/good_credentials", "Password/stable_subject",
	"Password/good_credentials_after_failures", "Password/concurrent"}

func faultyPassword(fault string) func() providertest.Harness {
	return func() providertest.Harness { return passwordHarness(&passwordFake{id: "pw", fault: fault}) }
}

func faultyHealth(fault string) func() providertest.Harness {
	return func() providertest.Harness {
		return passwordHarness(passwordWithHealth{passwordFake: &passwordFake{id: "pw"}, healthFault: fault})
	}
}

func faultyRedirect(fault string) func() providertest.Harness {
	return func() providertest.Harness { return redirectHarness(newRedirectFake("idp", fault)) }
}

func faultyRequest(fault string) func() providertest.Harness {
	return func() providertest.Harness { return requestHarness(requestFake{fault: fault}) }
}

// TestBrokenProvider runs Run on the broken case named in the environment;
// TestRunCatchesBrokenProviders starts it in a child process, since a
// failing Run fails the test that runs it.
func TestBrokenProvider(t *testing.T) {
	name := os.Getenv(brokenEnv)
	if name == "" {
		t.Skip("run by TestRunCatchesBrokenProviders")
	}
	c, ok := brokenCases[name]
	if !ok {
		t.Fatalf("no broken case %q", name)
	}
	providertest.Run(t, c.harness())
}

var failLine = regexp.MustCompile(`(?m)^\s*--- FAIL: TestBrokenProvider/(\S+)`)

func TestRunCatchesBrokenProviders(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("in a child process")
	}
	for name, c := range brokenCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenProvider$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("Run passed a provider with fault %q:\n%s", name, out)
			}
			var failed []string
			for _, m := range failLine.FindAllStringSubmatch(string(out), -1) {
				failed = append(failed, m[1])
			}
			// Keep the leaves: a parent fails with its subtests.
			var leaves []string
			for _, f := range failed {
				if !slices.ContainsFunc(failed, func(g string) bool { return strings.HasPrefix(g, f+"/") }) {
					leaves = append(leaves, f)
				}
			}
			slices.Sort(leaves)
			want := slices.Sorted(slices.Values(c.fail))
			if !slices.Equal(leaves, want) {
				t.Errorf("failed subtests %q, want %q\n%s", leaves, want, out)
			}
			if len(want) == 0 && !strings.Contains(string(out), "providertest: bad Harness") {
				t.Errorf("no subtest failed, and Run did not report a bad Harness:\n%s", out)
			}
		})
	}
}
