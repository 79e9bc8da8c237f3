package gateway

import (
	"context"
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

// handOverApps runs when a sign-in in the same browser replaced session
// old by next. When the same person signed in again (a re-authentication
// asked by an app or the console, a step-up), the apps they entered
// belong to next now, so that signing out of next still reaches them and
// their tokens stay revocable. When someone else signed in, old's OIDC
// apps hear of its end by back-channel logout; its SAML apps, which need
// the browser for that, keep their sessions until those expire.
func (g *Gateway) handOverApps(ctx context.Context, old, next *store.Session) {
	if old.UserID == next.UserID {
		if err := g.store.MoveSessionClients(ctx, old.ID, next.ID); err != nil {
			g.log.Error("sign-in: hand the apps of the replaced session over", "request_id", requestID(ctx), "err", err)
		}
		return
	}
	clients, err := g.store.ListSessionClients(ctx, old.ID)
	if err != nil {
		g.log.Error("sign-in: list apps of the replaced session", "request_id", requestID(ctx), "err", err)
	}
	g.backChannelLogout(old, clients)
}
