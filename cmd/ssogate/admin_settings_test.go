package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store"
)

// settingChange posts one organisation setting from b's settings page.
func settingChange(b *browser, key, value string, confirm bool) *page {
	b.h.t.Helper()
	expectStatus(b.h.t, b.get("/admin/settings"), http.StatusOK)
	form := url.Values{"key": {key}, "value": {value}}
	if confirm {
		form.Set("confirm", "1")
	}
	return b.post("/admin/settings", form)
}

// settingAudits are the admin_setting_change events of outcome.
func (h *harness) settingAudits(outcome store.Outcome) []*store.AuditEvent {
	h.t.Helper()
	evs, err := h.app.store.ListAudit(context.Background(), store.AuditFilter{Action: "admin_setting_change", Outcome: outcome})
	if err != nil {
		h.t.Fatal(err)
	}
	return evs
}

func TestAdminSettingsTwoStepRequired(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	admin := h.browser()
	adminUser := h.signInAdmin(admin, "admin@example.co.jp")
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")

	// The YAML's default: not required, a password sign-in goes straight in.
	expectRedirect(t, h.browser().login("alice@example.co.jp", alicePW, ""), "/")
	p := admin.get("/admin/settings")
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, "設定ファイルの既定値") || !strings.Contains(p.body, "上記の説明を確認しました") {
		t.Fatalf("settings page lacks the source or the confirmation:\n%s", snippet(p.body))
	}

	// Without the confirmation: refused, nothing stored, still not required.
	p = settingChange(admin, store.SettingTwoFactorRequired, "true", false)
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "チェックを入れてください") {
		t.Fatalf("no reason given:\n%s", snippet(p.body))
	}
	if ss, _ := h.app.store.Settings(ctx); len(ss) != 0 {
		t.Fatalf("stored without the confirmation: %+v", ss)
	}
	if h.app.gateway.OrgSettings().TwoFactorRequired {
		t.Fatal("required without the confirmation")
	}
	expectRedirect(t, h.browser().login("alice@example.co.jp", alicePW, ""), "/")
	if evs := h.settingAudits(store.OutcomeFailure); len(evs) != 1 || evs[0].UserID != adminUser.ID || !strings.Contains(evs[0].Detail, "not_confirmed") {
		t.Fatalf("refusal audit = %+v", evs)
	}

	// Confirmed: stored, named, and the next password sign-in enrols first.
	expectRedirect(t, settingChange(admin, store.SettingTwoFactorRequired, "true", true), "/admin/settings?saved=two_factor.required")
	ss, _ := h.app.store.Settings(ctx)
	if len(ss) != 1 || ss[0].Key != store.SettingTwoFactorRequired || ss[0].Value != "true" || ss[0].UpdatedBy != adminUser.ID {
		t.Fatalf("stored = %+v", ss)
	}
	expectRedirect(t, h.browser().login("alice@example.co.jp", alicePW, ""), "/login/2fa/setup")
	p = admin.get("/admin/settings?saved=two_factor.required")
	if !strings.Contains(p.body, "管理コンソールで admin@example.co.jp が変更") || !strings.Contains(p.body, "id=\"settings-saved\"") {
		t.Fatalf("page does not name who set it:\n%s", snippet(p.body))
	}
	if evs := h.settingAudits(store.OutcomeSuccess); len(evs) != 1 || evs[0].Actor != "admin@example.co.jp" ||
		evs[0].Detail != "two_factor.required=true was=false" {
		t.Fatalf("change audit = %+v", evs)
	}

	// A configuration reload keeps the stored value over the YAML's default.
	if err := h.app.reloadFromFile(ctx, h.configPath); err != nil {
		t.Fatal(err)
	}
	expectRedirect(t, h.browser().login("alice@example.co.jp", alicePW, ""), "/login/2fa/setup")

	// check-config says where the value comes from.
	out, _, err := runCLI(t, "", "--config", h.configPath, "check-config")
	if err != nil || !strings.Contains(out, "two_factor.required: true (set in the admin console by admin@example.co.jp at 2026-11-21 18:00 JST)") ||
		!strings.Contains(out, "access_route: line_and_internet (YAML default)") {
		t.Fatalf("check-config: %v\n%s", err, out)
	}

	// Off again, confirmed: sign-ins go straight in.
	expectRedirect(t, settingChange(admin, store.SettingTwoFactorRequired, "false", true), "/admin/settings?saved=two_factor.required")
	expectRedirect(t, h.browser().login("alice@example.co.jp", alicePW, ""), "/")
}

func TestAdminSettingsLineOnlyGuard(t *testing.T) {
	h := newHarness(t, lineConfig("", true))
	ctx := context.Background()
	admin := h.browser().from("198.51.100.1")
	h.signInAdmin(admin, "admin@example.co.jp")

	// From an address on no line: refused, nothing stored, still served.
	p := settingChange(admin, store.SettingAccessRoute, "line_only", false)
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "登録回線ではないため") {
		t.Fatalf("no reason given:\n%s", snippet(p.body))
	}
	if ss, _ := h.app.store.Settings(ctx); len(ss) != 0 {
		t.Fatalf("stored off the line: %+v", ss)
	}
	expectStatus(t, h.browser().from("198.51.100.9").get("/login"), http.StatusOK)

	// From the office line: accepted; outside is refused from then on.
	admin.from("203.0.113.20")
	if p := admin.get("/admin/settings"); !strings.Contains(p.body, "登録回線「本社回線」です") {
		t.Fatalf("page does not say the admin is on the line:\n%s", snippet(p.body))
	}
	expectRedirect(t, settingChange(admin, store.SettingAccessRoute, "line_only", false), "/admin/settings?saved=access_route")
	if !h.app.gateway.OrgSettings().LineOnly() {
		t.Fatal("line_only not in effect")
	}
	expectStatus(t, h.browser().from("198.51.100.9").get("/login"), http.StatusForbidden)
	expectStatus(t, admin.get("/admin/settings"), http.StatusOK)

	// Back to lines and the internet.
	expectRedirect(t, settingChange(admin, store.SettingAccessRoute, "line_and_internet", false), "/admin/settings?saved=access_route")
	expectStatus(t, h.browser().from("198.51.100.9").get("/login"), http.StatusOK)

	// A value that is not offered is refused.
	expectStatus(t, settingChange(admin, store.SettingAccessRoute, "anything", false), http.StatusBadRequest)
}

func TestAdminSettingsLineOnlyNeedsALine(t *testing.T) {
	h := newHarness(t)
	admin := h.browser()
	h.signInAdmin(admin, "admin@example.co.jp")
	p := settingChange(admin, store.SettingAccessRoute, "line_only", false)
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.body, "回線が1つも登録されていないため") {
		t.Fatalf("no reason given:\n%s", snippet(p.body))
	}
	if ss, _ := h.app.store.Settings(context.Background()); len(ss) != 0 {
		t.Fatalf("stored: %+v", ss)
	}

	// line_only stored while a line existed, the line since removed from
	// the file: the stored value is not applied (nobody could reach
	// anything), and the page says so.
	if err := h.app.store.SetSetting(context.Background(), &store.Setting{Key: store.SettingAccessRoute, Value: "line_only"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return strings.Contains(admin.get("/admin/settings").body, "保存されている値「line_only」")
	})
	if h.app.gateway.OrgSettings().LineOnly() {
		t.Fatal("line_only applied without a line")
	}
	expectStatus(t, h.browser().get("/login"), http.StatusOK)
}

func TestAdminSettingsDeviceApproval(t *testing.T) {
	h := newHarness(t)
	admin := h.browser()
	h.signInAdmin(admin, "admin@example.co.jp")
	if h.app.gateway.OrgSettings().DeviceApproval {
		t.Fatal("device approval on by default")
	}
	expectRedirect(t, settingChange(admin, store.SettingDeviceApproval, "true", false), "/admin/settings?saved=device_approval")
	if !h.app.gateway.OrgSettings().DeviceApproval {
		t.Fatal("device approval not on after the change")
	}
	admin.lang = "en"
	if p := admin.get("/admin/settings"); !strings.Contains(p.body, "Changed in the console by admin@example.co.jp") {
		t.Fatalf("English page lacks the source:\n%s", snippet(p.body))
	}
	expectRedirect(t, settingChange(admin, store.SettingDeviceApproval, "false", false), "/admin/settings?saved=device_approval")
	if h.app.gateway.OrgSettings().DeviceApproval {
		t.Fatal("device approval still on")
	}
}

// TestOrgSettingsFromAnotherProcess: a setting written by another
// process sharing the SQLite file reaches this one through the change
// feed.
func TestOrgSettingsFromAnotherProcess(t *testing.T) {
	h := newHarness(t)
	other, err := openStore(context.Background(), h.app.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.SetSetting(context.Background(), &store.Setting{Key: store.SettingDeviceApproval, Value: "true", UpdatedBy: "x"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return h.app.gateway.OrgSettings().DeviceApproval })
	// The feed is live by now: the next change comes as its notice
	// (within the 10 s wait, well before the sweeper's 30 s tick).
	if err := other.SetSetting(context.Background(), &store.Setting{Key: store.SettingDeviceApproval, Value: "false", UpdatedBy: "x"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !h.app.gateway.OrgSettings().DeviceApproval })
}

// TestOrgSettingsAcrossPostgresReplicas: two `ssogate serve` processes on
// one PostgreSQL database; 2-step verification made required through
// the first applies to the next sign-in on the second (the change
// feed's settings notice); check-config, reading the database, names
// the administrator who set it.
func TestOrgSettingsAcrossPostgresReplicas(t *testing.T) {
	pg := testpeers.Postgres(t)
	dsn := pg.Database(t)
	up := newUpstream(t)
	a1, a2 := freeLoopbackAddr(t), freeLoopbackAddr(t)
	rs := newReplicaSet(t, dsn, "http://"+a1, "1m", up.URL, "")
	rs.start(a1)
	n2 := rs.start(a2)
	rs.waitReady()
	rs.cli(replicaPW+"\n", "user", "add", "--email", "admin@example.co.jp", "--name", "管理者", "--role", "admin", "--password-stdin")
	rs.cli(replicaPW+"\n", "user", "add", "--email", replicaEmail, "--name", "Taro", "--groups", "staff", "--password-stdin")

	// on2 is a new browser on the second replica.
	on2 := func() *browser {
		b := rs.browser()
		b.h = &harness{t: t, url: n2.url}
		return b
	}
	expectRedirect(t, on2().login(replicaEmail, replicaPW, ""), "/")

	admin := rs.browser()
	expectRedirect(t, admin.login("admin@example.co.jp", replicaPW, ""), "/")
	expectStatus(t, admin.get("/admin/settings"), http.StatusOK)
	p := admin.post("/admin/settings", url.Values{"key": {store.SettingTwoFactorRequired}, "value": {"true"}, "confirm": {"1"}})
	expectRedirect(t, p, "/admin/settings?saved=two_factor.required")
	begin := time.Now()
	waitFor(t, func() bool {
		return on2().login(replicaEmail, replicaPW, "").Header.Get("Location") == "/login/2fa/setup"
	})
	t.Logf("the second replica applied the setting within %v", time.Since(begin).Round(time.Millisecond))
	if time.Since(begin) > 5*time.Second {
		t.Fatalf("took %v: the notice did not arrive, only a sweep", time.Since(begin))
	}

	out := rs.cli("", "check-config")
	if !strings.Contains(out, "two_factor.required: true (set in the admin console by admin@example.co.jp at ") ||
		!strings.Contains(out, "device_approval: false (YAML default)") {
		t.Fatalf("check-config on PostgreSQL:\n%s", out)
	}
}
