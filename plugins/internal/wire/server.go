package wire

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/ssogate/ssogate/plugins/proto"
	"github.com/ssogate/ssogate/providers"
)

// Server serves a providers.Provider as the ProviderPlugin service. It
// answers only the methods of the capabilities the provider implements;
// the others return codes.Unimplemented.
type Server struct {
	pb.UnimplementedProviderPluginServer

	factory Factory

	mu sync.RWMutex
	p  providers.Provider

	calls calls
}

// NewServer returns a Server that builds its provider with f on Configure.
func NewServer(f Factory) *Server {
	return &Server{factory: f, calls: calls{running: map[*call]struct{}{}}}
}

// CapabilitiesOf reports which capability interfaces p implements.
func CapabilitiesOf(p providers.Provider) *pb.Capabilities {
	_, pw := p.(providers.PasswordAuthenticator)
	_, rd := p.(providers.RedirectAuthenticator)
	_, rq := p.(providers.RequestAuthenticator)
	_, md := p.(providers.MetadataPublisher)
	return &pb.Capabilities{Password: pw, Redirect: rd, Request: rq, Metadata: md}
}

// Configure builds the provider and reports its capabilities.
func (s *Server) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	if s.factory == nil {
		return nil, status.Error(codes.FailedPrecondition, "plugin has no provider factory")
	}
	p, err := s.factory(req.GetProviderId(), req.GetConfigJson())
	if err != nil {
		return nil, ErrorToStatus(err)
	}
	if p == nil {
		return nil, ErrorToStatus(errors.New("plugin factory returned no provider and no error"))
	}
	s.mu.Lock()
	s.p = p
	s.mu.Unlock()
	return &pb.ConfigureResponse{Capabilities: CapabilitiesOf(p), ProviderType: p.Type()}, nil
}

func (s *Server) provider() (providers.Provider, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.p == nil {
		return nil, status.Error(codes.FailedPrecondition, "plugin is not configured")
	}
	return s.p, nil
}

func unimplemented(what string) error {
	return status.Error(codes.Unimplemented, "plugin's provider is no "+what)
}

// Authenticate calls the provider's PasswordAuthenticator.
func (s *Server) Authenticate(ctx context.Context, req *pb.AuthenticateRequest) (*pb.AuthenticateResponse, error) {
	defer s.calls.track(ctx)()
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	pa, ok := p.(providers.PasswordAuthenticator)
	if !ok {
		return nil, unimplemented("PasswordAuthenticator")
	}
	id, err := pa.Authenticate(ctx, req.GetLogin(), req.GetPassword())
	if err != nil {
		return nil, ErrorToStatus(err)
	}
	if id == nil {
		return nil, ErrorToStatus(errors.New("provider returned no identity and no error"))
	}
	return &pb.AuthenticateResponse{Identity: IdentityToProto(id)}, nil
}

// Begin calls the provider's RedirectAuthenticator.
func (s *Server) Begin(ctx context.Context, req *pb.BeginRequest) (*pb.BeginResponse, error) {
	defer s.calls.track(ctx)()
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	ra, ok := p.(providers.RedirectAuthenticator)
	if !ok {
		return nil, unimplemented("RedirectAuthenticator")
	}
	res, err := ra.Begin(ctx, providers.BeginRequest{
		CallbackURL: req.GetCallbackUrl(),
		LoginHint:   req.GetLoginHint(),
	})
	if err != nil {
		return nil, ErrorToStatus(err)
	}
	if res == nil {
		return nil, ErrorToStatus(errors.New("provider returned no begin result and no error"))
	}
	return &pb.BeginResponse{
		RedirectUrl: res.RedirectURL,
		PostFormSet: res.PostForm != nil,
		PostForm:    ValuesToProto(res.PostForm),
		State:       res.State,
	}, nil
}

// Complete calls the provider's RedirectAuthenticator.
func (s *Server) Complete(ctx context.Context, req *pb.CompleteRequest) (*pb.CompleteResponse, error) {
	defer s.calls.track(ctx)()
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	ra, ok := p.(providers.RedirectAuthenticator)
	if !ok {
		return nil, unimplemented("RedirectAuthenticator")
	}
	id, err := ra.Complete(ctx, providers.CompleteRequest{
		CallbackURL: req.GetCallbackUrl(),
		Query:       ValuesFromProto(req.GetQuery()),
		Form:        ValuesFromProto(req.GetForm()),
		State:       req.GetState(),
	})
	if err != nil {
		return nil, ErrorToStatus(err)
	}
	if id == nil {
		return nil, ErrorToStatus(errors.New("provider returned no identity and no error"))
	}
	return &pb.CompleteResponse{Identity: IdentityToProto(id)}, nil
}

// Check calls the provider's RequestAuthenticator.
func (s *Server) Check(ctx context.Context, req *pb.CheckRequest) (*pb.CheckResponse, error) {
	defer s.calls.track(ctx)()
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	rq, ok := p.(providers.RequestAuthenticator)
	if !ok {
		return nil, unimplemented("RequestAuthenticator")
	}
	var facts providers.RequestFacts
	if ip := req.GetClientIp(); ip != "" {
		if facts.ClientIP, err = netip.ParseAddr(ip); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "client ip: %v", err)
		}
	}
	v, err := rq.Check(ctx, facts)
	if err != nil {
		return nil, ErrorToStatus(err)
	}
	return &pb.CheckResponse{Matched: v.Matched, Name: v.Name}, nil
}

// Metadata calls the provider's MetadataPublisher.
func (s *Server) Metadata(ctx context.Context, _ *pb.MetadataRequest) (*pb.MetadataResponse, error) {
	defer s.calls.track(ctx)()
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	mp, ok := p.(providers.MetadataPublisher)
	if !ok {
		return nil, unimplemented("MetadataPublisher")
	}
	md, err := mp.Metadata(ctx)
	if err != nil {
		return nil, ErrorToStatus(err)
	}
	return &pb.MetadataResponse{Metadata: md}, nil
}

// Ping answers the host's health check with the number of stuck calls.
func (s *Server) Ping(_ context.Context, req *pb.PingRequest) (*pb.PingResponse, error) {
	after := time.Duration(req.GetStuckAfterMs()) * time.Millisecond
	return &pb.PingResponse{StuckCalls: int32(s.calls.stuck(after, time.Now()))}, nil
}

// calls tracks the provider calls in progress, so that Ping can tell a
// plugin whose provider ignores its context (a call still running long
// after the host gave up on it) from one that is merely busy.
type calls struct {
	mu      sync.Mutex
	running map[*call]struct{}
}

type call struct {
	ended time.Time // when the call's context ended; zero while it lives
}

// track registers a call; the returned func unregisters it.
func (c *calls) track(ctx context.Context) func() {
	cl := &call{}
	c.mu.Lock()
	c.running[cl] = struct{}{}
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		cl.ended = time.Now()
		c.mu.Unlock()
	})
	return func() {
		stop()
		c.mu.Lock()
		delete(c.running, cl)
		c.mu.Unlock()
	}
}

// stuck counts the calls whose context ended more than after before now.
func (c *calls) stuck(after time.Duration, now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for cl := range c.running {
		if !cl.ended.IsZero() && now.Sub(cl.ended) > after {
			n++
		}
	}
	return n
}
