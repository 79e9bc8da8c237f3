package main

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/text/encoding/japanese"

	"github.com/ssogate/ssogate/account"
	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/notify"
	"github.com/ssogate/ssogate/store"
)

// inviteOne invites email from the console as b and returns the path of
// the mailed link.
func (h *harness) inviteOne(b *browser, email, name, groups string) string {
	h.t.Helper()
	b.get("/admin/invitations")
	p := b.post("/admin/invitations", url.Values{"action": {"invite"}, "email": {email}, "name": {name}, "groups": {groups}})
	expectStatus(h.t, p, http.StatusOK)
	return h.lastLink(notify.TemplateInvitation, strings.ToLower(email))
}

// lastLink is the path of the link in the newest mail of template to to.
func (h *harness) lastLink(template, to string) string {
	h.t.Helper()
	ms, data := h.outbox(template)
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].To == to {
			return h.linkPath(data[i].Link)
		}
	}
	h.t.Fatalf("no %s mail to %s", template, to)
	return ""
}

var inviteTokenRe = regexp.MustCompile(`name="token" value="([^"]*)"`)

// TestInviteAcceptWithPassword: an administrator invites from the
// console; the mail's link shows the password rule and the providers;
// a weak password is refused; the confirmation screen stores nothing;
// confirming activates the account, the person signs in, the inviter is
// told; the used link, an expired one, a resent one's predecessor and a
// revoked one each get the clear page.
func TestInviteAcceptWithPassword(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	ab := h.browser()
	admin := h.signInAdmin(ab, "kanri@example.co.jp")
	link := h.inviteOne(ab, "Sato@Example.co.jp", "佐藤 一郎", "staff, sales")
	u, err := h.app.store.GetUserByEmail(ctx, "sato@example.co.jp")
	if err != nil || u.Status != store.StatusInvited || strings.Join(u.Groups, ",") != "staff,sales" {
		t.Fatalf("invited user = %+v, %v", u, err)
	}
	_, data := h.outbox(notify.TemplateInvitation)
	if data[0].Inviter != admin.DisplayName || !strings.Contains(data[0].Expires, "12月5日") {
		t.Fatalf("invitation mail data = %+v", data[0])
	}
	if evs, _ := h.app.store.ListAudit(ctx, store.AuditFilter{Action: "invitation_create"}); len(evs) != 1 || evs[0].Actor != "admin:"+admin.Email || evs[0].UserID != u.ID {
		t.Fatalf("invitation audit = %+v", evs)
	}
	if p := ab.get("/admin/invitations"); !strings.Contains(p.body, "sato@example.co.jp") || !strings.Contains(p.body, admin.DisplayName) {
		t.Fatalf("pending list lacks the invitation:\n%s", p.body)
	}

	b := h.browser()
	p := b.get(link)
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, `id="password-rule"`) || !strings.Contains(p.body, "佐藤 一郎") {
		t.Fatalf("invite page lacks the rule or the name:\n%s", p.body)
	}
	p = b.post(link, url.Values{"step": {"password"}, "password": {"short"}, "password_confirm": {"short"}})
	expectStatus(t, p, http.StatusBadRequest)
	const pw = "Sakura-Haru#2026"
	p = b.post(link, url.Values{"step": {"password"}, "password": {pw}, "password_confirm": {pw}})
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, "申込確認") || !strings.Contains(p.body, `id="invite-email">sato@example.co.jp`) {
		t.Fatalf("no confirmation screen:\n%s", p.body)
	}
	if has, _ := h.app.gateway.Account().HasPassword(ctx, u.ID); has {
		t.Fatal("a password was stored before the confirmation")
	}
	if p := h.browser().login("sato@example.co.jp", pw, ""); p.StatusCode == http.StatusSeeOther {
		t.Fatalf("signed in before confirming: %s", p.Header.Get("Location"))
	}
	tok := inviteTokenRe.FindStringSubmatch(p.body)[1]
	p = b.post(link, url.Values{"step": {"confirm"}, "token": {tok}})
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.body, `id="invite-done"`) {
		t.Fatalf("no completion page:\n%s", p.body)
	}
	expectRedirect(t, h.browser().login("sato@example.co.jp", pw, ""), "/")
	if u, _ := h.app.store.GetUser(ctx, u.ID); u.Status != store.StatusActive {
		t.Fatalf("status after acceptance = %s", u.Status)
	}
	ms, acc := h.outbox(notify.TemplateInvitationAccepted)
	if len(ms) != 1 || ms[0].To != admin.Email || acc[0].NewEmail != "sato@example.co.jp" {
		t.Fatalf("inviter mails = %d %+v", len(ms), acc)
	}
	// The used link.
	p = b.get(link)
	expectStatus(t, p, http.StatusGone)
	if !strings.Contains(p.body, `id="invite-invalid"`) || !strings.Contains(p.body, "すでに使われた") {
		t.Fatalf("used link page:\n%s", p.body)
	}

	// Resend: the first link stops working, the new one works.
	old := h.inviteOne(ab, "suzuki@example.co.jp", "鈴木 次郎", "")
	suzuki, _ := h.app.store.GetUserByEmail(ctx, "suzuki@example.co.jp")
	h.clock.Advance(time.Second) // the outbox lists the newer mail first
	ab.get("/admin/invitations")
	expectRedirect(t, ab.post("/admin/invitations", url.Values{"action": {"resend"}, "user_id": {suzuki.ID}}), "/admin/invitations?done=resend")
	fresh := h.lastLink(notify.TemplateInvitation, "suzuki@example.co.jp")
	if fresh == old {
		t.Fatal("resend mailed the same link")
	}
	expectStatus(t, b.get(old), http.StatusGone)
	expectStatus(t, b.get(fresh), http.StatusOK)

	// Revoke: the user and the link are gone.
	ab.get("/admin/invitations")
	expectRedirect(t, ab.post("/admin/invitations", url.Values{"action": {"revoke"}, "user_id": {suzuki.ID}}), "/admin/invitations?done=revoke")
	if _, err := h.app.store.GetUser(ctx, suzuki.ID); err == nil {
		t.Fatal("revoked invitation's user still exists")
	}
	expectStatus(t, b.get(fresh), http.StatusGone)

	// Expiry: 14 days by default.
	late := h.inviteOne(ab, "tanaka@example.co.jp", "田中 三郎", "")
	h.clock.Advance(14*24*time.Hour + time.Second)
	p = b.get(late)
	expectStatus(t, p, http.StatusGone)
	if !strings.Contains(p.body, "有効期限が切れています") {
		t.Fatalf("expired link page:\n%s", p.body)
	}
}

// TestInviteAcceptWithOIDC: the invited person chooses the OIDC
// provider; its sign-in (an address other than the invited one, which is
// recorded) links the identity to the invited user, who is signed in and
// active, and signs in by the provider afterwards.
func TestInviteAcceptWithOIDC(t *testing.T) {
	ctx := context.Background()
	m := newMockOIDC(t)
	h := newHarness(t, oidcProvider(m, ""))
	ab := h.browser()
	h.signInAdmin(ab, "kanri@example.co.jp")
	link := h.inviteOne(ab, "yamada@example.co.jp", "山田 花子", "")
	u, _ := h.app.store.GetUserByEmail(ctx, "yamada@example.co.jp")

	b := h.browser()
	p := b.get(link)
	if !strings.Contains(p.body, `id="invite-provider-mock"`) || !strings.Contains(p.body, `id="invite-provider-advice"`) {
		t.Fatalf("no provider button or sign-out advice:\n%s", p.body)
	}
	p = b.post(link, url.Values{"step": {"provider"}, "provider": {"mock"}})
	if !strings.Contains(p.body, "申込確認") || !strings.Contains(p.body, "社内IDでログイン") {
		t.Fatalf("no confirmation screen:\n%s", p.body)
	}
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-yamada", Email: "h.yamada@idp.example", EmailVerified: true})
	p = b.post(link, url.Values{"step": {"confirm"}, "provider": {"mock"}})
	expectStatus(t, p, http.StatusFound)
	p = b.followOP("mock", p)
	expectRedirect(t, p, "/invite/done")
	expectStatus(t, b.get("/invite/done"), http.StatusOK)
	if me := b.get("/me"); !strings.Contains(me.body, "yamada@example.co.jp") {
		t.Fatal("not signed in as the invited user")
	}
	links, _ := h.app.store.ListUserIdentities(ctx, u.ID)
	if len(links) != 1 || links[0].Subject != "sub-yamada" {
		t.Fatalf("links = %+v", links)
	}
	events, _ := h.app.store.ListAudit(ctx, store.AuditFilter{Action: "invitation_accept"})
	if len(events) != 1 || !strings.Contains(events[0].Detail, "provider_email=h.yamada@idp.example") {
		t.Fatalf("acceptance audit = %+v", events)
	}
	expectStatus(t, b.get(link), http.StatusGone)
	// Later sign-ins by the provider land on the same account.
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-yamada", Email: "h.yamada@idp.example", EmailVerified: true})
	b2 := h.browser()
	expectRedirect(t, b2.federatedLogin("mock", ""), "/")
	if me := b2.get("/me"); !strings.Contains(me.body, "yamada@example.co.jp") {
		t.Fatal("the linked identity does not sign in")
	}
}

// followOP follows a redirect to the OP (which approves at once) and
// back to the callback, returning the gateway's answer.
func (b *browser) followOP(id string, p *page) *page {
	b.h.t.Helper()
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(p.Header.Get("Location"))
	if err != nil {
		b.h.t.Fatal(err)
	}
	resp.Body.Close()
	cb := resp.Header.Get("Location")
	if !strings.HasPrefix(cb, b.h.url+"/callback/"+id) {
		b.h.t.Fatalf("OP sent the browser to %q", cb)
	}
	return b.get(strings.TrimPrefix(cb, b.h.url))
}

// postFile posts a multipart form with the file field "csv".
func (b *browser) postFile(path string, fields url.Values, file []byte) *page {
	b.h.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fields.Set("csrf_token", b.csrf)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("csv", "invite.csv")
	_, _ = fw.Write(file)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", b.h.url+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.h.url)
	return b.do(req)
}

var batchRe = regexp.MustCompile(`name="batch" value="([^"]*)"`)

// TestInviteCSVShiftJIS: a CSV file as Excel saves it in Japan
// (Shift_JIS, CRLF) with Japanese names and one bad row: the preview
// shows the row's error and creates nobody; confirming without skipping
// creates nobody; skipping invites the good rows.
func TestInviteCSVShiftJIS(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	ab := h.browser()
	h.signInAdmin(ab, "kanri@example.co.jp")
	h.addUser("exists@example.co.jp", "既存 利用者", alicePW)
	text := "email,display_name,groups\r\n" +
		"kobayashi@example.co.jp,小林 美咲,営業部;staff\r\n" +
		"not-an-address,高橋 健太,staff\r\n" +
		"watanabe@example.co.jp,渡辺 直子,\r\n" +
		"Kobayashi@example.co.jp,小林 重複,\r\n" +
		"exists@example.co.jp,既存 利用者,\r\n" +
		"ito@example.co.jp,,staff\r\n"
	sjis, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	ab.get("/admin/invitations")
	p := ab.postFile("/admin/invitations", url.Values{"action": {"csv"}}, sjis)
	expectStatus(t, p, http.StatusOK)
	for _, want := range []string{"小林 美咲", "営業部", "渡辺 直子",
		`id="row-3" class="row-error"`, "メールアドレスの形式が正しくありません",
		`id="row-5" class="row-error"`, "重複しています",
		`id="row-6" class="row-error"`, "すでに登録されています",
		`id="row-7" class="row-error"`, "表示名を入力してください"} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("preview lacks %q:\n%s", want, p.body)
		}
	}
	invited := func() int {
		page, _ := h.app.store.SearchUsers(ctx, store.UserQuery{Status: store.StatusInvited})
		return page.Total
	}
	if n := invited(); n != 0 {
		t.Fatalf("the preview created %d users", n)
	}
	batch := batchRe.FindStringSubmatch(p.body)[1]
	p = ab.post("/admin/invitations", url.Values{"action": {"csv_confirm"}, "batch": {batch}})
	expectStatus(t, p, http.StatusBadRequest)
	if n := invited(); n != 0 {
		t.Fatalf("confirming without skipping created %d users", n)
	}
	p = ab.post("/admin/invitations", url.Values{"action": {"csv_confirm"}, "batch": {batch}, "skip_bad": {"1"}})
	expectStatus(t, p, http.StatusOK)
	if n := invited(); n != 2 {
		t.Fatalf("invited %d, want 2", n)
	}
	k, err := h.app.store.GetUserByEmail(ctx, "kobayashi@example.co.jp")
	if err != nil || k.DisplayName != "小林 美咲" || strings.Join(k.Groups, ",") != "営業部,staff" {
		t.Fatalf("kobayashi = %+v, %v", k, err)
	}
	if ms, _ := h.outbox(notify.TemplateInvitation); len(ms) != 2 {
		t.Fatalf("%d invitation mails, want 2", len(ms))
	}
	// The preview is used once.
	expectStatus(t, ab.post("/admin/invitations", url.Values{"action": {"csv_confirm"}, "batch": {batch}, "skip_bad": {"1"}}), http.StatusGone)
	// Someone not an administrator cannot upload.
	ub := h.browser()
	expectRedirect(t, ub.login("exists@example.co.jp", alicePW, ""), "/")
	expectStatus(t, ub.get("/admin/invitations"), http.StatusForbidden)
	expectStatus(t, ub.postFile("/admin/invitations", url.Values{"action": {"csv"}}, sjis), http.StatusForbidden)
}

// TestCLIUserInvite: `ssogate user invite` creates the invited user and
// queues the mail, as the console does.
func TestCLIUserInvite(t *testing.T) {
	h := newHarness(t)
	out, errOut, err := runCLI(t, "", "--config", h.configPath, "user", "invite", "--email", "Mori@Example.co.jp", "--name", "森 太一", "--groups", "staff,dev")
	if err != nil || !strings.Contains(out, "invited mori@example.co.jp") {
		t.Fatalf("user invite: %v %q %q", err, out, errOut)
	}
	u, err := h.app.store.GetUserByEmail(context.Background(), "mori@example.co.jp")
	if err != nil || u.Status != store.StatusInvited || strings.Join(u.Groups, ",") != "staff,dev" {
		t.Fatalf("user = %+v, %v", u, err)
	}
	if link := h.lastLink(notify.TemplateInvitation, "mori@example.co.jp"); !strings.HasPrefix(link, "/invite?ticket=") {
		t.Fatalf("link %q", link)
	}
	if _, _, err := runCLI(t, "", "--config", h.configPath, "user", "invite", "--email", "bad", "--name", "x"); err == nil {
		t.Fatal("a bad address was accepted")
	}
	out, _, err = runCLI(t, "", "user", "invite", "--help")
	if err != nil || !strings.Contains(out, "usage: ssogate user invite") {
		t.Fatalf("--help: %v %q", err, out)
	}
}

// TestLoginMethodChangeLink: an administrator sends a login-method
// change link (the console's user page calls account.SendMethodChange);
// the person chooses a new password on /login-method through the same
// confirmation screen, their other sessions end, and the new password
// signs in; the link then works no more.
func TestLoginMethodChangeLink(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	ab := h.browser()
	admin := h.signInAdmin(ab, "kanri@example.co.jp")
	u := h.addUser("kato@example.co.jp", "加藤 誠", alicePW)
	old := h.browser()
	expectRedirect(t, old.login(u.Email, alicePW, ""), "/")
	if err := h.app.gateway.Account().SendMethodChange(ctx, admin, u.ID, account.Origin{}); err != nil {
		t.Fatal(err)
	}
	link := h.lastLink(notify.TemplateMethodChange, u.Email)
	if !strings.HasPrefix(link, "/login-method?ticket=") {
		t.Fatalf("link %q", link)
	}
	// An invitation's page does not take it.
	expectStatus(t, h.browser().get(strings.Replace(link, "/login-method", "/invite", 1)), http.StatusGone)
	b := h.browser()
	p := b.get(link)
	expectStatus(t, p, http.StatusOK)
	const pw = "Aki-no-Sora#2026"
	p = b.post(link, url.Values{"step": {"password"}, "password": {pw}, "password_confirm": {pw}})
	if !strings.Contains(p.body, "申込確認") {
		t.Fatalf("no confirmation screen:\n%s", p.body)
	}
	tok := inviteTokenRe.FindStringSubmatch(p.body)[1]
	expectStatus(t, b.post(link, url.Values{"step": {"confirm"}, "token": {tok}}), http.StatusOK)
	h.clock.Advance(h.app.cfg.Session.CacheTTL.D())
	if signedIn(old) {
		t.Fatal("the other session survived the change")
	}
	expectRedirect(t, h.browser().login(u.Email, pw, ""), "/")
	expectStatus(t, b.get(link), http.StatusGone)
}

// TestInviteAcceptWithDirectory: the invited person chooses the
// directory (OpenLDAP peer), signs in there on the invitation page, and
// that directory account is linked to the invited user and signs them
// in; a wrong directory password links nothing.
func TestInviteAcceptWithDirectory(t *testing.T) {
	ctx := context.Background()
	ol := testpeers.Slapd(t)
	h := newHarness(t, ldapProvider("openldap", "openldap", olLabel, ol.LDAPURL, ol, "    start_tls: true\n"))
	ab := h.browser()
	h.signInAdmin(ab, "kanri@example.co.jp")
	link := h.inviteOne(ab, "yamada.new@example.co.jp", "山田 新", "")
	u, _ := h.app.store.GetUserByEmail(ctx, "yamada.new@example.co.jp")

	b := h.browser()
	p := b.get(link)
	if !strings.Contains(p.body, `id="invite-provider-openldap"`) {
		t.Fatalf("no directory button:\n%s", p.body)
	}
	b.post(link, url.Values{"step": {"provider"}, "provider": {"openldap"}})
	p = b.post(link, url.Values{"step": {"confirm"}, "provider": {"openldap"}})
	if !strings.Contains(p.body, `id="invite-directory-form"`) {
		t.Fatalf("no directory form:\n%s", p.body)
	}
	yamada := ol.Users["yamada"]
	p = b.post(link, url.Values{"step": {"directory"}, "provider": {"openldap"}, "login": {"yamada"}, "password": {"Wrong!Pass999"}})
	expectStatus(t, p, http.StatusUnauthorized)
	if links, _ := h.app.store.ListUserIdentities(ctx, u.ID); len(links) != 0 {
		t.Fatalf("a wrong password linked %+v", links)
	}
	p = b.post(link, url.Values{"step": {"directory"}, "provider": {"openldap"}, "login": {"yamada"}, "password": {yamada.Password}})
	expectRedirect(t, p, "/invite/done")
	if me := b.get("/me"); !strings.Contains(me.body, "yamada.new@example.co.jp") {
		t.Fatal("not signed in as the invited user")
	}
	if got, _ := h.app.store.GetUser(ctx, u.ID); got.Status != store.StatusActive {
		t.Fatalf("status %s", got.Status)
	}
	expectRedirect(t, h.browser().directoryLogin("openldap", "yamada", yamada.Password, ""), "/")
}
