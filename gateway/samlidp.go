package gateway

import (
	"net/http"

	"github.com/ssogate/ssogate/store"
)

// samlIdPRoutes serves the SAML IdP: /idp/saml/….
func (g *Gateway) samlIdPRoutes(mux *http.ServeMux) {}

// samlLaunchURL is where the tile of a service provider of the SAML IdP
// leads.
func (g *Gateway) samlLaunchURL(s *service) string { return s.cfg.URL }

// samlLogoutRound starts the single-logout round through the SAML service
// providers in clients, ending at done, and reports whether it answered.
func (g *Gateway) samlLogoutRound(w http.ResponseWriter, r *http.Request, sess *store.Session, clients []*store.SessionClient, done string) bool {
	return false
}
