package storetest

import (
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// identity returns a link of userID to (provider, subject) made at created.
func identity(provider, subject, userID string, created time.Time) *store.IdentityLink {
	return &store.IdentityLink{
		ProviderID: provider,
		Subject:    subject,
		UserID:     userID,
		Email:      subject + "@" + provider + ".example",
		CreatedAt:  created,
	}
}

// checkIdentity compares got with want: times with sameTime, the rest exactly.
func checkIdentity(t *testing.T, got, want *store.IdentityLink) {
	t.Helper()
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	g, w := *got, *want
	g.CreatedAt, g.LastUsedAt = time.Time{}, time.Time{}
	w.CreatedAt, w.LastUsedAt = time.Time{}, time.Time{}
	if g != w {
		t.Errorf("link = %+v\nwant   %+v", g, w)
	}
}

func linkIdentity(t *testing.T, s store.Store, l *store.IdentityLink) {
	t.Helper()
	noErr(t, "LinkIdentity "+l.ProviderID+"/"+l.Subject, s.LinkIdentity(t.Context(), l))
}

func listUserIdentities(t *testing.T, s store.Store, userID string) []*store.IdentityLink {
	t.Helper()
	list, err := s.ListUserIdentities(t.Context(), userID)
	noErr(t, "ListUserIdentities", err)
	return list
}

// userByIdentity returns the id of the user linked to (provider, subject).
func userByIdentity(t *testing.T, s store.Store, provider, subject string) string {
	t.Helper()
	u, err := s.UserByIdentity(t.Context(), provider, subject)
	noErr(t, "UserByIdentity "+provider+"/"+subject, err)
	return u.ID
}

func identityKeys(list []*store.IdentityLink) []string {
	return ids(list, func(l *store.IdentityLink) string { return l.ProviderID + "/" + l.Subject })
}

var identityTests = []test{
	{"RoundTrip", func(t *testing.T, s store.Store) {
		u := fullUser()
		noErr(t, "CreateUser", s.CreateUser(t.Context(), u))
		want := &store.IdentityLink{
			ProviderID: "google",
			Subject:    "110169484474386276334",
			UserID:     u.ID,
			Email:      "Taro.Yamada@Example.co.jp",
			CreatedAt:  base,
		}
		linkIdentity(t, s, want)

		got, err := s.UserByIdentity(t.Context(), "google", "110169484474386276334")
		noErr(t, "UserByIdentity", err)
		checkUser(t, got, getUser(t, s, u.ID))

		list := listUserIdentities(t, s, u.ID)
		if len(list) != 1 {
			t.Fatalf("ListUserIdentities returned %d links, want 1", len(list))
		}
		checkIdentity(t, list[0], want)
		if !list[0].LastUsedAt.IsZero() {
			t.Errorf("LastUsedAt of a new link = %v, want zero", list[0].LastUsedAt)
		}
	}},
	{"RoundTripLastUsed", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		want := identity("entra", "3f9a-テスト", u.ID, base)
		want.LastUsedAt = base.Add(time.Hour)
		linkIdentity(t, s, want)
		list := listUserIdentities(t, s, u.ID)
		if len(list) != 1 {
			t.Fatalf("ListUserIdentities returned %d links, want 1", len(list))
		}
		checkIdentity(t, list[0], want)
	}},
	{"LinkConflict", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		other := createUser(t, s, "b@example.com")
		orig := identity("google", "sub-1", u.ID, base)
		linkIdentity(t, s, orig)
		for _, tc := range []struct{ name, userID string }{
			{"same user", u.ID},
			{"other user", other.ID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				dup := identity("google", "sub-1", tc.userID, base.Add(time.Hour))
				dup.Email = "changed@example.com"
				wantErr(t, "LinkIdentity duplicate", s.LinkIdentity(t.Context(), dup), store.ErrConflict)
			})
		}
		if got := userByIdentity(t, s, "google", "sub-1"); got != u.ID {
			t.Errorf("UserByIdentity after conflicts = %q, want %q", got, u.ID)
		}
		list := listUserIdentities(t, s, u.ID)
		if len(list) != 1 {
			t.Fatalf("ListUserIdentities returned %d links after conflicts, want 1", len(list))
		}
		checkIdentity(t, list[0], orig)
		if list := listUserIdentities(t, s, other.ID); len(list) != 0 {
			t.Errorf("other user has links %q after a conflict, want none", identityKeys(list))
		}
	}},
	{"SameSubjectOtherProvider", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		other := createUser(t, s, "b@example.com")
		// Only the pair is unique: the same subject at another provider,
		// and another subject at the same provider, are other identities.
		linkIdentity(t, s, identity("google", "sub-1", u.ID, base))
		linkIdentity(t, s, identity("entra", "sub-1", other.ID, base))
		linkIdentity(t, s, identity("google", "sub-2", other.ID, base))
		for _, tc := range []struct{ provider, subject, want string }{
			{"google", "sub-1", u.ID},
			{"entra", "sub-1", other.ID},
			{"google", "sub-2", other.ID},
		} {
			if got := userByIdentity(t, s, tc.provider, tc.subject); got != tc.want {
				t.Errorf("UserByIdentity(%s, %s) = %q, want %q", tc.provider, tc.subject, got, tc.want)
			}
		}
	}},
	{"LinkUnknownUser", func(t *testing.T, s store.Store) {
		err := s.LinkIdentity(t.Context(), identity("google", "sub-1", "missing", base))
		wantErr(t, "LinkIdentity", err, store.ErrNotFound)
		_, err = s.UserByIdentity(t.Context(), "google", "sub-1")
		wantErr(t, "UserByIdentity after a failed link", err, store.ErrNotFound)
		// The identity is still free.
		u := createUser(t, s, "a@example.com")
		linkIdentity(t, s, identity("google", "sub-1", u.ID, base))
	}},
	{"UserByIdentityNotFound", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		linkIdentity(t, s, identity("google", "Sub-1", u.ID, base))
		for _, tc := range []struct{ name, provider, subject string }{
			{"unknown subject", "google", "sub-2"},
			{"unknown provider", "entra", "Sub-1"},
			// Subjects are opaque: compared exactly, not case-insensitively.
			{"subject in other case", "google", "sub-1"},
			{"empty", "", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.UserByIdentity(t.Context(), tc.provider, tc.subject)
				wantErr(t, "UserByIdentity", err, store.ErrNotFound)
			})
		}
	}},
	{"ListOldestFirst", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		other := createUser(t, s, "b@example.com")
		// Inserted out of order, with keys that sort against age, so
		// neither insertion order nor key order can pass for it.
		linkIdentity(t, s, identity("a-middle", "x", u.ID, base.Add(time.Hour)))
		linkIdentity(t, s, identity("z-oldest", "x", u.ID, base.Add(-24*time.Hour)))
		linkIdentity(t, s, identity("others", "x", other.ID, base.Add(-48*time.Hour)))
		linkIdentity(t, s, identity("b-newest", "x", u.ID, base.Add(2*time.Hour)))

		list := listUserIdentities(t, s, u.ID)
		if got, want := identityKeys(list), []string{"z-oldest/x", "a-middle/x", "b-newest/x"}; !equalStrings(got, want) {
			t.Errorf("ListUserIdentities = %q, want %q", got, want)
		}
		if len(list) > 0 {
			checkIdentity(t, list[0], identity("z-oldest", "x", u.ID, base.Add(-24*time.Hour)))
		}
		if list := listUserIdentities(t, s, "missing"); len(list) != 0 {
			t.Errorf("unknown user has links %q", identityKeys(list))
		}
	}},
	{"Touch", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		l := identity("google", "sub-1", u.ID, base)
		linkIdentity(t, s, l)
		linkIdentity(t, s, identity("entra", "sub-1", u.ID, base.Add(time.Minute)))

		for _, at := range []time.Time{base.Add(time.Hour), base.Add(2 * time.Hour)} {
			noErr(t, "TouchIdentity", s.TouchIdentity(t.Context(), "google", "sub-1", at))
			want := *l
			want.LastUsedAt = at
			list := listUserIdentities(t, s, u.ID)
			if len(list) != 2 {
				t.Fatalf("ListUserIdentities returned %d links, want 2", len(list))
			}
			checkIdentity(t, list[0], &want)
			if !list[1].LastUsedAt.IsZero() {
				t.Errorf("touching google/sub-1 touched entra/sub-1 too (LastUsedAt = %v)", list[1].LastUsedAt)
			}
		}

		err := s.TouchIdentity(t.Context(), "google", "missing", base)
		wantErr(t, "TouchIdentity missing", err, store.ErrNotFound)
	}},
	{"Unlink", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		other := createUser(t, s, "b@example.com")
		linkIdentity(t, s, identity("google", "sub-1", u.ID, base))
		linkIdentity(t, s, identity("entra", "sub-1", u.ID, base.Add(time.Minute)))

		noErr(t, "UnlinkIdentity", s.UnlinkIdentity(t.Context(), "google", "sub-1"))
		_, err := s.UserByIdentity(t.Context(), "google", "sub-1")
		wantErr(t, "UserByIdentity unlinked", err, store.ErrNotFound)
		if got := identityKeys(listUserIdentities(t, s, u.ID)); !equalStrings(got, []string{"entra/sub-1"}) {
			t.Errorf("ListUserIdentities after unlink = %q, want [entra/sub-1]", got)
		}
		wantErr(t, "TouchIdentity unlinked", s.TouchIdentity(t.Context(), "google", "sub-1", base), store.ErrNotFound)

		noErr(t, "UnlinkIdentity again", s.UnlinkIdentity(t.Context(), "google", "sub-1"))
		noErr(t, "UnlinkIdentity never linked", s.UnlinkIdentity(t.Context(), "google", "missing"))
		getUser(t, s, u.ID) // unlinking leaves the user alone

		// The identity is free again, for any user.
		linkIdentity(t, s, identity("google", "sub-1", other.ID, base.Add(time.Hour)))
		if got := userByIdentity(t, s, "google", "sub-1"); got != other.ID {
			t.Errorf("UserByIdentity after relinking = %q, want %q", got, other.ID)
		}
	}},
}
