package main

import (
	"context"
	"errors"
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

// smsConfig writes a configuration whose notify.sms and notify.voice
// reach tw with authToken.
func smsConfig(t *testing.T, tw *testpeers.Twilio, authToken string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "twilio-token"), []byte(authToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ssogate.yaml")
	phone := "    type: twilio\n    url: " + tw.URL + "\n    account_sid: " + tw.SID + "\n    auth_token_file: twilio-token\n    from: \"" + tw.From + "\"\n"
	if err := os.WriteFile(path, []byte(`store:
  dsn: ./ssogate.db
portal:
  title: {ja: サンプル社 ポータル, en: Sample Co. Portal}
services:
  - id: wiki
    name: Wiki
    url: https://wiki.example.co.jp/
notify:
  sms:
`+phone+`  voice:
`+phone), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCLISMSTest: `ssogate sms test` sends the code's SMS (a number in
// the Japanese form made E.164) and, with --voice, places the call at
// once, printing the text and Twilio's answer; a wrong auth token says
// Twilio's error and never prints the token; a number that cannot exist
// and an unset channel are refused before any request.
func TestCLISMSTest(t *testing.T) {
	tw := testpeers.StartTwilio(t)
	path := smsConfig(t, tw, tw.Token)
	out, errOut, err := runCLI(t, "", "sms", "test", "--to", "090-1234-5678", "--config", path)
	if err != nil {
		t.Fatalf("sms test: %v\n%s%s", err, out, errOut)
	}
	t.Logf("ssogate sms test:\n%s", out)
	for _, want := range []string{"channel:    sms (twilio)", "endpoint:   " + tw.URL + "/2010-04-01/Accounts/" + tw.SID + "/Messages.json",
		"to:         +819012345678", "text:       【サンプル社 ポータル】確認コード: 123456（5分間有効）", "result:     accepted: HTTP 201, id SM"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if m := tw.Next(t, 5*time.Second); m.Kind != "sms" || m.To != "+819012345678" || m.Code != "123456" {
		t.Errorf("Twilio got %+v", m)
	}

	out, errOut, err = runCLI(t, "", "sms", "test", "--voice", "--lang", "en", "--to", "+1 415 555 2671", "--config", path)
	if err != nil || !strings.Contains(out, "result:     accepted: HTTP 201, id CA") || !strings.Contains(out, "script:     This is Sample Co. Portal.") {
		t.Errorf("sms test --voice: %v\n%s%s", err, out, errOut)
	}
	if m := tw.Next(t, 5*time.Second); m.Kind != "voice" || m.To != "+14155552671" || m.Language != "en-US" || m.CodeTimes != 2 {
		t.Errorf("Twilio got %+v", m)
	}

	out, errOut, err = runCLI(t, "", "sms", "test", "--to", "090-1234-5678", "--config", smsConfig(t, tw, "wrong-token-1"))
	var code exitCode
	if !errors.As(err, &code) || code != 1 || !strings.Contains(out, "result:     failed: notify: twilio sms: HTTP 401, Twilio error 20003: Authenticate") ||
		!strings.Contains(out, "permanent refusal") || strings.Contains(out+errOut, "wrong-token-1") {
		t.Errorf("wrong token: %v\n%s%s", err, out, errOut)
	}

	out, errOut, err = runCLI(t, "", "sms", "test", "--to", "090-1234-567", "--config", path)
	if !errors.As(err, &code) || code != 2 || !strings.Contains(errOut, "no such number exists") {
		t.Errorf("impossible number: %v\n%s%s", err, out, errOut)
	}
	if n := len(tw.Messages()); n != 2 {
		t.Errorf("%d messages reached Twilio, want 2", n)
	}

	for args, usage := range map[string]string{"sms --help": "usage: ssogate sms COMMAND", "sms test --help": "usage: ssogate sms test --to NUMBER [--voice]"} {
		if out, errOut, err := runCLI(t, "", strings.Fields(args)...); err != nil || !strings.HasPrefix(out, usage) {
			t.Errorf("ssogate %s: %v\n%s%s", args, err, out, errOut)
		}
	}
	noVoice := filepath.Join(filepath.Dir(path), "no-voice.yaml")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noVoice, []byte(string(src)[:strings.Index(string(src), "  voice:\n")]), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = runCLI(t, "", "sms", "test", "--voice", "--to", "090-1234-5678", "--config", noVoice)
	if !errors.As(err, &code) || code != 1 || !strings.Contains(errOut, "notify.voice is not set") {
		t.Errorf("no notify.voice: %v\n%s%s", err, out, errOut)
	}
}

// TestServePhoneDir: with notify.sms and notify.voice of type dir (what
// `make run` uses) the worker writes each code to a file there instead of
// sending it.
func TestServePhoneDir(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, withServices("notify:\n  sms:\n    type: dir\n    dir: "+dir+"\n  voice:\n    type: dir\n    dir: "+dir+"\n"))
	ctx := context.Background()
	for _, ch := range []store.Channel{store.ChannelSMS, store.ChannelVoice} {
		m, err := h.app.gateway.Shared().Composer().Message(ch, "+819012345678", "ja", notify.TemplateSecondFactorCode, "user-1",
			notify.Data{Code: "480213", Expires: notify.CodeValidity(h.app.cfg.Policy.TwoFactor.CodeTTL.D(), "ja")})
		if err != nil {
			t.Fatal(err)
		}
		m.CreatedAt = h.clock.Now()
		if err := h.app.store.EnqueueMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	h.app.mail.Kick()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sms, _ := filepath.Glob(filepath.Join(dir, "*-sms.txt"))
		voice, _ := filepath.Glob(filepath.Join(dir, "*-voice.txt"))
		if len(sms) == 1 && len(voice) == 1 {
			b, _ := os.ReadFile(sms[0])
			if !strings.Contains(string(b), "480213") || !strings.HasPrefix(string(b), "To: +819012345678\n") {
				t.Fatalf("SMS file = %q", b)
			}
			if b, _ := os.ReadFile(voice[0]); !strings.Contains(string(b), "4、8、0、2、1、3") {
				t.Fatalf("voice file = %q, want the digits spelt out", b)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("files after 5s: sms %v, voice %v", sms, voice)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
