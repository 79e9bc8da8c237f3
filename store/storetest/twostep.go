package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// secretBytes is a sealed secret as the store sees it: every byte value,
// 0x00 included, so a backend that stores text or stops at a NUL shows.
func secretBytes(seed byte) []byte {
	b := make([]byte, 512)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

// factor returns a TOTP factor of userID created at created.
func factor(userID string, created time.Time) *store.Factor {
	return &store.Factor{UserID: userID, Kind: store.FactorTOTP, Name: "iPhone", Secret: secretBytes(1), CreatedAt: created}
}

// passkey returns a WebAuthn factor of userID with handle.
func passkey(userID, handle string, created time.Time) *store.Factor {
	return &store.Factor{UserID: userID, Kind: store.FactorWebAuthn, Name: "YubiKey", Handle: handle,
		Secret: secretBytes(2), Counter: 5, CreatedAt: created}
}

// checkFactor compares got with want: times with sameTime, Secret exactly.
func checkFactor(t *testing.T, got, want *store.Factor) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Kind != want.Kind || got.Name != want.Name ||
		got.Handle != want.Handle || got.Target != want.Target || got.Counter != want.Counter {
		t.Errorf("factor = %+v, want %+v", *got, *want)
	}
	if !bytes.Equal(got.Secret, want.Secret) {
		t.Errorf("factor %s Secret = %x, want %x", want.ID, got.Secret, want.Secret)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "LastUsedAt", got.LastUsedAt, want.LastUsedAt)
}

func addFactor(t *testing.T, s store.Store, f *store.Factor) {
	t.Helper()
	noErr(t, "AddFactor", s.AddFactor(t.Context(), f))
}

func listFactors(t *testing.T, s store.Store, userID string) []*store.Factor {
	t.Helper()
	list, err := s.ListFactors(t.Context(), userID)
	noErr(t, "ListFactors", err)
	return list
}

// findFactor returns the user's factor id, failing when it is not listed.
func findFactor(t *testing.T, s store.Store, userID, id string) *store.Factor {
	t.Helper()
	for _, f := range listFactors(t, s, userID) {
		if f.ID == id {
			return f
		}
	}
	t.Fatalf("factor %s of user %s not listed", id, userID)
	return nil
}

func factorIDs(list []*store.Factor) []string {
	return ids(list, func(f *store.Factor) string { return f.ID })
}

// browser returns a remembered browser of userID used last at used and
// expiring at expires.
func browser(id, userID string, used, expires time.Time) *store.RememberedBrowser {
	return &store.RememberedBrowser{ID: id, UserID: userID, UserAgent: "Mozilla/5.0 " + id, ClientIP: "192.0.2.20",
		CreatedAt: used.Add(-time.Hour), LastUsedAt: used, ExpiresAt: expires}
}

func checkBrowser(t *testing.T, got, want *store.RememberedBrowser) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.UserAgent != want.UserAgent || got.ClientIP != want.ClientIP {
		t.Errorf("browser = %+v, want %+v", *got, *want)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	sameTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

func rememberBrowser(t *testing.T, s store.Store, b *store.RememberedBrowser) {
	t.Helper()
	noErr(t, "RememberBrowser "+b.ID, s.RememberBrowser(t.Context(), b))
}

func listBrowsers(t *testing.T, s store.Store, userID string, now time.Time) []*store.RememberedBrowser {
	t.Helper()
	list, err := s.ListRememberedBrowsers(t.Context(), userID, now)
	noErr(t, "ListRememberedBrowsers", err)
	return list
}

func browserIDs(list []*store.RememberedBrowser) []string {
	return ids(list, func(b *store.RememberedBrowser) string { return b.ID })
}

func codesLeft(t *testing.T, s store.Store, userID string) int {
	t.Helper()
	n, err := s.RecoveryCodesLeft(t.Context(), userID)
	noErr(t, "RecoveryCodesLeft", err)
	return n
}

// conflictLoses adapts a call whose losers get store.ErrConflict to
// onceOfMany, which counts store.ErrNotFound as losing.
func conflictLoses(err error) (*store.Ticket, error) {
	if errors.Is(err, store.ErrConflict) {
		return nil, store.ErrNotFound
	}
	return nil, err
}

var factorTests = []test{
	{"AddAssigns", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		before := time.Now()
		a, b := factor(u.ID, time.Time{}), factor(u.ID, time.Time{})
		addFactor(t, s, a)
		addFactor(t, s, b)
		after := time.Now()
		if a.ID == "" || b.ID == "" || a.ID == b.ID {
			t.Errorf("assigned ids %q and %q, want two distinct ones", a.ID, b.ID)
		}
		within(t, "assigned CreatedAt", a.CreatedAt, before, after)
		checkFactor(t, findFactor(t, s, u.ID, a.ID), a)
	}},
	{"RoundTrip", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		want := &store.Factor{ID: "f1", UserID: u.ID, Kind: store.FactorSMS, Name: "仕事用の携帯", Target: "+819012345678",
			Secret: secretBytes(3), Counter: 1 << 40, CreatedAt: base, LastUsedAt: base.Add(time.Minute)}
		addFactor(t, s, want)
		if want.ID != "f1" {
			t.Errorf("AddFactor changed the given ID to %q", want.ID)
		}
		sameTime(t, "given CreatedAt after AddFactor", want.CreatedAt, base)
		sent := bytes.Clone(want.Secret)
		want.Secret[0] = ^want.Secret[0] // the store keeps its own copy
		want.Secret = sent
		checkFactor(t, findFactor(t, s, u.ID, "f1"), want)
	}},
	{"SecretBytes", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		for i, secret := range [][]byte{secretBytes(0), {0x00}, {0xff, 0x00, 0xfe}, bytes.Repeat([]byte{0x00, 0x80}, 4096)} {
			f := passkey(u.ID, fmt.Sprintf("cred-%d", i), base)
			f.Secret = secret
			addFactor(t, s, f)
			got, err := s.FactorByHandle(t.Context(), store.FactorWebAuthn, f.Handle)
			noErr(t, "FactorByHandle", err)
			if !bytes.Equal(got.Secret, secret) {
				t.Errorf("secret %d came back as %x, want %x", i, got.Secret, secret)
			}
			if listed := findFactor(t, s, u.ID, f.ID); !bytes.Equal(listed.Secret, secret) {
				t.Errorf("secret %d listed as %x, want %x", i, listed.Secret, secret)
			}
		}
		f := factor(u.ID, base)
		f.Secret = nil
		addFactor(t, s, f)
		if got := findFactor(t, s, u.ID, f.ID).Secret; len(got) != 0 {
			t.Errorf("an empty secret came back as %x", got)
		}
	}},
	{"AddMissingUser", func(t *testing.T, s store.Store) {
		f := factor("missing", base)
		wantErr(t, "AddFactor for a missing user", s.AddFactor(t.Context(), f), store.ErrNotFound)
		if f.ID != "" {
			t.Errorf("a failed AddFactor assigned the id %q", f.ID)
		}
	}},
	{"HandleConflict", func(t *testing.T, s store.Store) {
		u, other := createUser(t, s, "a@example.com"), createUser(t, s, "b@example.com")
		addFactor(t, s, passkey(u.ID, "cred-1", base))
		for _, f := range []*store.Factor{passkey(u.ID, "cred-1", base), passkey(other.ID, "cred-1", base)} {
			wantErr(t, "AddFactor with a taken handle", s.AddFactor(t.Context(), f), store.ErrConflict)
			if f.ID != "" {
				t.Errorf("a failed AddFactor assigned the id %q", f.ID)
			}
		}
		// The same handle of another kind is another factor.
		sameHandle := factor(u.ID, base)
		sameHandle.Handle = "cred-1"
		addFactor(t, s, sameHandle)
		// Handles are compared exactly.
		addFactor(t, s, passkey(u.ID, "CRED-1", base))
		taken := factor(u.ID, base)
		taken.ID = sameHandle.ID
		wantErr(t, "AddFactor with a taken id", s.AddFactor(t.Context(), taken), store.ErrConflict)
	}},
	{"EmptyHandlesNeverConflict", func(t *testing.T, s store.Store) {
		u, other := createUser(t, s, "a@example.com"), createUser(t, s, "b@example.com")
		for _, userID := range []string{u.ID, u.ID, other.ID} {
			addFactor(t, s, factor(userID, base))
			addFactor(t, s, &store.Factor{UserID: userID, Kind: store.FactorSMS, Target: "+819012345678", Secret: []byte{1}})
		}
		if n := len(listFactors(t, s, u.ID)); n != 4 {
			t.Errorf("%d factors listed, want 4", n)
		}
	}},
	{"ListOrderAndIsolation", func(t *testing.T, s store.Store) {
		u, other := createUser(t, s, "a@example.com"), createUser(t, s, "b@example.com")
		for _, f := range []*store.Factor{
			{ID: "c", UserID: u.ID, Kind: store.FactorTOTP, CreatedAt: base.Add(2 * time.Minute)},
			{ID: "b", UserID: u.ID, Kind: store.FactorTOTP, CreatedAt: base},
			{ID: "d", UserID: other.ID, Kind: store.FactorTOTP, CreatedAt: base.Add(-time.Minute)},
			{ID: "e", UserID: u.ID, Kind: store.FactorSMS, CreatedAt: base.Add(time.Minute)},
			{ID: "a", UserID: u.ID, Kind: store.FactorTOTP, CreatedAt: base.Add(time.Minute)},
		} {
			addFactor(t, s, f)
		}
		if got := factorIDs(listFactors(t, s, u.ID)); !equalStrings(got, []string{"b", "a", "e", "c"}) {
			t.Errorf("ListFactors = %q, want [b a e c] (oldest first, ties by id)", got)
		}
		if got := factorIDs(listFactors(t, s, other.ID)); !equalStrings(got, []string{"d"}) {
			t.Errorf("ListFactors of the other user = %q, want [d]", got)
		}
		if got := listFactors(t, s, "missing"); len(got) != 0 {
			t.Errorf("ListFactors of a missing user = %q, want none", factorIDs(got))
		}
	}},
	{"ByHandle", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		want := passkey(u.ID, "Y3JlZC0x", base)
		addFactor(t, s, want)
		addFactor(t, s, passkey(u.ID, "Y3JlZC0y", base))
		addFactor(t, s, factor(u.ID, base)) // no handle
		got, err := s.FactorByHandle(t.Context(), store.FactorWebAuthn, "Y3JlZC0x")
		noErr(t, "FactorByHandle", err)
		checkFactor(t, got, want)
		for _, tc := range []struct{ kind, handle string }{
			{store.FactorTOTP, "Y3JlZC0x"},
			{store.FactorWebAuthn, "y3jlzc0x"},
			{store.FactorWebAuthn, "missing"},
			{store.FactorTOTP, ""},
			{store.FactorWebAuthn, ""},
		} {
			_, err := s.FactorByHandle(t.Context(), tc.kind, tc.handle)
			wantErr(t, fmt.Sprintf("FactorByHandle(%q, %q)", tc.kind, tc.handle), err, store.ErrNotFound)
		}
	}},
	{"UseCounter", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		f := factor(u.ID, base)
		f.Counter = 10
		addFactor(t, s, f)
		used := base.Add(time.Minute)
		noErr(t, "UseFactor 11", s.UseFactor(ctx, f.ID, 11, used))
		f.Counter, f.LastUsedAt = 11, used
		checkFactor(t, findFactor(t, s, u.ID, f.ID), f)
		for _, c := range []int64{11, 10, 0, -1} {
			wantErr(t, fmt.Sprintf("UseFactor %d after 11", c), s.UseFactor(ctx, f.ID, c, base.Add(time.Hour)), store.ErrConflict)
		}
		checkFactor(t, findFactor(t, s, u.ID, f.ID), f) // refused uses changed nothing
		noErr(t, "UseFactor 12", s.UseFactor(ctx, f.ID, 12, base.Add(2*time.Minute)))
		wantErr(t, "UseFactor of a missing factor", s.UseFactor(ctx, "missing", 1, used), store.ErrNotFound)
	}},
	{"UseZeroCounter", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		f := passkey(u.ID, "cred-1", base)
		f.Counter = 0
		addFactor(t, s, f)
		// An authenticator that keeps no count always signs 0.
		for i := range 3 {
			at := base.Add(time.Duration(i+1) * time.Minute)
			noErr(t, "UseFactor 0/0", s.UseFactor(ctx, f.ID, 0, at))
			f.LastUsedAt = at
			checkFactor(t, findFactor(t, s, u.ID, f.ID), f)
		}
		// Once it counts, 0 is a step back.
		noErr(t, "UseFactor 3", s.UseFactor(ctx, f.ID, 3, base.Add(time.Hour)))
		wantErr(t, "UseFactor 0 after 3", s.UseFactor(ctx, f.ID, 0, base.Add(2*time.Hour)), store.ErrConflict)
	}},
	{"UseOnce", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		f := factor(u.ID, base)
		addFactor(t, s, f)
		for round := range 5 {
			step := int64(59_000_000 + round)
			const n = 10
			wins := onceOfMany(t, n, nil, func(int) (*store.Ticket, error) {
				return conflictLoses(s.UseFactor(t.Context(), f.ID, step, base.Add(time.Duration(round)*time.Minute)))
			})
			if wins != 1 {
				t.Errorf("round %d: %d of %d concurrent UseFactor calls with one counter succeeded, want exactly 1", round, wins, n)
			}
			if got := findFactor(t, s, u.ID, f.ID).Counter; got != step {
				t.Errorf("round %d: Counter = %d, want %d", round, got, step)
			}
		}
	}},
	{"RenameOwnerOnly", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u, other := createUser(t, s, "a@example.com"), createUser(t, s, "b@example.com")
		f := factor(u.ID, base)
		addFactor(t, s, f)
		noErr(t, "RenameFactor", s.RenameFactor(ctx, u.ID, f.ID, "Pixel"))
		wantErr(t, "RenameFactor by another user", s.RenameFactor(ctx, other.ID, f.ID, "stolen"), store.ErrNotFound)
		wantErr(t, "RenameFactor of a missing factor", s.RenameFactor(ctx, u.ID, "missing", "x"), store.ErrNotFound)
		f.Name = "Pixel"
		checkFactor(t, findFactor(t, s, u.ID, f.ID), f)
		noErr(t, "RenameFactor to empty", s.RenameFactor(ctx, u.ID, f.ID, ""))
		if got := findFactor(t, s, u.ID, f.ID).Name; got != "" {
			t.Errorf("Name = %q after renaming to empty", got)
		}
	}},
	{"DeleteOwnerOnly", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u, other := createUser(t, s, "a@example.com"), createUser(t, s, "b@example.com")
		f, keep := passkey(u.ID, "cred-1", base), factor(u.ID, base)
		addFactor(t, s, f)
		addFactor(t, s, keep)
		wantErr(t, "DeleteFactor by another user", s.DeleteFactor(ctx, other.ID, f.ID), store.ErrNotFound)
		findFactor(t, s, u.ID, f.ID)
		noErr(t, "DeleteFactor", s.DeleteFactor(ctx, u.ID, f.ID))
		wantErr(t, "DeleteFactor again", s.DeleteFactor(ctx, u.ID, f.ID), store.ErrNotFound)
		if got := factorIDs(listFactors(t, s, u.ID)); !equalStrings(got, []string{keep.ID}) {
			t.Errorf("factors after the delete = %q, want [%s]", got, keep.ID)
		}
		_, err := s.FactorByHandle(ctx, store.FactorWebAuthn, "cred-1")
		wantErr(t, "FactorByHandle of a deleted factor", err, store.ErrNotFound)
		wantErr(t, "UseFactor of a deleted factor", s.UseFactor(ctx, f.ID, 9, base), store.ErrNotFound)
		// Its handle is free again.
		addFactor(t, s, passkey(other.ID, "cred-1", base))
	}},
}

var recoveryCodeTests = []test{
	{"SetReplaces", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u, other := createUser(t, s, "a@example.com"), createUser(t, s, "b@example.com")
		noErr(t, "SetRecoveryCodes", s.SetRecoveryCodes(ctx, u.ID, []string{"h1", "h2", "h3"}))
		noErr(t, "SetRecoveryCodes other", s.SetRecoveryCodes(ctx, other.ID, []string{"h1", "h9"}))
		if n := codesLeft(t, s, u.ID); n != 3 {
			t.Errorf("RecoveryCodesLeft = %d, want 3", n)
		}
		noErr(t, "SetRecoveryCodes again", s.SetRecoveryCodes(ctx, u.ID, []string{"h4", "h5"}))
		if n := codesLeft(t, s, u.ID); n != 2 {
			t.Errorf("RecoveryCodesLeft after replacing = %d, want 2", n)
		}
		wantErr(t, "UseRecoveryCode of a replaced code", s.UseRecoveryCode(ctx, u.ID, "h1"), store.ErrNotFound)
		if n := codesLeft(t, s, other.ID); n != 2 {
			t.Errorf("the other user's codes = %d after replacing the first's, want 2", n)
		}
		noErr(t, "SetRecoveryCodes empty", s.SetRecoveryCodes(ctx, u.ID, nil))
		if n := codesLeft(t, s, u.ID); n != 0 {
			t.Errorf("RecoveryCodesLeft after removing them = %d, want 0", n)
		}
		noErr(t, "SetRecoveryCodes empty again", s.SetRecoveryCodes(ctx, u.ID, []string{}))
		noErr(t, "SetRecoveryCodes empty for a missing user", s.SetRecoveryCodes(ctx, "missing", nil))
		if n := codesLeft(t, s, "missing"); n != 0 {
			t.Errorf("RecoveryCodesLeft of a missing user = %d, want 0", n)
		}
	}},
	{"SetMissingUser", func(t *testing.T, s store.Store) {
		wantErr(t, "SetRecoveryCodes for a missing user",
			s.SetRecoveryCodes(t.Context(), "missing", []string{"h1"}), store.ErrNotFound)
	}},
	{"SetDuplicates", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		noErr(t, "SetRecoveryCodes", s.SetRecoveryCodes(t.Context(), u.ID, []string{"h1", "h2", "h1"}))
		if n := codesLeft(t, s, u.ID); n != 2 {
			t.Errorf("RecoveryCodesLeft after a hash given twice = %d, want 2", n)
		}
	}},
	{"UseOnce", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u, other := createUser(t, s, "a@example.com"), createUser(t, s, "b@example.com")
		noErr(t, "SetRecoveryCodes", s.SetRecoveryCodes(ctx, u.ID, []string{"h1", "h2"}))
		wantErr(t, "UseRecoveryCode by another user", s.UseRecoveryCode(ctx, other.ID, "h1"), store.ErrNotFound)
		wantErr(t, "UseRecoveryCode of an unknown hash", s.UseRecoveryCode(ctx, u.ID, "h3"), store.ErrNotFound)
		wantErr(t, "UseRecoveryCode of another case", s.UseRecoveryCode(ctx, u.ID, "H1"), store.ErrNotFound)
		noErr(t, "UseRecoveryCode", s.UseRecoveryCode(ctx, u.ID, "h1"))
		wantErr(t, "UseRecoveryCode again", s.UseRecoveryCode(ctx, u.ID, "h1"), store.ErrNotFound)
		if n := codesLeft(t, s, u.ID); n != 1 {
			t.Errorf("RecoveryCodesLeft after one use = %d, want 1", n)
		}
	}},
	{"UseOnceConcurrently", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		hashes := []string{"h0", "h1", "h2", "h3", "h4"}
		noErr(t, "SetRecoveryCodes", s.SetRecoveryCodes(t.Context(), u.ID, hashes))
		for _, h := range hashes {
			const n = 10
			wins := onceOfMany(t, n, nil, func(int) (*store.Ticket, error) {
				return nil, s.UseRecoveryCode(t.Context(), u.ID, h)
			})
			if wins != 1 {
				t.Errorf("%s: %d of %d concurrent UseRecoveryCode calls succeeded, want exactly 1", h, wins, n)
			}
		}
		if n := codesLeft(t, s, u.ID); n != 0 {
			t.Errorf("RecoveryCodesLeft after using them all = %d, want 0", n)
		}
	}},
}

var browserTests = []test{
	{"RoundTrip", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		want := browser("b1", u.ID, base, base.Add(30*24*time.Hour))
		rememberBrowser(t, s, want)
		list := listBrowsers(t, s, u.ID, base)
		if len(list) != 1 {
			t.Fatalf("%d browsers listed, want 1", len(list))
		}
		checkBrowser(t, list[0], want)
		wantErr(t, "RememberBrowser with a taken id", s.RememberBrowser(t.Context(), browser("b1", u.ID, base, base.Add(time.Hour))), store.ErrConflict)
		wantErr(t, "RememberBrowser for a missing user", s.RememberBrowser(t.Context(), browser("b2", "missing", base, base.Add(time.Hour))), store.ErrNotFound)
	}},
	{"UseSlides", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		const slide = 30 * 24 * time.Hour
		b := browser("b1", u.ID, base, base.Add(slide))
		rememberBrowser(t, s, b)
		at := base.Add(10 * 24 * time.Hour)
		noErr(t, "UseRememberedBrowser", s.UseRememberedBrowser(ctx, "b1", u.ID, at, slide))
		b.LastUsedAt, b.ExpiresAt = at, at.Add(slide)
		// Past the first expiry, the slid one still holds.
		list := listBrowsers(t, s, u.ID, base.Add(slide+time.Hour))
		if len(list) != 1 {
			t.Fatalf("%d browsers listed past the first expiry, want the slid one", len(list))
		}
		checkBrowser(t, list[0], b)
		noErr(t, "UseRememberedBrowser just before expiry", s.UseRememberedBrowser(ctx, "b1", u.ID, b.ExpiresAt.Add(-time.Millisecond), slide))
	}},
	{"UseOtherUser", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u, other := createUser(t, s, "a@example.com"), createUser(t, s, "b@example.com")
		b := browser("b1", u.ID, base, base.Add(time.Hour))
		rememberBrowser(t, s, b)
		wantErr(t, "UseRememberedBrowser for another user", s.UseRememberedBrowser(ctx, "b1", other.ID, base, time.Hour), store.ErrNotFound)
		// Expired: another user's use deletes nothing either.
		wantErr(t, "UseRememberedBrowser for another user, expired", s.UseRememberedBrowser(ctx, "b1", other.ID, base.Add(2*time.Hour), time.Hour), store.ErrNotFound)
		list := listBrowsers(t, s, u.ID, base)
		if len(list) != 1 {
			t.Fatalf("%d browsers of the owner after another user's uses, want 1", len(list))
		}
		checkBrowser(t, list[0], b)
		wantErr(t, "UseRememberedBrowser of a missing id", s.UseRememberedBrowser(ctx, "missing", u.ID, base, time.Hour), store.ErrNotFound)
	}},
	{"UseExpired", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		b := browser("b1", u.ID, base, base.Add(time.Hour))
		rememberBrowser(t, s, b)
		rememberBrowser(t, s, browser("b2", u.ID, base, base.Add(time.Hour)))
		// At its expiry it has expired, and the failed use deletes it.
		wantErr(t, "UseRememberedBrowser at expiry", s.UseRememberedBrowser(ctx, "b1", u.ID, b.ExpiresAt, time.Hour), store.ErrNotFound)
		if got := browserIDs(listBrowsers(t, s, u.ID, base)); !equalStrings(got, []string{"b2"}) {
			t.Errorf("browsers after an expired use = %q, want [b2] (the expired one deleted)", got)
		}
		wantErr(t, "UseRememberedBrowser earlier after the delete", s.UseRememberedBrowser(ctx, "b1", u.ID, base, time.Hour), store.ErrNotFound)
	}},
	{"ListExcludesExpiredByLastUse", func(t *testing.T, s store.Store) {
		u, other := createUser(t, s, "a@example.com"), createUser(t, s, "b@example.com")
		now := base.Add(time.Hour)
		for _, b := range []*store.RememberedBrowser{
			browser("old", u.ID, base.Add(-2*time.Hour), now.Add(time.Hour)),
			browser("recent", u.ID, base.Add(30*time.Minute), now.Add(time.Hour)),
			browser("middle", u.ID, base, now.Add(time.Minute)),
			browser("ends-now", u.ID, base.Add(40*time.Minute), now),
			browser("ended", u.ID, base.Add(50*time.Minute), now.Add(-time.Millisecond)),
			browser("never", u.ID, base.Add(50*time.Minute), time.Time{}),
			browser("others", other.ID, base.Add(45*time.Minute), now.Add(time.Hour)),
		} {
			rememberBrowser(t, s, b)
		}
		if got := browserIDs(listBrowsers(t, s, u.ID, now)); !equalStrings(got, []string{"recent", "middle", "old"}) {
			t.Errorf("ListRememberedBrowsers = %q, want [recent middle old]", got)
		}
		if got := browserIDs(listBrowsers(t, s, other.ID, now)); !equalStrings(got, []string{"others"}) {
			t.Errorf("ListRememberedBrowsers of the other user = %q, want [others]", got)
		}
	}},
	{"Forget", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u, other := createUser(t, s, "a@example.com"), createUser(t, s, "b@example.com")
		rememberBrowser(t, s, browser("b1", u.ID, base, base.Add(time.Hour)))
		rememberBrowser(t, s, browser("b2", u.ID, base, base.Add(time.Hour)))
		wantErr(t, "ForgetBrowser by another user", s.ForgetBrowser(ctx, other.ID, "b1"), store.ErrNotFound)
		noErr(t, "ForgetBrowser", s.ForgetBrowser(ctx, u.ID, "b1"))
		wantErr(t, "ForgetBrowser again", s.ForgetBrowser(ctx, u.ID, "b1"), store.ErrNotFound)
		if got := browserIDs(listBrowsers(t, s, u.ID, base)); !equalStrings(got, []string{"b2"}) {
			t.Errorf("browsers after forgetting b1 = %q, want [b2]", got)
		}
		wantErr(t, "UseRememberedBrowser of a forgotten browser", s.UseRememberedBrowser(ctx, "b1", u.ID, base, time.Hour), store.ErrNotFound)
	}},
	{"DeleteExpired", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u, other := createUser(t, s, "a@example.com"), createUser(t, s, "b@example.com")
		now := base.Add(time.Hour)
		for _, b := range []*store.RememberedBrowser{
			browser("ended", u.ID, base, now.Add(-time.Minute)),
			browser("ends-now", other.ID, base, now),
			browser("never", u.ID, base, time.Time{}),
			browser("live", u.ID, base, now.Add(time.Millisecond)),
			browser("others-live", other.ID, base, now.Add(time.Hour)),
		} {
			rememberBrowser(t, s, b)
		}
		n, err := s.DeleteExpiredBrowsers(ctx, now)
		noErr(t, "DeleteExpiredBrowsers", err)
		if n != 3 {
			t.Errorf("DeleteExpiredBrowsers = %d, want 3", n)
		}
		if n, err := s.DeleteExpiredBrowsers(ctx, now); err != nil || n != 0 {
			t.Errorf("DeleteExpiredBrowsers again = %d, %v; want 0", n, err)
		}
		// The live ones are left, even seen from before the others ended.
		if got := browserIDs(listBrowsers(t, s, u.ID, base)); !equalStrings(got, []string{"live"}) {
			t.Errorf("browsers left = %q, want [live]", got)
		}
		if got := browserIDs(listBrowsers(t, s, other.ID, base)); !equalStrings(got, []string{"others-live"}) {
			t.Errorf("other user's browsers left = %q, want [others-live]", got)
		}
	}},
}

var twoStepTests = []test{
	{"Reset", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u, other := createUser(t, s, "a@example.com"), createUser(t, s, "b@example.com")
		for _, userID := range []string{u.ID, other.ID} {
			addFactor(t, s, factor(userID, base))
			addFactor(t, s, passkey(userID, "cred-"+userID, base))
			noErr(t, "SetRecoveryCodes", s.SetRecoveryCodes(ctx, userID, []string{"h1", "h2"}))
			rememberBrowser(t, s, browser("b-"+userID, userID, base, base.Add(time.Hour)))
		}
		noErr(t, "ResetTwoStep", s.ResetTwoStep(ctx, u.ID))
		if f, c, b := len(listFactors(t, s, u.ID)), codesLeft(t, s, u.ID), len(listBrowsers(t, s, u.ID, base)); f+c+b != 0 {
			t.Errorf("after the reset: %d factors, %d codes, %d browsers; want none", f, c, b)
		}
		_, err := s.FactorByHandle(ctx, store.FactorWebAuthn, "cred-"+u.ID)
		wantErr(t, "FactorByHandle after the reset", err, store.ErrNotFound)
		if f, c, b := len(listFactors(t, s, other.ID)), codesLeft(t, s, other.ID), len(listBrowsers(t, s, other.ID, base)); f != 2 || c != 2 || b != 1 {
			t.Errorf("the other user after the reset: %d factors, %d codes, %d browsers; want 2, 2, 1", f, c, b)
		}
		noErr(t, "ResetTwoStep again", s.ResetTwoStep(ctx, u.ID))
		noErr(t, "ResetTwoStep of a missing user", s.ResetTwoStep(ctx, "missing"))
	}},
	{"PeekTicket", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		want := ticket("t1", store.PurposeSignInPending, base)
		createTicket(t, s, want)
		for range 2 {
			got, err := s.PeekTicket(ctx, store.PurposeSignInPending, "t1", base.Add(time.Minute))
			noErr(t, "PeekTicket", err)
			checkTicket(t, got, want)
		}
		for _, tc := range []struct {
			what, purpose, id string
			now               time.Time
		}{
			{"with another purpose", "reset", "t1", base},
			{"of a missing ticket", store.PurposeSignInPending, "missing", base},
			{"at expiry", store.PurposeSignInPending, "t1", want.ExpiresAt},
			{"after expiry", store.PurposeSignInPending, "t1", want.ExpiresAt.Add(time.Hour)},
		} {
			_, err := s.PeekTicket(ctx, tc.purpose, tc.id, tc.now)
			wantErr(t, "PeekTicket "+tc.what, err, store.ErrNotFound)
		}
		// Peeking, even at expiry, consumed and deleted nothing.
		checkTicket(t, consumeTicket(t, s, store.PurposeSignInPending, "t1", base.Add(time.Minute)), want)
		_, err := s.PeekTicket(ctx, store.PurposeSignInPending, "t1", base)
		wantErr(t, "PeekTicket of a consumed ticket", err, store.ErrNotFound)
	}},
	{"CancelledContext", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		f := factor(u.ID, base)
		addFactor(t, s, f)
		noErr(t, "SetRecoveryCodes", s.SetRecoveryCodes(t.Context(), u.ID, []string{"h1"}))
		rememberBrowser(t, s, browser("b1", u.ID, base, base.Add(time.Hour)))
		createTicket(t, s, ticket("t1", store.PurposeSignInPending, base))

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"PeekTicket", func() error { _, err := s.PeekTicket(ctx, store.PurposeSignInPending, "t1", base); return err }},
			{"AddFactor", func() error { return s.AddFactor(ctx, factor(u.ID, base)) }},
			{"ListFactors", func() error { _, err := s.ListFactors(ctx, u.ID); return err }},
			{"FactorByHandle", func() error { _, err := s.FactorByHandle(ctx, store.FactorWebAuthn, "x"); return err }},
			{"UseFactor", func() error { return s.UseFactor(ctx, f.ID, 1, base) }},
			{"RenameFactor", func() error { return s.RenameFactor(ctx, u.ID, f.ID, "x") }},
			{"DeleteFactor", func() error { return s.DeleteFactor(ctx, u.ID, f.ID) }},
			{"SetRecoveryCodes", func() error { return s.SetRecoveryCodes(ctx, u.ID, []string{"h2"}) }},
			{"UseRecoveryCode", func() error { return s.UseRecoveryCode(ctx, u.ID, "h1") }},
			{"RecoveryCodesLeft", func() error { _, err := s.RecoveryCodesLeft(ctx, u.ID); return err }},
			{"RememberBrowser", func() error { return s.RememberBrowser(ctx, browser("b2", u.ID, base, base.Add(time.Hour))) }},
			{"UseRememberedBrowser", func() error { return s.UseRememberedBrowser(ctx, "b1", u.ID, base, time.Hour) }},
			{"ListRememberedBrowsers", func() error { _, err := s.ListRememberedBrowsers(ctx, u.ID, base); return err }},
			{"ForgetBrowser", func() error { return s.ForgetBrowser(ctx, u.ID, "b1") }},
			{"DeleteExpiredBrowsers", func() error { _, err := s.DeleteExpiredBrowsers(ctx, base.Add(24*time.Hour)); return err }},
			{"ResetTwoStep", func() error { return s.ResetTwoStep(ctx, u.ID) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, tc.name, tc.call(), context.Canceled)
			})
		}

		// Nothing the cancelled calls attempted happened.
		checkFactor(t, findFactor(t, s, u.ID, f.ID), f)
		if n := len(listFactors(t, s, u.ID)); n != 1 {
			t.Errorf("%d factors after cancelled calls, want 1", n)
		}
		if n := codesLeft(t, s, u.ID); n != 1 {
			t.Errorf("%d recovery codes after cancelled calls, want 1", n)
		}
		if got := browserIDs(listBrowsers(t, s, u.ID, base)); !equalStrings(got, []string{"b1"}) {
			t.Errorf("browsers after cancelled calls = %q, want [b1]", got)
		}
	}},
}

// RunTwoStepGoesWithUser checks what deleting a user does to 2-step
// verification: the user's factors, recovery codes and remembered
// browsers go with them (a factor's handle is free again), another
// user's stay. The Store interface deletes no user; deleteUser does it
// in the backend's database, as an operator would. open returns a new,
// empty store.
func RunTwoStepGoesWithUser(t *testing.T, open func(t *testing.T) store.Store, deleteUser func(t *testing.T, s store.Store, id string)) {
	s := open(t)
	ctx := t.Context()
	u, other := createUser(t, s, "a@example.com"), createUser(t, s, "b@example.com")
	for _, userID := range []string{u.ID, other.ID} {
		addFactor(t, s, factor(userID, base))
		addFactor(t, s, passkey(userID, "cred-"+userID, base))
		noErr(t, "SetRecoveryCodes", s.SetRecoveryCodes(ctx, userID, []string{"h1", "h2"}))
		rememberBrowser(t, s, browser("b-"+userID, userID, base, base.Add(time.Hour)))
	}
	deleteUser(t, s, u.ID)
	if f, c, b := len(listFactors(t, s, u.ID)), codesLeft(t, s, u.ID), len(listBrowsers(t, s, u.ID, base)); f+c+b != 0 {
		t.Errorf("after deleting the user: %d factors, %d codes, %d browsers; want none", f, c, b)
	}
	n, err := s.DeleteExpiredBrowsers(ctx, base.Add(2*time.Hour))
	noErr(t, "DeleteExpiredBrowsers", err)
	if n != 1 {
		t.Errorf("DeleteExpiredBrowsers found %d browsers, want only the other user's", n)
	}
	_, err = s.FactorByHandle(ctx, store.FactorWebAuthn, "cred-"+u.ID)
	wantErr(t, "FactorByHandle of a deleted user's passkey", err, store.ErrNotFound)
	if f, c := len(listFactors(t, s, other.ID)), codesLeft(t, s, other.ID); f != 2 || c != 2 {
		t.Errorf("the other user: %d factors, %d codes; want 2, 2", f, c)
	}
	addFactor(t, s, passkey(other.ID, "cred-"+u.ID, base))
}
