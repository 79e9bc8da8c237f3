package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// oauthToken returns a token of userID with every field set: issued at
// created for an hour, lists of several entries and Data of every byte
// value.
func oauthToken(id, kind, family, userID string, created time.Time) *store.OAuthToken {
	return &store.OAuthToken{ID: id, Kind: kind, FamilyID: family, ClientID: "app-1", UserID: userID, SessionID: "s1",
		Scopes: []string{"openid", "email", "offline_access"}, Audience: []string{"app-1", "https://api.example.com"},
		AMR: []string{"pwd", "otp"}, AuthTime: created.Add(-time.Minute), CreatedAt: created,
		ExpiresAt: created.Add(time.Hour), Data: secretBytes(3)}
}

// checkOAuthToken compares got with want: times with sameTime, lists and
// Data exactly, and an empty list or Data must come back nil.
func checkOAuthToken(t *testing.T, got, want *store.OAuthToken) {
	t.Helper()
	if got.ID != want.ID || got.Kind != want.Kind || got.FamilyID != want.FamilyID || got.ClientID != want.ClientID ||
		got.UserID != want.UserID || got.SessionID != want.SessionID {
		t.Errorf("token = %+v, want %+v", *got, *want)
	}
	checkList(t, "token "+want.ID+" Scopes", got.Scopes, want.Scopes)
	checkList(t, "token "+want.ID+" Audience", got.Audience, want.Audience)
	checkList(t, "token "+want.ID+" AMR", got.AMR, want.AMR)
	sameTime(t, "token "+want.ID+" AuthTime", got.AuthTime, want.AuthTime)
	sameTime(t, "token "+want.ID+" CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "token "+want.ID+" ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	sameTime(t, "token "+want.ID+" UsedAt", got.UsedAt, want.UsedAt)
	checkBytes(t, "token "+want.ID+" Data", got.Data, want.Data)
}

// checkList checks that got equals want and is nil when want is empty.
func checkList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(want) == 0 && got != nil {
		t.Errorf("%s = %#v, want nil", what, got)
	} else if !equalStrings(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// checkBytes checks that got equals want and is nil when want is empty.
func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if len(want) == 0 && got != nil {
		t.Errorf("%s = %#v, want nil", what, got)
	} else if !bytes.Equal(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func createOAuthToken(t *testing.T, s store.Store, tok *store.OAuthToken) {
	t.Helper()
	noErr(t, "CreateOAuthToken "+tok.ID, s.CreateOAuthToken(t.Context(), tok))
}

func getOAuthToken(t *testing.T, s store.Store, id string) *store.OAuthToken {
	t.Helper()
	tok, err := s.GetOAuthToken(t.Context(), id)
	noErr(t, "GetOAuthToken "+id, err)
	return tok
}

// noOAuthToken checks that the token id is not stored.
func noOAuthToken(t *testing.T, s store.Store, id string) {
	t.Helper()
	if tok, err := s.GetOAuthToken(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetOAuthToken %s = %+v, %v; want store.ErrNotFound", id, tok, err)
	}
}

// tokensLeft returns which of ids are still stored.
func tokensLeft(t *testing.T, s store.Store, ids []string) []string {
	t.Helper()
	var left []string
	for _, id := range ids {
		_, err := s.GetOAuthToken(t.Context(), id)
		switch {
		case err == nil:
			left = append(left, id)
		case !errors.Is(err, store.ErrNotFound):
			t.Fatalf("GetOAuthToken %s: %v", id, err)
		}
	}
	return left
}

func rotate(t *testing.T, s store.Store, id string, next *store.OAuthToken, now time.Time) *store.OAuthToken {
	t.Helper()
	old, err := s.RotateRefreshToken(t.Context(), id, next, now)
	noErr(t, "RotateRefreshToken "+id, err)
	return old
}

// sessionClient returns the record of clientID signing in through
// sessionID at created, kept for the session's 12 hours.
func sessionClient(sessionID, protocol, clientID, userID string, created time.Time) *store.SessionClient {
	return &store.SessionClient{SessionID: sessionID, Protocol: protocol, ClientID: clientID, UserID: userID,
		Data: append([]byte{0, 0xff, '|'}, sessionID+"|"+clientID...), CreatedAt: created, ExpiresAt: created.Add(12 * time.Hour)}
}

func checkSessionClient(t *testing.T, got, want *store.SessionClient) {
	t.Helper()
	if got.SessionID != want.SessionID || got.Protocol != want.Protocol || got.ClientID != want.ClientID || got.UserID != want.UserID {
		t.Errorf("session client = %+v, want %+v", *got, *want)
	}
	what := "session client " + want.Protocol + "/" + want.ClientID
	checkBytes(t, what+" Data", got.Data, want.Data)
	sameTime(t, what+" CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+" ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

func addSessionClient(t *testing.T, s store.Store, c *store.SessionClient) {
	t.Helper()
	noErr(t, "AddSessionClient "+c.ClientID, s.AddSessionClient(t.Context(), c))
}

func listSessionClients(t *testing.T, s store.Store, sessionID string) []*store.SessionClient {
	t.Helper()
	list, err := s.ListSessionClients(t.Context(), sessionID)
	noErr(t, "ListSessionClients "+sessionID, err)
	return list
}

func sessionClientKeys(list []*store.SessionClient) []string {
	return ids(list, func(c *store.SessionClient) string { return c.Protocol + "/" + c.ClientID })
}

var federationTests = []test{
	{"TokenRoundTrip", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		access := oauthToken("a1", store.TokenAccess, "f1", u.ID, base)
		// A used refresh token, as a rotation leaves it, stored as given.
		used := oauthToken("r1", store.TokenRefresh, "f1", u.ID, base)
		used.UsedAt = base.Add(5 * time.Minute)
		// The least a token holds: empty lists (nil and empty slices),
		// no session, no family, no auth time, empty Data.
		bare := &store.OAuthToken{ID: "a2", Kind: store.TokenAccess, ClientID: "app-2", UserID: u.ID,
			Scopes: []string{}, AMR: []string{}, Data: []byte{}, CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
		for _, tok := range []*store.OAuthToken{access, used, bare} {
			createOAuthToken(t, s, tok)
		}
		for _, want := range []*store.OAuthToken{access, used, bare} {
			checkOAuthToken(t, getOAuthToken(t, s, want.ID), want)
		}
		// Expired tokens are returned too: the caller checks ExpiresAt.
		createOAuthToken(t, s, &store.OAuthToken{ID: "old", Kind: store.TokenAccess, ClientID: "app-1", UserID: u.ID,
			CreatedAt: base.Add(-2 * time.Hour), ExpiresAt: base.Add(-time.Hour)})
		getOAuthToken(t, s, "old")
	}},
	{"TokenCreatedAtAssigned", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		tok := oauthToken("a1", store.TokenAccess, "f1", u.ID, base)
		tok.CreatedAt = time.Time{}
		before := time.Now()
		createOAuthToken(t, s, tok)
		after := time.Now()
		within(t, "CreatedAt assigned", getOAuthToken(t, s, "a1").CreatedAt, before, after)
	}},
	{"TokenErrors", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		first := oauthToken("a1", store.TokenAccess, "f1", u.ID, base)
		createOAuthToken(t, s, first)
		again := oauthToken("a1", store.TokenRefresh, "f2", u.ID, base.Add(time.Minute))
		again.ClientID = "app-2"
		wantErr(t, "CreateOAuthToken with a taken id", s.CreateOAuthToken(ctx, again), store.ErrConflict)
		checkOAuthToken(t, getOAuthToken(t, s, "a1"), first)
		wantErr(t, "CreateOAuthToken of a missing user",
			s.CreateOAuthToken(ctx, oauthToken("a2", store.TokenAccess, "f1", "missing", base)), store.ErrNotFound)
		noOAuthToken(t, s, "a2")
		_, err := s.GetOAuthToken(ctx, "never")
		wantErr(t, "GetOAuthToken of a missing token", err, store.ErrNotFound)
		_, err = s.DeleteOAuthTokens(ctx, store.OAuthTokenFilter{})
		if err == nil {
			t.Errorf("DeleteOAuthTokens with an empty filter succeeded, want an error")
		}
		getOAuthToken(t, s, "a1")
	}},
	{"Rotate", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		r1 := oauthToken("r1", store.TokenRefresh, "f1", u.ID, base)
		createOAuthToken(t, s, r1)
		// next names no family: the store puts it in r1's.
		r2 := oauthToken("r2", store.TokenRefresh, "", u.ID, base.Add(10*time.Minute))
		r2.Scopes = []string{"openid"}
		now := base.Add(10 * time.Minute)
		old := rotate(t, s, "r1", r2, now)
		wantOld := *r1
		wantOld.UsedAt = now
		checkOAuthToken(t, old, &wantOld)
		checkOAuthToken(t, getOAuthToken(t, s, "r1"), &wantOld)
		wantNext := *r2
		wantNext.FamilyID = "f1"
		checkOAuthToken(t, getOAuthToken(t, s, "r2"), &wantNext)

		// The new token rotates in turn, a millisecond before it expires.
		r3 := oauthToken("r3", store.TokenRefresh, "", u.ID, base)
		last := r2.ExpiresAt.Add(-time.Millisecond)
		old = rotate(t, s, "r2", r3, last)
		sameTime(t, "UsedAt of r2", old.UsedAt, last)
		if got := getOAuthToken(t, s, "r3"); got.FamilyID != "f1" {
			t.Errorf("r3 FamilyID = %q, want f1", got.FamilyID)
		}
	}},
	{"RotateNotFound", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		r1 := oauthToken("r1", store.TokenRefresh, "f1", u.ID, base)
		a1 := oauthToken("a1", store.TokenAccess, "f1", u.ID, base)
		createOAuthToken(t, s, r1)
		createOAuthToken(t, s, a1)
		for _, tc := range []struct {
			name, id string
			now      time.Time
		}{
			{"a missing token", "never", base},
			{"an access token", "a1", base},
			{"a refresh token at its expiry", "r1", r1.ExpiresAt},
			{"a refresh token after its expiry", "r1", r1.ExpiresAt.Add(time.Hour)},
		} {
			next := oauthToken("n-"+tc.name, store.TokenRefresh, "", u.ID, base)
			_, err := s.RotateRefreshToken(ctx, tc.id, next, tc.now)
			wantErr(t, "RotateRefreshToken of "+tc.name, err, store.ErrNotFound)
			noOAuthToken(t, s, next.ID)
		}
		// Nothing was used or revoked.
		checkOAuthToken(t, getOAuthToken(t, s, "r1"), r1)
		checkOAuthToken(t, getOAuthToken(t, s, "a1"), a1)
	}},
	{"RotateNextConflict", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		r1 := oauthToken("r1", store.TokenRefresh, "f1", u.ID, base)
		taken := oauthToken("r2", store.TokenRefresh, "f9", u.ID, base)
		createOAuthToken(t, s, r1)
		createOAuthToken(t, s, taken)
		_, err := s.RotateRefreshToken(t.Context(), "r1", oauthToken("r2", store.TokenRefresh, "", u.ID, base), base)
		wantErr(t, "RotateRefreshToken to a taken id", err, store.ErrConflict)
		// The rotation did not happen: r1 is still usable, r2 untouched.
		checkOAuthToken(t, getOAuthToken(t, s, "r1"), r1)
		checkOAuthToken(t, getOAuthToken(t, s, "r2"), taken)
		rotate(t, s, "r1", oauthToken("r3", store.TokenRefresh, "", u.ID, base), base)
	}},
	{"RotateReuseRevokesFamily", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		v := createUser(t, s, "b@example.com")
		for _, tok := range []*store.OAuthToken{
			oauthToken("r1", store.TokenRefresh, "f1", u.ID, base),
			oauthToken("a1", store.TokenAccess, "f1", u.ID, base),
			// Another family of the same user and client, and one of
			// another user: neither goes.
			oauthToken("r9", store.TokenRefresh, "f2", u.ID, base),
			oauthToken("a9", store.TokenAccess, "f2", u.ID, base),
			oauthToken("rv", store.TokenRefresh, "f3", v.ID, base),
		} {
			createOAuthToken(t, s, tok)
		}
		now := base.Add(time.Minute)
		rotate(t, s, "r1", oauthToken("r2", store.TokenRefresh, "", u.ID, now), now)
		createOAuthToken(t, s, oauthToken("a2", store.TokenAccess, "f1", u.ID, now))

		_, err := s.RotateRefreshToken(ctx, "r1", oauthToken("r3", store.TokenRefresh, "", u.ID, now), now.Add(time.Minute))
		wantErr(t, "RotateRefreshToken of a used token", err, store.ErrTokenReused)
		all := []string{"r1", "a1", "r2", "a2", "r3", "r9", "a9", "rv"}
		if got := tokensLeft(t, s, all); !equalStrings(got, []string{"r9", "a9", "rv"}) {
			t.Errorf("tokens after a reuse = %q, want the other families' [r9 a9 rv]", got)
		}
		// What was rotated from the reused token is revoked with it.
		_, err = s.RotateRefreshToken(ctx, "r2", oauthToken("r4", store.TokenRefresh, "", u.ID, now), now.Add(time.Minute))
		wantErr(t, "RotateRefreshToken of a revoked family's token", err, store.ErrNotFound)
		noOAuthToken(t, s, "r4")
	}},
	{"RotateReuseWithoutFamily", func(t *testing.T, s store.Store) {
		// An empty FamilyID is no family: a reuse revokes that token, not
		// every other token that has none either.
		u := createUser(t, s, "a@example.com")
		v := createUser(t, s, "b@example.com")
		createOAuthToken(t, s, oauthToken("r1", store.TokenRefresh, "", u.ID, base))
		createOAuthToken(t, s, oauthToken("a1", store.TokenAccess, "", v.ID, base))
		createOAuthToken(t, s, oauthToken("r9", store.TokenRefresh, "", v.ID, base))
		rotate(t, s, "r1", oauthToken("r2", store.TokenRefresh, "", u.ID, base), base)
		_, err := s.RotateRefreshToken(t.Context(), "r1", oauthToken("r3", store.TokenRefresh, "", u.ID, base), base)
		wantErr(t, "RotateRefreshToken of a used token without a family", err, store.ErrTokenReused)
		if got := tokensLeft(t, s, []string{"r1", "a1", "r9", "r3"}); !equalStrings(got, []string{"a1", "r9"}) {
			t.Errorf("tokens after a reuse without a family = %q, want [a1 r9]", got)
		}
	}},
	{"RotateOnce", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		createOAuthToken(t, s, oauthToken("other", store.TokenRefresh, "f-other", u.ID, base))
		for round := range 5 {
			family := fmt.Sprintf("f%d", round)
			r := oauthToken("r"+family, store.TokenRefresh, family, u.ID, base)
			createOAuthToken(t, s, r)
			createOAuthToken(t, s, oauthToken("a"+family, store.TokenAccess, family, u.ID, base))
			rotateRace(t, 16, func(int) store.Store { return s }, s, r, "a"+family, base.Add(time.Minute))
		}
		getOAuthToken(t, s, "other")
	}},
	{"DeleteTokens", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		var kept []string
		for round, tc := range []struct {
			f    func(ns string) store.OAuthTokenFilter
			gone []string
		}{
			{func(ns string) store.OAuthTokenFilter { return store.OAuthTokenFilter{ID: ns + "k1"} }, []string{"k1"}},
			{func(ns string) store.OAuthTokenFilter { return store.OAuthTokenFilter{FamilyID: ns + "f1"} }, []string{"k1", "k2"}},
			{func(ns string) store.OAuthTokenFilter { return store.OAuthTokenFilter{ClientID: ns + "a"} }, []string{"k1", "k2", "k5", "k7"}},
			{func(ns string) store.OAuthTokenFilter { return store.OAuthTokenFilter{UserID: ns + "u"} }, []string{"k1", "k2", "k3", "k4", "k7"}},
			{func(ns string) store.OAuthTokenFilter { return store.OAuthTokenFilter{SessionID: ns + "s1"} }, []string{"k1", "k2", "k3"}},
			{func(ns string) store.OAuthTokenFilter {
				return store.OAuthTokenFilter{UserID: ns + "u", ClientID: ns + "a"}
			}, []string{"k1", "k2", "k7"}},
			{func(ns string) store.OAuthTokenFilter {
				return store.OAuthTokenFilter{UserID: ns + "u", SessionID: ns + "s2"}
			}, []string{"k4", "k7"}},
			{func(ns string) store.OAuthTokenFilter {
				return store.OAuthTokenFilter{ClientID: ns + "b", SessionID: ns + "s2"}
			}, []string{"k4"}},
			{func(ns string) store.OAuthTokenFilter {
				return store.OAuthTokenFilter{UserID: ns + "v", FamilyID: ns + "f1"}
			}, nil},
			{func(ns string) store.OAuthTokenFilter {
				return store.OAuthTokenFilter{ID: ns + "k1", FamilyID: ns + "f2"}
			}, nil},
			{func(ns string) store.OAuthTokenFilter {
				return store.OAuthTokenFilter{ID: ns + "k3", FamilyID: ns + "f2", ClientID: ns + "b", UserID: ns + "u", SessionID: ns + "s1"}
			}, []string{"k3"}},
			{func(ns string) store.OAuthTokenFilter { return store.OAuthTokenFilter{ID: ns + "missing"} }, nil},
		} {
			// Each round has tokens of its own (ids, users, clients,
			// sessions and families named ns…), so that a filter that
			// matched too much would take earlier rounds' tokens too.
			ns := fmt.Sprintf("n%02d-", round)
			u := &store.User{ID: ns + "u", Email: ns + "u@example.com", Role: store.RoleUser, Status: store.StatusActive}
			v := &store.User{ID: ns + "v", Email: ns + "v@example.com", Role: store.RoleUser, Status: store.StatusActive}
			noErr(t, "CreateUser", s.CreateUser(ctx, u))
			noErr(t, "CreateUser", s.CreateUser(ctx, v))
			fixture := []struct{ id, kind, user, client, session, family string }{
				{"k1", store.TokenRefresh, u.ID, "a", "s1", "f1"},
				{"k2", store.TokenAccess, u.ID, "a", "s1", "f1"},
				{"k3", store.TokenRefresh, u.ID, "b", "s1", "f2"},
				{"k4", store.TokenAccess, u.ID, "b", "s2", "f3"},
				{"k5", store.TokenRefresh, v.ID, "a", "s3", "f4"},
				{"k6", store.TokenAccess, v.ID, "b", "", "f5"},
				{"k7", store.TokenAccess, u.ID, "a", "s2", "f6"},
			}
			var all, want []string
			for _, k := range fixture {
				tok := oauthToken(ns+k.id, k.kind, ns+k.family, k.user, base)
				tok.ClientID = ns + k.client
				if k.session != "" {
					tok.SessionID = ns + k.session
				} else {
					tok.SessionID = ""
				}
				createOAuthToken(t, s, tok)
				all = append(all, tok.ID)
				gone := false
				for _, g := range tc.gone {
					gone = gone || g == k.id
				}
				if !gone {
					want = append(want, tok.ID)
				}
			}
			f := tc.f(ns)
			n, err := s.DeleteOAuthTokens(ctx, f)
			noErr(t, fmt.Sprintf("DeleteOAuthTokens %+v", f), err)
			if n != len(tc.gone) {
				t.Errorf("DeleteOAuthTokens %+v = %d, want %d", f, n, len(tc.gone))
			}
			if got := tokensLeft(t, s, all); !equalStrings(got, want) {
				t.Errorf("after DeleteOAuthTokens %+v: %q left, want %q", f, got, want)
			}
			kept = append(kept, want...)
		}
		_, err := s.DeleteOAuthTokens(ctx, store.OAuthTokenFilter{})
		if err == nil {
			t.Errorf("DeleteOAuthTokens with an empty filter succeeded, want an error")
		}
		if got := tokensLeft(t, s, kept); !equalStrings(got, kept) {
			t.Errorf("tokens left at the end = %q, want %q", got, kept)
		}
	}},
	{"DeleteExpiredTokens", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		for i, life := range []time.Duration{time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour} {
			tok := oauthToken(fmt.Sprintf("t%d", i), store.TokenRefresh, fmt.Sprintf("f%d", i), u.ID, base)
			tok.ExpiresAt = base.Add(life)
			createOAuthToken(t, s, tok)
		}
		// A used refresh token stays until it expires: a replay of it
		// must still be recognised as a reuse.
		rotate(t, s, "t3", oauthToken("t4", store.TokenRefresh, "", u.ID, base.Add(30*time.Minute)), base)
		n, err := s.DeleteExpiredOAuthTokens(ctx, base.Add(time.Hour))
		noErr(t, "DeleteExpiredOAuthTokens", err)
		if n != 2 {
			t.Errorf("DeleteExpiredOAuthTokens at the second one's expiry = %d, want 2", n)
		}
		if got := tokensLeft(t, s, []string{"t0", "t1", "t2", "t3", "t4"}); !equalStrings(got, []string{"t2", "t3", "t4"}) {
			t.Errorf("tokens after DeleteExpiredOAuthTokens = %q, want [t2 t3 t4]", got)
		}
		n, err = s.DeleteExpiredOAuthTokens(ctx, base.Add(time.Hour))
		noErr(t, "DeleteExpiredOAuthTokens", err)
		if n != 0 {
			t.Errorf("DeleteExpiredOAuthTokens again = %d, want 0", n)
		}
	}},
	{"SessionClientRoundTrip", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		full := sessionClient("s1", store.ProtocolSAML, "sp-1", u.ID, base)
		full.Data = secretBytes(4)
		bare := sessionClient("s1", store.ProtocolOIDC, "rp-1", u.ID, base.Add(time.Second))
		bare.Data = []byte{}
		addSessionClient(t, s, full)
		addSessionClient(t, s, bare)
		list := listSessionClients(t, s, "s1")
		if len(list) != 2 {
			t.Fatalf("ListSessionClients = %q, want 2 records", sessionClientKeys(list))
		}
		checkSessionClient(t, list[0], full)
		checkSessionClient(t, list[1], bare)
		if list := listSessionClients(t, s, "s2"); len(list) != 0 {
			t.Errorf("ListSessionClients of a session without apps = %q, want none", sessionClientKeys(list))
		}
		wantErr(t, "AddSessionClient of a missing user",
			s.AddSessionClient(t.Context(), sessionClient("s1", store.ProtocolOIDC, "rp-2", "missing", base)), store.ErrNotFound)

		c := sessionClient("s3", store.ProtocolOIDC, "rp-1", u.ID, time.Time{})
		before := time.Now()
		addSessionClient(t, s, c)
		after := time.Now()
		within(t, "session client CreatedAt assigned", listSessionClients(t, s, "s3")[0].CreatedAt, before, after)
	}},
	{"SessionClientUpsert", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		first := sessionClient("s1", store.ProtocolOIDC, "app-1", u.ID, base)
		addSessionClient(t, s, first)
		// The same app under the other protocol is a record of its own.
		saml := sessionClient("s1", store.ProtocolSAML, "app-1", u.ID, base.Add(time.Second))
		addSessionClient(t, s, saml)
		// Signing in to the app again in the session replaces Data and
		// ExpiresAt; the record keeps its CreatedAt (and so its place).
		again := sessionClient("s1", store.ProtocolOIDC, "app-1", u.ID, base.Add(time.Hour))
		again.Data = []byte("second sign-in")
		again.ExpiresAt = base.Add(20 * time.Hour)
		addSessionClient(t, s, again)
		list := listSessionClients(t, s, "s1")
		if got := sessionClientKeys(list); !equalStrings(got, []string{"oidc/app-1", "saml/app-1"}) {
			t.Fatalf("ListSessionClients after an upsert = %q, want [oidc/app-1 saml/app-1]", got)
		}
		want := *again
		want.CreatedAt = first.CreatedAt
		checkSessionClient(t, list[0], &want)
		checkSessionClient(t, list[1], saml)

		// Data replaced by none comes back nil.
		third := sessionClient("s1", store.ProtocolOIDC, "app-1", u.ID, base.Add(2*time.Hour))
		third.Data = nil
		addSessionClient(t, s, third)
		want.Data, want.ExpiresAt = nil, third.ExpiresAt
		checkSessionClient(t, listSessionClients(t, s, "s1")[0], &want)
	}},
	{"SessionClientOrder", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		for _, c := range []*store.SessionClient{
			sessionClient("s1", store.ProtocolSAML, "x", u.ID, base.Add(2*time.Minute)),
			sessionClient("s1", store.ProtocolOIDC, "y", u.ID, base),
			sessionClient("s2", store.ProtocolOIDC, "other", u.ID, base.Add(-time.Minute)),
			sessionClient("s1", store.ProtocolOIDC, "z", u.ID, base.Add(time.Minute)),
			// Ties of CreatedAt come by protocol, then client.
			sessionClient("s1", store.ProtocolSAML, "t2", u.ID, base.Add(3*time.Minute)),
			sessionClient("s1", store.ProtocolSAML, "t1", u.ID, base.Add(3*time.Minute)),
			sessionClient("s1", store.ProtocolOIDC, "t3", u.ID, base.Add(3*time.Minute)),
		} {
			addSessionClient(t, s, c)
		}
		want := []string{"oidc/y", "oidc/z", "saml/x", "oidc/t3", "saml/t1", "saml/t2"}
		if got := sessionClientKeys(listSessionClients(t, s, "s1")); !equalStrings(got, want) {
			t.Errorf("ListSessionClients = %q, want oldest first %q", got, want)
		}
	}},
	{"DeleteSessionClients", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		for _, c := range []*store.SessionClient{
			sessionClient("s1", store.ProtocolOIDC, "app-1", u.ID, base),
			sessionClient("s1", store.ProtocolSAML, "app-2", u.ID, base),
			sessionClient("s2", store.ProtocolOIDC, "app-1", u.ID, base),
		} {
			addSessionClient(t, s, c)
		}
		noErr(t, "DeleteSessionClients", s.DeleteSessionClients(ctx, "s1"))
		if list := listSessionClients(t, s, "s1"); len(list) != 0 {
			t.Errorf("s1's records after DeleteSessionClients = %q, want none", sessionClientKeys(list))
		}
		if got := sessionClientKeys(listSessionClients(t, s, "s2")); !equalStrings(got, []string{"oidc/app-1"}) {
			t.Errorf("s2's records after deleting s1's = %q, want [oidc/app-1]", got)
		}
		noErr(t, "DeleteSessionClients of a session without records", s.DeleteSessionClients(ctx, "s9"))
	}},
	{"DeleteExpiredSessionClients", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		for i, life := range []time.Duration{time.Minute, time.Hour, 2 * time.Hour} {
			c := sessionClient(fmt.Sprintf("s%d", i), store.ProtocolOIDC, "app-1", u.ID, base)
			c.ExpiresAt = base.Add(life)
			addSessionClient(t, s, c)
		}
		n, err := s.DeleteExpiredSessionClients(ctx, base.Add(time.Hour))
		noErr(t, "DeleteExpiredSessionClients", err)
		if n != 2 {
			t.Errorf("DeleteExpiredSessionClients at the second one's expiry = %d, want 2", n)
		}
		for i, want := range []int{0, 0, 1} {
			if got := len(listSessionClients(t, s, fmt.Sprintf("s%d", i))); got != want {
				t.Errorf("records of s%d after DeleteExpiredSessionClients = %d, want %d", i, got, want)
			}
		}
		n, err = s.DeleteExpiredSessionClients(ctx, base.Add(time.Hour))
		noErr(t, "DeleteExpiredSessionClients", err)
		if n != 0 {
			t.Errorf("DeleteExpiredSessionClients again = %d, want 0", n)
		}
	}},
	{"OutliveSession", func(t *testing.T, s store.Store) {
		// The sign-out deletes the session first and then reads which
		// apps to tell and which tokens to revoke.
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		createSession(t, s, session("s1", u.ID, base))
		addSessionClient(t, s, sessionClient("s1", store.ProtocolOIDC, "app-1", u.ID, base))
		createOAuthToken(t, s, oauthToken("a1", store.TokenAccess, "f1", u.ID, base))
		noErr(t, "DeleteSession", s.DeleteSession(ctx, "s1"))
		if got := sessionClientKeys(listSessionClients(t, s, "s1")); !equalStrings(got, []string{"oidc/app-1"}) {
			t.Errorf("records of a deleted session = %q, want [oidc/app-1]", got)
		}
		getOAuthToken(t, s, "a1")
		n, err := s.DeleteUserSessions(ctx, u.ID)
		noErr(t, "DeleteUserSessions", err)
		if n != 0 {
			t.Errorf("DeleteUserSessions = %d, want 0", n)
		}
		if got := len(listSessionClients(t, s, "s1")); got != 1 {
			t.Errorf("records after DeleteUserSessions = %d, want 1", got)
		}
	}},
	{"GoWithUser", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		v := createUser(t, s, "b@example.com")
		createOAuthToken(t, s, oauthToken("ru", store.TokenRefresh, "fu", u.ID, base))
		createOAuthToken(t, s, oauthToken("au", store.TokenAccess, "fu", u.ID, base))
		createOAuthToken(t, s, oauthToken("rv", store.TokenRefresh, "fv", v.ID, base))
		addSessionClient(t, s, sessionClient("su", store.ProtocolOIDC, "app-1", u.ID, base))
		addSessionClient(t, s, sessionClient("sv", store.ProtocolOIDC, "app-1", v.ID, base))
		noErr(t, "DeleteUser", s.DeleteUser(ctx, u.ID))
		if got := tokensLeft(t, s, []string{"ru", "au", "rv"}); !equalStrings(got, []string{"rv"}) {
			t.Errorf("tokens after deleting their user = %q, want the other user's [rv]", got)
		}
		if got := len(listSessionClients(t, s, "su")); got != 0 {
			t.Errorf("records of the deleted user = %d, want 0", got)
		}
		if got := len(listSessionClients(t, s, "sv")); got != 1 {
			t.Errorf("records of the other user = %d, want 1", got)
		}
		// The ids are free again.
		createOAuthToken(t, s, oauthToken("ru", store.TokenRefresh, "fv", v.ID, base))
	}},
	{"CancelledContext", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		createOAuthToken(t, s, oauthToken("r1", store.TokenRefresh, "f1", u.ID, base))
		addSessionClient(t, s, sessionClient("s1", store.ProtocolOIDC, "app-1", u.ID, base))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"CreateOAuthToken", func() error {
				return s.CreateOAuthToken(ctx, oauthToken("a1", store.TokenAccess, "f1", u.ID, base))
			}},
			{"GetOAuthToken", func() error { _, err := s.GetOAuthToken(ctx, "r1"); return err }},
			{"RotateRefreshToken", func() error {
				_, err := s.RotateRefreshToken(ctx, "r1", oauthToken("r2", store.TokenRefresh, "", u.ID, base), base)
				return err
			}},
			{"DeleteOAuthTokens", func() error {
				_, err := s.DeleteOAuthTokens(ctx, store.OAuthTokenFilter{ID: "r1"})
				return err
			}},
			{"DeleteExpiredOAuthTokens", func() error {
				_, err := s.DeleteExpiredOAuthTokens(ctx, base.Add(24*time.Hour))
				return err
			}},
			{"AddSessionClient", func() error {
				return s.AddSessionClient(ctx, sessionClient("s1", store.ProtocolSAML, "app-2", u.ID, base))
			}},
			{"ListSessionClients", func() error { _, err := s.ListSessionClients(ctx, "s1"); return err }},
			{"DeleteSessionClients", func() error { return s.DeleteSessionClients(ctx, "s1") }},
			{"DeleteExpiredSessionClients", func() error {
				_, err := s.DeleteExpiredSessionClients(ctx, base.Add(24*time.Hour))
				return err
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, tc.name, tc.call(), context.Canceled)
			})
		}
		if got := tokensLeft(t, s, []string{"r1", "a1", "r2"}); !equalStrings(got, []string{"r1"}) {
			t.Errorf("tokens after cancelled calls = %q, want [r1]", got)
		}
		if got := getOAuthToken(t, s, "r1"); !got.UsedAt.IsZero() {
			t.Errorf("RotateRefreshToken with a cancelled context used the token at %v", got.UsedAt)
		}
		if got := sessionClientKeys(listSessionClients(t, s, "s1")); !equalStrings(got, []string{"oidc/app-1"}) {
			t.Errorf("records after cancelled calls = %q, want [oidc/app-1]", got)
		}
	}},
}

// rotateRace starts n RotateRefreshToken calls of old at the same moment,
// call i through pick(i) with a next token of its own, and checks with
// check what the contract promises: exactly one caller rotates and gets
// old back with UsedAt now; every other gets store.ErrTokenReused or
// store.ErrNotFound, at least one the former (it found the token used);
// no loser's next token is stored; and the family (old, the access token
// access, the winner's next token) is then gone as a whole.
func rotateRace(t *testing.T, n int, pick func(i int) store.Store, check store.Store, old *store.OAuthToken, access string, now time.Time) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
		olds  = make([]*store.OAuthToken, n)
		nexts = make([]string, n)
	)
	for i := range n {
		nexts[i] = fmt.Sprintf("%s-next-%02d", old.ID, i)
		wg.Go(func() {
			<-start
			next := oauthToken(nexts[i], store.TokenRefresh, "", old.UserID, now)
			olds[i], errs[i] = pick(i).RotateRefreshToken(t.Context(), old.ID, next, now)
		})
	}
	close(start)
	wg.Wait()
	winner, reused := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("callers %d and %d both rotated %s", winner, i, old.ID)
			}
			winner = i
		case errors.Is(err, store.ErrTokenReused):
			reused++
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("caller %d: err = %v, want nil, store.ErrTokenReused or store.ErrNotFound", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d callers rotated %s: %v", n, old.ID, errs)
	}
	want := *old
	want.UsedAt = now
	checkOAuthToken(t, olds[winner], &want)
	if n > 1 && reused == 0 {
		t.Errorf("of %d callers none was told of the reuse: %v", n, errs)
	}
	if left := tokensLeft(t, check, append([]string{old.ID, access}, nexts...)); len(left) != 0 {
		t.Errorf("after %d concurrent rotations of %s (%d told of the reuse): %q left, want the family gone",
			n, old.ID, reused, left)
	}
}

// rotateOnceAcrossStores is RunShared's RotateOnceAcrossStores.
func rotateOnceAcrossStores(t *testing.T, sh Shared) {
	u := createUser(t, sh.A, "a@example.com")
	createOAuthToken(t, sh.A, oauthToken("other", store.TokenRefresh, "f-other", u.ID, base))
	for round := range 5 {
		family := fmt.Sprintf("f%d", round)
		r := oauthToken("r"+family, store.TokenRefresh, family, u.ID, base)
		createOAuthToken(t, sh.A, r)
		createOAuthToken(t, sh.B, oauthToken("a"+family, store.TokenAccess, family, u.ID, base))
		rotateRace(t, 16, func(i int) store.Store {
			if i%2 == 1 {
				return sh.B
			}
			return sh.A
		}, sh.B, r, "a"+family, base.Add(time.Minute))
	}
	getOAuthToken(t, sh.B, "other")
}
