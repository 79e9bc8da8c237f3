package network_test

import (
	"net/netip"
	"testing"

	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/providers/network"
	"github.com/ssogate/ssogate/providers/providertest"
)

func TestConformance(t *testing.T) {
	p, err := network.Open("office", network.Config{Name: "本社回線", Networks: []netip.Prefix{
		netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/48"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	providertest.Run(t, providertest.Harness{
		Provider: p, ID: "office", Type: "network",
		Request: &providertest.RequestStyle{
			Matches: []providertest.Match{
				{Facts: providers.RequestFacts{ClientIP: netip.MustParseAddr("203.0.113.7")}, Name: "本社回線"},
				{Facts: providers.RequestFacts{ClientIP: netip.MustParseAddr("2001:db8::7")}, Name: "本社回線"},
			},
			Misses: []providers.RequestFacts{{ClientIP: netip.MustParseAddr("198.51.100.1")}},
		},
	})
}
