// Package network is line authentication: a request-style provider that
// recognises a registered office line by the client's address. The
// gateway resolves the client address (past trusted proxies only) before
// it asks.
package network

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/ssogate/ssogate/providers"
)

// Config is one registered line.
//
//   - id: office
//     type: network
//     label: 本社回線
//     networks: [203.0.113.0/24, 2001:db8::/48]
type Config struct {
	// Name is the line's name, shown on the personal-info page ("本社回線").
	Name string
	// Networks are the line's address prefixes, IPv4 or IPv6.
	Networks []netip.Prefix
}

// Provider recognises one line.
type Provider struct {
	id       string
	name     string
	prefixes []netip.Prefix
}

var _ providers.RequestAuthenticator = (*Provider)(nil)

// Open validates cfg and returns the line's provider.
func Open(id string, cfg Config) (*Provider, error) {
	if id == "" {
		return nil, errors.New("network: id is required")
	}
	if len(cfg.Networks) == 0 {
		return nil, fmt.Errorf("network: %s: networks: list at least one address or prefix", id)
	}
	p := &Provider{id: id, name: cfg.Name}
	if p.name == "" {
		p.name = id
	}
	for _, n := range cfg.Networks {
		if !n.IsValid() {
			return nil, fmt.Errorf("network: %s: invalid prefix %v", id, n)
		}
		p.prefixes = append(p.prefixes, n.Masked())
	}
	return p, nil
}

// ID returns the provider's id.
func (p *Provider) ID() string { return p.id }

// Type returns "network".
func (p *Provider) Type() string { return "network" }

// Name returns the line's name.
func (p *Provider) Name() string { return p.name }

// Check reports whether the client address is on the line. An invalid
// address never matches.
func (p *Provider) Check(_ context.Context, f providers.RequestFacts) (providers.Verdict, error) {
	ip := f.ClientIP.Unmap()
	if !ip.IsValid() {
		return providers.Verdict{}, nil
	}
	for _, pre := range p.prefixes {
		if pre.Contains(ip) {
			return providers.Verdict{Matched: true, Name: p.name}, nil
		}
	}
	return providers.Verdict{}, nil
}
