package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIPs resolves the address of the person behind a request. The
// socket's peer (RemoteAddr) and the client (after trusted proxies) are two
// different things: forwarding headers are believed only when the peer is a
// trusted proxy, and then walked right to left past further trusted proxies,
// so a client cannot choose its own address by writing a left-most entry.
type ClientIPs struct {
	trusted []netip.Prefix
}

// NewClientIPs returns a resolver that trusts the given proxy prefixes.
func NewClientIPs(trusted []netip.Prefix) *ClientIPs {
	return &ClientIPs{trusted: trusted}
}

// PeerIP returns the socket peer's address, or the zero Addr.
func PeerIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// Resolve returns the client address for r.
func (c *ClientIPs) Resolve(r *http.Request) netip.Addr {
	peer := PeerIP(r)
	if !peer.IsValid() || !c.isTrusted(peer) {
		return peer
	}
	hops, ok := forwardedChain(r.Header)
	if !ok {
		return peer
	}
	// Walk from the hop nearest to us outwards; the first address that is
	// not a trusted proxy is the client.
	for i := len(hops) - 1; i >= 0; i-- {
		a := hops[i]
		if !a.IsValid() {
			return peer // malformed entry: believe nothing further out
		}
		if !c.isTrusted(a) {
			return a
		}
	}
	if len(hops) > 0 {
		return hops[0]
	}
	return peer
}

func (c *ClientIPs) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedChain returns the forwarded addresses in order (client first),
// from Forwarded (RFC 7239) when present, else X-Forwarded-For. Repeated
// header lines are concatenated in order, as proxies append.
func forwardedChain(h http.Header) ([]netip.Addr, bool) {
	if fw := h.Values("Forwarded"); len(fw) > 0 {
		var out []netip.Addr
		for _, line := range fw {
			for _, elem := range strings.Split(line, ",") {
				out = append(out, parseForwardedFor(elem))
			}
		}
		return out, true
	}
	xff := h.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return nil, false
	}
	var out []netip.Addr
	for _, line := range xff {
		for _, part := range strings.Split(line, ",") {
			out = append(out, parseAddr(strings.TrimSpace(part)))
		}
	}
	return out, true
}

// parseForwardedFor extracts the for= address of one Forwarded element;
// an element without for= or with an obfuscated identifier yields the zero
// Addr, which stops the walk.
func parseForwardedFor(elem string) netip.Addr {
	for _, pair := range strings.Split(elem, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || !strings.EqualFold(k, "for") {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"`)
		return parseAddr(v)
	}
	return netip.Addr{}
}

// parseAddr accepts "1.2.3.4", "1.2.3.4:80", "2001:db8::1", "[2001:db8::1]"
// and "[2001:db8::1]:80".
func parseAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}
