package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/ssogate/ssogate/plugins/internal/wire"
	pb "github.com/ssogate/ssogate/plugins/proto"
	"github.com/ssogate/ssogate/providers"
)

// fake is a provider whose every method returns err, or a fixed answer.
type fake struct {
	id  string
	err error
}

func (f *fake) ID() string   { return f.id }
func (f *fake) Type() string { return "fake" }

var fakeIdentity = providers.Identity{
	ProviderID:    "someone-else", // the host must overwrite it
	Subject:       "u-42",
	Email:         "taro@example.co.jp",
	EmailVerified: true,
	DisplayName:   "山田 太郎",
	Phone:         "03-1234-5678",
	Mobile:        "090-1234-5678",
	Organization:  "Example KK",
	Department:    "経理部",
	Groups:        []string{"staff", "accounting"},
	Claims:        map[string][]string{"employee_id": {"1042"}, "roles": {"a", "b"}},
	AMR:           []string{"pwd", "otp"},
}

func (f *fake) identity() (*providers.Identity, error) {
	if f.err != nil {
		return nil, f.err
	}
	id := fakeIdentity
	return &id, nil
}

type fakePassword struct{ *fake }

func (f fakePassword) Authenticate(_ context.Context, login, password string) (*providers.Identity, error) {
	if f.err == nil && (login != "taro" || password != "pw") {
		return nil, providers.ErrInvalidCredentials
	}
	return f.identity()
}

type fakeRedirect struct{ *fake }

func (f fakeRedirect) Begin(_ context.Context, req providers.BeginRequest) (*providers.BeginResult, error) {
	if f.err != nil {
		return nil, f.err
	}
	res := &providers.BeginResult{RedirectURL: "https://idp.example/sso?hint=" + url.QueryEscape(req.LoginHint), State: []byte("state:" + req.CallbackURL)}
	if req.LoginHint == "post" {
		res.PostForm = url.Values{"SAMLRequest": {"PHNhbWw+"}, "RelayState": {"xyz"}}
	}
	if req.LoginHint == "empty-post" {
		res.PostForm = url.Values{}
	}
	return res, nil
}

func (f fakeRedirect) Complete(_ context.Context, req providers.CompleteRequest) (*providers.Identity, error) {
	if f.err != nil {
		return nil, f.err
	}
	if req.Query.Get("code") != "c0de" || req.Form.Get("SAMLResponse") != "resp" || string(req.State) != "st" || req.CallbackURL != "https://gw/cb" {
		return nil, fmt.Errorf("fake: unexpected callback %+v: %w", req, providers.ErrInvalidResponse)
	}
	return f.identity()
}

type fakeRequest struct{ *fake }

func (f fakeRequest) Check(_ context.Context, facts providers.RequestFacts) (providers.Verdict, error) {
	if f.err != nil {
		return providers.Verdict{}, f.err
	}
	office := netip.MustParsePrefix("203.0.113.0/24")
	if office.Contains(facts.ClientIP) {
		return providers.Verdict{Matched: true, Name: "本社回線"}, nil
	}
	return providers.Verdict{}, nil
}

type fakeMetadata struct{ *fake }

func (f fakeMetadata) Metadata(context.Context) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	return []byte("<EntityDescriptor/>"), nil
}

// Capability combinations of fakes, as a plugin author would write them.
type (
	pwOnly struct {
		*fake
		fakePassword
	}
	redirectMeta struct {
		*fake
		fakeRedirect
		fakeMetadata
	}
	requestOnly struct {
		*fake
		fakeRequest
	}
	everything struct {
		*fake
		fakePassword
		fakeRedirect
		fakeRequest
		fakeMetadata
	}
)

func newFake(kind string, err error) providers.Provider {
	f := &fake{id: "fake", err: err}
	switch kind {
	case "password":
		return pwOnly{f, fakePassword{f}}
	case "redirect+metadata":
		return redirectMeta{f, fakeRedirect{f}, fakeMetadata{f}}
	case "request":
		return requestOnly{f, fakeRequest{f}}
	case "none":
		return f
	}
	return everything{f, fakePassword{f}, fakeRedirect{f}, fakeRequest{f}, fakeMetadata{f}}
}

// inProcess serves the provider built by factory over a real gRPC
// connection inside the test process (plugin.TestPluginGRPCConn) and
// returns the host side, configured.
func inProcess(t *testing.T, id string, factory wire.Factory) (*Plugin, error) {
	t.Helper()
	ps := map[string]plugin.Plugin{wire.PluginName: &wire.GRPCPlugin{Factory: factory}}
	client, _ := plugin.TestPluginGRPCConn(t, false, ps)
	// Closing the client stops the server (go-plugin's controller).
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(wire.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPlugin(Spec{ID: id, Command: "in-process", SHA256: fmt.Sprintf("%064x", 0)}, defaultTimings)
	if err != nil {
		t.Fatal(err)
	}
	close(p.done) // no supervisor
	rpc := raw.(pb.ProviderPluginClient)
	resp, err := p.configure(context.Background(), rpc)
	if err != nil {
		return nil, err
	}
	p.caps = capsOf(resp.GetCapabilities())
	p.provider = newProvider(p, p.caps)
	p.up(&instance{rpc: rpc})
	return p, nil
}

func serveFake(t *testing.T, kind string, err error) providers.Provider {
	t.Helper()
	p, cerr := inProcess(t, "kiosk", func(string, json.RawMessage) (providers.Provider, error) {
		return newFake(kind, err), nil
	})
	if cerr != nil {
		t.Fatal(cerr)
	}
	return p.Provider()
}

// implements lists the capability interfaces p satisfies.
func implements(p providers.Provider) caps {
	_, pw := p.(providers.PasswordAuthenticator)
	_, rd := p.(providers.RedirectAuthenticator)
	_, rq := p.(providers.RequestAuthenticator)
	_, md := p.(providers.MetadataPublisher)
	return caps{pw, rd, rq, md}
}

func TestCapabilitiesNarrowed(t *testing.T) {
	tests := []struct {
		kind string
		want caps
	}{
		{"password", caps{password: true}},
		{"redirect+metadata", caps{redirect: true, metadata: true}},
		{"request", caps{request: true}},
		{"none", caps{}},
		{"everything", caps{true, true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			p := serveFake(t, tt.kind, nil)
			if got := implements(p); got != tt.want {
				t.Errorf("provider implements %s, want %s", got, tt.want)
			}
			if p.ID() != "kiosk" || p.Type() != Type {
				t.Errorf("ID, Type = %q, %q; want kiosk, plugin", p.ID(), p.Type())
			}
		})
	}
}

func TestNewProviderEveryCombination(t *testing.T) {
	p := &Plugin{spec: Spec{ID: "x"}}
	for mask := range 16 {
		c := caps{mask&1 != 0, mask&2 != 0, mask&4 != 0, mask&8 != 0}
		if got := implements(newProvider(p, c)); got != c {
			t.Errorf("newProvider(%s) implements %s", c, got)
		}
	}
}

func TestCallsRoundTrip(t *testing.T) {
	ctx := context.Background()
	p := serveFake(t, "everything", nil)
	want := fakeIdentity
	want.ProviderID = "kiosk"

	t.Run("authenticate", func(t *testing.T) {
		got, err := p.(providers.PasswordAuthenticator).Authenticate(ctx, "taro", "pw")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("identity\n got %+v\nwant %+v", *got, want)
		}
		if _, err := p.(providers.PasswordAuthenticator).Authenticate(ctx, "taro", "nope"); !errors.Is(err, providers.ErrInvalidCredentials) {
			t.Errorf("wrong password: %v", err)
		}
	})
	t.Run("begin", func(t *testing.T) {
		ra := p.(providers.RedirectAuthenticator)
		tests := []struct {
			hint string
			form url.Values
		}{
			{"redirect", nil},
			{"post", url.Values{"SAMLRequest": {"PHNhbWw+"}, "RelayState": {"xyz"}}},
			{"empty-post", url.Values{}},
		}
		for _, tt := range tests {
			res, err := ra.Begin(ctx, providers.BeginRequest{CallbackURL: "https://gw/cb", LoginHint: tt.hint})
			if err != nil {
				t.Fatal(err)
			}
			if res.RedirectURL != "https://idp.example/sso?hint="+tt.hint || string(res.State) != "state:https://gw/cb" {
				t.Errorf("%s: result %+v", tt.hint, res)
			}
			if !reflect.DeepEqual(res.PostForm, tt.form) {
				t.Errorf("%s: PostForm = %#v, want %#v", tt.hint, res.PostForm, tt.form)
			}
		}
	})
	t.Run("complete", func(t *testing.T) {
		got, err := p.(providers.RedirectAuthenticator).Complete(ctx, providers.CompleteRequest{
			CallbackURL: "https://gw/cb",
			Query:       url.Values{"code": {"c0de"}, "state": {"s"}},
			Form:        url.Values{"SAMLResponse": {"resp"}},
			State:       []byte("st"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("identity\n got %+v\nwant %+v", *got, want)
		}
	})
	t.Run("check", func(t *testing.T) {
		rq := p.(providers.RequestAuthenticator)
		for ip, want := range map[string]providers.Verdict{
			"203.0.113.7": {Matched: true, Name: "本社回線"},
			"192.0.2.1":   {},
			"":            {},
		} {
			var facts providers.RequestFacts
			if ip != "" {
				facts.ClientIP = netip.MustParseAddr(ip)
			}
			got, err := rq.Check(ctx, facts)
			if err != nil || got != want {
				t.Errorf("Check(%q) = %+v, %v; want %+v", ip, got, err, want)
			}
		}
	})
	t.Run("metadata", func(t *testing.T) {
		md, err := p.(providers.MetadataPublisher).Metadata(ctx)
		if err != nil || string(md) != "<EntityDescriptor/>" {
			t.Errorf("Metadata = %q, %v", md, err)
		}
	})
}

var allSentinels = []error{
	providers.ErrInvalidCredentials,
	providers.ErrAccountDisabled,
	providers.ErrUnavailable,
	providers.ErrBusy,
	providers.ErrDenied,
	providers.ErrNotAllowed,
	providers.ErrInvalidResponse,
	context.DeadlineExceeded,
	context.Canceled,
	ErrPluginShutdown,
}

// TestErrorsRoundTrip checks that every error a provider returns reaches
// the gateway as it would from a built-in provider: same message, same
// errors.Is answers, same errors.As fields.
func TestErrorsRoundTrip(t *testing.T) {
	locked := &providers.AccountError{Reason: providers.ReasonLocked, Detail: "data 775"}
	denied := &providers.ProviderError{Code: "access_denied", Description: "the user said no", Err: providers.ErrDenied}
	tests := []struct {
		name string
		err  error
	}{
		{"invalid credentials", providers.ErrInvalidCredentials},
		{"wrapped invalid credentials", fmt.Errorf("ldap: bind %q: %w", "cn=taro", providers.ErrInvalidCredentials)},
		{"account disabled", providers.ErrAccountDisabled},
		{"account error", locked},
		{"wrapped account error", fmt.Errorf("ldap: %q: %w", "taro", locked)},
		{"account error without detail", &providers.AccountError{Reason: providers.ReasonMustChangePassword}},
		{"unavailable", fmt.Errorf("ldap: dial: %w", providers.ErrUnavailable)},
		{"busy", providers.ErrBusy},
		{"denied", providers.ErrDenied},
		{"not allowed", fmt.Errorf("oidc: hd %q: %w", "other.example", providers.ErrNotAllowed)},
		{"invalid response", fmt.Errorf("saml: signature: %w", providers.ErrInvalidResponse)},
		{"provider error", denied},
		{"wrapped provider error", fmt.Errorf("oidc: callback: %w", denied)},
		{"provider error invalid response", &providers.ProviderError{Code: "urn:oasis:names:tc:SAML:2.0:status:Requester", Err: providers.ErrInvalidResponse}},
		{"provider error other", &providers.ProviderError{Code: "server_error", Err: errors.New("idp: broken")}},
		{"provider error bare", &providers.ProviderError{Code: "temporarily_unavailable"}},
		{"deadline", fmt.Errorf("ldap: search: %w", context.DeadlineExceeded)},
		{"canceled", context.Canceled},
		{"other", errors.New("plugin: something odd")},
	}
	ops := []struct {
		name string
		kind string
		call func(providers.Provider) error
	}{
		{"authenticate", "password", func(p providers.Provider) error {
			_, err := p.(providers.PasswordAuthenticator).Authenticate(context.Background(), "taro", "pw")
			return err
		}},
		{"begin", "redirect+metadata", func(p providers.Provider) error {
			_, err := p.(providers.RedirectAuthenticator).Begin(context.Background(), providers.BeginRequest{})
			return err
		}},
		{"complete", "redirect+metadata", func(p providers.Provider) error {
			_, err := p.(providers.RedirectAuthenticator).Complete(context.Background(), providers.CompleteRequest{})
			return err
		}},
		{"check", "request", func(p providers.Provider) error {
			_, err := p.(providers.RequestAuthenticator).Check(context.Background(), providers.RequestFacts{})
			return err
		}},
		{"metadata", "redirect+metadata", func(p providers.Provider) error {
			_, err := p.(providers.MetadataPublisher).Metadata(context.Background())
			return err
		}},
	}
	for _, tt := range tests {
		for _, op := range ops {
			t.Run(tt.name+"/"+op.name, func(t *testing.T) {
				got := op.call(serveFake(t, op.kind, tt.err))
				if got == nil {
					t.Fatal("no error")
				}
				if got.Error() != tt.err.Error() {
					t.Errorf("message %q, want %q", got, tt.err)
				}
				for _, s := range allSentinels {
					if w, g := errors.Is(tt.err, s), errors.Is(got, s); w != g {
						t.Errorf("errors.Is(err, %q) = %v, want %v", s, g, w)
					}
				}
				var wantAE, gotAE *providers.AccountError
				if w, g := errors.As(tt.err, &wantAE), errors.As(got, &gotAE); w != g {
					t.Errorf("errors.As(*AccountError) = %v, want %v", g, w)
				} else if w && *wantAE != *gotAE {
					t.Errorf("AccountError = %+v, want %+v", *gotAE, *wantAE)
				}
				var wantPE, gotPE *providers.ProviderError
				if w, g := errors.As(tt.err, &wantPE), errors.As(got, &gotPE); w != g {
					t.Errorf("errors.As(*ProviderError) = %v, want %v", g, w)
				} else if w {
					if gotPE.Code != wantPE.Code || gotPE.Description != wantPE.Description {
						t.Errorf("ProviderError = %+v, want %+v", *gotPE, *wantPE)
					}
					if (gotPE.Err == nil) != (wantPE.Err == nil) || (wantPE.Err != nil && gotPE.Err.Error() != wantPE.Err.Error()) {
						t.Errorf("ProviderError.Err = %v, want %v", gotPE.Err, wantPE.Err)
					}
				}
			})
		}
	}
}

func TestConfigureErrorInProcess(t *testing.T) {
	_, err := inProcess(t, "kiosk", func(id string, config json.RawMessage) (providers.Provider, error) {
		return nil, fmt.Errorf("kiosk: config: url: missing")
	})
	if err == nil || err.Error() != "plugins: kiosk: configure: kiosk: config: url: missing" {
		t.Fatalf("err = %v", err)
	}
	_, err = inProcess(t, "kiosk", func(string, json.RawMessage) (providers.Provider, error) { return nil, nil })
	if err == nil {
		t.Fatal("nil provider accepted")
	}
}

func TestConfigReachesPlugin(t *testing.T) {
	var gotID string
	var gotConfig json.RawMessage
	p, err := inProcess(t, "kiosk", func(id string, config json.RawMessage) (providers.Provider, error) {
		gotID, gotConfig = id, config
		return newFake("password", nil), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if gotID != "kiosk" || string(gotConfig) != "{}" {
		t.Errorf("factory got %q, %s", gotID, gotConfig)
	}
	if got := implements(p.Provider()); got != (caps{password: true}) {
		t.Errorf("capabilities %s", got)
	}
}

func TestErrorAfterClose(t *testing.T) {
	p, err := inProcess(t, "kiosk", func(string, json.RawMessage) (providers.Provider, error) {
		return newFake("password", nil), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p.down(p.current(), "plugin closed")
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	_, err = p.Provider().(providers.PasswordAuthenticator).Authenticate(context.Background(), "taro", "pw")
	if !errors.Is(err, providers.ErrUnavailable) || !errors.Is(err, ErrPluginShutdown) {
		t.Errorf("after close: %v", err)
	}
}

func TestSpecValidation(t *testing.T) {
	good := fmt.Sprintf("%064x", 1)
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"no id", Spec{Command: "x", SHA256: good}, "no id"},
		{"no command", Spec{ID: "k", SHA256: good}, "command is empty"},
		{"short sha", Spec{ID: "k", Command: "x", SHA256: "abc"}, "not a SHA-256"},
		{"not hex", Spec{ID: "k", Command: "x", SHA256: "z" + good[1:]}, "not a SHA-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
