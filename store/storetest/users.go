package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// fullUser has every field set, with Japanese text where people write it.
func fullUser() *store.User {
	return &store.User{
		Email:        "taro.yamada@example.co.jp",
		DisplayName:  "山田 太郎",
		Phone:        "03-1234-5678",
		Mobile:       "090-1234-5678",
		Organization: "株式会社サンプル",
		Department:   "情報システム部",
		Groups:       []string{"staff", "情報システム部"},
		Role:         store.RoleAdmin,
		Status:       store.StatusActive,
		LoginMethods: []string{"local", "google"},
		Language:     "ja",
		// An initial password was handed over by mail.
		MustChangePassword: true,
		CreatedAt:          base,
		UpdatedAt:          base.Add(time.Hour),
		LastLoginAt:        base.Add(2 * time.Hour),
		PreviousLoginAt:    base.Add(90 * time.Minute),
	}
}

// checkUser compares got with want: times with sameTime, the rest exactly.
func checkUser(t *testing.T, got, want *store.User) {
	t.Helper()
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	sameTime(t, "LastLoginAt", got.LastLoginAt, want.LastLoginAt)
	sameTime(t, "PreviousLoginAt", got.PreviousLoginAt, want.PreviousLoginAt)
	g, w := *got, *want
	g.CreatedAt, g.UpdatedAt, g.LastLoginAt, g.PreviousLoginAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	w.CreatedAt, w.UpdatedAt, w.LastLoginAt, w.PreviousLoginAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("user = %+v\nwant   %+v", g, w)
	}
}

var userTests = []test{
	{"CreateUserAssignsIDAndTimes", func(t *testing.T, s store.Store) {
		before := time.Now()
		u := &store.User{Email: "a@example.com", Role: store.RoleUser, Status: store.StatusInvited}
		noErr(t, "CreateUser", s.CreateUser(t.Context(), u))
		after := time.Now()
		if u.ID == "" {
			t.Fatal("CreateUser left ID empty")
		}
		within(t, "u.CreatedAt", u.CreatedAt, before, after)
		within(t, "u.UpdatedAt", u.UpdatedAt, before, after)

		got := getUser(t, s, u.ID)
		within(t, "stored CreatedAt", got.CreatedAt, before, after)
		within(t, "stored UpdatedAt", got.UpdatedAt, before, after)
		sameTime(t, "stored CreatedAt", got.CreatedAt, u.CreatedAt)
		sameTime(t, "LastLoginAt", got.LastLoginAt, time.Time{})
		sameTime(t, "PreviousLoginAt", got.PreviousLoginAt, time.Time{})

		other := createUser(t, s, "b@example.com")
		if other.ID == u.ID {
			t.Errorf("two users got the same ID %q", u.ID)
		}
	}},
	{"CreateUserKeepsGivenIDAndTimes", func(t *testing.T, s store.Store) {
		u := fullUser()
		u.ID = "given-id"
		noErr(t, "CreateUser", s.CreateUser(t.Context(), u))
		if u.ID != "given-id" {
			t.Errorf("ID = %q, want given-id", u.ID)
		}
		checkUser(t, getUser(t, s, "given-id"), u)
	}},
	{"RoundTripJapanese", func(t *testing.T, s store.Store) {
		want := fullUser()
		noErr(t, "CreateUser", s.CreateUser(t.Context(), fullUser()))
		got, err := s.GetUserByEmail(t.Context(), want.Email)
		noErr(t, "GetUserByEmail", err)
		want.ID = got.ID
		checkUser(t, got, want)
		if got.DisplayName != "山田 太郎" || got.Organization != "株式会社サンプル" || got.Department != "情報システム部" {
			t.Errorf("Japanese text = %q / %q / %q", got.DisplayName, got.Organization, got.Department)
		}
	}},
	{"EmptyListsComeBackNil", func(t *testing.T, s store.Store) {
		for _, tc := range []struct {
			name string
			list []string
		}{
			{"nil", nil},
			{"empty", []string{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u := &store.User{Email: tc.name + "@example.com", Groups: tc.list, LoginMethods: tc.list}
				noErr(t, "CreateUser", s.CreateUser(t.Context(), u))
				got := getUser(t, s, u.ID)
				if got.Groups != nil || got.LoginMethods != nil {
					t.Errorf("Groups, LoginMethods = %#v, %#v, want nil, nil", got.Groups, got.LoginMethods)
				}
			})
		}
	}},
	{"CreateUserEmailConflict", func(t *testing.T, s store.Store) {
		first := createUser(t, s, "Taro@Example.com")
		for _, tc := range []struct{ name, email, id string }{
			{"same", "taro@example.com", ""},
			{"upper", "TARO@EXAMPLE.COM", ""},
			{"mixed", "tArO@eXaMpLe.CoM", ""},
			{"same id", "other@example.com", first.ID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := s.CreateUser(t.Context(), &store.User{ID: tc.id, Email: tc.email})
				wantErr(t, "CreateUser "+tc.email, err, store.ErrConflict)
			})
		}
		users, err := s.ListUsers(t.Context())
		noErr(t, "ListUsers", err)
		if len(users) != 1 {
			t.Errorf("ListUsers returned %d users after conflicts, want 1", len(users))
		}
	}},
	{"EmailStoredLowerCase", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "Taro.Yamada@Example.CO.JP")
		if got := getUser(t, s, u.ID).Email; got != "taro.yamada@example.co.jp" {
			t.Errorf("stored email = %q, want taro.yamada@example.co.jp", got)
		}
	}},
	{"GetUserNotFound", func(t *testing.T, s store.Store) {
		createUser(t, s, "a@example.com")
		for _, id := range []string{"missing", ""} {
			_, err := s.GetUser(t.Context(), id)
			wantErr(t, "GetUser "+id, err, store.ErrNotFound)
		}
	}},
	{"GetUserByEmail", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "Hanako.Sato@Example.com")
		createUser(t, s, "other@example.com")
		for _, tc := range []struct {
			email string
			found bool
		}{
			{"hanako.sato@example.com", true},
			{"Hanako.Sato@Example.com", true},
			{"HANAKO.SATO@EXAMPLE.COM", true},
			{"hanako@example.com", false},
			{"", false},
		} {
			t.Run(tc.email, func(t *testing.T) {
				got, err := s.GetUserByEmail(t.Context(), tc.email)
				if !tc.found {
					wantErr(t, "GetUserByEmail", err, store.ErrNotFound)
					return
				}
				noErr(t, "GetUserByEmail", err)
				if got.ID != u.ID {
					t.Errorf("GetUserByEmail(%q).ID = %q, want %q", tc.email, got.ID, u.ID)
				}
			})
		}
	}},
	{"ListUsersOrderedByEmail", func(t *testing.T, s store.Store) {
		users, err := s.ListUsers(t.Context())
		noErr(t, "ListUsers", err)
		if len(users) != 0 {
			t.Fatalf("empty store lists %d users", len(users))
		}
		for _, e := range []string{"charlie@example.com", "Alice@example.com", "bob@example.com"} {
			createUser(t, s, e)
		}
		users, err = s.ListUsers(t.Context())
		noErr(t, "ListUsers", err)
		got := ids(users, func(u *store.User) string { return u.Email })
		want := []string{"alice@example.com", "bob@example.com", "charlie@example.com"}
		if !equalStrings(got, want) {
			t.Errorf("ListUsers emails = %q, want %q", got, want)
		}
	}},
	{"UpdateUser", func(t *testing.T, s store.Store) {
		orig := fullUser()
		noErr(t, "CreateUser", s.CreateUser(t.Context(), orig))

		before := time.Now()
		u := &store.User{
			ID:           orig.ID,
			Email:        "Taro.New@Example.co.jp",
			DisplayName:  "山田 太郎（営業）",
			Phone:        "06-0000-0000",
			Mobile:       "080-0000-0000",
			Organization: "サンプル商事株式会社",
			Department:   "営業部",
			Groups:       []string{"sales"},
			Role:         store.RoleUser,
			Status:       store.StatusLocked,
			LoginMethods: []string{"ad"},
			Language:     "en",
			// MustChangePassword false: the password was changed.
			// Not mutable: these must be ignored.
			CreatedAt:       base.Add(-24 * time.Hour),
			LastLoginAt:     base.Add(-24 * time.Hour),
			PreviousLoginAt: base.Add(-48 * time.Hour),
		}
		noErr(t, "UpdateUser", s.UpdateUser(t.Context(), u))
		after := time.Now()

		got := getUser(t, s, orig.ID)
		within(t, "UpdatedAt", got.UpdatedAt, before, after)
		want := *u
		want.Email = "taro.new@example.co.jp"
		want.CreatedAt, want.UpdatedAt = orig.CreatedAt, got.UpdatedAt
		want.LastLoginAt, want.PreviousLoginAt = orig.LastLoginAt, orig.PreviousLoginAt
		checkUser(t, got, &want)

		if _, err := s.GetUserByEmail(t.Context(), orig.Email); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old email still finds a user: err = %v", err)
		}
		if byNew, err := s.GetUserByEmail(t.Context(), "TARO.NEW@example.co.jp"); err != nil || byNew.ID != orig.ID {
			t.Errorf("new email lookup = %v, %v", byNew, err)
		}
	}},
	{"UpdateUserClearsLists", func(t *testing.T, s store.Store) {
		u := fullUser()
		noErr(t, "CreateUser", s.CreateUser(t.Context(), u))
		u.Groups, u.LoginMethods = nil, []string{}
		noErr(t, "UpdateUser", s.UpdateUser(t.Context(), u))
		got := getUser(t, s, u.ID)
		if got.Groups != nil || got.LoginMethods != nil {
			t.Errorf("Groups, LoginMethods = %#v, %#v, want nil, nil", got.Groups, got.LoginMethods)
		}
	}},
	{"UpdateUserOwnEmailOtherCase", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		u.Email = "A@Example.com"
		noErr(t, "UpdateUser", s.UpdateUser(t.Context(), u))
		if got := getUser(t, s, u.ID).Email; got != "a@example.com" {
			t.Errorf("email = %q, want a@example.com", got)
		}
	}},
	{"UpdateUserNotFound", func(t *testing.T, s store.Store) {
		createUser(t, s, "a@example.com")
		err := s.UpdateUser(t.Context(), &store.User{ID: "missing", Email: "missing@example.com"})
		wantErr(t, "UpdateUser", err, store.ErrNotFound)
	}},
	{"UpdateUserEmailConflict", func(t *testing.T, s store.Store) {
		createUser(t, s, "a@example.com")
		b := createUser(t, s, "b@example.com")
		changed := *b
		changed.Email = "A@EXAMPLE.COM"
		changed.DisplayName = "must not be saved"
		wantErr(t, "UpdateUser", s.UpdateUser(t.Context(), &changed), store.ErrConflict)
		got := getUser(t, s, b.ID)
		if got.Email != "b@example.com" || got.DisplayName != "" {
			t.Errorf("after a conflict the user is %q %q, want it unchanged", got.Email, got.DisplayName)
		}
	}},
	{"LanguageAndMustChangePassword", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		plain := createUser(t, s, "a@example.com")
		u := &store.User{Email: "b@example.com", Language: "en", MustChangePassword: true}
		noErr(t, "CreateUser", s.CreateUser(ctx, u))
		users, err := s.ListUsers(ctx)
		noErr(t, "ListUsers", err)
		if len(users) != 2 || users[0].Language != "" || users[0].MustChangePassword ||
			users[1].Language != "en" || !users[1].MustChangePassword {
			t.Fatalf("ListUsers = %+v, want a@ with no language and b@ in en that must change the password", users)
		}
		got, err := s.GetUserByEmail(ctx, "b@example.com")
		noErr(t, "GetUserByEmail", err)
		if got.Language != "en" || !got.MustChangePassword {
			t.Errorf("GetUserByEmail: Language, MustChangePassword = %q, %v; want en, true", got.Language, got.MustChangePassword)
		}
		plain.Language, plain.MustChangePassword = "ja", true
		noErr(t, "UpdateUser", s.UpdateUser(ctx, plain))
		u.Language, u.MustChangePassword = "ja", false
		noErr(t, "UpdateUser", s.UpdateUser(ctx, u))
		for _, want := range []*store.User{plain, u} {
			got := getUser(t, s, want.ID)
			if got.Language != want.Language || got.MustChangePassword != want.MustChangePassword {
				t.Errorf("user %s after UpdateUser: Language, MustChangePassword = %q, %v; want %q, %v",
					want.Email, got.Language, got.MustChangePassword, want.Language, want.MustChangePassword)
			}
		}
	}},
	{"RecordLogin", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		first, second := base, base.Add(26*time.Hour+time.Microsecond)

		noErr(t, "RecordLogin 1", s.RecordLogin(t.Context(), u.ID, first))
		got := getUser(t, s, u.ID)
		sameTime(t, "LastLoginAt after 1", got.LastLoginAt, first)
		sameTime(t, "PreviousLoginAt after 1", got.PreviousLoginAt, time.Time{})

		noErr(t, "RecordLogin 2", s.RecordLogin(t.Context(), u.ID, second))
		got = getUser(t, s, u.ID)
		sameTime(t, "LastLoginAt after 2", got.LastLoginAt, second)
		sameTime(t, "PreviousLoginAt after 2", got.PreviousLoginAt, first)
		sameTime(t, "CreatedAt", got.CreatedAt, u.CreatedAt)
	}},
	{"RecordLoginNotFound", func(t *testing.T, s store.Store) {
		wantErr(t, "RecordLogin", s.RecordLogin(t.Context(), "missing", base), store.ErrNotFound)
	}},
}

var passwordTests = []test{
	{"SetAndReplace", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		other := createUser(t, s, "b@example.com")
		_, err := s.PasswordHash(t.Context(), u.ID)
		wantErr(t, "PasswordHash before set", err, store.ErrNotFound)

		for _, hash := range []string{
			"$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g",
			"$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdA$bmV3aGFzaA",
		} {
			noErr(t, "SetPasswordHash", s.SetPasswordHash(t.Context(), u.ID, hash))
			got, err := s.PasswordHash(t.Context(), u.ID)
			noErr(t, "PasswordHash", err)
			if got != hash {
				t.Errorf("PasswordHash = %q, want %q", got, hash)
			}
		}
		_, err = s.PasswordHash(t.Context(), other.ID)
		wantErr(t, "PasswordHash of a user without one", err, store.ErrNotFound)
	}},
	{"UnknownUser", func(t *testing.T, s store.Store) {
		_, err := s.PasswordHash(t.Context(), "missing")
		wantErr(t, "PasswordHash", err, store.ErrNotFound)
		wantErr(t, "SetPasswordHash", s.SetPasswordHash(t.Context(), "missing", "$argon2id$x"), store.ErrNotFound)
	}},
}
