package gateway

import (
	"net/http"

	"github.com/ssogate/ssogate/store"
)

// logoutApps tells the apps that signed in through the ended session sess
// (it is already destroyed) that it ended, then sends the browser to done
// (a local path, or a redirect target validated by the caller): OIDC
// clients hear of it by a back-channel logout token, server to server;
// SAML service providers by a single-logout round through the browser,
// which ends at done.
func (g *Gateway) logoutApps(w http.ResponseWriter, r *http.Request, sess *store.Session, done string) {
	ctx := r.Context()
	clients, err := g.store.ListSessionClients(ctx, sess.ID)
	if err != nil {
		// The sign-out itself happened; the apps keep their own sessions
		// until those expire.
		g.log.Error("logout: list apps of the session", "request_id", requestID(ctx), "err", err)
	}
	g.backChannelLogout(sess, clients)
	if g.samlLogoutRound(w, r, sess, clients, done) {
		return
	}
	http.Redirect(w, r, done, http.StatusSeeOther)
}
