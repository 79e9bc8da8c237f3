package gateway

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	"github.com/ssogate/ssogate/idp/samlidp"
	"github.com/ssogate/ssogate/providers"
)

// lineFor returns the name of the registered line (a request-style
// provider's verdict) ip comes through, or "". Evaluated once per request,
// and only where a policy or a sign-in needs it.
func (g *Gateway) lineFor(ctx context.Context, ip netip.Addr) string {
	ri := info(ctx)
	if ri.lineChecked && ri.ip == ip {
		return ri.line
	}
	line := ""
	for _, p := range g.providers.All() {
		ra, ok := p.(providers.RequestAuthenticator)
		if !ok {
			continue
		}
		v, err := ra.Check(ctx, providers.RequestFacts{ClientIP: ip})
		if err != nil {
			g.log.Warn("line check failed", "request_id", ri.id, "provider", p.ID(), "err", err)
			continue
		}
		if v.Matched {
			line = v.Name
			break
		}
	}
	if ri.id != "" {
		ri.line, ri.lineChecked = line, true
	}
	return line
}

// lineExempt are paths served whatever the access route: health checks,
// the assets of the refusal page, the JWKS downstream services fetch
// from their own addresses, the OpenID Provider's server-to-server
// endpoints (a SaaS calls them from its own network) and the SAML IdP's
// metadata (apps fetch it from theirs).
func lineExempt(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/.well-known/jwks.json" || strings.HasPrefix(path, "/static/") ||
		oidcMachinePath(path) || path == samlidp.MetadataPath
}

// refuseOffLine enforces policy.access_route line_only: it answers and
// returns true when the request comes from outside every registered line.
func (g *Gateway) refuseOffLine(w http.ResponseWriter, r *http.Request) bool {
	if !g.orgSettings().LineOnly() || lineExempt(r.URL.Path) {
		return false
	}
	ctx := r.Context()
	if g.lineFor(ctx, clientIP(ctx)) != "" {
		return false
	}
	g.log.Info("refused: outside the registered lines", "request_id", requestID(ctx), "client_ip", clientIP(ctx).String(), "path", r.URL.Path)
	if r.URL.Path == "/auth" {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "403 only from the registered lines", http.StatusForbidden)
		return true
	}
	g.pageError(w, r, http.StatusForbidden, "error.line_only")
	return true
}

// networkAllowed reports whether the request may use a service limited to
// some networks.
func (s *service) networkAllowed(ip netip.Addr) bool {
	if len(s.cfg.AllowedPrefixes) == 0 {
		return true
	}
	ip = ip.Unmap()
	for _, p := range s.cfg.AllowedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
