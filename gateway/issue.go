package gateway

import (
	"context"
	"errors"
	"net/http"

	"github.com/ssogate/ssogate/store"
)

// IssueSession starts a session for user, as a sign-in with the methods amr
// from clientIP would, and returns the Cookie header value ("name=value")
// that then signs a browser in. It is for tools that need many signed-in
// sessions without a sign-in each, such as the benchmark's 100,000-session
// target; the session is an ordinary one, revoked and expired like any.
func (sh *Shared) IssueSession(ctx context.Context, user *store.User, amr []string, clientIP string) (string, error) {
	w := &cookieCatcher{h: http.Header{}}
	r := &http.Request{Header: http.Header{}}
	if _, err := sh.sessions.Create(ctx, w, r, user, amr, clientIP, ""); err != nil {
		return "", err
	}
	for _, line := range w.h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == sh.sessions.name {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", errors.New("gateway: issue session: no session cookie was written")
}

// cookieCatcher is the ResponseWriter IssueSession hands to the session
// manager: only the headers it sets matter.
type cookieCatcher struct{ h http.Header }

func (c *cookieCatcher) Header() http.Header         { return c.h }
func (c *cookieCatcher) Write(b []byte) (int, error) { return len(b), nil }
func (c *cookieCatcher) WriteHeader(int)             {}
