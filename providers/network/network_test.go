package network

import (
	"context"
	"net/netip"
	"testing"

	"github.com/ssogate/ssogate/providers"
)

func TestCheck(t *testing.T) {
	p, err := Open("office", Config{Name: "本社回線", Networks: []netip.Prefix{
		netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/48"), netip.MustParsePrefix("198.51.100.7/32"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ip   string
		want bool
	}{
		{"203.0.113.1", true},
		{"203.0.113.255", true},
		{"203.0.114.1", false},
		{"198.51.100.7", true},
		{"198.51.100.8", false},
		{"2001:db8::1", true},
		{"2001:db8:0:ffff::1", true},
		{"2001:db8:1::1", false},
		{"::ffff:203.0.113.9", true}, // IPv4-mapped
		{"127.0.0.1", false},
		{"", false}, // invalid address
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			var ip netip.Addr
			if tt.ip != "" {
				ip = netip.MustParseAddr(tt.ip)
			}
			v, err := p.Check(context.Background(), providers.RequestFacts{ClientIP: ip})
			if err != nil {
				t.Fatal(err)
			}
			if v.Matched != tt.want || (v.Matched && v.Name != "本社回線") {
				t.Fatalf("Check(%s) = %+v, want matched=%v", tt.ip, v, tt.want)
			}
		})
	}
	if p.Type() != "network" || p.ID() != "office" {
		t.Fatal("id/type")
	}
	if _, err := Open("x", Config{}); err == nil {
		t.Fatal("a line without networks opened")
	}
}
