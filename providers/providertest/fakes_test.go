package providertest_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/providers/providertest"
)

// The fakes below keep the contract unless their fault says how to break
// it, so that the suite can be shown to pass them and to catch each fault.

// Faults of passwordFake.
const (
	faultUnstableID       = "unstable id"
	faultRandomSubject    = "random subject"
	faultEmptyGroup       = "empty group"
	faultNilClaim         = "nil claim"
	faultNoAMR            = "no amr"
	faultOtherProviderID  = "other provider id"
	faultBadUTF8          = "bad utf-8"
	faultEnumerates       = "enumerates"
	faultEchoesPassword   = "echoes password"
	faultUnknownIsOutage  = "unknown is outage"
	faultEmptyPasswordOK  = "empty password ok"
	faultIgnoresCtx       = "ignores ctx"
	faultHangsOnCancel    = "hangs on cancel"
	faultCancelIsInvalid  = "cancel is invalid"
	faultBusyUnderLoad    = "busy under load"
	faultIdentityWithErr  = "identity with error"
	faultVerifiedNoEmail  = "verified without email"
	faultReplayable       = "replayable"
	faultIgnoresState     = "ignores state"
	faultAcceptsNoState   = "accepts no state"
	faultFixedState       = "fixed state"
	faultRelativeRedirect = "relative redirect"
	faultReplayIsDenied   = "replay is denied"
	faultEmptyMetadata    = "empty metadata"
	faultMatchesInvalid   = "matches invalid ip"
	faultWrongName        = "wrong verdict name"
	faultErrorOnMiss      = "error on miss"
	faultUnhealthy        = "unhealthy"
	faultHealthNotWrapped = "health error not wrapped"
	faultHealthHangs      = "health hangs on cancel"
)

// passwordFake knows one person, taro, with password goodPassword.
type passwordFake struct {
	id    string
	fault string
	ids   atomic.Int64
	// inFlight counts running calls, for faultBusyUnderLoad.
	inFlight atomic.Int64
}

const (
	goodLogin     = "taro"
	goodPassword  = "Correct-Horse-9"
	wrongPassword = "Wrong-Battery-7"
)

var errFakeInvalid = fmt.Errorf("fake: %w", providers.ErrInvalidCredentials)

func (p *passwordFake) ID() string {
	if p.fault == faultUnstableID {
		return fmt.Sprintf("%s-%d", p.id, p.ids.Add(1))
	}
	return p.id
}

func (p *passwordFake) Type() string { return "fake" }

func (p *passwordFake) Authenticate(ctx context.Context, login, password string) (*providers.Identity, error) {
	if p.inFlight.Add(1) > 2 && p.fault == faultBusyUnderLoad {
		p.inFlight.Add(-1)
		return nil, fmt.Errorf("fake: %w", providers.ErrBusy)
	}
	defer p.inFlight.Add(-1)
	time.Sleep(5 * time.Millisecond) // a hash
	if err := ctx.Err(); err != nil {
		switch p.fault {
		case faultIgnoresCtx:
		case faultHangsOnCancel:
			time.Sleep(3 * time.Second)
			return nil, fmt.Errorf("fake: %w", err)
		case faultCancelIsInvalid:
			return nil, errFakeInvalid
		default:
			return nil, fmt.Errorf("fake: %w", err)
		}
	}
	switch {
	case login == goodLogin && (password == goodPassword || password == "" && p.fault == faultEmptyPasswordOK):
		return p.identity(), nil
	case login == goodLogin:
		switch p.fault {
		case faultEnumerates:
			return nil, fmt.Errorf("fake: wrong password for %q: %w", login, providers.ErrInvalidCredentials)
		case faultEchoesPassword:
			return nil, fmt.Errorf("fake: password %q: %w", password, providers.ErrInvalidCredentials)
		case faultIdentityWithErr:
			return &providers.Identity{}, errFakeInvalid
		}
		return nil, errFakeInvalid
	case p.fault == faultUnknownIsOutage && login != "":
		return nil, fmt.Errorf("fake: %w", providers.ErrUnavailable)
	}
	return nil, errFakeInvalid
}

func (p *passwordFake) identity() *providers.Identity {
	id := &providers.Identity{
		ProviderID: p.id, Subject: "u-taro", Email: "taro@example.test", EmailVerified: true,
		DisplayName: "山田 太郎", Groups: []string{"staff"},
		Claims: map[string][]string{"uid": {"taro"}}, AMR: []string{"pwd"},
	}
	switch p.fault {
	case faultRandomSubject:
		id.Subject = rand.Text()
	case faultEmptyGroup:
		id.Groups = append(id.Groups, "")
	case faultNilClaim:
		id.Claims["memberOf"] = nil
	case faultNoAMR:
		id.AMR = nil
	case faultOtherProviderID:
		id.ProviderID = "other"
	case faultBadUTF8:
		id.DisplayName = "\xff\xfe"
	case faultVerifiedNoEmail:
		id.Email = ""
	}
	return id
}

// passwordWithMetadata offers a capability its harness does not declare.
type passwordWithMetadata struct{ *passwordFake }

func (passwordWithMetadata) Metadata(context.Context) ([]byte, error) { return []byte("<md/>"), nil }

// passwordWithHealth reports its health, badly as its fault says.
type passwordWithHealth struct {
	*passwordFake
	healthFault string
}

func (p passwordWithHealth) Health(ctx context.Context) error {
	switch p.healthFault {
	case faultUnhealthy:
		return fmt.Errorf("fake: directory down: %w", providers.ErrUnavailable)
	case faultHealthNotWrapped:
		if ctx.Err() != nil {
			return ctx.Err()
		}
	case faultHealthHangs:
		if ctx.Err() != nil {
			time.Sleep(providertest.CancelDeadline + time.Second)
		}
	}
	return nil
}

func passwordHarness(p providers.Provider) providertest.Harness {
	return providertest.Harness{
		Provider: p, ID: "pw", Type: "fake",
		Password: &providertest.PasswordStyle{
			Good:          providertest.Credentials{Login: goodLogin, Password: goodPassword},
			WrongPassword: wrongPassword,
			UnknownLogin:  "jiro",
			Expect: providertest.IdentityExpectation{
				Subject: "u-taro", Email: "taro@example.test", EmailVerified: true,
				Groups: []string{"staff"}, AMR: []string{"pwd"}, Claims: map[string][]string{"uid": {"taro"}},
			},
		},
	}
}

// redirectFake is a redirect-style provider and, through issue, the
// external provider it sends browsers to.
type redirectFake struct {
	id    string
	fault string

	mu    sync.Mutex
	codes map[string]string // one-time code -> the state it was issued for
}

func newRedirectFake(id, fault string) *redirectFake {
	return &redirectFake{id: id, fault: fault, codes: map[string]string{}}
}

func (p *redirectFake) ID() string   { return p.id }
func (p *redirectFake) Type() string { return "fake-redirect" }

func (p *redirectFake) Begin(_ context.Context, req providers.BeginRequest) (*providers.BeginResult, error) {
	st := rand.Text()
	if p.fault == faultFixedState {
		st = "always-the-same"
	}
	u := "https://idp.example.test/authorize?"
	if p.fault == faultRelativeRedirect {
		u = "/authorize?"
	}
	q := url.Values{"state": {st}, "redirect_uri": {req.CallbackURL}}
	return &providers.BeginResult{RedirectURL: u + q.Encode(), State: []byte("fake:" + st)}, nil
}

// issue is the external provider: it signs the person in and returns a
// one-time code for state.
func (p *redirectFake) issue(state string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	code := rand.Text()
	p.codes[code] = state
	return code
}

func (p *redirectFake) invalid(why string) error {
	return fmt.Errorf("fake: %w: %s", providers.ErrInvalidResponse, why)
}

func (p *redirectFake) Complete(_ context.Context, req providers.CompleteRequest) (*providers.Identity, error) {
	st, ok := strings.CutPrefix(string(req.State), "fake:")
	switch {
	case req.State == nil && p.fault == faultAcceptsNoState:
		st = req.Query.Get("state")
	case !ok || st == "":
		return nil, p.invalid("unreadable state")
	}
	if req.Query.Get("state") != st && p.fault != faultIgnoresState {
		return nil, p.invalid("state mismatch")
	}
	code := req.Query.Get("code")
	p.mu.Lock()
	issuedFor, known := p.codes[code]
	if p.fault != faultReplayable {
		delete(p.codes, code)
	}
	p.mu.Unlock()
	if !known {
		if p.fault == faultReplayIsDenied {
			return nil, fmt.Errorf("fake: %w", providers.ErrDenied)
		}
		return nil, p.invalid("unknown or used code")
	}
	if issuedFor != req.Query.Get("state") {
		return nil, p.invalid("code of another sign-in")
	}
	return &providers.Identity{
		ProviderID: p.id, Subject: "sub-hanako", Email: "hanako@example.test", EmailVerified: true,
		Claims: map[string][]string{"sub": {"sub-hanako"}}, AMR: []string{"fed"},
	}, nil
}

// browser follows a redirectFake's authorization URL.
func (p *redirectFake) browser(ctx context.Context, begin *providers.BeginResult, callbackURL string) (providers.CompleteRequest, error) {
	if err := ctx.Err(); err != nil {
		return providers.CompleteRequest{}, err
	}
	u, err := url.Parse(begin.RedirectURL)
	if err != nil {
		return providers.CompleteRequest{}, err
	}
	q := u.Query()
	if q.Get("redirect_uri") != callbackURL {
		return providers.CompleteRequest{}, fmt.Errorf("redirect_uri %q, want %q", q.Get("redirect_uri"), callbackURL)
	}
	st := q.Get("state")
	return providers.CompleteRequest{Query: url.Values{"code": {p.issue(st)}, "state": {st}}}, nil
}

// samlishFake is a redirect-style provider that publishes metadata.
type samlishFake struct{ *redirectFake }

func (p samlishFake) Metadata(context.Context) ([]byte, error) {
	if p.fault == faultEmptyMetadata {
		return nil, nil
	}
	return []byte(`<EntityDescriptor entityID="https://gw.example.test/saml/` + p.id + `/metadata"/>`), nil
}

func redirectHarness(p *redirectFake) providertest.Harness {
	return providertest.Harness{
		Provider: p, ID: p.id,
		Redirect: &providertest.RedirectStyle{
			Browser: p.browser,
			Expect:  providertest.IdentityExpectation{Subject: "sub-hanako", Email: "hanako@example.test", EmailVerified: true},
		},
	}
}

// requestFake matches 203.0.113.0/24 as "本社" and 2001:db8::/48 as
// "大阪支社".
type requestFake struct{ fault string }

var (
	headOffice   = netip.MustParsePrefix("203.0.113.0/24")
	osakaOffice  = netip.MustParsePrefix("2001:db8::/48")
	errNoAddress = errors.New("fake: no client address")
)

func (requestFake) ID() string   { return "office" }
func (requestFake) Type() string { return "fake-network" }

func (p requestFake) Check(_ context.Context, facts providers.RequestFacts) (providers.Verdict, error) {
	ip := facts.ClientIP
	switch {
	case !ip.IsValid() && p.fault == faultMatchesInvalid:
		return providers.Verdict{Matched: true, Name: "本社"}, nil
	case !ip.IsValid():
		return providers.Verdict{}, errNoAddress
	case headOffice.Contains(ip.Unmap()):
		if p.fault == faultWrongName {
			return providers.Verdict{Matched: true, Name: "head office"}, nil
		}
		return providers.Verdict{Matched: true, Name: "本社"}, nil
	case osakaOffice.Contains(ip):
		return providers.Verdict{Matched: true, Name: "大阪支社"}, nil
	case p.fault == faultErrorOnMiss:
		return providers.Verdict{}, errors.New("fake: lookup failed")
	}
	return providers.Verdict{}, nil
}

func requestHarness(p providers.Provider) providertest.Harness {
	return providertest.Harness{
		Provider: p, ID: "office", Type: "fake-network",
		Request: &providertest.RequestStyle{
			Matches: []providertest.Match{
				{Facts: providers.RequestFacts{ClientIP: netip.MustParseAddr("203.0.113.7")}, Name: "本社"},
				{Facts: providers.RequestFacts{ClientIP: netip.MustParseAddr("::ffff:203.0.113.8")}, Name: "本社"},
				{Facts: providers.RequestFacts{ClientIP: netip.MustParseAddr("2001:db8::1")}, Name: "大阪支社"},
			},
			Misses: []providers.RequestFacts{
				{ClientIP: netip.MustParseAddr("198.51.100.7")},
				{ClientIP: netip.MustParseAddr("2001:db9::1")},
			},
		},
	}
}
