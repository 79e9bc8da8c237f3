package portal

import (
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

var jst = time.FixedZone("JST", 9*60*60)

func newRenderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := New(Options{SiteTitle: map[string]string{"": "テスト株式会社 ポータル"}, Location: jst})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// render renders page and returns the body, failing on any error or on
// headers Render must set.
func render(t *testing.T, r *Renderer, status int, page string, data any) string {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := r.Render(rec, status, page, data); err != nil {
		t.Fatalf("Render(%s): %v", page, err)
	}
	if status == 0 {
		status = http.StatusOK
	}
	if rec.Code != status {
		t.Errorf("status = %d, want %d", rec.Code, status)
	}
	if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	return rec.Body.String()
}

func signedIn(lang string) Base {
	return Base{
		Lang:      lang,
		CSRFToken: "csrf-abc",
		User:      &UserHeader{LoginID: "taro.yamada@example.co.jp", Name: "山田 太郎"},
		Path:      "/me?tab=1",
		RequestID: "req-0123",
	}
}

func signedOut(lang string) Base {
	return Base{Lang: lang, CSRFToken: "csrf-abc", Path: "/login", RequestID: "req-0123"}
}

var previous = time.Date(2026, 11, 21, 12, 59, 0, 0, time.UTC) // 21:59 JST, a Saturday

// samplePages returns a filled view model for every page in lang.
func samplePages(lang string) map[string]any {
	return map[string]any{
		PageLogin: &LoginPage{
			Base:             Base{Lang: lang, CSRFToken: "csrf-abc", Path: "/login", NoticeKey: "logout.done"},
			Email:            "taro.yamada@example.co.jp",
			ReturnTo:         "/wiki/",
			ErrorKey:         "login.error.invalid",
			PasswordLabel:    "社内アカウント",
			ShowPasswordForm: true,
			Providers: []ProviderButton{
				{ID: "google", Label: "Googleアカウントでログイン", URL: "/login/google?return_to=%2Fwiki%2F"},
				{ID: "ad", Label: "Active Directoryアカウントでログイン", URL: "/login/ad"},
			},
		},
		PageHome: HomePage{
			Base: signedIn(lang),
			Tiles: []Tile{
				{ID: "wiki", Name: "社内Wiki", Description: "規程・マニュアル", Icon: "book", URL: "/wiki/"},
				{ID: "mail", Name: "メール", Icon: "mail", URL: "https://mail.example.co.jp/"},
			},
		},
		PageProfile: &ProfilePage{
			Base:   signedIn(lang),
			Email:  "taro.yamada@example.co.jp",
			Groups: []string{"staff", "営業部"},
			Form: ProfileForm{
				DisplayName:  "山田 太郎",
				Phone:        "03-1234-5678",
				Mobile:       "090-1234-5678",
				Organization: "テスト株式会社",
				Department:   "営業部",
			},
			Errors:        map[string]string{"phone": "profile.error.phone"},
			Saved:         true,
			PreviousLogin: previous,
			SessionIP:     "203.0.113.7",
			SessionLine:   "本社回線",
		},
		PageLogout: &LogoutPage{Base: signedIn(lang)},
		PageError: &ErrorPage{
			Base:       signedOut(lang),
			Status:     http.StatusForbidden,
			MessageKey: "error.csrf",
		},
	}
}

func TestRenderPages(t *testing.T) {
	r := newRenderer(t)
	type want struct {
		ids  []string
		text map[string][]string // by language
	}
	tests := map[string]want{
		PageLogin: {
			ids: []string{"login-form", "email", "password", "login-submit", "error", "notice"},
			text: map[string][]string{
				"ja": {"<title>ログイン | テスト株式会社 ポータル</title>", "メールアドレスまたはパスワードが正しくありません。", "ログアウトしました。", "社内アカウント",
					`action="/login"`, `name="return_to" value="/wiki/"`, `autocomplete="username"`, `autocomplete="current-password"`, `value="taro.yamada@example.co.jp"`},
				"en": {"<title>Sign in | テスト株式会社 ポータル</title>", "The email address or password is incorrect.", "You have been signed out."},
			},
		},
		PageHome: {
			ids: []string{"tiles", "user-id", "user-name", "user-menu"},
			text: map[string][]string{
				"ja": {"<title>ホーム |", "社内Wiki", "規程・マニュアル", `data-service="wiki"`, `href="/wiki/"`, `href="https://mail.example.co.jp/"`},
				"en": {"<title>Home |", "社内Wiki", "Your services"},
			},
		},
		PageProfile: {
			ids: []string{"profile-form", "profile-email", "previous-login", "saved", "display_name", "phone", "mobile",
				"organization", "department", "profile-submit", "err-phone", "session-ip", "session-line", "profile-groups", "form-errors"},
			text: map[string][]string{
				"ja": {"<title>個人情報 |", `value="山田 太郎"`, "2026年11月21日(土) 21:59", "203.0.113.7", "本社回線", "営業部",
					"電話番号は4〜15桁の数字で入力してください", "個人情報を更新しました。",
					`action="/me"`, `type="tel"`, `autocomplete="tel"`, `maxlength="100"`, `maxlength="32"`, `aria-invalid="true"`},
				"en": {"<title>Personal information |", "Sat, 21 Nov 2026 21:59 JST", "Enter 4 to 15 digits"},
			},
		},
		PageLogout: {
			ids: []string{"logout-form", "logout-submit", "logout-cancel"},
			text: map[string][]string{
				"ja": {"ログアウトしますか?", `action="/logout"`, `href="/"`},
				"en": {"Do you want to sign out?"},
			},
		},
		PageError: {
			ids: []string{"error-message", "request-id", "error-home", "status-code"},
			text: map[string][]string{
				"ja": {"<title>エラー 403 |", "フォームの有効期限が切れたか", "お問い合わせ番号: <code>req-0123</code>", "403"},
				"en": {"<title>Error 403 |", "This form has expired", "Reference number: <code>req-0123</code>"},
			},
		},
	}
	for _, lang := range Languages() {
		pages := samplePages(lang)
		for page, w := range tests {
			t.Run(page+"/"+lang, func(t *testing.T) {
				body := render(t, r, http.StatusOK, page, pages[page])
				if !strings.Contains(body, `<html lang="`+lang+`">`) {
					t.Errorf("missing <html lang=%q>", lang)
				}
				if !strings.HasPrefix(body, "<!DOCTYPE html>") {
					t.Errorf("body does not start with a doctype: %.40q", body)
				}
				for _, id := range w.ids {
					if !strings.Contains(body, `id="`+id+`"`) {
						t.Errorf("missing id=%q", id)
					}
				}
				text := html.UnescapeString(body)
				for _, s := range w.text[lang] {
					if !strings.Contains(text, s) {
						t.Errorf("missing %q", s)
					}
				}
				if !strings.Contains(body, `name="csrf_token" value="csrf-abc"`) {
					t.Error("missing csrf_token field")
				}
			})
		}
	}
}

// hostileBase puts markup everywhere a string reaches a page.
func hostile() map[string]any {
	const x = `<script>alert("x")</script>`
	b := Base{
		Lang: "ja", SiteTitle: x, CSRFToken: x, Path: x, RequestID: x,
		User: &UserHeader{LoginID: x, Name: x},
	}
	return map[string]any{
		PageLogin:   LoginPage{Base: b, Email: x, ReturnTo: x, ErrorKey: x, PasswordLabel: x, ShowPasswordForm: true, Providers: []ProviderButton{{ID: "p", Label: x, URL: "/login/p"}}},
		PageHome:    HomePage{Base: b, Tiles: []Tile{{ID: x, Name: x, Description: x, Icon: x, URL: "javascript:alert(1)"}}},
		PageProfile: ProfilePage{Base: b, Email: x, Groups: []string{x}, Form: ProfileForm{x, x, x, x, x}, Errors: map[string]string{"display_name": x}, SessionIP: x, SessionLine: x},
		PageLogout:  LogoutPage{Base: b},
		PageError:   ErrorPage{Base: b, Status: 500, MessageKey: x},
	}
}

func TestRenderEscapes(t *testing.T) {
	r := newRenderer(t)
	for page, data := range hostile() {
		t.Run(page, func(t *testing.T) {
			body := render(t, r, 0, page, data)
			if strings.Contains(body, "<script") {
				t.Error("markup from data reached the page unescaped")
			}
			if !strings.Contains(body, "&lt;script&gt;") {
				t.Error("escaped markup not found")
			}
			if strings.Contains(body, "javascript:") {
				t.Error("javascript: URL not neutralised")
			}
		})
	}
}

func TestRenderJapaneseRoundTrip(t *testing.T) {
	r := newRenderer(t)
	p := ProfilePage{Base: signedIn("ja"), Form: ProfileForm{DisplayName: "山田 太郎", Department: "総務部 <人事>"}}
	body := render(t, r, 0, PageProfile, p)
	for _, s := range []string{
		`<span class="account-name" id="user-name">山田 太郎</span>`,
		`id="display_name" name="display_name" value="山田 太郎"`,
		`value="総務部 &lt;人事&gt;"`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("missing %q", s)
		}
	}
}

func TestNoInlineScriptOrStyle(t *testing.T) {
	r := newRenderer(t)
	var all []map[string]any
	for _, lang := range Languages() {
		all = append(all, samplePages(lang))
	}
	all = append(all, hostile())
	for i, pages := range all {
		for page, data := range pages {
			body := strings.ToLower(render(t, r, 0, page, data))
			for _, bad := range []string{"<script", "style=", "<style", " on", "javascript:"} {
				if bad == " on" {
					if m := regexp.MustCompile(`\son[a-z]+=`).FindString(body); m != "" {
						t.Errorf("set %d %s: inline event handler %q", i, page, m)
					}
					continue
				}
				if strings.Contains(body, bad) {
					t.Errorf("set %d %s: contains %q", i, page, bad)
				}
			}
		}
	}
}

func TestHeader(t *testing.T) {
	r := newRenderer(t)
	tests := []struct {
		name string
		base Base
		want []string
		not  []string
	}{
		{
			name: "signed in ja",
			base: signedIn("ja"),
			want: []string{
				`id="user-id">taro.yamada@example.co.jp<`, `id="user-name">山田 太郎<`, `<details class="menu" id="user-menu">`,
				`href="/me"`, `href="/logout"`, ">個人情報<", ">ログアウト<",
				`value="ja" lang="ja" aria-current="true"`, `value="en" lang="en">English`,
				`name="return_to" value="/me?tab=1"`, `action="/lang"`,
			},
		},
		{
			name: "signed in en",
			base: signedIn("en"),
			want: []string{`id="user-id"`, `id="user-name"`, ">Personal information<", ">Sign out<",
				`value="ja" lang="ja">日本語`, `value="en" lang="en" aria-current="true"`},
		},
		{
			name: "signed out",
			base: signedOut("ja"),
			want: []string{`action="/lang"`, `name="lang" value="ja"`, `name="lang" value="en"`, `href="/">テスト株式会社 ポータル</a>`},
			not:  []string{`id="user-id"`, `id="user-name"`, `id="user-menu"`, `href="/me"`, `href="/logout"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := render(t, r, 0, PageHome, HomePage{Base: tt.base})
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("missing %q", s)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(body, s) {
					t.Errorf("unexpected %q", s)
				}
			}
		})
	}
}

func TestRenderRejectsWrongData(t *testing.T) {
	r := newRenderer(t)
	tests := []struct {
		name string
		page string
		data any
	}{
		{"unknown page", "admin", HomePage{}},
		{"wrong type", PageLogin, HomePage{}},
		{"nil pointer", PageHome, (*HomePage)(nil)},
		{"nil", PageError, nil},
		{"base only", PageLogout, Base{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := r.Render(rec, http.StatusOK, tt.page, tt.data); err == nil {
				t.Fatal("Render succeeded")
			}
			if rec.Body.Len() != 0 || len(rec.Header()) != 0 || rec.Code != http.StatusOK {
				t.Errorf("failed Render wrote a response: %d %v %q", rec.Code, rec.Header(), rec.Body)
			}
		})
	}
	if err := r.Render(httptest.NewRecorder(), 200, "nope", nil); !errors.Is(err, ErrUnknownPage) {
		t.Errorf("unknown page error = %v, want ErrUnknownPage", err)
	}
}

func TestRenderStatus(t *testing.T) {
	r := newRenderer(t)
	render(t, r, 0, PageLogout, LogoutPage{Base: signedIn("ja")})
	render(t, r, http.StatusNotFound, PageError, ErrorPage{Base: signedOut("en"), Status: 404})
}

func TestRenderLanguageChoice(t *testing.T) {
	tests := []struct {
		def, lang, want string
	}{
		{"", "", "ja"},
		{"", "en", "en"},
		{"", "en-US", "en"},
		{"", "fr", "ja"},
		{"en", "", "en"},
		{"en", "ja", "ja"},
		{"en", "xx", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.def+"/"+tt.lang, func(t *testing.T) {
			r, err := New(Options{DefaultLang: tt.def})
			if err != nil {
				t.Fatal(err)
			}
			body := render(t, r, 0, PageLogout, LogoutPage{Base: Base{Lang: tt.lang}})
			if !strings.Contains(body, `<html lang="`+tt.want+`">`) {
				t.Errorf("want lang %q in %.200s", tt.want, body)
			}
		})
	}
	if _, err := New(Options{DefaultLang: "fr"}); err == nil {
		t.Error("New accepted an unsupported default language")
	}
}

func TestSiteTitle(t *testing.T) {
	tests := []struct {
		opt              map[string]string
		base, lang, want string
	}{
		{map[string]string{"": "Options"}, "", "ja", ">Options</a>"},
		{map[string]string{"": "Options"}, "Base", "ja", ">Base</a>"},
		{nil, "", "ja", ">社内ポータル</a>"},
		{nil, "", "en", ">Portal</a>"},
		{map[string]string{"ja": "サンプル社", "en": "Sample Co."}, "", "ja", ">サンプル社</a>"},
		{map[string]string{"ja": "サンプル社", "en": "Sample Co."}, "", "en", ">Sample Co.</a>"},
		{map[string]string{"ja": "サンプル社"}, "", "en", ">サンプル社</a>"},
		{map[string]string{"en": "Sample Co.", "": " "}, "", "ja", ">Sample Co.</a>"},
	}
	for _, tt := range tests {
		t.Run(tt.lang+tt.want, func(t *testing.T) {
			r, err := New(Options{SiteTitle: tt.opt})
			if err != nil {
				t.Fatal(err)
			}
			body := render(t, r, 0, PageHome, HomePage{Base: Base{Lang: tt.lang, SiteTitle: tt.base}})
			if !strings.Contains(body, `<a class="site-title" href="/"`+tt.want) {
				t.Errorf("want %q", tt.want)
			}
		})
	}
}

var (
	idAttr   = regexp.MustCompile(`\sid="([^"]*)"`)
	inputTag = regexp.MustCompile(`<input\s[^>]*>`)
	labelFor = regexp.MustCompile(`<label for="([^"]+)"`)
	describe = regexp.MustCompile(`aria-describedby="([^"]+)"`)
)

// TestAccessibility checks, on every page, that ids are unique, every
// visible input has a label tied to it, and aria-describedby points at
// elements that exist.
func TestAccessibility(t *testing.T) {
	r := newRenderer(t)
	for _, lang := range Languages() {
		for page, data := range samplePages(lang) {
			t.Run(page+"/"+lang, func(t *testing.T) {
				body := render(t, r, 0, page, data)
				ids := map[string]bool{}
				for _, m := range idAttr.FindAllStringSubmatch(body, -1) {
					if ids[m[1]] {
						t.Errorf("duplicate id %q", m[1])
					}
					ids[m[1]] = true
				}
				labels := map[string]bool{}
				for _, m := range labelFor.FindAllStringSubmatch(body, -1) {
					labels[m[1]] = true
				}
				for _, in := range inputTag.FindAllString(body, -1) {
					if strings.Contains(in, `type="hidden"`) {
						continue
					}
					m := idAttr.FindStringSubmatch(in)
					if m == nil || !labels[m[1]] {
						t.Errorf("input without a label: %s", in)
					}
				}
				for _, m := range describe.FindAllStringSubmatch(body, -1) {
					for _, id := range strings.Fields(m[1]) {
						if !ids[id] {
							t.Errorf("aria-describedby names missing id %q", id)
						}
					}
				}
			})
		}
	}
}

func TestHomeTiles(t *testing.T) {
	r := newRenderer(t)
	t.Run("icons", func(t *testing.T) {
		p := HomePage{Base: signedIn("ja"), Tiles: []Tile{
			{ID: "a", Name: "A", Icon: "video", URL: "/a/"},
			{ID: "b", Name: "B", Icon: "no-such-icon", URL: "/b/"},
			{ID: "c", Name: "C", URL: "/c/"},
		}}
		body := render(t, r, 0, PageHome, p)
		if n := strings.Count(body, `<a class="tile"`); n != 3 {
			t.Errorf("%d tiles, want 3", n)
		}
		if !strings.Contains(body, iconPaths["video"]) {
			t.Error("video icon missing")
		}
		if n := strings.Count(body, iconPaths["app"]); n != 2 {
			t.Errorf("fallback icon drawn %d times, want 2", n)
		}
		if strings.Contains(body, `id="empty"`) {
			t.Error("empty state shown with tiles")
		}
	})
	for _, lang := range Languages() {
		t.Run("empty/"+lang, func(t *testing.T) {
			body := render(t, r, 0, PageHome, HomePage{Base: signedIn(lang)})
			if !strings.Contains(body, `id="empty"`) || !strings.Contains(body, T(lang, "home.empty")) {
				t.Error("empty state missing")
			}
			if strings.Contains(body, `class="tile"`) {
				t.Error("tile rendered without tiles")
			}
		})
	}
}

func TestIcons(t *testing.T) {
	want := []string{"app", "book", "calendar", "chart", "chat", "cloud", "code", "database", "doc", "folder",
		"globe", "mail", "money", "people", "phone", "search", "settings", "shield", "ticket", "video"}
	got := Icons()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Icons() = %v, want %v", got, want)
	}
	for _, name := range want {
		svg := string(icon(name))
		if !strings.HasPrefix(svg, "<svg ") || !strings.HasSuffix(svg, "</svg>") || !strings.Contains(svg, iconPaths[name]) {
			t.Errorf("icon(%q) = %s", name, svg)
		}
		if strings.Contains(svg, "style") {
			t.Errorf("icon(%q) uses style", name)
		}
	}
	if icon(" Mail ") != icon("mail") {
		t.Error("icon names are not normalised")
	}
	if icon("<b>") != icon("app") {
		t.Error("unknown icon did not fall back to app")
	}
}

func TestProfileStates(t *testing.T) {
	r := newRenderer(t)
	t.Run("clean", func(t *testing.T) {
		p := ProfilePage{Base: signedIn("ja"), Email: "a@example.jp"}
		body := render(t, r, 0, PageProfile, p)
		for _, s := range []string{`id="saved"`, `id="form-errors"`, `id="err-`, `aria-invalid`, `id="session-ip"`, `id="session-line"`, "<time"} {
			if strings.Contains(body, s) {
				t.Errorf("unexpected %q", s)
			}
		}
		if !strings.Contains(body, `id="previous-login">記録なし<`) {
			t.Error("zero previous login not shown as never")
		}
		if !strings.Contains(body, `id="profile-groups">なし<`) {
			t.Error("no groups not shown as none")
		}
	})
	t.Run("every field error", func(t *testing.T) {
		errs := map[string]string{
			"display_name": "profile.error.required",
			"phone":        "profile.error.phone",
			"mobile":       "profile.error.phone",
			"organization": "profile.error.too_long",
			"department":   "profile.error.invalid_chars",
		}
		body := render(t, r, http.StatusUnprocessableEntity, PageProfile, ProfilePage{Base: signedIn("en"), Errors: errs})
		for field, key := range errs {
			want := `id="err-` + field + `">` + T("en", key) + "<"
			if !strings.Contains(html.UnescapeString(body), want) {
				t.Errorf("missing %q", want)
			}
		}
		if n := strings.Count(body, `aria-invalid="true"`); n != len(errs) {
			t.Errorf("%d invalid fields, want %d", n, len(errs))
		}
		if !strings.Contains(body, `aria-describedby="phone-hint err-phone"`) {
			t.Error("phone error not described")
		}
	})
	t.Run("previous login", func(t *testing.T) {
		body := render(t, r, 0, PageProfile, ProfilePage{Base: signedIn("ja"), PreviousLogin: previous})
		if !strings.Contains(html.UnescapeString(body), `<time datetime="2026-11-21T21:59:00+09:00">2026年11月21日(土) 21:59</time>`) {
			t.Errorf("previous login not rendered as <time>: %s", regexp.MustCompile(`id="previous-login">[^\n]*`).FindString(body))
		}
	})
}

func TestErrorPage(t *testing.T) {
	r := newRenderer(t)
	tests := []struct {
		status int
		key    string
		want   string
	}{
		{404, "", "お探しのページが見つかりません。"},
		{403, "", "このページを表示する権限がありません。"},
		{405, "", "この操作は受け付けられません。"},
		{400, "", "リクエストの内容が正しくありません。"},
		{429, "", "リクエストの内容が正しくありません。"},
		{500, "", "システムエラーが発生しました。"},
		{0, "", "システムエラーが発生しました。"},
		{403, "error.csrf", "フォームの有効期限が切れたか"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			status := tt.status
			if status == 0 {
				status = 500
			}
			body := render(t, r, status, PageError, ErrorPage{Base: Base{Lang: "ja"}, Status: tt.status, MessageKey: tt.key})
			if !strings.Contains(body, tt.want) {
				t.Errorf("missing %q", tt.want)
			}
			if strings.Contains(body, `id="request-id"`) {
				t.Error("request id shown without one")
			}
			if (tt.status != 0) != strings.Contains(body, `id="status-code"`) {
				t.Error("status code shown iff set")
			}
		})
	}
}

func TestFormatTime(t *testing.T) {
	r := newRenderer(t)
	tests := []struct {
		lang string
		t    time.Time
		want string
	}{
		{"ja", previous, "2026年11月21日(土) 21:59"},
		{"en", previous, "Sat, 21 Nov 2026 21:59 JST"},
		{"ja", time.Date(2027, 1, 3, 0, 5, 0, 0, jst), "2027年1月3日(日) 00:05"},
		{"en", time.Date(2027, 1, 3, 0, 5, 0, 0, jst), "Sun, 3 Jan 2027 00:05 JST"},
		{"ja", time.Time{}, "記録なし"},
		{"en", time.Time{}, "Never"},
		{"xx", previous, "2026年11月21日(土) 21:59"},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.want, func(t *testing.T) {
			if got := r.FormatTime(tt.lang, tt.t); got != tt.want {
				t.Errorf("FormatTime = %q, want %q", got, tt.want)
			}
		})
	}
}

func BenchmarkRenderHome(b *testing.B) {
	r, err := New(Options{Location: jst})
	if err != nil {
		b.Fatal(err)
	}
	data := samplePages("ja")[PageHome]
	for b.Loop() {
		if err := r.Render(httptest.NewRecorder(), 200, PageHome, data); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLoginPageVariants(t *testing.T) {
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		page    LoginPage
		want    []string
		notWant []string
	}{
		{"buttons in order beside the form", LoginPage{Base: Base{Lang: "ja"}, ShowPasswordForm: true, Providers: []ProviderButton{
			{ID: "google", Label: "Googleアカウントでログイン", URL: "/login/google"},
			{ID: "ad", Label: "Active Directoryアカウントでログイン", URL: "/login/ad"}}},
			[]string{`id="login-form"`, `id="provider-google"`, `id="provider-ad"`, "または"}, nil},
		{"unavailable provider disabled", LoginPage{Base: Base{Lang: "ja"}, Providers: []ProviderButton{{ID: "kiosk", Label: "受付端末", URL: "/login/kiosk", Unavailable: true}}},
			[]string{`id="provider-kiosk"`, `aria-disabled="true"`, "一時的に利用できません"}, []string{`href="/login/kiosk"`}},
		{"password form hidden", LoginPage{Base: Base{Lang: "ja"}, Providers: []ProviderButton{{ID: "google", Label: "G", URL: "/login/google"}}},
			[]string{`id="provider-google"`}, []string{`id="login-form"`, "または"}},
		{"directory form", LoginPage{Base: Base{Lang: "en"}, ShowPasswordForm: true, DirectoryLogin: true, FormAction: "/login/ad", OtherMethods: true, PasswordLabel: "Active Directory"},
			[]string{`action="/login/ad"`, `type="text" id="email"`, "User name or email address", `id="other-methods"`}, []string{`type="email"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := render(t, r, http.StatusOK, PageLogin, tt.page)
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("missing %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("unexpected %q", w)
				}
			}
			if strings.Index(body, `id="provider-google"`) > strings.Index(body, `id="provider-ad"`) && strings.Contains(body, `id="provider-ad"`) {
				t.Error("providers out of configuration order")
			}
		})
	}
}

// TestProfileErrorSummary checks the summary a failed save shows: it
// takes the focus on load without a script (autofocus on a tabindex=-1
// element) and lists each field's problem, in form order, as a link to
// the field.
func TestProfileErrorSummary(t *testing.T) {
	r := newRenderer(t)
	for lang, want := range map[string][]string{
		"ja": {`<a href="#display_name">表示名: この項目は必須です。</a>`, `<a href="#mobile">携帯電話番号: 電話番号は4〜15桁`},
		"en": {`<a href="#display_name">Display name: This field is required.</a>`, `<a href="#mobile">Mobile phone: Enter 4 to 15 digits`},
	} {
		body := render(t, r, http.StatusBadRequest, PageProfile, ProfilePage{Base: signedIn(lang),
			Errors: map[string]string{"mobile": "profile.error.phone", "display_name": "profile.error.required"}})
		m := regexp.MustCompile(`<div class="error-summary" id="form-errors"[^>]*>`).FindString(body)
		if !strings.Contains(m, `tabindex="-1"`) || !strings.Contains(m, " autofocus") {
			t.Errorf("%s: error summary %q is not focused on load", lang, m)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: summary lacks %q", lang, w)
			}
		}
		if strings.Index(body, `href="#display_name"`) > strings.Index(body, `href="#mobile"`) {
			t.Errorf("%s: summary is not in form order", lang)
		}
		if strings.Count(body, "autofocus") != 1 {
			t.Errorf("%s: more than one element asks for the focus", lang)
		}
	}
	body := render(t, r, 0, PageProfile, ProfilePage{Base: signedIn("ja")})
	if strings.Contains(body, "error-summary") || strings.Contains(body, "autofocus") {
		t.Error("a page without errors has an error summary or takes the focus")
	}
}
