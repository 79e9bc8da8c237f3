package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// checkSession compares got with want: times with sameTime, the rest exactly.
func checkSession(t *testing.T, got, want *store.Session) {
	t.Helper()
	sameTime(t, "AuthTime", got.AuthTime, want.AuthTime)
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "LastSeenAt", got.LastSeenAt, want.LastSeenAt)
	sameTime(t, "IdleExpiresAt", got.IdleExpiresAt, want.IdleExpiresAt)
	sameTime(t, "AbsoluteExpiresAt", got.AbsoluteExpiresAt, want.AbsoluteExpiresAt)
	g, w := *got, *want
	for _, x := range []*store.Session{&g, &w} {
		x.AuthTime, x.CreatedAt, x.LastSeenAt = time.Time{}, time.Time{}, time.Time{}
		x.IdleExpiresAt, x.AbsoluteExpiresAt = time.Time{}, time.Time{}
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("session = %+v\nwant      %+v", g, w)
	}
}

func getSession(t *testing.T, s store.Store, id string) *store.Session {
	t.Helper()
	sess, err := s.GetSession(t.Context(), id)
	noErr(t, "GetSession "+id, err)
	return sess
}

func createSession(t *testing.T, s store.Store, sess *store.Session) {
	t.Helper()
	noErr(t, "CreateSession "+sess.ID, s.CreateSession(t.Context(), sess))
}

var sessionTests = []test{
	{"RoundTrip", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		want := &store.Session{
			ID:                "3f0c2d6a9b1e4f5a8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b",
			UserID:            u.ID,
			AMR:               []string{"pwd", "otp"},
			AuthTime:          base.Add(-time.Second),
			ClientIP:          "2001:db8::1",
			UserAgent:         "Mozilla/5.0 (Windows NT 10.0; Win64; x64) 日本語",
			Line:              "office",
			CreatedAt:         base,
			LastSeenAt:        base.Add(time.Minute),
			IdleExpiresAt:     base.Add(31 * time.Minute),
			AbsoluteExpiresAt: base.Add(12 * time.Hour),
		}
		createSession(t, s, want)
		checkSession(t, getSession(t, s, want.ID), want)
	}},
	{"EmptyAMRComesBackNil", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		for _, tc := range []struct {
			name string
			amr  []string
		}{
			{"nil", nil},
			{"empty", []string{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sess := session(tc.name, u.ID, base)
				sess.AMR = tc.amr
				createSession(t, s, sess)
				if got := getSession(t, s, tc.name).AMR; got != nil {
					t.Errorf("AMR = %#v, want nil", got)
				}
			})
		}
	}},
	{"CreateDuplicateID", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		createSession(t, s, session("s1", u.ID, base))
		err := s.CreateSession(t.Context(), session("s1", u.ID, base.Add(time.Hour)))
		wantErr(t, "CreateSession duplicate", err, store.ErrConflict)
		sameTime(t, "CreatedAt of the original", getSession(t, s, "s1").CreatedAt, base)
	}},
	{"CreateUnknownUser", func(t *testing.T, s store.Store) {
		err := s.CreateSession(t.Context(), session("s1", "missing", base))
		wantErr(t, "CreateSession", err, store.ErrNotFound)
	}},
	{"GetNotFound", func(t *testing.T, s store.Store) {
		_, err := s.GetSession(t.Context(), "missing")
		wantErr(t, "GetSession", err, store.ErrNotFound)
	}},
	{"GetReturnsExpired", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		old := session("old", u.ID, base.Add(-24*time.Hour))
		createSession(t, s, old)
		got := getSession(t, s, "old")
		if !got.Expired(base) {
			t.Errorf("session from a day ago not Expired at base")
		}
	}},
	{"Touch", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		sess := session("s1", u.ID, base)
		createSession(t, s, sess)
		seen, idle := base.Add(10*time.Minute), base.Add(40*time.Minute)
		noErr(t, "TouchSession", s.TouchSession(t.Context(), "s1", seen, idle))
		want := *sess
		want.LastSeenAt, want.IdleExpiresAt = seen, idle
		checkSession(t, getSession(t, s, "s1"), &want)

		err := s.TouchSession(t.Context(), "missing", seen, idle)
		wantErr(t, "TouchSession missing", err, store.ErrNotFound)
	}},
	{"TouchMany", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		s1, s2 := session("s1", u.ID, base), session("s2", u.ID, base)
		createSession(t, s, s1)
		createSession(t, s, s2)
		missing, err := s.TouchSessions(t.Context(), nil)
		noErr(t, "TouchSessions none", err)
		if len(missing) != 0 {
			t.Errorf("TouchSessions(nil) missing = %v", missing)
		}
		touches := []store.SessionTouch{
			{ID: "s1", Seen: base.Add(5 * time.Minute), Idle: base.Add(35 * time.Minute)},
			{ID: "gone", Seen: base.Add(5 * time.Minute), Idle: base.Add(35 * time.Minute)},
			{ID: "s2", Seen: base.Add(7 * time.Minute), Idle: base.Add(37 * time.Minute)},
		}
		missing, err = s.TouchSessions(t.Context(), touches)
		noErr(t, "TouchSessions", err)
		if len(missing) != 1 || missing[0] != "gone" {
			t.Errorf("TouchSessions missing = %v, want [gone]", missing)
		}
		w1, w2 := *s1, *s2
		w1.LastSeenAt, w1.IdleExpiresAt = touches[0].Seen, touches[0].Idle
		w2.LastSeenAt, w2.IdleExpiresAt = touches[2].Seen, touches[2].Idle
		checkSession(t, getSession(t, s, "s1"), &w1)
		checkSession(t, getSession(t, s, "s2"), &w2)
		if _, err := s.GetSession(t.Context(), "gone"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a touch created session %q: %v", "gone", err)
		}
	}},
	{"Delete", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		createSession(t, s, session("s1", u.ID, base))
		createSession(t, s, session("s2", u.ID, base))
		noErr(t, "DeleteSession", s.DeleteSession(t.Context(), "s1"))
		_, err := s.GetSession(t.Context(), "s1")
		wantErr(t, "GetSession deleted", err, store.ErrNotFound)
		getSession(t, s, "s2")
		noErr(t, "DeleteSession again", s.DeleteSession(t.Context(), "s1"))
		noErr(t, "DeleteSession never existed", s.DeleteSession(t.Context(), "missing"))
	}},
	{"ListUserSessionsNewestFirst", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		other := createUser(t, s, "b@example.com")
		// Inserted out of order, so insertion order cannot pass for age.
		createSession(t, s, session("middle", u.ID, base.Add(time.Hour)))
		createSession(t, s, session("oldest", u.ID, base))
		createSession(t, s, session("others", other.ID, base.Add(3*time.Hour)))
		createSession(t, s, session("newest", u.ID, base.Add(2*time.Hour)))

		list, err := s.ListUserSessions(t.Context(), u.ID)
		noErr(t, "ListUserSessions", err)
		if got, want := sessionIDs(list), []string{"newest", "middle", "oldest"}; !equalStrings(got, want) {
			t.Errorf("ListUserSessions = %q, want %q", got, want)
		}
		if len(list) > 0 {
			checkSession(t, list[0], session("newest", u.ID, base.Add(2*time.Hour)))
		}

		list, err = s.ListUserSessions(t.Context(), "missing")
		noErr(t, "ListUserSessions unknown user", err)
		if len(list) != 0 {
			t.Errorf("unknown user has %d sessions", len(list))
		}
	}},
	{"DeleteUserSessions", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		other := createUser(t, s, "b@example.com")
		createSession(t, s, session("s1", u.ID, base))
		createSession(t, s, session("s2", u.ID, base.Add(time.Minute)))
		createSession(t, s, session("o1", other.ID, base))

		n, err := s.DeleteUserSessions(t.Context(), u.ID)
		noErr(t, "DeleteUserSessions", err)
		if n != 2 {
			t.Errorf("DeleteUserSessions = %d, want 2", n)
		}
		list, err := s.ListUserSessions(t.Context(), u.ID)
		noErr(t, "ListUserSessions", err)
		if len(list) != 0 {
			t.Errorf("%d sessions left after DeleteUserSessions", len(list))
		}
		getSession(t, s, "o1")

		n, err = s.DeleteUserSessions(t.Context(), u.ID)
		noErr(t, "DeleteUserSessions again", err)
		if n != 0 {
			t.Errorf("DeleteUserSessions again = %d, want 0", n)
		}
	}},
	{"DeleteExpiredSessions", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		now := base
		const zero = time.Duration(-1 << 63) // stands for the zero time.Time
		cases := []struct {
			id             string
			idle, absolute time.Duration // relative to now
			expired        bool
		}{
			{"fresh", 10 * time.Minute, 6 * time.Hour, false},
			{"just-alive", time.Millisecond, time.Millisecond, false},
			{"idle-passed", -time.Minute, 6 * time.Hour, true},
			{"idle-now", 0, 6 * time.Hour, true},
			{"absolute-passed", 10 * time.Minute, -time.Second, true},
			{"absolute-now", 10 * time.Minute, 0, true},
			{"both-passed", -time.Hour, -time.Minute, true},
			{"zero-idle", zero, 6 * time.Hour, true},
		}
		var wantDeleted int
		for _, tc := range cases {
			sess := session(tc.id, u.ID, now.Add(-time.Hour))
			sess.IdleExpiresAt = now.Add(tc.idle)
			if tc.idle == zero {
				sess.IdleExpiresAt = time.Time{}
			}
			sess.AbsoluteExpiresAt = now.Add(tc.absolute)
			if sess.Expired(now) != tc.expired {
				t.Fatalf("case %s: Session.Expired(now) = %v, the table says %v", tc.id, !tc.expired, tc.expired)
			}
			createSession(t, s, sess)
			if tc.expired {
				wantDeleted++
			}
		}

		n, err := s.DeleteExpiredSessions(t.Context(), now)
		noErr(t, "DeleteExpiredSessions", err)
		if n != wantDeleted {
			t.Errorf("DeleteExpiredSessions = %d, want %d", n, wantDeleted)
		}
		for _, tc := range cases {
			_, err := s.GetSession(t.Context(), tc.id)
			switch {
			case tc.expired && !errors.Is(err, store.ErrNotFound):
				t.Errorf("expired session %s: GetSession err = %v, want ErrNotFound", tc.id, err)
			case !tc.expired && err != nil:
				t.Errorf("live session %s: GetSession err = %v, want it kept", tc.id, err)
			}
		}

		n, err = s.DeleteExpiredSessions(t.Context(), now)
		noErr(t, "DeleteExpiredSessions again", err)
		if n != 0 {
			t.Errorf("DeleteExpiredSessions again = %d, want 0", n)
		}
		// Later, the rest expire too.
		n, err = s.DeleteExpiredSessions(t.Context(), now.Add(24*time.Hour))
		noErr(t, "DeleteExpiredSessions a day later", err)
		if want := len(cases) - wantDeleted; n != want {
			t.Errorf("DeleteExpiredSessions a day later = %d, want %d", n, want)
		}
	}},
	{"Expired", func(t *testing.T, _ store.Store) {
		now := base
		for _, tc := range []struct {
			name           string
			idle, absolute time.Time
			want           bool
		}{
			{"both ahead", now.Add(time.Minute), now.Add(time.Hour), false},
			{"idle reached", now, now.Add(time.Hour), true},
			{"idle passed", now.Add(-time.Nanosecond), now.Add(time.Hour), true},
			{"absolute reached", now.Add(time.Minute), now, true},
			{"absolute passed", now.Add(time.Minute), now.Add(-time.Hour), true},
			{"zero expiry", time.Time{}, time.Time{}, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sess := &store.Session{IdleExpiresAt: tc.idle, AbsoluteExpiresAt: tc.absolute}
				if got := sess.Expired(now); got != tc.want {
					t.Errorf("Expired = %v, want %v", got, tc.want)
				}
			})
		}
	}},
}
