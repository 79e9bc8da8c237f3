package notify

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/ssogate/ssogate/store"
)

// PhoneDir is the development transport of SMS and voice messages: each
// is written to a text file in a directory instead of being sent, and its
// code is logged, so that `make run` can show 2-step verification by SMS
// without an SMS service. Never for production: the log then holds codes
// (check-config warns when public_url is https).
type PhoneDir struct {
	ch  store.Channel
	dir string
	log *slog.Logger
}

var _ Sender = (*PhoneDir)(nil)

// NewPhoneDir returns a PhoneDir of channel ch writing to dir (created
// when missing).
func NewPhoneDir(ch store.Channel, dir string, log *slog.Logger) (*PhoneDir, error) {
	if ch != store.ChannelSMS && ch != store.ChannelVoice {
		return nil, fmt.Errorf("notify: %q is not a phone channel", ch)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("notify: %s dir: %w", ch, err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &PhoneDir{ch: ch, dir: dir, log: log}, nil
}

// Channel is the channel d delivers on.
func (d *PhoneDir) Channel() store.Channel { return d.ch }

// Send writes o to <dir>/<date>-<id>-<channel>.txt, whole or not at all,
// and logs where, with the code.
func (d *PhoneDir) Send(_ context.Context, o *Outgoing) error {
	path := filepath.Join(d.dir, o.Date.UTC().Format("20060102-150405")+"-"+safeFileName(o.ID)+"-"+string(d.ch)+".txt")
	body := "To: " + o.To + "\n\n" + o.Text
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	tmp, err := os.CreateTemp(d.dir, ".phone-*")
	if err != nil {
		return fmt.Errorf("notify: %s dir: %w", d.ch, err)
	}
	_, err = tmp.WriteString(body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("notify: %s dir: %w", d.ch, err)
	}
	// The one place a code is ever logged: this transport is for
	// development, where the person at the terminal asked for the code
	// and has no phone to receive it on.
	d.log.Info(string(d.ch)+" written to the development directory (not sent)", "path", path, "to", o.To, "code", o.Code)
	return nil
}

// safeFileName keeps the letters, digits and '-' of id.
func safeFileName(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return r
		}
		return -1
	}, id)
}
