package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// twilioYAML is a notify.sms / notify.voice block reaching tw, its auth
// token in a file.
func twilioYAML(t *testing.T, key string, tw *testpeers.Twilio) string {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), key+"-token")
	if err := os.WriteFile(tokenFile, []byte(tw.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return "  " + key + ":\n    type: twilio\n    url: " + tw.URL + "\n    account_sid: " + tw.SID +
		"\n    auth_token_file: " + tokenFile + "\n    from: \"" + tw.From + "\"\n"
}

// TestServePhoneWorker: the app's worker sends the codes the second step
// enqueues by SMS and by voice through the configured Twilio account; a
// configuration reload that turns notify.sms into a webhook sends the next
// SMS there, and no log line holds a code.
func TestServePhoneWorker(t *testing.T) {
	tw := testpeers.StartTwilio(t)
	smsBlock := twilioYAML(t, "sms", tw)
	h := newHarness(t, withServices("notify:\n"+smsBlock+twilioYAML(t, "voice", tw)))
	ctx := context.Background()
	outbox := h.app.store.(store.Outbox)
	enqueue := func(ch store.Channel, lang, code string) {
		t.Helper()
		m, err := h.app.gateway.Shared().Composer().Message(ch, "+819012345678", lang, notify.TemplateSecondFactorCode, "user-1",
			notify.Data{Code: code, Expires: notify.CodeValidity(h.app.cfg.Policy.TwoFactor.CodeTTL.D(), lang)})
		if err != nil {
			t.Fatal(err)
		}
		m.CreatedAt = h.clock.Now()
		if err := outbox.EnqueueMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		h.app.mail.Kick()
	}

	enqueue(store.ChannelSMS, "ja", "725301")
	if m := tw.Next(t, 5*time.Second); m.Kind != "sms" || m.Code != "725301" || !strings.Contains(m.Body, "（5分間有効）") {
		t.Errorf("SMS %+v", m)
	}
	enqueue(store.ChannelVoice, "en", "725302")
	if m := tw.Next(t, 5*time.Second); m.Kind != "voice" || m.Code != "725302" || m.Language != "en-US" {
		t.Errorf("call %+v", m)
	}

	hook := testpeers.StartPhoneWebhook(t)
	src, err := os.ReadFile(h.configPath)
	if err != nil {
		t.Fatal(err)
	}
	reloaded := strings.Replace(string(src), smsBlock, "  sms:\n    type: webhook\n    url: "+hook.URL+"\n    token: "+hook.Token+"\n", 1)
	path := filepath.Join(t.TempDir(), "reloaded.yaml")
	if err := os.WriteFile(path, []byte(reloaded), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, reloaded)
	}
	if err := h.app.Reload(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	enqueue(store.ChannelSMS, "ja", "725303")
	if c := hook.Next(t, 5*time.Second); c.Channel != "sms" || c.Code != "725303" || c.To != "+819012345678" {
		t.Errorf("webhook after reload %+v", c)
	}
	for _, code := range []string{"725301", "725302", "725303"} {
		if strings.Contains(h.logs.String(), code) {
			t.Errorf("the log holds the code %s:\n%s", code, h.logs.String())
		}
	}
}
