package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ssogate/ssogate/store"
)

// TestBrowserAdminUsers walks the users part of the console in headless
// Chromium at a phone's width, without any JavaScript of the page's own:
// the launcher's tile, the console's landing page, the search, the next
// page, a user's page, a groups edit and disabling the account. Neither
// page is wider than the phone.
func TestBrowserAdminUsers(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.addAdmin("admin@example.co.jp", "管理 者", "Adm1n-pass-word")
	for i := range 60 {
		u := &store.User{Email: fmt.Sprintf("staff%02d@example.co.jp", i), DisplayName: fmt.Sprintf("社員 %02d", i),
			Department: "営業部", Groups: []string{"staff"}, Role: store.RoleUser, Status: store.StatusActive}
		if err := h.app.store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	hanako := h.addUser("hanako@example.co.jp", "佐藤 花子", "H4nako-pass-word", "staff")
	cb := h.browser()
	expectRedirect(t, cb.login("hanako@example.co.jp", "H4nako-pass-word", ""), "/")

	bctx := newChromium(t)
	fits := func(name string) {
		t.Helper()
		over, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
		if err != nil || over {
			t.Errorf("%s is wider than the phone (%v)", name, err)
		}
		// FullScreenshot stalls under an emulated viewport: the visible
		// part is what a phone shows first anyway.
		if dir := os.Getenv("SSOGATE_SCREENSHOTS"); dir != "" {
			if buf, err := chromedp.Run(bctx, chromedp.CaptureScreenshot()); err == nil {
				_ = os.MkdirAll(dir, 0o755)
				_ = os.WriteFile(filepath.Join(dir, "admin-"+name+".png"), buf, 0o644)
			}
		}
	}
	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(h.url+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), "admin@example.co.jp"),
		chromedp.SendKeys(chromedp.ID("password"), "Adm1n-pass-word"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`a.tile[data-service="ssogate-admin"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, bctx, "#user-short-id"); !strings.Contains(got, "-") {
		t.Errorf("header short id = %q", got)
	}
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`a.tile[data-service="ssogate-admin"]`)),
		chromedp.WaitVisible(chromedp.ID("admin-users")),
	); err != nil {
		t.Fatal(err)
	}
	fits("home")
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.ID("admin-users")),
		chromedp.WaitVisible(chromedp.ID("search-form")),
		chromedp.SendKeys(chromedp.ID("group"), "staff"),
		chromedp.Click(chromedp.ID("search")),
	); err != nil {
		t.Fatal(err)
	}
	// The list's heading is on the page before the search too: wait for
	// the search's own page to have loaded, or the next navigation aborts
	// this one.
	loadedWith(t, bctx, "group=staff")
	if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.ID("list-heading"))); err != nil {
		t.Fatal(err)
	}
	fits("users")
	rows, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#user-table tbody tr").length`))
	if err != nil || rows != 50 {
		t.Fatalf("first page has %d rows (%v), want 50", rows, err)
	}
	// Follow the link by its address: a click's navigation can replace
	// the document between chromedp's query and its wait, and the wait
	// then fails on a node that no longer exists.
	next, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("next-page").getAttribute("href")`))
	if err != nil || !strings.HasPrefix(next, "/admin/users?") {
		t.Fatalf("next-page link %q (%v)", next, err)
	}
	if err := chromedp.Do(bctx,
		chromedp.Navigate(h.url+next),
		chromedp.WaitVisible(chromedp.ID("user-table")),
	); err != nil {
		t.Fatal(err)
	}
	if rows, _ = chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#user-table tbody tr").length`)); rows != 11 {
		t.Fatalf("second page has %d rows, want 11", rows)
	}

	// Search hanako and open her page.
	if err := chromedp.Do(bctx,
		clearInput("q"),
		chromedp.SendKeys(chromedp.ID("q"), "花子"),
		chromedp.Click(chromedp.ID("search")),
	); err != nil {
		t.Fatal(err)
	}
	loadedWith(t, bctx, "q=%E8%8A%B1%E5%AD%90")
	if err := chromedp.Do(bctx,
		chromedp.WaitVisible(chromedp.CSS(`tr[data-user="`+hanako.ID+`"] a`)),
		chromedp.Click(chromedp.CSS(`tr[data-user="`+hanako.ID+`"] a`)),
		chromedp.WaitVisible(chromedp.ID("profile-form")),
	); err != nil {
		t.Fatal(err)
	}
	fits("user")
	if err := chromedp.Do(bctx,
		clearInput("groups"),
		chromedp.SendKeys(chromedp.ID("groups"), "staff, 経理部"),
		chromedp.Click(chromedp.ID("save-profile")),
		chromedp.WaitVisible(chromedp.ID("notice")),
	); err != nil {
		t.Fatal(err)
	}
	got, _ := h.app.store.GetUser(ctx, hanako.ID)
	if !slices.Equal(got.Groups, []string{"staff", "経理部"}) {
		t.Fatalf("groups after the edit: %v", got.Groups)
	}
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.ID("disable")),
		chromedp.WaitVisible(chromedp.ID("enable")),
	); err != nil {
		t.Fatal(err)
	}
	if notice := text(t, bctx, "#notice"); !strings.Contains(notice, "disabled") {
		t.Errorf("notice after disable = %q", notice)
	}
	if p := cb.get("/"); p.StatusCode != 303 {
		t.Fatalf("the disabled user's browser got %d", p.StatusCode)
	}
}

// loadedWith waits until the browser's page is one whose query holds
// part and has loaded whole.
func loadedWith(t *testing.T, bctx context.Context, part string) {
	t.Helper()
	js := `location.search.includes(` + strconv.Quote(part) + `) && document.readyState === "complete"`
	waitFor(t, func() bool {
		ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](js))
		return err == nil && ok
	})
}
