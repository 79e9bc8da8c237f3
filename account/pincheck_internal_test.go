package account

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/sqlite"
)

// TestUnmatchedCheckNeverPasses: a check whose details did not match
// holds a PIN like any other (so that its steps cost the same), which is
// never sent; even that PIN, were it guessed, does not pass. The same
// steps with matching details pass with the PIN.
func TestUnmatchedCheckNeverPasses(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ssogate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	aead, err := notify.Sealer([]byte("test master secret, 32 bytes ok"))
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Store: st, Compose: notify.NewComposer(aead), PendingKey: bytes.Repeat([]byte{7}, 32),
		IdentityCheck: IdentityCheckPolicy{PINTTL: 15 * time.Minute, MaxTries: 5}})
	u := &store.User{Email: "alice@example.co.jp", Mobile: "090-1234-5678", Role: store.RoleUser, Status: store.StatusActive}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	o := Origin{ClientIP: "198.51.100.7", Lang: "ja"}
	for _, c := range []struct {
		phone string
		want  error
	}{{"080-1234-5678", ErrWrongCode}, {"09012345678", nil}} {
		token, err := s.StartIdentityCheck(ctx, ShortID(u.ID), c.phone, o)
		if err != nil {
			t.Fatal(err)
		}
		if token, err = s.SendPIN(ctx, token, PINChannelMail, o); err != nil {
			t.Fatal(err)
		}
		l, err := s.loadCheck(ctx, token)
		if err != nil || len(l.st.PIN) != pinDigits {
			t.Fatalf("state %+v, %v", l, err)
		}
		if _, err := s.VerifyPIN(ctx, token, l.st.PIN, o); !errors.Is(err, c.want) {
			t.Fatalf("phone %s: the check's own PIN gave %v, want %v", c.phone, err, c.want)
		}
	}
}
