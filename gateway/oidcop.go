package gateway

import (
	"net/http"

	"github.com/ssogate/ssogate/store"
)

// oidcProviderRoutes serves the OpenID Provider: discovery and /oauth2/….
func (g *Gateway) oidcProviderRoutes(mux *http.ServeMux) {}

// oidcLaunchURL is where the tile of a client of the OpenID Provider leads.
func (g *Gateway) oidcLaunchURL(s *service) string { return s.cfg.URL }

// backChannelLogout sends each OIDC client in clients a logout token for
// the ended session sess, without holding up the browser.
func (g *Gateway) backChannelLogout(sess *store.Session, clients []*store.SessionClient) {}
