package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// searchUsers returns the page q selects, failing the test on an error.
func searchUsers(t *testing.T, s store.Store, q store.UserQuery) *store.UserPage {
	t.Helper()
	page, err := s.SearchUsers(t.Context(), q)
	noErr(t, fmt.Sprintf("SearchUsers %+v", q), err)
	return page
}

// walkUsers follows q's pages from the first to the last and returns the
// ids in order, checking that every page answers total and holds at most
// limit users, and that only the last page has no Next. between runs
// after each page but the last.
func walkUsers(t *testing.T, s store.Store, q store.UserQuery, total, limit int, between func(page int)) []string {
	t.Helper()
	var got []string
	for n := 0; ; n++ {
		if n > 100000 {
			t.Fatalf("SearchUsers %+v: no last page after %d pages", q, n)
		}
		page := searchUsers(t, s, q)
		if page.Total != total {
			t.Errorf("page %d of %+v: Total = %d, want %d", n, q, page.Total, total)
		}
		if len(page.Users) > limit {
			t.Errorf("page %d of %+v: %d users, want at most %d", n, q, len(page.Users), limit)
		}
		got = append(got, userIDs(page.Users)...)
		if page.Next == "" {
			return got
		}
		if len(page.Users) == 0 {
			t.Fatalf("page %d of %+v: no users but a Next", n, q)
		}
		if between != nil {
			between(n)
		}
		q.Cursor = page.Next
	}
}

func userIDs(list []*store.User) []string {
	return ids(list, func(u *store.User) string { return u.ID })
}

func userEmails(list []*store.User) []string {
	return ids(list, func(u *store.User) string { return u.Email })
}

// noDuplicates fails when an id appears twice in got.
func noDuplicates(t *testing.T, what string, got []string) {
	t.Helper()
	seen := make(map[string]bool, len(got))
	for _, id := range got {
		if seen[id] {
			t.Errorf("%s: user %s listed twice", what, id)
		}
		seen[id] = true
	}
}

// checkLastLoginOrder fails unless users are ordered by LastLoginAt, most
// recent first, with the never-signed-in (zero) ones last.
func checkLastLoginOrder(t *testing.T, what string, users []*store.User) {
	t.Helper()
	for i := 1; i < len(users); i++ {
		prev, cur := users[i-1].LastLoginAt, users[i].LastLoginAt
		if prev.IsZero() && !cur.IsZero() {
			t.Fatalf("%s: %s (signed in at %v) after %s (never signed in)", what, users[i].Email, cur, users[i-1].Email)
		}
		if !cur.IsZero() && cur.After(prev) {
			t.Fatalf("%s: %s (%v) after %s (%v), want most recent first", what, users[i].Email, cur, users[i-1].Email, prev)
		}
	}
}

// device returns an approved device of userID used last at used.
func device(id, userID string, created, used time.Time) *store.ApprovedDevice {
	return &store.ApprovedDevice{ID: id, UserID: userID, UserAgent: "Mozilla/5.0 " + id, ClientIP: "198.51.100.4",
		ApprovedBy: "admin-1", CreatedAt: created, LastUsedAt: used}
}

func deviceIDs(list []*store.ApprovedDevice) []string {
	return ids(list, func(d *store.ApprovedDevice) string { return d.ID })
}

func listDevices(t *testing.T, s store.Store, userID string) []*store.ApprovedDevice {
	t.Helper()
	list, err := s.ListDevices(t.Context(), userID)
	noErr(t, "ListDevices", err)
	return list
}

func ticketIDs(list []*store.Ticket) []string {
	return ids(list, func(tk *store.Ticket) string { return tk.ID })
}

// searchFixture creates the users the SearchUsers filter cases look for.
func searchFixture(t *testing.T, s store.Store) map[string]*store.User {
	users := map[string]*store.User{}
	for _, u := range []*store.User{
		{Email: "Alice@Example.com", DisplayName: "Alice Tanaka", Department: "Sales", Groups: []string{"staff", "eng"}, Status: store.StatusActive},
		{Email: "bob@example.com", DisplayName: "Bob", Department: "Engineering", Groups: []string{"staff"}, Status: store.StatusLocked, Role: store.RoleAdmin},
		{Email: "carol@other.org", DisplayName: "Carol 山田 Émile", Department: "経理部", Groups: []string{"Finance"}, Status: store.StatusDisabled},
		{Email: "dave@example.com", DisplayName: "Dave", Groups: []string{"engineering-leads"}, Status: store.StatusInvited},
		{Email: "under_score@example.com", DisplayName: "100% sure", Status: store.StatusActive, Role: store.RoleAdmin},
	} {
		if u.Role == "" {
			u.Role = store.RoleUser
		}
		noErr(t, "CreateUser "+u.Email, s.CreateUser(t.Context(), u))
		users[u.Email] = u
	}
	return users
}

var adminTests = []test{
	{"SearchUsersFilters", func(t *testing.T, s store.Store) {
		searchFixture(t, s)
		for _, tc := range []struct {
			q    store.UserQuery
			want []string // emails, in email order
		}{
			{store.UserQuery{}, []string{"alice@example.com", "bob@example.com", "carol@other.org", "dave@example.com", "under_score@example.com"}},
			// Text: a part of the email, display name or department, any case.
			{store.UserQuery{Text: "ALICE"}, []string{"alice@example.com"}},
			{store.UserQuery{Text: "tanaka"}, []string{"alice@example.com"}},
			{store.UserQuery{Text: "gineer"}, []string{"bob@example.com"}},
			{store.UserQuery{Text: "山田"}, []string{"carol@other.org"}},
			{store.UserQuery{Text: "経理"}, []string{"carol@other.org"}},
			{store.UserQuery{Text: "Émile"}, []string{"carol@other.org"}},
			{store.UserQuery{Text: "example.com"}, []string{"alice@example.com", "bob@example.com", "dave@example.com", "under_score@example.com"}},
			// ... or a whole group name, any case: "eng" is alice's group
			// and a part of bob's department, not a group of dave's.
			{store.UserQuery{Text: "eng"}, []string{"alice@example.com", "bob@example.com"}},
			{store.UserQuery{Text: "FINANCE"}, []string{"carol@other.org"}},
			{store.UserQuery{Text: "engineering-lead"}, nil},
			// LIKE's wildcards are plain characters.
			{store.UserQuery{Text: "_"}, []string{"under_score@example.com"}},
			{store.UserQuery{Text: "%"}, []string{"under_score@example.com"}},
			{store.UserQuery{Text: "a%e"}, nil},
			{store.UserQuery{Text: `\`}, nil},
			{store.UserQuery{Text: "nobody"}, nil},
			// Group: exactly that group.
			{store.UserQuery{Group: "staff"}, []string{"alice@example.com", "bob@example.com"}},
			{store.UserQuery{Group: "eng"}, []string{"alice@example.com"}},
			{store.UserQuery{Group: "Staff"}, nil},
			{store.UserQuery{Group: "staf"}, nil},
			// Status, and filters together.
			{store.UserQuery{Status: store.StatusLocked}, []string{"bob@example.com"}},
			{store.UserQuery{Status: store.StatusActive}, []string{"alice@example.com", "under_score@example.com"}},
			{store.UserQuery{Group: "staff", Status: store.StatusActive}, []string{"alice@example.com"}},
			{store.UserQuery{Text: "example", Status: store.StatusActive}, []string{"alice@example.com", "under_score@example.com"}},
			{store.UserQuery{Text: "bob", Group: "staff", Status: store.StatusActive}, nil},
			// Role, alone and with the status (the active administrators).
			{store.UserQuery{Role: store.RoleAdmin}, []string{"bob@example.com", "under_score@example.com"}},
			{store.UserQuery{Role: store.RoleAdmin, Status: store.StatusActive}, []string{"under_score@example.com"}},
			{store.UserQuery{Role: store.RoleUser, Status: store.StatusActive}, []string{"alice@example.com"}},
		} {
			page := searchUsers(t, s, tc.q)
			if got := userEmails(page.Users); !equalStrings(got, tc.want) {
				t.Errorf("SearchUsers %+v = %q, want %q", tc.q, got, tc.want)
			}
			if page.Total != len(tc.want) || page.Next != "" {
				t.Errorf("SearchUsers %+v: Total %d, Next %q; want %d, none", tc.q, page.Total, page.Next, len(tc.want))
			}
		}
		// Users come back whole.
		page := searchUsers(t, s, store.UserQuery{Text: "tanaka"})
		if len(page.Users) == 1 {
			got := page.Users[0]
			if got.DisplayName != "Alice Tanaka" || got.Department != "Sales" || !equalStrings(got.Groups, []string{"staff", "eng"}) ||
				got.Status != store.StatusActive || got.Role != store.RoleUser || got.ID == "" || got.CreatedAt.IsZero() {
				t.Errorf("SearchUsers user = %+v, want alice as stored", *got)
			}
		}
	}},
	{"SearchUsersSorts", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		// Created out of order; c and e signed in at the same instant.
		logins := map[string]time.Time{
			"c@example.com": base.Add(2 * time.Hour),
			"e@example.com": base.Add(2 * time.Hour),
			"a@example.com": base.Add(time.Hour),
			"d@example.com": base.Add(3 * time.Hour),
			"b@example.com": {},
			"f@example.com": {},
		}
		for _, email := range []string{"d@example.com", "b@example.com", "f@example.com", "a@example.com", "e@example.com", "c@example.com"} {
			u := createUser(t, s, email)
			if at := logins[email]; !at.IsZero() {
				noErr(t, "RecordLogin", s.RecordLogin(ctx, u.ID, at))
			}
		}
		page := searchUsers(t, s, store.UserQuery{})
		if got, want := userEmails(page.Users), []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com", "f@example.com"}; !equalStrings(got, want) {
			t.Errorf("default sort = %q, want by email %q", got, want)
		}
		page = searchUsers(t, s, store.UserQuery{Sort: store.SortEmail})
		if got := userEmails(page.Users); got[0] != "a@example.com" || got[5] != "f@example.com" {
			t.Errorf("SortEmail = %q, want by email", got)
		}
		page = searchUsers(t, s, store.UserQuery{Sort: store.SortLastLogin})
		got := userEmails(page.Users)
		if len(got) != 6 || got[0] != "d@example.com" || got[3] != "a@example.com" ||
			!equalStrings(sortedCopy(got[1:3]), []string{"c@example.com", "e@example.com"}) ||
			!equalStrings(sortedCopy(got[4:]), []string{"b@example.com", "f@example.com"}) {
			t.Errorf("SortLastLogin = %q, want d, {c, e}, a, then {b, f} who never signed in", got)
		}
		for _, u := range page.Users {
			sameTime(t, fmt.Sprintf("LastLoginAt of %s", u.Email), u.LastLoginAt, logins[u.Email])
		}
		// Pages of one user walk the ties and the never-signed-in exactly
		// once, in the same order as the single page.
		for _, sort := range []store.UserSort{store.SortEmail, store.SortLastLogin} {
			one := searchUsers(t, s, store.UserQuery{Sort: sort})
			walked := walkUsers(t, s, store.UserQuery{Sort: sort, Limit: 1}, 6, 1, nil)
			if !equalStrings(walked, userIDs(one.Users)) {
				t.Errorf("%s one by one = %q, want %q", sort, walked, userIDs(one.Users))
			}
		}
	}},
	{"SearchUsersPaging", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		var all []*store.User
		for i := range 23 {
			u := createUser(t, s, fmt.Sprintf("user%02d@example.com", (i*7)%23))
			switch {
			case i%4 == 0: // never signed in
			case i%4 == 1: // ties
				noErr(t, "RecordLogin", s.RecordLogin(ctx, u.ID, base))
			default:
				noErr(t, "RecordLogin", s.RecordLogin(ctx, u.ID, base.Add(time.Duration(i)*time.Minute)))
			}
			all = append(all, getUser(t, s, u.ID))
		}
		byEmail := slices.Clone(all)
		slices.SortFunc(byEmail, func(a, b *store.User) int { return strings.Compare(a.Email, b.Email) })

		got := walkUsers(t, s, store.UserQuery{Limit: 5}, 23, 5, nil)
		if want := userIDs(byEmail); !equalStrings(got, want) {
			t.Errorf("pages of 5 by email = %q, want %q", got, want)
		}
		got = walkUsers(t, s, store.UserQuery{Sort: store.SortLastLogin, Limit: 5}, 23, 5, nil)
		noDuplicates(t, "pages of 5 by last login", got)
		if len(got) != 23 {
			t.Errorf("pages of 5 by last login listed %d users, want 23", len(got))
		}
		var walked []*store.User
		for _, id := range got {
			walked = append(walked, getUser(t, s, id))
		}
		checkLastLoginOrder(t, "pages of 5 by last login", walked)

		// A page of exactly the remaining users is the last one.
		page := searchUsers(t, s, store.UserQuery{Limit: 23})
		if len(page.Users) != 23 || page.Next != "" || page.Total != 23 {
			t.Errorf("Limit 23 of 23: %d users, Next %q, Total %d; want 23, none, 23", len(page.Users), page.Next, page.Total)
		}
		page = searchUsers(t, s, store.UserQuery{Limit: 22})
		if len(page.Users) != 22 || page.Next == "" {
			t.Errorf("Limit 22 of 23: %d users, Next %q; want 22 and a Next", len(page.Users), page.Next)
		}
		// Limit 0 is 50.
		if page := searchUsers(t, s, store.UserQuery{}); len(page.Users) != 23 || page.Next != "" {
			t.Errorf("Limit 0 of 23: %d users, Next %q; want all 23 on one page", len(page.Users), page.Next)
		}

		// Users added between pages, before and after the cursor, change
		// neither which of the others are listed nor how often; those
		// after the cursor are listed too, and Total follows.
		added := 0
		q := store.UserQuery{Limit: 5}
		var listed []string
		var newAfter []string
		for n := 0; ; n++ {
			page := searchUsers(t, s, q)
			if page.Total != 23+added {
				t.Errorf("page %d while adding: Total %d, want %d", n, page.Total, 23+added)
			}
			listed = append(listed, userIDs(page.Users)...)
			if page.Next == "" {
				break
			}
			createUser(t, s, fmt.Sprintf("aaa%02d@example.com", n))
			after := createUser(t, s, fmt.Sprintf("zzz%02d@example.com", n))
			newAfter = append(newAfter, after.ID)
			added += 2
			q.Cursor = page.Next
		}
		noDuplicates(t, "pages while adding users", listed)
		for _, u := range byEmail {
			if !slices.Contains(listed, u.ID) {
				t.Errorf("pages while adding users: %s missing", u.Email)
			}
		}
		for _, id := range newAfter {
			if !slices.Contains(listed, id) {
				t.Errorf("pages while adding users: user %s, added after the cursor, missing", id)
			}
		}
		if want := 23 + len(newAfter); len(listed) != want {
			t.Errorf("pages while adding users listed %d, want %d (the 23 and those added after the cursor)", len(listed), want)
		}

		// The same under a filter and by last login, adding signed-in
		// users between pages.
		q = store.UserQuery{Sort: store.SortLastLogin, Status: store.StatusActive, Limit: 4}
		listed = listed[:0]
		for n := 0; ; n++ {
			page := searchUsers(t, s, q)
			listed = append(listed, userIDs(page.Users)...)
			if page.Next == "" {
				break
			}
			u := createUser(t, s, fmt.Sprintf("late%02d@example.com", n))
			noErr(t, "RecordLogin", s.RecordLogin(ctx, u.ID, base.Add(time.Duration(100+n)*time.Hour)))
			q.Cursor = page.Next
		}
		noDuplicates(t, "last-login pages while adding users", listed)
		for _, u := range all {
			if !slices.Contains(listed, u.ID) {
				t.Errorf("last-login pages while adding users: %s missing", u.Email)
			}
		}
	}},
	{"SearchUsersCursor", func(t *testing.T, s store.Store) {
		for i := range 3 {
			createUser(t, s, fmt.Sprintf("u%d@example.com", i))
		}
		page := searchUsers(t, s, store.UserQuery{Limit: 1})
		if page.Next == "" {
			t.Fatal("first page of 1 of 3 has no Next")
		}
		for _, tc := range []struct {
			name string
			q    store.UserQuery
		}{
			{"garbage", store.UserQuery{Cursor: "not a cursor!"}},
			{"truncated", store.UserQuery{Cursor: page.Next[:len(page.Next)/2]}},
			{"of the other sort", store.UserQuery{Sort: store.SortLastLogin, Cursor: page.Next}},
		} {
			_, err := s.SearchUsers(t.Context(), tc.q)
			if !errors.Is(err, store.ErrBadCursor) {
				t.Errorf("SearchUsers with a cursor %s: err = %v, want store.ErrBadCursor", tc.name, err)
			}
		}
		// A cursor stays valid after its user is deleted.
		noErr(t, "DeleteUser", s.DeleteUser(t.Context(), page.Users[0].ID))
		next := searchUsers(t, s, store.UserQuery{Limit: 5, Cursor: page.Next})
		if got := userEmails(next.Users); !equalStrings(got, []string{"u1@example.com", "u2@example.com"}) || next.Total != 2 {
			t.Errorf("page after a deleted user's cursor = %q (Total %d), want u1, u2 (2)", got, next.Total)
		}
	}},
	{"DeleteUser", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "gone@example.com")
		other := createUser(t, s, "stays@example.com")
		noErr(t, "SetPasswordHash", s.SetPasswordHash(ctx, u.ID, "$argon2id$gone"))
		noErr(t, "SetPasswordHash", s.SetPasswordHash(ctx, other.ID, "$argon2id$stays"))
		createSession(t, s, session("s-gone", u.ID, base))
		createSession(t, s, session("s-stays", other.ID, base))
		linkIdentity(t, s, identity("google", "sub-gone", u.ID, base))
		addFactor(t, s, factor(u.ID, base))
		noErr(t, "SetRecoveryCodes", s.SetRecoveryCodes(ctx, u.ID, []string{"h1", "h2"}))
		rememberBrowser(t, s, browser("b-gone", u.ID, base, base.Add(time.Hour)))
		noErr(t, "AddDevice", s.AddDevice(ctx, device("d-gone", u.ID, base, base)))
		noErr(t, "AddDevice", s.AddDevice(ctx, device("d-stays", other.ID, base, base)))
		for _, tk := range []*store.Ticket{
			{ID: "t-invite", Purpose: store.PurposeInvitation, UserID: u.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)},
			{ID: "t-pin", Purpose: store.PurposePIN, UserID: u.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)},
			{ID: "t-other", Purpose: store.PurposeInvitation, UserID: other.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)},
		} {
			createTicket(t, s, tk)
		}
		_, err := s.CountFailure(ctx, u.ID, "", base)
		noErr(t, "CountFailure", err)
		appendAudit(t, s, &store.AuditEvent{Time: base, Action: "login", UserID: u.ID, Outcome: store.OutcomeSuccess, Detail: "kept"})

		noErr(t, "DeleteUser", s.DeleteUser(ctx, u.ID))

		_, err = s.GetUser(ctx, u.ID)
		wantErr(t, "GetUser of the deleted user", err, store.ErrNotFound)
		_, err = s.GetUserByEmail(ctx, "gone@example.com")
		wantErr(t, "GetUserByEmail of the deleted user", err, store.ErrNotFound)
		_, err = s.PasswordHash(ctx, u.ID)
		wantErr(t, "PasswordHash of the deleted user", err, store.ErrNotFound)
		_, err = s.GetSession(ctx, "s-gone")
		wantErr(t, "GetSession of the deleted user's session", err, store.ErrNotFound)
		_, err = s.UserByIdentity(ctx, "google", "sub-gone")
		wantErr(t, "UserByIdentity of the deleted user's link", err, store.ErrNotFound)
		if l := listUserIdentities(t, s, u.ID); len(l) != 0 {
			t.Errorf("links of the deleted user = %d, want 0", len(l))
		}
		if l := listFactors(t, s, u.ID); len(l) != 0 {
			t.Errorf("factors of the deleted user = %d, want 0", len(l))
		}
		if n := codesLeft(t, s, u.ID); n != 0 {
			t.Errorf("recovery codes of the deleted user = %d, want 0", n)
		}
		if l := listBrowsers(t, s, u.ID, base); len(l) != 0 {
			t.Errorf("remembered browsers of the deleted user = %d, want 0", len(l))
		}
		if l := listDevices(t, s, u.ID); len(l) != 0 {
			t.Errorf("approved devices of the deleted user = %d, want 0", len(l))
		}
		if n := failures(t, s, u.ID, ""); n != 0 {
			t.Errorf("failure count of the deleted user = %d, want 0", n)
		}
		for _, id := range []struct{ purpose, id string }{{store.PurposeInvitation, "t-invite"}, {store.PurposePIN, "t-pin"}} {
			_, err := s.PeekTicket(ctx, id.purpose, id.id, base)
			wantErr(t, "PeekTicket "+id.id+" of the deleted user", err, store.ErrNotFound)
		}
		// Audit events stay.
		events, err := s.ListAudit(ctx, store.AuditFilter{UserID: u.ID})
		noErr(t, "ListAudit", err)
		if got := auditDetails(events); !equalStrings(got, []string{"kept"}) {
			t.Errorf("audit of the deleted user = %q, want [kept]", got)
		}
		// The other user keeps everything.
		if _, err := s.PasswordHash(ctx, other.ID); err != nil {
			t.Errorf("PasswordHash of the other user: %v", err)
		}
		getSession(t, s, "s-stays")
		if got := deviceIDs(listDevices(t, s, other.ID)); !equalStrings(got, []string{"d-stays"}) {
			t.Errorf("devices of the other user = %q, want [d-stays]", got)
		}
		if _, err := s.PeekTicket(ctx, store.PurposeInvitation, "t-other", base); err != nil {
			t.Errorf("PeekTicket of the other user's invitation: %v", err)
		}
		// Deleting again, or a user that never was, is ErrNotFound; the
		// email is free again.
		wantErr(t, "DeleteUser again", s.DeleteUser(ctx, u.ID), store.ErrNotFound)
		wantErr(t, "DeleteUser of a missing user", s.DeleteUser(ctx, "missing"), store.ErrNotFound)
		again := createUser(t, s, "gone@example.com")
		if again.ID == u.ID {
			t.Errorf("a new user got the deleted user's id")
		}
		if page := searchUsers(t, s, store.UserQuery{}); page.Total != 2 {
			t.Errorf("users after delete and re-create = %d, want 2", page.Total)
		}
	}},
	{"UsersByIDPrefix", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		var users []*store.User
		for i := range 40 {
			users = append(users, createUser(t, s, fmt.Sprintf("prefix%02d@example.com", i)))
		}
		u := users[7]
		for _, n := range []int{len(u.ID), 12, 8} {
			got, err := s.UsersByIDPrefix(ctx, u.ID[:n])
			noErr(t, "UsersByIDPrefix", err)
			if n >= 12 && (len(got) != 1 || got[0].ID != u.ID || got[0].Email != u.Email) {
				t.Fatalf("UsersByIDPrefix(%q) = %v, want only %s", u.ID[:n], got, u.Email)
			}
			if n == 8 && (len(got) == 0 || got[0].ID[:8] != u.ID[:8] || len(got) > 2) {
				t.Fatalf("UsersByIDPrefix(%q) = %v, want %s (and at most one more)", u.ID[:n], got, u.Email)
			}
		}
		// A prefix that sorts between ids, and one of every id, answer
		// at most two: the lookup never lists the table.
		got, err := s.UsersByIDPrefix(ctx, u.ID[:1])
		noErr(t, "UsersByIDPrefix", err)
		if len(got) > 2 {
			t.Fatalf("UsersByIDPrefix(%q) = %d users, want at most 2", u.ID[:1], len(got))
		}
		for _, p := range []string{"", "zzzz", "not-an-id"} {
			got, err := s.UsersByIDPrefix(ctx, p)
			noErr(t, "UsersByIDPrefix", err)
			if len(got) != 0 {
				t.Fatalf("UsersByIDPrefix(%q) = %v, want none", p, got)
			}
		}
	}},
	{"Settings", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		list, err := s.Settings(ctx)
		noErr(t, "Settings", err)
		if len(list) != 0 {
			t.Fatalf("Settings of a new store = %d, want none", len(list))
		}
		before := time.Now()
		a := &store.Setting{Key: store.SettingTwoFactorRequired, Value: "true", UpdatedBy: "admin-1"}
		noErr(t, "SetSetting", s.SetSetting(ctx, a))
		after := time.Now()
		within(t, "assigned UpdatedAt", a.UpdatedAt, before, after)
		b := &store.Setting{Key: store.SettingAccessRoute, Value: "line_only", UpdatedBy: "admin-2", UpdatedAt: base}
		noErr(t, "SetSetting", s.SetSetting(ctx, b))
		sameTime(t, "given UpdatedAt", b.UpdatedAt, base)

		list, err = s.Settings(ctx)
		noErr(t, "Settings", err)
		if len(list) != 2 {
			t.Fatalf("Settings = %d, want 2", len(list))
		}
		// Ordered by key: access_route before two_factor.required.
		if list[0].Key != store.SettingAccessRoute || list[0].Value != "line_only" || list[0].UpdatedBy != "admin-2" {
			t.Errorf("Settings[0] = %+v, want access_route=line_only by admin-2", *list[0])
		}
		sameTime(t, "UpdatedAt of access_route", list[0].UpdatedAt, base)
		if list[1].Key != store.SettingTwoFactorRequired || list[1].Value != "true" || list[1].UpdatedBy != "admin-1" {
			t.Errorf("Settings[1] = %+v, want two_factor.required=true by admin-1", *list[1])
		}
		within(t, "stored UpdatedAt", list[1].UpdatedAt, before, after)

		// Setting a key again replaces it.
		noErr(t, "SetSetting", s.SetSetting(ctx, &store.Setting{Key: store.SettingTwoFactorRequired, Value: "false",
			UpdatedBy: "admin-3", UpdatedAt: base.Add(time.Hour)}))
		list, err = s.Settings(ctx)
		noErr(t, "Settings", err)
		if len(list) != 2 || list[1].Value != "false" || list[1].UpdatedBy != "admin-3" {
			t.Fatalf("Settings after replacing = %+v, want two_factor.required=false by admin-3", list)
		}
		sameTime(t, "replaced UpdatedAt", list[1].UpdatedAt, base.Add(time.Hour))
		// An empty value is a value.
		noErr(t, "SetSetting", s.SetSetting(ctx, &store.Setting{Key: store.SettingDeviceApproval, UpdatedAt: base}))
		list, err = s.Settings(ctx)
		noErr(t, "Settings", err)
		if len(list) != 3 || list[1].Key != store.SettingDeviceApproval || list[1].Value != "" {
			t.Errorf("Settings after an empty value = %+v, want device_approval=\"\" second", list)
		}
	}},
	{"ListAndDeleteTickets", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		inv := func(id, userID string, created time.Time, ttl time.Duration) *store.Ticket {
			return &store.Ticket{ID: id, Purpose: store.PurposeInvitation, UserID: userID, Data: []byte{0, 1, byte(len(id))},
				CreatedAt: created, ExpiresAt: created.Add(ttl)}
		}
		tickets := []*store.Ticket{
			inv("i-old", "u1", base, 14*24*time.Hour),
			inv("i-new", "u2", base.Add(2*time.Hour), 14*24*time.Hour),
			inv("i-mid-b", "u3", base.Add(time.Hour), 14*24*time.Hour),
			inv("i-mid-a", "u3", base.Add(time.Hour), 14*24*time.Hour),
			inv("i-expired", "u4", base.Add(-time.Hour), 30*time.Minute),
			{ID: "m-1", Purpose: store.PurposeMethodChange, UserID: "u1", CreatedAt: base, ExpiresAt: base.Add(time.Hour)},
		}
		for _, tk := range tickets {
			createTicket(t, s, tk)
		}
		now := base.Add(3 * time.Hour)
		list, err := s.ListTickets(ctx, store.PurposeInvitation, now)
		noErr(t, "ListTickets", err)
		if got, want := ticketIDs(list), []string{"i-new", "i-mid-a", "i-mid-b", "i-old"}; !equalStrings(got, want) {
			t.Errorf("ListTickets = %q, want newest first, ties by id, unexpired only: %q", got, want)
		}
		if len(list) == 4 {
			checkTicket(t, list[0], tickets[1])
		}
		// At the expiry instant a ticket is expired.
		list, err = s.ListTickets(ctx, store.PurposeInvitation, base.Add(14*24*time.Hour))
		noErr(t, "ListTickets", err)
		if got, want := ticketIDs(list), []string{"i-new", "i-mid-a", "i-mid-b"}; !equalStrings(got, want) {
			t.Errorf("ListTickets at i-old's expiry = %q, want %q", got, want)
		}
		list, err = s.ListTickets(ctx, store.PurposePIN, now)
		noErr(t, "ListTickets", err)
		if len(list) != 0 {
			t.Errorf("ListTickets of a purpose without tickets = %q, want none", ticketIDs(list))
		}

		n, err := s.DeleteTickets(ctx, store.PurposeInvitation, "u3")
		noErr(t, "DeleteTickets", err)
		if n != 2 {
			t.Errorf("DeleteTickets of u3's invitations = %d, want 2", n)
		}
		// Another purpose of the same user, and expired ones, go only when named.
		n, err = s.DeleteTickets(ctx, store.PurposePIN, "u1")
		noErr(t, "DeleteTickets", err)
		if n != 0 {
			t.Errorf("DeleteTickets of u1's PINs = %d, want 0", n)
		}
		n, err = s.DeleteTickets(ctx, store.PurposeInvitation, "u4")
		noErr(t, "DeleteTickets", err)
		if n != 1 {
			t.Errorf("DeleteTickets of u4's expired invitation = %d, want 1", n)
		}
		list, err = s.ListTickets(ctx, store.PurposeInvitation, now)
		noErr(t, "ListTickets", err)
		if got, want := ticketIDs(list), []string{"i-new", "i-old"}; !equalStrings(got, want) {
			t.Errorf("ListTickets after DeleteTickets = %q, want %q", got, want)
		}
		if _, err := s.PeekTicket(ctx, store.PurposeMethodChange, "m-1", base); err != nil {
			t.Errorf("PeekTicket of u1's method change after deleting u1's PINs: %v", err)
		}
	}},
	{"ApprovedDevices", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		other := createUser(t, s, "b@example.com")
		d1 := device("d1", u.ID, base, base.Add(time.Minute))
		noErr(t, "AddDevice", s.AddDevice(ctx, d1))
		before := time.Now()
		d2 := &store.ApprovedDevice{ID: "d2", UserID: u.ID, UserAgent: "Safari", ClientIP: "2001:db8::1", ApprovedBy: "admin-9"}
		noErr(t, "AddDevice", s.AddDevice(ctx, d2))
		after := time.Now()
		within(t, "assigned CreatedAt", d2.CreatedAt, before, after)
		sameTime(t, "assigned LastUsedAt", d2.LastUsedAt, d2.CreatedAt)
		noErr(t, "AddDevice", s.AddDevice(ctx, device("d0", u.ID, base, base.Add(time.Minute))))
		noErr(t, "AddDevice", s.AddDevice(ctx, device("o1", other.ID, base, base)))

		wantErr(t, "AddDevice with a taken id", s.AddDevice(ctx, device("d1", other.ID, base, base)), store.ErrConflict)
		wantErr(t, "AddDevice for a missing user", s.AddDevice(ctx, device("x", "missing", base, base)), store.ErrNotFound)

		list := listDevices(t, s, u.ID)
		// d2 was used when added, now, which is before base (2031).
		if got, want := deviceIDs(list), []string{"d0", "d1", "d2"}; !equalStrings(got, want) {
			t.Fatalf("ListDevices = %q, want most recently used first, ties by id: %q", got, want)
		}
		got := list[1]
		if got.UserID != u.ID || got.UserAgent != d1.UserAgent || got.ClientIP != d1.ClientIP || got.ApprovedBy != "admin-1" {
			t.Errorf("device = %+v, want %+v", *got, *d1)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, base)
		sameTime(t, "LastUsedAt", got.LastUsedAt, base.Add(time.Minute))
		if got := list[2]; got.UserAgent != "Safari" || got.ClientIP != "2001:db8::1" || got.ApprovedBy != "admin-9" {
			t.Errorf("device d2 = %+v, want as added", *got)
		}

		// UseDevice moves the device up; with another user's id it is
		// ErrNotFound and changes nothing.
		used := base.Add(time.Hour)
		noErr(t, "UseDevice", s.UseDevice(ctx, "d1", u.ID, used))
		list = listDevices(t, s, u.ID)
		if got := deviceIDs(list); got[0] != "d1" {
			t.Errorf("ListDevices after UseDevice d1 = %q, want d1 first", got)
		}
		sameTime(t, "LastUsedAt after UseDevice", list[0].LastUsedAt, used)
		wantErr(t, "UseDevice of another user's device", s.UseDevice(ctx, "o1", u.ID, used), store.ErrNotFound)
		wantErr(t, "UseDevice of a missing device", s.UseDevice(ctx, "nope", u.ID, used), store.ErrNotFound)
		sameTime(t, "other user's LastUsedAt", listDevices(t, s, other.ID)[0].LastUsedAt, base)

		wantErr(t, "DeleteDevice of another user's device", s.DeleteDevice(ctx, u.ID, "o1"), store.ErrNotFound)
		noErr(t, "DeleteDevice", s.DeleteDevice(ctx, u.ID, "d1"))
		wantErr(t, "DeleteDevice again", s.DeleteDevice(ctx, u.ID, "d1"), store.ErrNotFound)
		if got, want := deviceIDs(listDevices(t, s, u.ID)), []string{"d0", "d2"}; !equalStrings(got, want) {
			t.Errorf("ListDevices after DeleteDevice = %q, want %q", got, want)
		}
		if got := deviceIDs(listDevices(t, s, other.ID)); !equalStrings(got, []string{"o1"}) {
			t.Errorf("other user's devices = %q, want [o1]", got)
		}
		if got := listDevices(t, s, "missing"); len(got) != 0 {
			t.Errorf("ListDevices of a missing user = %q, want none", deviceIDs(got))
		}
	}},
	{"AuditFilters", func(t *testing.T, s store.Store) {
		// Appended in time order, so ids follow times.
		events := []struct {
			detail  string
			at      time.Duration
			outcome store.Outcome
			ip      string
		}{
			{"t0-ok-a", 0, store.OutcomeSuccess, "192.0.2.1"},
			{"t1-fail-a", time.Minute, store.OutcomeFailure, "192.0.2.1"},
			{"t2-fail-b", 2 * time.Minute, store.OutcomeFailure, "192.0.2.2"},
			{"t3-ok-b", 3 * time.Minute, store.OutcomeSuccess, "192.0.2.2"},
			{"t4-fail-a", 4 * time.Minute, store.OutcomeFailure, "192.0.2.1"},
			{"t5-ok-v6", 5 * time.Minute, store.OutcomeSuccess, "2001:db8::1"},
		}
		idOf := map[string]int64{}
		for _, e := range events {
			ev := &store.AuditEvent{Time: base.Add(e.at), Action: "login", Outcome: e.outcome, ClientIP: e.ip, Detail: e.detail}
			appendAudit(t, s, ev)
			idOf[e.detail] = ev.ID
		}
		for _, tc := range []struct {
			name string
			f    store.AuditFilter
			want []string
		}{
			{"Until is exclusive", store.AuditFilter{Until: base.Add(2 * time.Minute)}, []string{"t1-fail-a", "t0-ok-a"}},
			{"Since and Until", store.AuditFilter{Since: base.Add(time.Minute), Until: base.Add(4 * time.Minute)},
				[]string{"t3-ok-b", "t2-fail-b", "t1-fail-a"}},
			{"Outcome", store.AuditFilter{Outcome: store.OutcomeFailure}, []string{"t4-fail-a", "t2-fail-b", "t1-fail-a"}},
			{"ClientIP", store.AuditFilter{ClientIP: "192.0.2.1"}, []string{"t4-fail-a", "t1-fail-a", "t0-ok-a"}},
			{"ClientIP is exact", store.AuditFilter{ClientIP: "192.0.2."}, nil},
			{"IPv6", store.AuditFilter{ClientIP: "2001:db8::1"}, []string{"t5-ok-v6"}},
			{"Outcome and ClientIP", store.AuditFilter{Outcome: store.OutcomeFailure, ClientIP: "192.0.2.1"}, []string{"t4-fail-a", "t1-fail-a"}},
			{"Before is exclusive", store.AuditFilter{Before: idOf["t3-ok-b"]}, []string{"t2-fail-b", "t1-fail-a", "t0-ok-a"}},
			{"Before with filters", store.AuditFilter{Before: idOf["t4-fail-a"], Outcome: store.OutcomeFailure, Limit: 1}, []string{"t2-fail-b"}},
			{"Before the first", store.AuditFilter{Before: idOf["t0-ok-a"]}, nil},
		} {
			list, err := s.ListAudit(t.Context(), tc.f)
			noErr(t, "ListAudit "+tc.name, err)
			if got := auditDetails(list); !equalStrings(got, tc.want) {
				t.Errorf("ListAudit %s = %q, want %q", tc.name, got, tc.want)
			}
		}
		// Pages of two, each Before the last one's ID, walk every
		// failure once.
		var walked []string
		f := store.AuditFilter{Outcome: store.OutcomeFailure, Limit: 2}
		for range 5 {
			list, err := s.ListAudit(t.Context(), f)
			noErr(t, "ListAudit page", err)
			walked = append(walked, auditDetails(list)...)
			if len(list) < f.Limit {
				break
			}
			f.Before = list[len(list)-1].ID
		}
		if want := []string{"t4-fail-a", "t2-fail-b", "t1-fail-a"}; !equalStrings(walked, want) {
			t.Errorf("pages of failures = %q, want %q", walked, want)
		}
	}},
}

func sortedCopy(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return out
}

// RunAdminChanges checks what the Admin methods publish on the change
// feed: DeleteUser a store.ChangeUser and a store.ChangeSession for each
// session it ended, SetSetting a store.ChangeSettings, and a failed
// DeleteUser nothing. open returns a new pair on a new, empty database;
// Shared.Cut is not used.
func RunAdminChanges(t *testing.T, open func(t *testing.T) Shared) {
	sh := open(t)
	w := watch(t, sh.B)
	w.waitLive(t, true, 10*time.Second)
	ctx := t.Context()
	u := createUser(t, sh.A, "a@example.com")
	createSession(t, sh.A, session("s1", u.ID, base))
	createSession(t, sh.A, session("s2", u.ID, base))
	noErr(t, "AddDevice", sh.A.AddDevice(ctx, device("d1", u.ID, base, base)))
	w.none(t)

	noErr(t, "SetSetting", sh.A.SetSetting(ctx, &store.Setting{Key: store.SettingAccessRoute, Value: "line_only", UpdatedBy: "admin"}))
	w.want(t, store.Change{Kind: store.ChangeSettings})

	noErr(t, "DeleteUser", sh.A.DeleteUser(ctx, u.ID))
	w.wantSet(t, store.Change{Kind: store.ChangeUser, ID: u.ID},
		store.Change{Kind: store.ChangeSession, ID: "s1"}, store.Change{Kind: store.ChangeSession, ID: "s2"})
	w.none(t)

	wantErr(t, "DeleteUser again", sh.A.DeleteUser(ctx, u.ID), store.ErrNotFound)
	// A user without sessions: the user alone.
	v := createUser(t, sh.A, "b@example.com")
	noErr(t, "DeleteUser", sh.A.DeleteUser(ctx, v.ID))
	w.want(t, store.Change{Kind: store.ChangeUser, ID: v.ID})
	w.none(t)
}

// ManyUsers is how many users RunManyUsers lists: an organisation the
// admin console must page through without slowing down.
const ManyUsers = 100_000

// manyUsers returns ManyUsers users with ids, emails (user000000@… in
// index order), twenty departments, every hundredth in group
// "auditors", every fiftieth locked, and a last sign-in for two in
// three (in pairs at the same instant, the later index the earlier time).
// Ids are not in email order.
func manyUsers() []*store.User {
	users := make([]*store.User, ManyUsers)
	for i := range users {
		u := &store.User{
			ID:          fmt.Sprintf("%08x%024x", uint32(i)*2654435761, i),
			Email:       fmt.Sprintf("user%06d@example.com", i),
			DisplayName: fmt.Sprintf("User %06d", i),
			Department:  fmt.Sprintf("Dept %02d", i%20),
			Groups:      []string{"staff"},
			Role:        store.RoleUser,
			Status:      store.StatusActive,
			CreatedAt:   base,
			UpdatedAt:   base,
		}
		if i%100 == 0 {
			u.Groups = append(u.Groups, "auditors")
		}
		if i%50 == 7 {
			u.Status = store.StatusLocked
		}
		if i%3 != 0 {
			u.LastLoginAt = base.Add(-time.Duration(i/2) * time.Second)
		}
		users[i] = u
	}
	return users
}

// RunManyUsers checks SearchUsers on ManyUsers users: the first page,
// the last page (by a cursor), filtered pages, a walk over every page by
// last sign-in and over every page of a group by email list the right
// users exactly once. It logs how long the
// pages took rather than failing on time, since a shared CI machine's
// timings vary; the numbers are for a person to read. seed stores the
// users as given (ids and times included), in bulk: one CreateUser each
// would take most of the test's time.
func RunManyUsers(t *testing.T, open func(t *testing.T) store.Store, seed func(t *testing.T, s store.Store, users []*store.User)) {
	s := open(t)
	users := manyUsers()
	start := time.Now()
	seed(t, s, users)
	t.Logf("seeded %d users in %v", len(users), time.Since(start).Round(time.Millisecond))

	timed := func(what string, q store.UserQuery) *store.UserPage {
		t.Helper()
		start := time.Now()
		page := searchUsers(t, s, q)
		t.Logf("%-44s %3d users of %6d in %v", what+":", len(page.Users), page.Total, time.Since(start).Round(10*time.Microsecond))
		return page
	}
	emails := func(from, to, step int) []string {
		var out []string
		for i := from; i < to; i += step {
			out = append(out, users[i].Email)
		}
		return out
	}
	check := func(what string, page *store.UserPage, total int, want []string, last bool) {
		t.Helper()
		if got := userEmails(page.Users); !equalStrings(got, want) {
			t.Errorf("%s = %d users %q…, want %d %q…", what, len(got), head(got), len(want), head(want))
		}
		if page.Total != total {
			t.Errorf("%s: Total %d, want %d", what, page.Total, total)
		}
		if (page.Next == "") != last {
			t.Errorf("%s: Next %q, want one only if not the last page", what, page.Next)
		}
	}
	after := func(sort store.UserSort, i int) string { return store.CursorAfter(sort, users[i]).Encode() }

	check("first page", timed("first page, no filter", store.UserQuery{}), ManyUsers, emails(0, 50, 1), false)
	check("last page", timed("last page, no filter", store.UserQuery{Cursor: after(store.SortEmail, ManyUsers-51)}),
		ManyUsers, emails(ManyUsers-50, ManyUsers, 1), true)
	check("middle page", timed("middle page, no filter", store.UserQuery{Cursor: after(store.SortEmail, ManyUsers/2-1)}),
		ManyUsers, emails(ManyUsers/2, ManyUsers/2+50, 1), false)

	// "user0999" is in the emails of the last hundred users only: the
	// worst case for a substring, read past nearly every user first.
	page := timed(`first page, Text "user0999"`, store.UserQuery{Text: "user0999"})
	check(`first page of "user0999"`, page, 100, emails(ManyUsers-100, ManyUsers-50, 1), false)
	page = timed(`last page, Text "user0999"`, store.UserQuery{Text: "user0999", Cursor: page.Next})
	check(`last page of "user0999"`, page, 100, emails(ManyUsers-50, ManyUsers, 1), true)
	check(`"Dept 07"`, timed(`first page, Text "dept 07"`, store.UserQuery{Text: "dept 07"}),
		ManyUsers/20, emails(7, 7+50*20, 20), false)
	check(`"user000042"`, timed(`one match, Text "user000042"`, store.UserQuery{Text: "user000042"}),
		1, emails(42, 43, 1), true)
	check(`group auditors`, timed(`first page, Group "auditors"`, store.UserQuery{Group: "auditors"}),
		ManyUsers/100, emails(0, 50*100, 100), false)
	check(`last page of group auditors`, timed(`last page, Group "auditors"`,
		store.UserQuery{Group: "auditors", Cursor: after(store.SortEmail, ManyUsers-101)}),
		ManyUsers/100, emails(ManyUsers-100, ManyUsers, 100), true)
	check(`Text "AUDITORS"`, timed(`first page, Text "AUDITORS" (a group)`, store.UserQuery{Text: "AUDITORS"}),
		ManyUsers/100, emails(0, 50*100, 100), false)
	check(`locked`, timed(`first page, Status locked`, store.UserQuery{Status: store.StatusLocked}),
		ManyUsers/50, emails(7, 7+50*50, 50), false)
	check(`locked, last page`, timed(`last page, Status locked`,
		store.UserQuery{Status: store.StatusLocked, Cursor: after(store.SortEmail, ManyUsers-51-1)}),
		ManyUsers/50, emails(ManyUsers-43, ManyUsers, 50), true)

	// By last sign-in: index 1 signed in last (base), then 2, then 4 and 5
	// (a tie), ...; the never-signed-in third comes last.
	page = timed("first page by last login", store.UserQuery{Sort: store.SortLastLogin})
	checkLastLoginOrder(t, "first page by last login", page.Users)
	if len(page.Users) != 50 || page.Users[0].Email != users[1].Email || page.Total != ManyUsers {
		t.Errorf("first page by last login: %d users from %q, Total %d; want 50 from %q, %d",
			len(page.Users), head(userEmails(page.Users)), page.Total, users[1].Email, ManyUsers)
	}
	page = timed("a page among the never-signed-in", store.UserQuery{Sort: store.SortLastLogin,
		Cursor: after(store.SortLastLogin, 3)})
	for _, u := range page.Users {
		if !u.LastLoginAt.IsZero() {
			t.Errorf("page after a never-signed-in user holds %s, signed in at %v", u.Email, u.LastLoginAt)
		}
	}

	// Every page by last sign-in (the key with ties and never-signed-in
	// users), at the largest page size, and every page of a group by
	// email: each user exactly once, in order. A walk by email over all
	// users would add little to the first, middle and last pages above,
	// and each page counts Total over the whole table (CI's time).
	for _, q := range []store.UserQuery{
		{Sort: store.SortLastLogin, Limit: 1000}, // capped at 500
		{Sort: store.SortEmail, Group: "auditors", Limit: 1000},
	} {
		sort, total := q.Sort, ManyUsers
		if q.Group != "" {
			total = ManyUsers / 100
		}
		start := time.Now()
		var (
			listed  []*store.User
			pages   int
			slowest time.Duration
		)
		for {
			pstart := time.Now()
			page := searchUsers(t, s, q)
			slowest = max(slowest, time.Since(pstart))
			pages++
			if len(page.Users) > store.MaxUserLimit {
				t.Fatalf("%s page %d: %d users, want at most %d", sort, pages, len(page.Users), store.MaxUserLimit)
			}
			listed = append(listed, page.Users...)
			if page.Next == "" || pages > ManyUsers {
				break
			}
			q.Cursor = page.Next
		}
		what := fmt.Sprintf("every page by %s (%d users)", sort, total)
		t.Logf("%-44s %d pages in %v, slowest page %v", what+":", pages,
			time.Since(start).Round(time.Millisecond), slowest.Round(10*time.Microsecond))
		if want := total / store.MaxUserLimit; pages != want {
			t.Errorf("%s: %d pages, want %d", what, pages, want)
		}
		got := userIDs(listed)
		noDuplicates(t, what, got)
		if len(got) != total {
			t.Errorf("%s listed %d users, want %d", what, len(got), total)
		}
		if sort == store.SortEmail {
			if want := emails(0, ManyUsers, 100); !equalStrings(userEmails(listed), want) {
				t.Errorf("%s is not every auditor in email order", what)
			}
		} else {
			checkLastLoginOrder(t, "every page by last login", listed)
		}
	}
}

// head is the start of a long list, for messages.
func head(list []string) []string { return list[:min(len(list), 3)] }
