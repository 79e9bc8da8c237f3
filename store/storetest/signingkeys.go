package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// signingKey returns a key with distinct, binary Private and Public bytes,
// active at active.
func signingKey(id string, active time.Time) *store.SigningKey {
	priv := make([]byte, 0, 64)
	for i := range 64 {
		priv = append(priv, byte(255-i*3)) // includes 0x00 and high bytes
	}
	pub := append([]byte{0x30, 0x59, 0x00, 0xff}, id...)
	return &store.SigningKey{
		ID:        id,
		Algorithm: "ES256",
		Private:   priv,
		Public:    pub,
		CreatedAt: active.Add(-time.Hour),
		ActiveAt:  active,
	}
}

// checkSigningKey compares got with want: times with sameTime, bytes exactly.
func checkSigningKey(t *testing.T, got, want *store.SigningKey) {
	t.Helper()
	if got.ID != want.ID || got.Algorithm != want.Algorithm {
		t.Errorf("key = %q/%q, want %q/%q", got.ID, got.Algorithm, want.ID, want.Algorithm)
	}
	if !bytes.Equal(got.Private, want.Private) {
		t.Errorf("key %s Private = %x, want %x", want.ID, got.Private, want.Private)
	}
	if !bytes.Equal(got.Public, want.Public) {
		t.Errorf("key %s Public = %x, want %x", want.ID, got.Public, want.Public)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "ActiveAt", got.ActiveAt, want.ActiveAt)
	sameTime(t, "RetiredAt", got.RetiredAt, want.RetiredAt)
}

func addSigningKey(t *testing.T, s store.Store, k *store.SigningKey) {
	t.Helper()
	noErr(t, "AddSigningKey "+k.ID, s.AddSigningKey(t.Context(), k))
}

func listSigningKeys(t *testing.T, s store.Store) []*store.SigningKey {
	t.Helper()
	list, err := s.ListSigningKeys(t.Context())
	noErr(t, "ListSigningKeys", err)
	return list
}

// findSigningKey returns key id from ListSigningKeys, failing if absent.
func findSigningKey(t *testing.T, s store.Store, id string) *store.SigningKey {
	t.Helper()
	for _, k := range listSigningKeys(t, s) {
		if k.ID == id {
			return k
		}
	}
	t.Fatalf("key %s not listed", id)
	return nil
}

func signingKeyIDs(list []*store.SigningKey) []string {
	return ids(list, func(k *store.SigningKey) string { return k.ID })
}

var signingKeyTests = []test{
	{"EmptyList", func(t *testing.T, s store.Store) {
		if list := listSigningKeys(t, s); len(list) != 0 {
			t.Errorf("new store lists %d keys, want none", len(list))
		}
	}},
	{"RoundTrip", func(t *testing.T, s store.Store) {
		want := signingKey("kid-2031-04-01", base)
		addSigningKey(t, s, want)
		list := listSigningKeys(t, s)
		if len(list) != 1 {
			t.Fatalf("ListSigningKeys returned %d keys, want 1", len(list))
		}
		checkSigningKey(t, list[0], want)
		if !list[0].RetiredAt.IsZero() {
			t.Errorf("RetiredAt of a new key = %v, want zero", list[0].RetiredAt)
		}
	}},
	{"RoundTripRetired", func(t *testing.T, s store.Store) {
		want := signingKey("old", base)
		want.RetiredAt = base.Add(48 * time.Hour)
		addSigningKey(t, s, want)
		checkSigningKey(t, findSigningKey(t, s, "old"), want)
	}},
	{"CallerBytesNotAliased", func(t *testing.T, s store.Store) {
		k := signingKey("k1", base)
		want := signingKey("k1", base)
		addSigningKey(t, s, k)
		k.Private[0], k.Public[0] = ^k.Private[0], ^k.Public[0]
		got := findSigningKey(t, s, "k1")
		checkSigningKey(t, got, want)
		got.Private[1] = ^got.Private[1]
		checkSigningKey(t, findSigningKey(t, s, "k1"), want)
	}},
	{"AddDuplicateID", func(t *testing.T, s store.Store) {
		orig := signingKey("k1", base)
		addSigningKey(t, s, orig)
		dup := signingKey("k1", base.Add(time.Hour))
		dup.Public = []byte("other")
		err := s.AddSigningKey(t.Context(), dup)
		wantErr(t, "AddSigningKey duplicate", err, store.ErrConflict)
		list := listSigningKeys(t, s)
		if len(list) != 1 {
			t.Fatalf("ListSigningKeys returned %d keys after a conflict, want 1", len(list))
		}
		checkSigningKey(t, list[0], orig)
	}},
	{"ListOldestActiveFirst", func(t *testing.T, s store.Store) {
		// Inserted out of order, with ids that sort against ActiveAt, so
		// neither insertion order nor id order can pass for it.
		addSigningKey(t, s, signingKey("a-next", base.Add(24*time.Hour)))
		addSigningKey(t, s, signingKey("z-oldest", base.Add(-48*time.Hour)))
		addSigningKey(t, s, signingKey("m-tie-2", base))
		addSigningKey(t, s, signingKey("b-tie-1", base))
		got := signingKeyIDs(listSigningKeys(t, s))
		want := []string{"z-oldest", "b-tie-1", "m-tie-2", "a-next"}
		if !equalStrings(got, want) {
			t.Errorf("ListSigningKeys = %q, want %q", got, want)
		}
	}},
	{"ListOrderIgnoresCreatedAt", func(t *testing.T, s store.Store) {
		// A rotated-in key made long ago but active later sorts by ActiveAt.
		early := signingKey("early-made", base.Add(time.Hour))
		early.CreatedAt = base.Add(-30 * 24 * time.Hour)
		late := signingKey("late-made", base)
		late.CreatedAt = base
		addSigningKey(t, s, early)
		addSigningKey(t, s, late)
		got := signingKeyIDs(listSigningKeys(t, s))
		if want := []string{"late-made", "early-made"}; !equalStrings(got, want) {
			t.Errorf("ListSigningKeys = %q, want %q", got, want)
		}
	}},
	{"Retire", func(t *testing.T, s store.Store) {
		k := signingKey("k1", base)
		other := signingKey("k2", base.Add(time.Hour))
		addSigningKey(t, s, k)
		addSigningKey(t, s, other)
		at := base.Add(7 * 24 * time.Hour)
		noErr(t, "RetireSigningKey", s.RetireSigningKey(t.Context(), "k1", at))
		want := *k
		want.RetiredAt = at
		checkSigningKey(t, findSigningKey(t, s, "k1"), &want)
		if got := findSigningKey(t, s, "k2").RetiredAt; !got.IsZero() {
			t.Errorf("RetireSigningKey k1 retired k2 too (RetiredAt = %v)", got)
		}
	}},
	{"RetireKeepsEarlier", func(t *testing.T, s store.Store) {
		addSigningKey(t, s, signingKey("k1", base))
		t0, t1, t2 := base.Add(time.Hour), base.Add(2*time.Hour), base.Add(3*time.Hour)
		noErr(t, "RetireSigningKey at t1", s.RetireSigningKey(t.Context(), "k1", t1))
		noErr(t, "RetireSigningKey at t2", s.RetireSigningKey(t.Context(), "k1", t2))
		sameTime(t, "RetiredAt after retiring at t1 then t2", findSigningKey(t, s, "k1").RetiredAt, t1)
		noErr(t, "RetireSigningKey at t1 again", s.RetireSigningKey(t.Context(), "k1", t1))
		sameTime(t, "RetiredAt after retiring at t1 again", findSigningKey(t, s, "k1").RetiredAt, t1)
		noErr(t, "RetireSigningKey at t0", s.RetireSigningKey(t.Context(), "k1", t0))
		sameTime(t, "RetiredAt after retiring at t0", findSigningKey(t, s, "k1").RetiredAt, t0)
	}},
	{"RetireAddedRetired", func(t *testing.T, s store.Store) {
		k := signingKey("k1", base)
		k.RetiredAt = base.Add(time.Hour)
		addSigningKey(t, s, k)
		noErr(t, "RetireSigningKey later", s.RetireSigningKey(t.Context(), "k1", base.Add(2*time.Hour)))
		sameTime(t, "RetiredAt", findSigningKey(t, s, "k1").RetiredAt, base.Add(time.Hour))
	}},
	{"RetireNotFound", func(t *testing.T, s store.Store) {
		addSigningKey(t, s, signingKey("k1", base))
		err := s.RetireSigningKey(t.Context(), "missing", base)
		wantErr(t, "RetireSigningKey missing", err, store.ErrNotFound)
		if got := signingKeyIDs(listSigningKeys(t, s)); !equalStrings(got, []string{"k1"}) {
			t.Errorf("ListSigningKeys after retiring a missing key = %q, want [k1]", got)
		}
		if got := findSigningKey(t, s, "k1").RetiredAt; !got.IsZero() {
			t.Errorf("retiring a missing key retired k1 (RetiredAt = %v)", got)
		}
	}},
	{"Delete", func(t *testing.T, s store.Store) {
		addSigningKey(t, s, signingKey("k1", base))
		addSigningKey(t, s, signingKey("k2", base.Add(time.Hour)))
		noErr(t, "DeleteSigningKey", s.DeleteSigningKey(t.Context(), "k1"))
		if got := signingKeyIDs(listSigningKeys(t, s)); !equalStrings(got, []string{"k2"}) {
			t.Errorf("ListSigningKeys after delete = %q, want [k2]", got)
		}
		noErr(t, "DeleteSigningKey again", s.DeleteSigningKey(t.Context(), "k1"))
		noErr(t, "DeleteSigningKey never existed", s.DeleteSigningKey(t.Context(), "missing"))
		err := s.RetireSigningKey(t.Context(), "k1", base)
		wantErr(t, "RetireSigningKey deleted", err, store.ErrNotFound)
		// The id is free again.
		addSigningKey(t, s, signingKey("k1", base.Add(2*time.Hour)))
		if got := signingKeyIDs(listSigningKeys(t, s)); !equalStrings(got, []string{"k2", "k1"}) {
			t.Errorf("ListSigningKeys after re-adding = %q, want [k2 k1]", got)
		}
	}},
	{"Many", func(t *testing.T, s store.Store) {
		const n = 10
		for i := range n {
			// Added newest first.
			addSigningKey(t, s, signingKey(fmt.Sprintf("k%02d", i), base.Add(time.Duration(n-i)*time.Hour)))
		}
		list := listSigningKeys(t, s)
		if len(list) != n {
			t.Fatalf("ListSigningKeys returned %d keys, want %d", len(list), n)
		}
		for i := 1; i < n; i++ {
			if list[i].ActiveAt.Before(list[i-1].ActiveAt) {
				t.Errorf("ListSigningKeys not ordered by ActiveAt: %q", signingKeyIDs(list))
				break
			}
		}
	}},
}
