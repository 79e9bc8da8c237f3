package notify

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// TestPhoneDir: the development transport writes the rendered text to a
// file of its channel and logs where, with the code, since the developer
// has no phone to receive it on.
func TestPhoneDir(t *testing.T) {
	for _, ch := range []store.Channel{store.ChannelSMS, store.ChannelVoice} {
		t.Run(string(ch), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "phone")
			var log bytes.Buffer
			d, err := NewPhoneDir(ch, dir, slog.New(slog.NewTextHandler(&log, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if d.Channel() != ch {
				t.Fatalf("Channel = %s, want %s", d.Channel(), ch)
			}
			o := &Outgoing{ID: "m1/../x", To: "+819012345678", Date: time.Date(2026, 12, 6, 1, 2, 3, 0, time.UTC),
				Content: Content{Text: "確認コード: 123456", Code: "123456"}}
			if err := d.Send(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			if len(files) != 1 || filepath.Base(files[0]) != "20261206-010203-m1x-"+string(ch)+".txt" {
				t.Fatalf("files = %v, want one 20261206-010203-m1x-%s.txt", files, ch)
			}
			b, _ := os.ReadFile(files[0])
			if string(b) != "To: +819012345678\n\n確認コード: 123456\n" {
				t.Fatalf("file = %q", b)
			}
			if !strings.Contains(log.String(), "code=123456") || !strings.Contains(log.String(), files[0]) {
				t.Fatalf("log = %q, want the path and the code", log.String())
			}
		})
	}
	if _, err := NewPhoneDir(store.ChannelMail, t.TempDir(), nil); err == nil {
		t.Fatal("NewPhoneDir(mail) succeeded")
	}
}
