package main

import (
	"context"
	"encoding/csv"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// signInAdmin creates an administrator and signs b in as them.
func (h *harness) signInAdmin(b *browser, email string) *store.User {
	h.t.Helper()
	u := h.addUser(email, "管理者 花子", alicePW, "admins")
	u.Role = store.RoleAdmin
	if err := h.app.store.UpdateUser(context.Background(), u); err != nil {
		h.t.Fatal(err)
	}
	expectRedirect(h.t, b.login(email, alicePW, ""), "/")
	return u
}

var (
	eventIDRe = regexp.MustCompile(`data-event="(\d+)"`)
	nextRe    = regexp.MustCompile(`href="([^"]+)" id="audit-next"`)
)

// auditIDs are the event ids an audit log page lists, in order.
func auditIDs(p *page) []int64 {
	var ids []int64
	for _, m := range eventIDRe.FindAllStringSubmatch(p.body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		ids = append(ids, id)
	}
	return ids
}

func TestAdminAuditFiltersPagingAndCSV(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	b := h.browser()
	admin := h.signInAdmin(b, "admin@example.co.jp")
	alice := h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	bob := h.addUser("bob@example.co.jp", "山田 太郎", alicePW, "staff")

	add := func(e store.AuditEvent) int64 {
		t.Helper()
		if err := h.app.store.AppendAudit(ctx, &e); err != nil {
			t.Fatal(err)
		}
		return e.ID
	}
	// Dates are read in portal.time_zone (Asia/Tokyo, UTC+9): e1 is on
	// 5 October there, e2 a minute later on the 6th.
	e1 := add(store.AuditEvent{Time: time.Date(2026, 10, 5, 14, 59, 0, 0, time.UTC), Action: "filter_test", UserID: bob.ID,
		Actor: "山田 太郎", ClientIP: "198.51.100.7", Outcome: store.OutcomeFailure, Detail: `=HYPERLINK("http://evil.example","x")`, RequestID: "req-1"})
	e2 := add(store.AuditEvent{Time: time.Date(2026, 10, 5, 15, 0, 0, 0, time.UTC), Action: "filter_test", UserID: alice.ID,
		Actor: "alice@example.co.jp", ClientIP: "198.51.100.7", Outcome: store.OutcomeSuccess, Detail: "-2+3"})
	e3 := add(store.AuditEvent{Time: time.Date(2026, 10, 7, 3, 0, 0, 0, time.UTC), Action: "filter_test", UserID: alice.ID,
		Actor: "+81312345678", ClientIP: "2001:db8::1", Outcome: store.OutcomeFailure, Detail: "@SUM(A1)"})
	e4 := add(store.AuditEvent{Time: time.Date(2026, 10, 7, 4, 0, 0, 0, time.UTC), Action: "filter_test",
		Actor: "nobody@example.co.jp", ClientIP: "203.0.113.9", Outcome: store.OutcomeFailure, Detail: "部署=経理部"})
	for i := range 120 {
		add(store.AuditEvent{Time: time.Date(2026, 9, 1, 0, i, 0, 0, time.UTC), Action: "paging_test", UserID: alice.ID,
			ClientIP: "192.0.2.1", Outcome: store.OutcomeSuccess})
	}

	for _, tt := range []struct {
		query string
		want  []int64
	}{
		{"", []int64{e4, e3, e2, e1}},
		{"&user=bob@example.co.jp", []int64{e1}},
		{"&user=ALICE@example.co.jp", []int64{e3, e2}},
		{"&outcome=failure", []int64{e4, e3, e1}},
		{"&outcome=success", []int64{e2}},
		{"&ip=198.51.100.7", []int64{e2, e1}},
		{"&ip=2001:0db8::1", []int64{e3}},
		{"&from=2026-10-06", []int64{e4, e3, e2}},
		{"&to=2026-10-05", []int64{e1}},
		{"&from=2026-10-06&to=2026-10-06", []int64{e2}},
		{"&user=alice@example.co.jp&outcome=failure&ip=2001:db8::1&from=2026-10-07&to=2026-10-07", []int64{e3}},
	} {
		p := b.get("/admin/audit?action=filter_test" + tt.query)
		expectStatus(t, p, http.StatusOK)
		if got := auditIDs(p); !slices.Equal(got, tt.want) {
			t.Errorf("filter %q: events %v, want %v", tt.query, got, tt.want)
		}
	}
	// The action filter alone keeps other actions out.
	if got := auditIDs(b.get("/admin/audit?action=no_such_action")); len(got) != 0 {
		t.Errorf("action no_such_action: %v", got)
	}
	// The page shows the events' details, Japanese intact.
	if p := b.get("/admin/audit?action=filter_test&user=bob@example.co.jp"); !strings.Contains(p.body, "山田 太郎") ||
		!strings.Contains(p.body, "bob@example.co.jp") || !strings.Contains(p.body, "198.51.100.7") {
		t.Errorf("event details missing:\n%s", snippet(p.body))
	}

	// Bad input: a clear message, no list.
	for q, want := range map[string]string{
		"ip=not-an-ip":                  "IP アドレスを",
		"from=2026/10/06":               "日付を 2026-12-06 の形で",
		"from=2026-10-07&to=2026-10-06": "終了日は開始日以降",
		"user=nobody@example.co.jp":     "このメールアドレスの利用者はいません",
		"outcome=maybe":                 "結果は一覧から",
	} {
		p := b.get("/admin/audit?" + q)
		expectStatus(t, p, http.StatusBadRequest)
		if !strings.Contains(p.body, want) || len(auditIDs(p)) != 0 {
			t.Errorf("%s: want message %q and no list:\n%s", q, want, snippet(p.body))
		}
	}

	// Paging: 120 events, 50 a page, newest first, no event twice.
	var all []int64
	next := "/admin/audit?action=paging_test"
	pages := 0
	for next != "" {
		p := b.get(next)
		expectStatus(t, p, http.StatusOK)
		ids := auditIDs(p)
		pages++
		if pages < 3 && len(ids) != 50 || pages == 3 && len(ids) != 20 {
			t.Fatalf("page %d has %d events", pages, len(ids))
		}
		all = append(all, ids...)
		next = ""
		if m := nextRe.FindStringSubmatch(p.body); m != nil {
			next = html.UnescapeString(m[1])
			if !strings.Contains(next, "action=paging_test") {
				t.Fatalf("next page link drops the filter: %s", next)
			}
		}
	}
	if pages != 3 || len(all) != 120 {
		t.Fatalf("%d pages, %d events", pages, len(all))
	}
	if !slices.IsSortedFunc(all, func(a, b int64) int { return int(b - a) }) || len(slices.Compact(slices.Clone(all))) != 120 {
		t.Fatalf("pages are not newest first without repeats: %v", all)
	}

	// CSV export: a BOM, then CSV that encoding/csv reads, Japanese
	// intact, formula cells defused.
	p := b.get("/admin/audit?action=filter_test&format=csv")
	expectStatus(t, p, http.StatusOK)
	if ct := p.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	if cd := p.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Fatalf("Content-Disposition %q", cd)
	}
	body, ok := strings.CutPrefix(p.body, "\xef\xbb\xbf")
	if !ok {
		t.Fatalf("no UTF-8 BOM: %q", snippet(p.body))
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	if len(recs) != 5 || strings.Join(recs[0], ",") != "日時,操作,結果,利用者,操作者,接続元アドレス,詳細,リクエスト ID" {
		t.Fatalf("CSV = %q", recs)
	}
	want := [][]string{
		{"2026-10-07 13:00:00", "filter_test", "failure", "", "nobody@example.co.jp", "203.0.113.9", "部署=経理部", ""},
		{"2026-10-07 12:00:00", "filter_test", "failure", "alice@example.co.jp", "'+81312345678", "2001:db8::1", "'@SUM(A1)", ""},
		{"2026-10-06 00:00:00", "filter_test", "success", "alice@example.co.jp", "alice@example.co.jp", "198.51.100.7", "'-2+3", ""},
		{"2026-10-05 23:59:00", "filter_test", "failure", "bob@example.co.jp", "山田 太郎", "198.51.100.7", `'=HYPERLINK("http://evil.example","x")`, "req-1"},
	}
	for i, w := range want {
		if !slices.Equal(recs[i+1], w) {
			t.Errorf("CSV row %d = %q, want %q", i+1, recs[i+1], w)
		}
	}
	p = b.get("/admin/audit?action=paging_test&format=csv")
	recs, err = csv.NewReader(strings.NewReader(strings.TrimPrefix(p.body, "\xef\xbb\xbf"))).ReadAll()
	if err != nil || len(recs) != 121 {
		t.Fatalf("paging_test CSV: %d records, %v", len(recs), err)
	}
	// The export is audited, naming the administrator.
	evs, err := h.app.store.ListAudit(ctx, store.AuditFilter{Action: "admin_audit_export", UserID: admin.ID})
	if err != nil || len(evs) != 2 || evs[0].Actor != "admin@example.co.jp" || !strings.Contains(evs[1].Detail, "action=filter_test") {
		t.Fatalf("export audit = %+v, %v", evs, err)
	}
	// English headers for an English-speaking administrator.
	b.lang = "en"
	p = b.get("/admin/audit?" + url.Values{"action": {"filter_test"}, "format": {"csv"}}.Encode())
	if !strings.HasPrefix(p.body, "\xef\xbb\xbfTime,Action,Outcome,User,Actor,Client address,Detail,Request ID\r\n") {
		t.Fatalf("English CSV header: %q", snippet(p.body))
	}
}

func TestAdminAuditRefusesNonAdmin(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.co.jp", "Alice", alicePW, "staff")
	b := h.browser()
	expectRedirect(t, b.login("alice@example.co.jp", alicePW, ""), "/")
	expectStatus(t, b.get("/admin/audit?format=csv"), http.StatusForbidden)
	expectStatus(t, b.get("/admin/settings"), http.StatusForbidden)
	p := b.post("/admin/settings", url.Values{"key": {"device_approval"}, "value": {"true"}})
	expectStatus(t, p, http.StatusForbidden)
	if ss, _ := h.app.store.Settings(context.Background()); len(ss) != 0 {
		t.Fatalf("a non-admin stored %+v", ss)
	}
}
