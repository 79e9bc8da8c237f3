// Package providertest is the conformance suite of the provider contract
// in package providers. Run drives one provider through the rules the
// contract's doc comments state, for exactly the capabilities its Harness
// declares, so that every provider — built in and called in-process, the
// same provider through the gRPC plugin adapters, an external plugin
// binary — is held to the same rules and the gateway can treat them alike.
//
// A provider's own tests build a Harness against a real peer (a directory,
// an identity provider) and call Run:
//
//	func TestConformance(t *testing.T) {
//		p := openProvider(t)
//		providertest.Run(t, providertest.Harness{
//			Provider: p,
//			Type:     "ldap",
//			Password: &providertest.PasswordStyle{
//				Good:          providertest.Credentials{Login: "alice", Password: "Alice!Pass123"},
//				WrongPassword: "Wrong!Pass999",
//				UnknownLogin:  "nobody",
//				Expect:        providertest.IdentityExpectation{Email: "alice@example.org", EmailVerified: true},
//			},
//		})
//	}
//
// The package imports only the standard library and package providers, so
// that a plugin author can run it without the rest of ssogate.
package providertest

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/ssogate/ssogate/providers"
)

// Concurrency is how many goroutines the concurrent subtests run at once.
const Concurrency = 10

// CancelDeadline is how long a call with an already cancelled context may
// take before Run fails it.
const CancelDeadline = 2 * time.Second

// callTimeout bounds every other call, so that a provider that hangs fails
// its subtest instead of the whole test binary.
const callTimeout = 30 * time.Second

// Harness tells Run how to drive one provider. The style fields say which
// capabilities the provider has: a non-nil Password, Redirect or Request,
// and Metadata true, each require the matching interface, and a nil or
// false one forbids it — so a gRPC adapter that offers a capability the
// plugin lacks, or drops one it has, fails.
type Harness struct {
	// Provider is the provider under test, ready for use. Run does not
	// close it. It must declare at least one style.
	Provider providers.Provider
	// ID and Type, when not empty, are what Provider.ID and Provider.Type
	// must return (through a plugin adapter: what the configuration and
	// the plugin say).
	ID, Type string

	// Password, when set, makes Provider a providers.PasswordAuthenticator
	// and says how to sign in.
	Password *PasswordStyle
	// Redirect, when set, makes Provider a providers.RedirectAuthenticator
	// and says how to play the browser.
	Redirect *RedirectStyle
	// Request, when set, makes Provider a providers.RequestAuthenticator
	// and says which facts it matches.
	Request *RequestStyle
	// Metadata makes Provider a providers.MetadataPublisher.
	Metadata bool
	// Health makes Provider a providers.HealthChecker. Unlike the
	// others, this capability is optional both ways: a provider that
	// implements it is checked whether or not Health is set (a plugin
	// adapter adds it to every plugin).
	Health bool
}

// Credentials are a login id and a password.
type Credentials struct {
	Login    string
	Password string
}

// PasswordStyle drives a providers.PasswordAuthenticator.
//
// A directory that locks accounts after wrong passwords (Active Directory
// locks after a threshold, 3 in the test domain) is safe to run against:
// Run tries WrongPassword exactly once, after Good has signed in (which
// resets the directory's bad-password count), signs Good in again after
// the failures, and never sends a wrong password concurrently. Passwords
// are compared against error texts (no error may echo one), so choose
// distinctive ones.
type PasswordStyle struct {
	// Good signs in. Run uses it about 10 times, also concurrently.
	Good Credentials
	// WrongPassword is not Good.Login's password.
	WrongPassword string
	// UnknownLogin is a login of no account.
	UnknownLogin string
	// Expect is checked on the Identity Good yields.
	Expect IdentityExpectation
	// DistinctInvalidMessages lets the errors for a wrong password and an
	// unknown login differ in text. Both must still wrap
	// providers.ErrInvalidCredentials and no other sentinel. Set it only
	// for a provider whose errors legitimately carry detail (the contract
	// asks that callers cannot tell the two apart, and the built-in
	// providers return one error value for both).
	DistinctInvalidMessages bool
}

// RedirectStyle drives a providers.RedirectAuthenticator.
type RedirectStyle struct {
	// CallbackURL is passed to Begin and to Browser, and set on the
	// CompleteRequest when Browser leaves it empty. Default
	// "http://127.0.0.1:9/callback/" + the provider's id (port 9,
	// discard: nothing needs to listen there).
	CallbackURL string
	// LoginHint, when set, is passed to Begin.
	LoginHint string
	// Browser plays the person's browser from Begin's result: it goes to
	// begin.RedirectURL (by GET, or by POST of begin.PostForm), signs in
	// at the external provider as the same person every time, and returns
	// the callback the external provider sends the browser back with
	// (Query and/or Form; CallbackURL may be left empty). Run sets State
	// from begin itself, as the gateway would. Run calls Browser from
	// several goroutines at once; it must be safe for that and must stop
	// when ctx ends.
	Browser func(ctx context.Context, begin *providers.BeginResult, callbackURL string) (providers.CompleteRequest, error)
	// Expect is checked on the Identity of every sign-in.
	Expect IdentityExpectation
	// IDPInitiated says Complete may accept a response without State
	// (SAML's allow_idp_initiated). When false, Run checks that a
	// callback with no State is refused.
	IDPInitiated bool
}

// RequestStyle drives a providers.RequestAuthenticator.
type RequestStyle struct {
	// Matches are facts the provider must match, each with the name its
	// Verdict must carry. At least one.
	Matches []Match
	// Misses are facts the provider must not match. At least one.
	Misses []providers.RequestFacts
}

// Match is facts a request-style provider matches and the Verdict.Name it
// must give them.
type Match struct {
	Facts providers.RequestFacts
	Name  string
}

// IdentityExpectation is what a successful sign-in's Identity must carry
// beyond the contract's rules (see Run). Zero fields are not checked.
type IdentityExpectation struct {
	// Subject, when set, is the exact Identity.Subject.
	Subject string
	// Email, when set, is the exact Identity.Email, and EmailVerified
	// then the exact Identity.EmailVerified.
	Email         string
	EmailVerified bool
	// DisplayName, Phone, Mobile, Organization and Department, when set,
	// are the exact values of those fields.
	DisplayName  string
	Phone        string
	Mobile       string
	Organization string
	Department   string
	// Groups must each be among Identity.Groups.
	Groups []string
	// AMR must each be among Identity.AMR.
	AMR []string
	// Claims must each equal Identity.Claims[name], values in order.
	Claims map[string][]string
	// Check, when set, checks anything else; an error fails the subtest.
	// Run may call it from several goroutines at once.
	Check func(*providers.Identity) error
}

// Run runs the conformance suite on h.Provider as subtests of t:
//
//   - Provider: ID and Type are non-empty, stable, and h.ID / h.Type when
//     set; exactly the capabilities h declares are implemented.
//   - Password (PasswordStyle): Good yields a sane Identity (below) with
//     a non-empty AMR and the same Subject on a second call; a wrong
//     password, an unknown login, an empty password and an empty login
//     each fail with providers.ErrInvalidCredentials and no other
//     sentinel, return no Identity and echo no password; the wrong
//     password and the unknown login fail with identical error text;
//     Good still signs in after the failures; an already cancelled
//     context fails within CancelDeadline, and not with
//     ErrInvalidCredentials (a cancelled sign-in proves nothing about the
//     password); Concurrency goroutines of good and unknown logins all
//     get their right answers.
//   - Redirect (RedirectStyle): Begin returns an absolute http(s)
//     RedirectURL and a non-empty State, a fresh one each time; Begin,
//     Browser and Complete yield a sane Identity; completing the same
//     callback again, a callback with the State of another Begin, a
//     callback with an unreadable State, a callback without response
//     parameters, and (unless IDPInitiated) a callback without State all
//     fail with providers.ErrInvalidResponse and no Identity; Concurrency
//     sign-ins at once all succeed with the same Subject.
//   - Request (RequestStyle): Matches are matched with their names,
//     Misses are not, and a request without a valid client IP is never
//     matched; the same holds under Concurrency goroutines.
//   - Metadata: Metadata returns non-empty bytes.
//   - Health (any providers.HealthChecker): with the peer up, Health
//     returns nil within HealthDeadline, again (from its cache), and for
//     Concurrency goroutines at once; with an already cancelled context
//     it returns within CancelDeadline, nil or an error wrapping
//     providers.ErrUnavailable.
//
// An Identity is sane when ProviderID is the provider's ID, Subject is
// set, Groups and AMR hold no empty string, AMR is not empty, no Claims
// name is empty and no Claims value is nil, EmailVerified implies an
// Email, every string is valid UTF-8 (it must cross gRPC) and it meets
// the style's Expect.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if !validHarness(t, h) {
		return
	}
	t.Run("Provider", func(t *testing.T) {
		t.Run("ID and Type", func(t *testing.T) { testIDAndType(t, h) })
		t.Run("capabilities", func(t *testing.T) { testCapabilities(t, h) })
	})
	if h.Password != nil {
		t.Run("Password", func(t *testing.T) { runPassword(t, h.Provider, h.Password) })
	}
	if h.Redirect != nil {
		t.Run("Redirect", func(t *testing.T) { runRedirect(t, h.Provider, h.Redirect) })
	}
	if h.Request != nil {
		t.Run("Request", func(t *testing.T) { runRequest(t, h.Provider, h.Request) })
	}
	if h.Metadata {
		t.Run("Metadata", func(t *testing.T) { testMetadata(t, h.Provider) })
	}
	if _, ok := h.Provider.(providers.HealthChecker); ok || h.Health {
		t.Run("Health", func(t *testing.T) { runHealth(t, h.Provider) })
	}
}

// validHarness reports mistakes in h itself, which are the caller's and
// would make the suite prove nothing.
func validHarness(t *testing.T, h Harness) bool {
	t.Helper()
	var bad []string
	if h.Provider == nil {
		t.Errorf("providertest: Harness.Provider is nil")
		return false
	}
	if h.Password == nil && h.Redirect == nil && h.Request == nil {
		bad = append(bad, "no style declared: set Password, Redirect or Request")
	}
	if pw := h.Password; pw != nil {
		if pw.Good.Login == "" || pw.Good.Password == "" {
			bad = append(bad, "Password.Good needs a login and a password")
		}
		if pw.WrongPassword == "" || pw.WrongPassword == pw.Good.Password {
			bad = append(bad, "Password.WrongPassword must be set and differ from Good.Password")
		}
		if pw.UnknownLogin == "" || pw.UnknownLogin == pw.Good.Login {
			bad = append(bad, "Password.UnknownLogin must be set and differ from Good.Login")
		}
	}
	if rd := h.Redirect; rd != nil && rd.Browser == nil {
		bad = append(bad, "Redirect.Browser is nil")
	}
	if rq := h.Request; rq != nil {
		if len(rq.Matches) == 0 || len(rq.Misses) == 0 {
			bad = append(bad, "Request needs at least one Match and one Miss")
		}
		for _, m := range rq.Matches {
			if m.Name == "" {
				bad = append(bad, "Request.Matches: every Match needs the Name its verdict carries")
				break
			}
		}
		for _, f := range rq.Misses {
			if f.ClientIP == (netip.Addr{}) {
				bad = append(bad, "Request.Misses: give valid client IPs; Run tests an invalid one itself")
				break
			}
		}
	}
	for _, b := range bad {
		t.Errorf("providertest: bad Harness: %s", b)
	}
	return len(bad) == 0
}

func testIDAndType(t *testing.T, h Harness) {
	p := h.Provider
	id, typ := p.ID(), p.Type()
	if id == "" {
		t.Errorf("ID() is empty")
	}
	if typ == "" {
		t.Errorf("Type() is empty")
	}
	for range 2 {
		if again := p.ID(); again != id {
			t.Errorf("ID() = %q, then %q: want a stable id", id, again)
		}
		if again := p.Type(); again != typ {
			t.Errorf("Type() = %q, then %q: want a stable type", typ, again)
		}
	}
	if h.ID != "" && id != h.ID {
		t.Errorf("ID() = %q, want %q", id, h.ID)
	}
	if h.Type != "" && typ != h.Type {
		t.Errorf("Type() = %q, want %q", typ, h.Type)
	}
}

func testCapabilities(t *testing.T, h Harness) {
	p := h.Provider
	_, password := p.(providers.PasswordAuthenticator)
	_, redirect := p.(providers.RedirectAuthenticator)
	_, request := p.(providers.RequestAuthenticator)
	_, metadata := p.(providers.MetadataPublisher)
	if _, health := p.(providers.HealthChecker); h.Health && !health {
		t.Errorf("%T does not implement providers.HealthChecker, which the harness declares", p)
	}
	for _, c := range []struct {
		name       string
		has, wants bool
	}{
		{"providers.PasswordAuthenticator", password, h.Password != nil},
		{"providers.RedirectAuthenticator", redirect, h.Redirect != nil},
		{"providers.RequestAuthenticator", request, h.Request != nil},
		{"providers.MetadataPublisher", metadata, h.Metadata},
	} {
		switch {
		case c.wants && !c.has:
			t.Errorf("%T does not implement %s, which the harness declares", p, c.name)
		case !c.wants && c.has:
			t.Errorf("%T implements %s, which the harness does not declare: the gateway would offer a capability the provider lacks", p, c.name)
		}
	}
}

func testMetadata(t *testing.T, p providers.Provider) {
	mp, ok := p.(providers.MetadataPublisher)
	if !ok {
		t.Fatalf("%T is not a providers.MetadataPublisher", p)
	}
	for i := range 2 {
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		md, err := mp.Metadata(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Metadata (call %d): %v", i+1, err)
		}
		if len(md) == 0 {
			t.Fatalf("Metadata (call %d) returned no bytes", i+1)
		}
	}
}

// callCtx returns a context for one call under t.
func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}
