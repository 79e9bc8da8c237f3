package gateway

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientIPResolve(t *testing.T) {
	trusted := []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00::/8"),
	}
	c := NewClientIPs(trusted)
	tests := []struct {
		name   string
		remote string
		xff    []string
		fwd    []string
		want   string
	}{
		{"no proxy headers", "198.51.100.7:5555", nil, nil, "198.51.100.7"},
		{"untrusted peer ignores XFF", "198.51.100.7:5555", []string{"203.0.113.9"}, nil, "198.51.100.7"},
		{"untrusted peer ignores Forwarded", "198.51.100.7:5555", nil, []string{"for=203.0.113.9"}, "198.51.100.7"},
		{"trusted peer, one hop", "127.0.0.1:4000", []string{"203.0.113.9"}, nil, "203.0.113.9"},
		{"spoofed left-most entry does not count", "127.0.0.1:4000", []string{"1.2.3.4, 203.0.113.9"}, nil, "203.0.113.9"},
		{"walk past trusted hops", "127.0.0.1:4000", []string{"1.2.3.4, 203.0.113.9, 10.1.2.3"}, nil, "203.0.113.9"},
		{"repeated header lines in order", "127.0.0.1:4000", []string{"1.2.3.4", "203.0.113.9, 10.0.0.1"}, nil, "203.0.113.9"},
		{"all trusted: left-most", "127.0.0.1:4000", []string{"10.0.0.2, 10.0.0.1"}, nil, "10.0.0.2"},
		{"malformed nearest entry: peer", "127.0.0.1:4000", []string{"203.0.113.9, garbage"}, nil, "127.0.0.1"},
		{"empty XFF value: peer", "127.0.0.1:4000", []string{""}, nil, "127.0.0.1"},
		{"IPv6 in XFF", "127.0.0.1:4000", []string{"2001:db8::1"}, nil, "2001:db8::1"},
		{"IPv6 peer trusted", "[fd00::1]:4000", []string{"203.0.113.9"}, nil, "203.0.113.9"},
		{"IPv4-mapped peer", "[::ffff:127.0.0.1]:4000", []string{"203.0.113.9"}, nil, "203.0.113.9"},
		{"XFF with port", "127.0.0.1:4000", []string{"203.0.113.9:1234"}, nil, "203.0.113.9"},
		{"Forwarded wins over XFF", "127.0.0.1:4000", []string{"1.1.1.1"}, []string{"for=203.0.113.9;proto=https"}, "203.0.113.9"},
		{"Forwarded IPv6 quoted", "127.0.0.1:4000", nil, []string{`for="[2001:db8::7]:443"`}, "2001:db8::7"},
		{"Forwarded chain spoof", "127.0.0.1:4000", nil, []string{"for=1.2.3.4, for=203.0.113.9;by=10.0.0.1"}, "203.0.113.9"},
		{"Forwarded obfuscated: peer", "127.0.0.1:4000", nil, []string{"for=_hidden"}, "127.0.0.1"},
		{"Forwarded no for: peer", "127.0.0.1:4000", nil, []string{"proto=https"}, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tt.fwd {
				r.Header.Add("Forwarded", v)
			}
			if got := c.Resolve(r).String(); got != tt.want {
				t.Fatalf("Resolve = %s, want %s", got, tt.want)
			}
		})
	}
}
