// Package storetest is the conformance suite that every store.Store backend
// passes: each contract sentence in package store is a test here, and a
// backend is done when Run is green against it.
//
// Where the interface leaves a choice open, the suite fixes one so that all
// backends behave alike:
//
//   - Empty lists (User.Groups, User.LoginMethods, Session.AMR) come back
//     nil, whether they were stored as nil or as an empty slice.
//   - CreateUser and UpdateUser store the email lower-cased; mixed-case
//     lookups find it.
//   - RecordLogin, UpdateUser and TouchSession return store.ErrNotFound for
//     a missing user or session; SetPasswordHash and CreateSession do too
//     when the user does not exist.
//   - CreateUser with an id that exists returns store.ErrConflict.
//   - AppendAudit assigns Time (now) when it is zero; ListAudit orders by
//     Time, newest first, and Since is inclusive.
//   - DeleteExpiredSessions removes exactly the sessions for which
//     Session.Expired(now) holds.
//   - Times come back in UTC and equal what was stored, truncated to the
//     millisecond; the zero time comes back zero.
//   - ListSigningKeys orders by ActiveAt, oldest first, ties by ID;
//     Private and Public come back byte for byte.
//   - LinkIdentity stores the link as given; ListUserIdentities orders by
//     CreatedAt, oldest first. Subjects are compared exactly (not
//     case-insensitively).
//   - A ticket has expired when now is at or after ExpiresAt; a zero
//     ExpiresAt counts as expired. CreateTicket judges the existing
//     ticket at t.CreatedAt (the backend's clock when that is zero).
//     ConsumeTicket with the wrong purpose leaves the ticket alone.
//   - An empty Ticket.Data comes back nil, an empty UserID empty.
//   - A cancelled context makes every method fail with an error that
//     wraps context.Canceled.
//   - Apply sets the values it assigns (the user's UpdatedAt and stored
//     Email, message ids and times, audit ids and times) in the Batch
//     only when it succeeds. DropTickets without purposes drops nothing;
//     EndSessions without Keep ends every session of the user.
//   - CountFailure for a user that does not exist returns
//     store.ErrNotFound; failure counts go with their user.
//   - A hit window [first hit, first hit + window) has ended at its end:
//     a Hit at that instant starts a new one, HitCount then answers 0,
//     and DeleteExpiredHits(end) removes it.
//   - ClaimMessages takes a lease that ends at now+lease as free from
//     that instant on. MessageSent and MessageFailed succeed for the
//     owner of the last claim as long as no other owner has claimed the
//     message since, even after the lease ran out: nobody else can have
//     sent it. A sent or given-up message is never claimed, sent or
//     failed again (ErrNotFound).
//   - ListMessages orders by CreatedAt, newest first, ties by ID; a
//     Limit of 0 means 100. An empty Message.Data comes back nil.
//   - AddFactor assigns ID and CreatedAt only when it succeeds; a taken
//     ID is store.ErrConflict. ListFactors orders by CreatedAt, oldest
//     first, ties by ID. Handles are compared exactly, and an empty
//     handle finds no factor. An empty Factor.Secret comes back empty.
//   - SetRecoveryCodes stores a hash given twice once, and returns
//     store.ErrNotFound for a missing user unless hashes is empty.
//   - A remembered browser has expired when now is at or after
//     ExpiresAt; a zero ExpiresAt counts as expired. ListRememberedBrowsers
//     orders ties of LastUsedAt by ID. UseRememberedBrowser with another
//     user's id neither slides nor deletes that user's record.
//   - SearchUsers' Text matches a whole group name case-insensitively
//     (ASCII case on SQLite) and treats LIKE's wildcards as plain
//     characters; Group matches exactly. Ties of SortLastLogin come in
//     any order, but each user once across pages. A Cursor that is not
//     one the same Sort handed out is store.ErrBadCursor.
//   - Settings orders by key. ListTickets orders ties of CreatedAt by ID.
//   - AddDevice assigns CreatedAt (now) and LastUsedAt (CreatedAt) when
//     zero, only when it succeeds; ListDevices orders ties by ID.
//   - AuditFilter's Until is exclusive, as is Before.
//   - CreateOAuthToken and AddSessionClient assign CreatedAt (now) when
//     zero, and return store.ErrNotFound for a user that does not exist;
//     an empty OAuthToken.Data or SessionClient.Data comes back nil.
//   - A refresh token has expired when now is at or after ExpiresAt, as
//     has a token for DeleteExpiredOAuthTokens and a session client for
//     DeleteExpiredSessionClients. An empty FamilyID is no family: a
//     reused refresh token without one revokes only itself.
//   - ListSessionClients orders ties of CreatedAt by Protocol, then
//     ClientID. Session clients and tokens outlive their session (the
//     sign-out reads them after deleting it) and go with their user.
//
// RunManyUsers checks SearchUsers on 100,000 users, seeded in bulk by a
// hook of the backend's test, and logs how long the pages take.
//
// RunUnavailable is the second half, for a backend whose test can fill its
// disk: Ping and every write then fail with store.ErrUnavailable and change
// nothing, reads go on, and freeing the space brings writes back.
package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// Run runs the conformance suite. open must return a new, empty store for
// each call and arrange (with t.Cleanup) for it to be closed and removed.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Users", userTests},
		{"Passwords", passwordTests},
		{"Sessions", sessionTests},
		{"Audit", auditTests},
		{"Secret", secretTests},
		{"SigningKeys", signingKeyTests},
		{"Identities", identityTests},
		{"Tickets", ticketTests},
		{"Misc", miscTests},
		{"Accounts", accountTests},
		{"Failures", failureTests},
		{"Hits", hitTests},
		{"Outbox", outboxTests},
		{"Factors", factorTests},
		{"RecoveryCodes", recoveryCodeTests},
		{"RememberedBrowsers", browserTests},
		{"TwoStep", twoStepTests},
		{"Admin", adminTests},
		{"Federation", federationTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, open(t))
				})
			}
		})
	}
}

type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// jst is a non-UTC zone, so the suite notices a backend that returns times
// in the zone they were given in.
var jst = time.FixedZone("JST", 9*60*60)

// base is a fixed instant with sub-millisecond digits.
var base = time.Date(2031, 4, 1, 9, 30, 15, 123456789, jst)

// sameTime checks that got is what a store returns for want: UTC, equal to
// the millisecond, and zero for zero.
func sameTime(t *testing.T, field string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Errorf("%s = %v, want the zero time", field, got)
		}
		return
	}
	if got.Location() != time.UTC {
		t.Errorf("%s = %v, want a UTC time", field, got)
	}
	if !got.Truncate(time.Millisecond).Equal(want.Truncate(time.Millisecond)) {
		t.Errorf("%s = %v, want %v", field, got, want.UTC())
	}
}

// within checks that got is a UTC time in [from, to] at millisecond precision.
func within(t *testing.T, field string, got, from, to time.Time) {
	t.Helper()
	if got.Location() != time.UTC {
		t.Errorf("%s = %v, want a UTC time", field, got)
	}
	from, to = from.Truncate(time.Millisecond), to.Add(time.Millisecond)
	if got.Before(from) || got.After(to) {
		t.Errorf("%s = %v, want between %v and %v", field, got, from.UTC(), to.UTC())
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func createUser(t *testing.T, s store.Store, email string) *store.User {
	t.Helper()
	u := &store.User{Email: email, Role: store.RoleUser, Status: store.StatusActive}
	noErr(t, "CreateUser "+email, s.CreateUser(t.Context(), u))
	return u
}

func getUser(t *testing.T, s store.Store, id string) *store.User {
	t.Helper()
	u, err := s.GetUser(t.Context(), id)
	noErr(t, "GetUser", err)
	return u
}

// session returns a valid session of userID created at created, with the
// usual 30-minute idle and 12-hour absolute expiry.
func session(id, userID string, created time.Time) *store.Session {
	return &store.Session{
		ID:                id,
		UserID:            userID,
		AMR:               []string{"pwd"},
		AuthTime:          created,
		ClientIP:          "192.0.2.10",
		UserAgent:         "Mozilla/5.0",
		CreatedAt:         created,
		LastSeenAt:        created,
		IdleExpiresAt:     created.Add(30 * time.Minute),
		AbsoluteExpiresAt: created.Add(12 * time.Hour),
	}
}

func ids[T any](list []*T, id func(*T) string) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = id(x)
	}
	return out
}

func sessionIDs(list []*store.Session) []string {
	return ids(list, func(s *store.Session) string { return s.ID })
}

func auditDetails(list []*store.AuditEvent) []string {
	return ids(list, func(e *store.AuditEvent) string { return e.Detail })
}
