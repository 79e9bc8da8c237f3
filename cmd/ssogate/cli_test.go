package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/providers/local"
	"github.com/ssogate/ssogate/store"
)

// runCLI runs one ssogate invocation in-process.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb strings.Builder
	err = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

func TestCLIUserLifecycle(t *testing.T) {
	h := newHarness(t)
	cfg := []string{"--config", h.configPath}
	ctx := context.Background()

	out, errOut, err := runCLI(t, "Sakura-Passw0rd!\n", append(cfg, "user", "add", "--email", "Taro@Example.co.jp",
		"--name", "山田 太郎", "--groups", "staff, admins", "--department", "情報システム部", "--password-stdin")...)
	if err != nil || !strings.Contains(out, "added user taro@example.co.jp") {
		t.Fatalf("user add: %v %q %q", err, out, errOut)
	}
	u, err := h.app.store.GetUserByEmail(ctx, "taro@example.co.jp")
	if err != nil {
		t.Fatal(err)
	}
	if u.DisplayName != "山田 太郎" || strings.Join(u.Groups, ",") != "staff,admins" || u.Status != store.StatusActive || u.Department != "情報システム部" {
		t.Fatalf("stored user = %+v", u)
	}
	hash, _ := h.app.store.PasswordHash(ctx, u.ID)
	if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, "Sakura-Passw0rd!") {
		t.Fatalf("password not stored as an argon2id hash: %q", hash)
	}
	if ok, _ := local.Verify(hash, "Sakura-Passw0rd!"); !ok {
		t.Fatal("stored hash does not verify")
	}

	// The new user can sign in through the running gateway.
	b := h.browser()
	expectRedirect(t, b.login("taro@example.co.jp", "Sakura-Passw0rd!", ""), "/")

	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string // in stderr or the error
	}{
		{"duplicate", "Sakura-Passw0rd!\n", []string{"user", "add", "--email", "taro@example.co.jp", "--name", "x", "--password-stdin"}, "already exists"},
		{"weak password", "password\n", []string{"user", "add", "--email", "weak@example.co.jp", "--name", "x", "--password-stdin"}, "password rejected"},
		{"password contains email", "Weakling-2026\n", []string{"user", "add", "--email", "weakling@example.co.jp", "--name", "x", "--password-stdin"}, "password rejected"},
		{"no password on stdin", "", []string{"user", "add", "--email", "nopw@example.co.jp", "--name", "x", "--password-stdin"}, "no password"},
		{"bad email", "", []string{"user", "add", "--email", "not-an-email", "--name", "x"}, "--email"},
		{"missing name", "", []string{"user", "add", "--email", "a@example.co.jp"}, "--name"},
		{"bad role", "", []string{"user", "add", "--email", "a@example.co.jp", "--name", "x", "--role", "root"}, "--role"},
		{"unknown user", "", []string{"user", "disable", "--email", "ghost@example.co.jp"}, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, err := runCLI(t, tt.stdin, append(cfg, tt.args...)...)
			if err == nil {
				t.Fatal("succeeded")
			}
			if !strings.Contains(err.Error()+errOut, tt.want) {
				t.Fatalf("error %q / %q lacks %q", err, errOut, tt.want)
			}
		})
	}
	for _, e := range []string{"weak@example.co.jp", "weakling@example.co.jp", "nopw@example.co.jp", "a@example.co.jp"} {
		if _, err := h.app.store.GetUserByEmail(ctx, e); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a refused add created %s", e)
		}
	}

	// --if-not-exists makes `make run` idempotent.
	out, _, err = runCLI(t, "Sakura-Passw0rd!\n", append(cfg, "user", "add", "--email", "taro@example.co.jp", "--name", "x", "--password-stdin", "--if-not-exists")...)
	if err != nil || !strings.Contains(out, "unchanged") {
		t.Fatalf("--if-not-exists: %v %q", err, out)
	}

	out, _, err = runCLI(t, "", append(cfg, "user", "list")...)
	if err != nil || !strings.Contains(out, "taro@example.co.jp") || !strings.Contains(out, "山田 太郎") || !strings.Contains(out, "staff,admins") {
		t.Fatalf("user list: %v\n%s", err, out)
	}

	// set-password ends sessions; the old password stops working.
	out, _, err = runCLI(t, "Hanako-Passw0rd!\n", append(cfg, "user", "set-password", "--email", "taro@example.co.jp")...)
	if err != nil || !strings.Contains(out, "1 sessions ended") {
		t.Fatalf("set-password: %v %q", err, out)
	}
	h.clock.Advance(h.app.cfg.Session.CacheTTL.D())
	expectRedirect(t, b.get("/"), "/login?return_to=%2F")
	expectStatus(t, b.login("taro@example.co.jp", "Sakura-Passw0rd!", ""), 401)
	expectRedirect(t, b.login("taro@example.co.jp", "Hanako-Passw0rd!", ""), "/")

	// disable / enable.
	if _, _, err := runCLI(t, "", append(cfg, "user", "disable", "--email", "taro@example.co.jp")...); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, h.browser().login("taro@example.co.jp", "Hanako-Passw0rd!", ""), 403)
	if _, _, err := runCLI(t, "", append(cfg, "user", "enable", "--email", "taro@example.co.jp")...); err != nil {
		t.Fatal(err)
	}
	expectRedirect(t, h.browser().login("taro@example.co.jp", "Hanako-Passw0rd!", ""), "/")

	// Every administrative change is audited.
	events, _ := h.app.store.ListAudit(ctx, store.AuditFilter{UserID: u.ID})
	var actions []string
	for _, e := range events {
		if strings.HasPrefix(e.Actor, "cli") {
			actions = append(actions, e.Action)
		}
	}
	if got := strings.Join(actions, ","); got != "user_active,user_disabled,password_set,user_add" {
		t.Fatalf("cli audit = %s", got)
	}
}

func TestCLICheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("server:\n  listen: 127.0.0.1:18080\nstore:\n  dsn: ./x.db\nservices:\n  - id: wiki\n    name: Wiki\n    url: https://wiki.example.co.jp/\n"), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("server:\n  listen: 127.0.0.1:18080\n  lisen: x\nservices:\n  - id: wiki\n    name: Wiki\n    url: ftp://x\n"), 0o600)

	out, _, err := runCLI(t, "", "--config", good, "check-config")
	if err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("good config: %v %q", err, out)
	}
	_, errOut, err := runCLI(t, "", "--config", bad, "check-config")
	var code exitCode
	if !errors.As(err, &code) || code == 0 {
		t.Fatalf("bad config: err = %v, want a non-zero exit", err)
	}
	for _, want := range []string{"bad.yaml:3: server.lisen", "bad.yaml:7: services[0].url"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, errOut)
		}
	}
	// SSOGATE_CONFIG is used when --config is absent; the flag may follow the command.
	t.Setenv("SSOGATE_CONFIG", bad)
	if _, _, err := runCLI(t, "", "check-config"); err == nil {
		t.Fatal("SSOGATE_CONFIG was not used")
	}
	if _, _, err := runCLI(t, "", "check-config", "--config", good); err != nil {
		t.Fatalf("--config after the command: %v", err)
	}
	if _, _, err := runCLI(t, "", "--config", filepath.Join(dir, "missing.yaml"), "check-config"); err == nil {
		t.Fatal("a missing file passed")
	}
	// A file that configures nothing (empty, as when caught mid-save, or
	// without providers and services) is refused.
	for name, src := range map[string]string{"empty.yaml": "", "comments.yaml": "# later\n", "nothing.yaml": "server:\n  listen: 127.0.0.1:18080\n"} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(src), 0o600)
		_, errOut, err := runCLI(t, "", "--config", path, "check-config")
		if !errors.As(err, &code) || code != 1 || !strings.Contains(errOut, path+": ") {
			t.Errorf("%s: err = %v, stderr %q; want exit 1 with the file named", name, err, errOut)
		}
	}
}

func TestCLIMigrateVersionUsage(t *testing.T) {
	h := newHarness(t)
	out, _, err := runCLI(t, "", "--config", h.configPath, "migrate")
	v, verr := h.app.store.(interface {
		SchemaVersion(context.Context) (int, error)
	}).SchemaVersion(context.Background())
	if err != nil || verr != nil || v < 3 || !strings.Contains(out, fmt.Sprintf("schema version %d", v)) {
		t.Fatalf("migrate: %v %q (store at version %d, %v)", err, out, v, verr)
	}
	if out, _, err := runCLI(t, "", "version"); err != nil || !strings.HasPrefix(out, "ssogate ") {
		t.Fatalf("version: %v %q", err, out)
	}
	if _, _, err := runCLI(t, "", "frobnicate"); err == nil {
		t.Fatal("unknown command succeeded")
	}
	if _, _, err := runCLI(t, ""); err == nil {
		t.Fatal("no command succeeded")
	}
}

// TestIconNamesMatchPortal keeps the icons the configuration accepts (and
// lists in its errors) the icons the portal can draw.
func TestIconNamesMatchPortal(t *testing.T) {
	if got, want := strings.Join(config.IconNames, ","), strings.Join(portal.Icons(), ","); got != want {
		t.Fatalf("config.IconNames = %s\nportal.Icons() = %s", got, want)
	}
}

// TestCLIHelp runs every command with --help (stdout, exit 0, the usage
// naming that command) and with a flag it does not have (stderr, exit 2).
func TestCLIHelp(t *testing.T) {
	tests := []struct {
		args  []string
		usage string // the usage line's start
	}{
		{nil, "usage: ssogate [--config FILE] COMMAND"},
		{[]string{"serve"}, "usage: ssogate serve"},
		{[]string{"check-config"}, "usage: ssogate check-config"},
		{[]string{"migrate"}, "usage: ssogate migrate"},
		{[]string{"version"}, "usage: ssogate version"},
		{[]string{"user"}, "usage: ssogate user COMMAND"},
		{[]string{"user", "add"}, "usage: ssogate user add --email E --name N"},
		{[]string{"user", "list"}, "usage: ssogate user list"},
		{[]string{"user", "set-password"}, "usage: ssogate user set-password --email E"},
		{[]string{"user", "disable"}, "usage: ssogate user disable --email E"},
		{[]string{"user", "enable"}, "usage: ssogate user enable --email E"},
		{[]string{"user", "set-methods"}, "usage: ssogate user set-methods --email E --methods"},
		{[]string{"user", "links"}, "usage: ssogate user links --email E"},
		{[]string{"user", "unlink"}, "usage: ssogate user unlink --email E --provider ID"},
		{[]string{"keys"}, "usage: ssogate keys COMMAND"},
		{[]string{"keys", "list"}, "usage: ssogate keys list"},
		{[]string{"keys", "rotate"}, "usage: ssogate keys rotate"},
	}
	// No configuration file exists: asking for help must not need one.
	t.Setenv("SSOGATE_CONFIG", filepath.Join(t.TempDir(), "missing.yaml"))
	for _, tt := range tests {
		name := strings.Join(append([]string{"ssogate"}, tt.args...), " ")
		for _, help := range []string{"--help", "-h"} {
			t.Run(name+" "+help, func(t *testing.T) {
				out, errOut, err := runCLI(t, "", append(append([]string{}, tt.args...), help)...)
				if err != nil || errOut != "" {
					t.Fatalf("err = %v, stderr %q; want exit 0 and nothing on stderr", err, errOut)
				}
				if !strings.HasPrefix(out, tt.usage+" ") && !strings.HasPrefix(out, tt.usage+"\n") {
					t.Fatalf("stdout does not start with %q:\n%s", tt.usage, out)
				}
			})
		}
		t.Run(name+" --bogus", func(t *testing.T) {
			out, errOut, err := runCLI(t, "", append(append([]string{}, tt.args...), "--bogus")...)
			var code exitCode
			if !errors.As(err, &code) || code != 2 {
				t.Fatalf("err = %v, want exit 2", err)
			}
			if out != "" || !strings.Contains(errOut, tt.usage) || !strings.Contains(errOut, "bogus") {
				t.Fatalf("stdout %q, stderr %q; want the problem and the usage on stderr only", out, errOut)
			}
		})
	}
	// help as a command word, as git and go accept it.
	for _, args := range [][]string{{"help"}, {"user", "help"}, {"keys", "help"}} {
		if out, _, err := runCLI(t, "", args...); err != nil || !strings.HasPrefix(out, "usage: ssogate ") {
			t.Errorf("ssogate %s: err = %v, stdout %q", strings.Join(args, " "), err, out)
		}
	}
}

// TestCLIUserListAligns lists ASCII, Japanese (two columns a character),
// half-width katakana and full-width Latin names: every column starts at
// the same terminal column on every row, and the last login is in the
// portal's zone (Asia/Tokyo by default), named in the header.
func TestCLIUserListAligns(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	users := []struct{ email, name, groups string }{
		{"alice@example.co.jp", "Alice Smith", "staff"},
		{"taro@example.co.jp", "山田 太郎", "staff,経理"},
		{"kana@example.co.jp", "ﾔﾏﾀﾞ ﾊﾅｺ", "-"},
		{"full@example.co.jp", "ＦＵＬＬ幅", "admins"},
		{"z@example.co.jp", "長い名前の社員さん", "staff"},
	}
	for _, u := range users {
		var groups []string
		if u.groups != "-" {
			groups = strings.Split(u.groups, ",")
		}
		su := h.addUser(u.email, u.name, alicePW, groups...)
		if u.email == "taro@example.co.jp" {
			if err := h.app.store.RecordLogin(ctx, su.ID, time.Date(2026, 11, 21, 23, 30, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
		}
	}
	out, _, err := runCLI(t, "", "--config", h.configPath, "user", "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	header := []string{"EMAIL", "NAME", "GROUPS", "ROLE", "STATUS", "LAST LOGIN (Asia/Tokyo)"}
	// columnOf is where, counted in terminal columns, cell starts in line
	// (at or after byte from); East Asian Wide and Fullwidth runes take two.
	columnOf := func(line, cell string, from int) (col, end int) {
		i := strings.Index(line[from:], cell)
		if i < 0 {
			t.Fatalf("%q not in %q", cell, line)
		}
		for _, r := range line[:from+i] {
			col++
			if r >= 0x1100 && !(r >= 0xff61 && r <= 0xff9f) { // CJK and full-width forms, not half-width katakana
				col++
			}
		}
		return col, from + i + len(cell)
	}
	var want []int
	from := 0
	for _, cell := range header {
		col, end := columnOf(lines[0], cell, from)
		want, from = append(want, col), end
	}
	if len(lines) != len(users)+1 {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(users)+1, out)
	}
	seen := 0
	for _, line := range lines[1:] {
		for _, u := range users {
			if !strings.HasPrefix(line, u.email+" ") {
				continue
			}
			seen++
			last := "-"
			if u.email == "taro@example.co.jp" {
				last = "2026-11-22 08:30:00" // 23:30 UTC is 08:30 the next day in Tokyo
			}
			from := 0
			for i, cell := range []string{u.email, u.name, u.groups, "user", "active", last} {
				col, end := columnOf(line, cell, from)
				if col != want[i] {
					t.Errorf("column %s of %s starts at %d, want %d:\n%s", header[i], u.email, col, want[i], out)
				}
				from = end
			}
		}
	}
	if seen != len(users) {
		t.Fatalf("%d of %d users listed:\n%s", seen, len(users), out)
	}
}

// TestCLICheckConfigWarnsPathPrefixService: a service on the portal's own
// origin is valid but can act in the portal through its XSS; check-config
// says so with file and line and still exits 0.
func TestCLICheckConfigWarnsPathPrefixService(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ssogate.yaml")
	os.WriteFile(path, []byte(`server:
  listen: 127.0.0.1:18080
services:
  - id: wiki
    name: Wiki
    url: http://wiki.example.co.jp/
  - id: tools
    name: ツール
    url: http://127.0.0.1:18080/tools/
    upstream: http://127.0.0.1:9001
notify:
  mail: {dir: ./mail, from: no-reply@example.co.jp}
`), 0o600)
	out, errOut, err := runCLI(t, "", "--config", path, "check-config")
	if err != nil || !strings.Contains(out, "ok (1 providers, 2 services)") {
		t.Fatalf("check-config: err = %v, stdout %q; want exit 0 and ok", err, out)
	}
	want := path + ":9: services[1].url: warning: shares the portal's origin http://127.0.0.1:18080: "
	if !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("stderr = %q\nwant one warning starting %q", errOut, want)
	}
}
