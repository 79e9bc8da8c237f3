package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/ssogate/ssogate/store/storetest"
)

// TestShared runs the several-processes half of the suite on two stores
// opened on one file, as two gateway processes on one host would.
func TestShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) storetest.Shared {
		path := filepath.Join(t.TempDir(), "ssogate.db")
		a, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { a.Close() })
		b, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { b.Close() })
		return storetest.Shared{A: a, B: b}
	})
}
