package notify

import (
	"io"
	"log/slog"
	"testing"

	"github.com/ssogate/ssogate/internal/testpeers"
)

// TestMain releases the shared PostgreSQL server when the tests are done.
func TestMain(m *testing.M) { testpeers.Main(m) }

// slogTo is a logger writing text lines to w.
func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
