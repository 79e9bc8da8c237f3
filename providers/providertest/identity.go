package providertest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ssogate/ssogate/providers"
)

// checkIdentity fails t unless id is a sane Identity of the provider
// providerID that meets exp.
func checkIdentity(t *testing.T, id *providers.Identity, providerID string, exp IdentityExpectation) {
	t.Helper()
	if err := identityProblems(id, providerID, exp); err != nil {
		t.Errorf("Identity %+v:\n%v", id, err)
	}
}

// identityProblems returns what is wrong with id, or nil. It does not
// touch a testing.T, so that goroutines may call it.
func identityProblems(id *providers.Identity, providerID string, exp IdentityExpectation) error {
	if id == nil {
		return errors.New("nil Identity without an error")
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if id.ProviderID != providerID {
		bad("ProviderID = %q, want the provider's ID() %q", id.ProviderID, providerID)
	}
	if id.Subject == "" {
		bad("Subject is empty: the identity link (provider id, subject) needs it")
	}
	if slices.Contains(id.Groups, "") {
		bad("Groups %q hold an empty string", id.Groups)
	}
	if len(id.AMR) == 0 {
		bad("AMR is empty: name the authentication method (pwd, fed, net …)")
	}
	if slices.Contains(id.AMR, "") {
		bad("AMR %q hold an empty string", id.AMR)
	}
	for name, values := range id.Claims {
		if name == "" {
			bad("Claims have an empty name")
		}
		if values == nil {
			bad("Claims[%q] is nil: leave the claim out instead", name)
		}
	}
	if id.EmailVerified && id.Email == "" {
		bad("EmailVerified is true without an Email")
	}
	for _, s := range identityStrings(id) {
		if !utf8.ValidString(s.value) {
			bad("%s %q is not valid UTF-8 and cannot cross gRPC", s.field, s.value)
		}
	}

	exact := []struct{ field, got, want string }{
		{"Subject", id.Subject, exp.Subject},
		{"Email", id.Email, exp.Email},
		{"DisplayName", id.DisplayName, exp.DisplayName},
		{"Phone", id.Phone, exp.Phone},
		{"Mobile", id.Mobile, exp.Mobile},
		{"Organization", id.Organization, exp.Organization},
		{"Department", id.Department, exp.Department},
	}
	for _, e := range exact {
		if e.want != "" && e.got != e.want {
			bad("%s = %q, want %q", e.field, e.got, e.want)
		}
	}
	if exp.Email != "" && id.EmailVerified != exp.EmailVerified {
		bad("EmailVerified = %v, want %v", id.EmailVerified, exp.EmailVerified)
	}
	for _, g := range exp.Groups {
		if !slices.Contains(id.Groups, g) {
			bad("Groups %q lack %q", id.Groups, g)
		}
	}
	for _, m := range exp.AMR {
		if !slices.Contains(id.AMR, m) {
			bad("AMR %q lack %q", id.AMR, m)
		}
	}
	for name, want := range exp.Claims {
		got, ok := id.Claims[name]
		if !ok || !slices.Equal(got, want) {
			bad("Claims[%q] = %q, want %q", name, got, want)
		}
	}
	if exp.Check != nil {
		if err := exp.Check(id); err != nil {
			bad("Expect.Check: %v", err)
		}
	}
	return errors.Join(errs...)
}

type identityString struct{ field, value string }

// identityStrings lists every string an Identity carries, by field.
func identityStrings(id *providers.Identity) []identityString {
	out := []identityString{
		{"ProviderID", id.ProviderID}, {"Subject", id.Subject}, {"Email", id.Email},
		{"DisplayName", id.DisplayName}, {"Phone", id.Phone}, {"Mobile", id.Mobile},
		{"Organization", id.Organization}, {"Department", id.Department},
	}
	for _, g := range id.Groups {
		out = append(out, identityString{"Groups", g})
	}
	for _, m := range id.AMR {
		out = append(out, identityString{"AMR", m})
	}
	for name, values := range id.Claims {
		out = append(out, identityString{"Claims name", name})
		for _, v := range values {
			out = append(out, identityString{fmt.Sprintf("Claims[%q]", name), v})
		}
	}
	return out
}

// sentinels are the contract's errors, for reporting which an error wraps.
var sentinels = []error{
	providers.ErrInvalidCredentials, providers.ErrAccountDisabled, providers.ErrUnavailable,
	providers.ErrBusy, providers.ErrDenied, providers.ErrNotAllowed, providers.ErrInvalidResponse,
}

// onlySentinel returns a problem unless err wraps want and no other of
// the contract's sentinel errors.
func onlySentinel(err, want error) error {
	if err == nil {
		return fmt.Errorf("no error, want one wrapping %v", want)
	}
	if !errors.Is(err, want) {
		return fmt.Errorf("error %q does not wrap %v", err, want)
	}
	var also []string
	for _, s := range sentinels {
		if s != want && errors.Is(err, s) {
			also = append(also, s.Error())
		}
	}
	if len(also) > 0 {
		return fmt.Errorf("error %q wraps %s besides %v", err, strings.Join(also, ", "), want)
	}
	return nil
}
