package gateway

import "strings"

// HeaderKind says why a request header is removed before a request reaches
// a service.
type HeaderKind string

// The kinds of stripped request headers.
const (
	// KindIdentity headers say who the person is: ours, or those of other
	// gateways and platforms an app may have been written for.
	KindIdentity HeaderKind = "identity"
	// KindAddress headers name the client's address; the gateway sets
	// X-Real-IP (and X-Forwarded-For) from the address it resolved itself.
	KindAddress HeaderKind = "address"
	// KindForwarding headers tell an app which URL, prefix, host or scheme
	// a proxy in front of it was asked for; an app that believes a
	// client's copy routes or authorizes by a URL nobody checked.
	KindForwarding HeaderKind = "forwarding"
)

// StrippedHeader is one entry of the list of request headers that never
// reach a service from a client. Name is the canonical spelling; a name
// ending in "*" is a prefix and matches every header that starts with it.
// Matching ignores letter case and treats '_' as '-'.
type StrippedHeader struct {
	Name string
	Kind HeaderKind
	Who  string // who sets it, for the documentation
}

// Prefix reports whether the entry matches a prefix rather than one name,
// and returns the name without its "*".
func (h StrippedHeader) Prefix() (string, bool) {
	return strings.CutSuffix(h.Name, "*")
}

// strippedHeaders is the one list of request headers the gateway removes
// from every request bound for a service (reverse-proxy mode), and that
// the fronting-proxy snippets in examples/ clear (forward-auth mode).
// docs/headers.md shows it (TestHeadersDoc keeps the two equal), and the
// snippets are checked against it (TestSnippetsClearEveryStrippedHeader).
// Names configured for a service (services[].headers) are added to it.
var strippedHeaders = []StrippedHeader{
	// Ours and the common ones (oauth2-proxy, Authelia, Apache).
	{"X-Forwarded-User", KindIdentity, "ssogate, oauth2-proxy"},
	{"X-Forwarded-Email", KindIdentity, "ssogate, oauth2-proxy"},
	{"X-Forwarded-Groups", KindIdentity, "ssogate, oauth2-proxy"},
	{"X-Forwarded-Name", KindIdentity, "ssogate"},
	{"X-Forwarded-Preferred-Username", KindIdentity, "oauth2-proxy"},
	{"X-Forwarded-Access-Token", KindIdentity, "oauth2-proxy"},
	{"X-Ssogate-*", KindIdentity, "ssogate (X-Ssogate-Assertion)"},
	{"Remote-*", KindIdentity, "ssogate (Remote-User), Authelia (Remote-Groups, -Email, -Name)"},
	{"X-Remote-*", KindIdentity, "Apache, Django RemoteUserMiddleware setups (X-Remote-User, -Group, -Email)"},
	{"X-Auth-Request-*", KindIdentity, "oauth2-proxy (X-Auth-Request-User, -Email, -Groups, -Access-Token)"},
	{"X-Authentik-*", KindIdentity, "authentik (X-Authentik-Username, -Groups, -Email, -Jwt)"},
	{"X-Pomerium-*", KindIdentity, "Pomerium (X-Pomerium-Jwt-Assertion, X-Pomerium-Claim-*)"},
	{"X-Webauth-*", KindIdentity, "Grafana auth proxy (X-WEBAUTH-USER)"},
	{"X-Vouch-*", KindIdentity, "Vouch Proxy (X-Vouch-User, X-Vouch-Idp-Claims-*)"},
	{"Cf-Access-*", KindIdentity, "Cloudflare Access (Cf-Access-Jwt-Assertion, -Authenticated-User-Email)"},
	{"X-Goog-Authenticated-*", KindIdentity, "Google IAP (X-Goog-Authenticated-User-Email, -Id)"},
	{"X-Goog-Iap-*", KindIdentity, "Google IAP (X-Goog-Iap-Jwt-Assertion)"},
	{"X-Amzn-Oidc-*", KindIdentity, "AWS ALB (X-Amzn-Oidc-Data, -Identity, -Accesstoken)"},
	{"X-Ms-Client-Principal*", KindIdentity, "Azure App Service (X-Ms-Client-Principal, -Name, -Id, -Idp)"},
	{"X-Ms-Token-*", KindIdentity, "Azure App Service (X-Ms-Token-Aad-Id-Token)"},
	{"Oidc-*", KindIdentity, "mod_auth_openidc (OIDC_CLAIM_*, OIDC_access_token, OIDC_id_token)"},
	{"Tailscale-User-*", KindIdentity, "Tailscale Serve (Tailscale-User-Login, -Name)"},

	// The client's address, as a client would like it to be.
	{"X-Real-Ip", KindAddress, "nginx convention; ssogate sets it to the resolved client address"},
	{"True-Client-Ip", KindAddress, "Akamai, Cloudflare Enterprise"},
	{"X-Client-Ip", KindAddress, "various"},
	{"Client-Ip", KindAddress, "various"},
	{"Cf-Connecting-Ip", KindAddress, "Cloudflare"},
	{"Cf-Connecting-Ipv6", KindAddress, "Cloudflare"},
	{"Fastly-Client-Ip", KindAddress, "Fastly"},
	{"X-Cluster-Client-Ip", KindAddress, "Rackspace, Riverbed"},
	{"X-Original-Forwarded-For", KindAddress, "ingress-nginx"},
	{"X-Envoy-External-Address", KindAddress, "Envoy"},
	{"X-Forwarded", KindAddress, "legacy X-Forwarded-For"},
	{"Forwarded-For", KindAddress, "legacy X-Forwarded-For"},
	{"Forwarded", KindAddress, "RFC 7239; ssogate sends X-Forwarded-For instead"},

	// Which URL, prefix, host or scheme was asked for.
	{"X-Original-Url", KindForwarding, "IIS, Symfony; nginx auth_request (to /auth only)"},
	{"X-Original-Uri", KindForwarding, "nginx convention"},
	{"X-Rewrite-Url", KindForwarding, "IIS URL Rewrite, Symfony"},
	{"X-Forwarded-Prefix", KindForwarding, "Spring, ASP.NET, Traefik; ssogate sets it for a path-prefix service"},
	{"X-Forwarded-Uri", KindForwarding, "Traefik, Caddy (to /auth only)"},
	{"X-Forwarded-Path", KindForwarding, "various"},
	{"X-Forwarded-Method", KindForwarding, "Traefik, Caddy (to /auth only)"},
	{"X-Original-Method", KindForwarding, "nginx auth_request (to /auth only)"},
	{"X-Original-Host", KindForwarding, "Azure Front Door, ASP.NET"},
	{"X-Host", KindForwarding, "various"},
	{"X-Forwarded-Server", KindForwarding, "Apache mod_proxy"},
	{"X-Forwarded-Port", KindForwarding, "Rails, Django, AWS ELB"},
	{"X-Forwarded-Scheme", KindForwarding, "Rails, ingress-nginx"},
	{"X-Forwarded-Ssl", KindForwarding, "Rails, Rack"},
	{"X-Url-Scheme", KindForwarding, "Rails, Rack"},
	{"Front-End-Https", KindForwarding, "Microsoft"},
}

// StrippedHeaders returns a copy of the list of request headers that
// never reach a service from a client, in the order docs/headers.md
// shows them.
func StrippedHeaders() []StrippedHeader {
	return append([]StrippedHeader(nil), strippedHeaders...)
}

// strippedHeaderNames is the list as headerSet entries.
func strippedHeaderNames() []string {
	names := make([]string, len(strippedHeaders))
	for i, h := range strippedHeaders {
		names[i] = h.Name
	}
	return names
}
