package plugins

import (
	"context"
	"fmt"

	"github.com/ssogate/ssogate/plugins/internal/wire"
	pb "github.com/ssogate/ssogate/plugins/proto"
	"github.com/ssogate/ssogate/providers"
)

// The method sets below are combined per capability set by newProvider,
// so that the gateway's type switch sees exactly what the plugin can do.

type base struct{ p *Plugin }

func (a base) ID() string   { return a.p.spec.ID }
func (a base) Type() string { return Type }

// Health is the plugin's process health (Plugin.Err): every plugin is a
// providers.HealthChecker, whatever it declared, since it is the host
// that knows whether the process serves.
func (a base) Health(context.Context) error { return a.p.Err() }

type password struct{ p *Plugin }

func (a password) Authenticate(ctx context.Context, login, secret string) (*providers.Identity, error) {
	var resp *pb.AuthenticateResponse
	err := a.p.invoke(ctx, "authenticate", a.p.t.auth, func(ctx context.Context, c pb.ProviderPluginClient) (err error) {
		resp, err = c.Authenticate(ctx, &pb.AuthenticateRequest{Login: login, Password: secret})
		return err
	})
	if err != nil {
		return nil, err
	}
	return a.p.identity(resp.GetIdentity(), "authenticate")
}

type redirect struct{ p *Plugin }

func (a redirect) Begin(ctx context.Context, req providers.BeginRequest) (*providers.BeginResult, error) {
	var resp *pb.BeginResponse
	err := a.p.invoke(ctx, "begin", a.p.t.call, func(ctx context.Context, c pb.ProviderPluginClient) (err error) {
		resp, err = c.Begin(ctx, &pb.BeginRequest{CallbackUrl: req.CallbackURL, LoginHint: req.LoginHint})
		return err
	})
	if err != nil {
		return nil, err
	}
	res := &providers.BeginResult{RedirectURL: resp.GetRedirectUrl(), State: resp.GetState()}
	if resp.GetPostFormSet() {
		res.PostForm = wire.ValuesFromProto(resp.GetPostForm())
		if res.PostForm == nil {
			res.PostForm = map[string][]string{}
		}
	}
	return res, nil
}

func (a redirect) Complete(ctx context.Context, req providers.CompleteRequest) (*providers.Identity, error) {
	var resp *pb.CompleteResponse
	err := a.p.invoke(ctx, "complete", a.p.t.call, func(ctx context.Context, c pb.ProviderPluginClient) (err error) {
		resp, err = c.Complete(ctx, &pb.CompleteRequest{
			CallbackUrl: req.CallbackURL,
			Query:       wire.ValuesToProto(req.Query),
			Form:        wire.ValuesToProto(req.Form),
			State:       req.State,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return a.p.identity(resp.GetIdentity(), "complete")
}

type request struct{ p *Plugin }

func (a request) Check(ctx context.Context, facts providers.RequestFacts) (providers.Verdict, error) {
	var resp *pb.CheckResponse
	ip := ""
	if facts.ClientIP.IsValid() {
		ip = facts.ClientIP.String()
	}
	err := a.p.invoke(ctx, "check", a.p.t.call, func(ctx context.Context, c pb.ProviderPluginClient) (err error) {
		resp, err = c.Check(ctx, &pb.CheckRequest{ClientIp: ip})
		return err
	})
	if err != nil {
		return providers.Verdict{}, err
	}
	return providers.Verdict{Matched: resp.GetMatched(), Name: resp.GetName()}, nil
}

type metadata struct{ p *Plugin }

func (a metadata) Metadata(ctx context.Context) ([]byte, error) {
	var resp *pb.MetadataResponse
	err := a.p.invoke(ctx, "metadata", a.p.t.call, func(ctx context.Context, c pb.ProviderPluginClient) (err error) {
		resp, err = c.Metadata(ctx, &pb.MetadataRequest{})
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp.GetMetadata(), nil
}

// identity converts a plugin's identity. ProviderID is always the spec's
// id: a plugin cannot speak for another provider.
func (p *Plugin) identity(in *pb.Identity, op string) (*providers.Identity, error) {
	id := wire.IdentityFromProto(in)
	if id == nil {
		return nil, fmt.Errorf("plugins: %s: %s: %w (%w)", p.spec.ID, op, errNoIdentity, providers.ErrUnavailable)
	}
	id.ProviderID = p.spec.ID
	return id, nil
}

// newProvider returns the Provider for the declared capabilities.
func newProvider(p *Plugin, c caps) providers.Provider {
	b, pw, rd, rq, md := base{p}, password{p}, redirect{p}, request{p}, metadata{p}
	switch c {
	case caps{}:
		return b
	case caps{password: true}:
		return struct {
			base
			password
		}{b, pw}
	case caps{redirect: true}:
		return struct {
			base
			redirect
		}{b, rd}
	case caps{request: true}:
		return struct {
			base
			request
		}{b, rq}
	case caps{metadata: true}:
		return struct {
			base
			metadata
		}{b, md}
	case caps{password: true, redirect: true}:
		return struct {
			base
			password
			redirect
		}{b, pw, rd}
	case caps{password: true, request: true}:
		return struct {
			base
			password
			request
		}{b, pw, rq}
	case caps{password: true, metadata: true}:
		return struct {
			base
			password
			metadata
		}{b, pw, md}
	case caps{redirect: true, request: true}:
		return struct {
			base
			redirect
			request
		}{b, rd, rq}
	case caps{redirect: true, metadata: true}:
		return struct {
			base
			redirect
			metadata
		}{b, rd, md}
	case caps{request: true, metadata: true}:
		return struct {
			base
			request
			metadata
		}{b, rq, md}
	case caps{password: true, redirect: true, request: true}:
		return struct {
			base
			password
			redirect
			request
		}{b, pw, rd, rq}
	case caps{password: true, redirect: true, metadata: true}:
		return struct {
			base
			password
			redirect
			metadata
		}{b, pw, rd, md}
	case caps{password: true, request: true, metadata: true}:
		return struct {
			base
			password
			request
			metadata
		}{b, pw, rq, md}
	case caps{redirect: true, request: true, metadata: true}:
		return struct {
			base
			redirect
			request
			metadata
		}{b, rd, rq, md}
	default: // all four
		return struct {
			base
			password
			redirect
			request
			metadata
		}{b, pw, rd, rq, md}
	}
}
