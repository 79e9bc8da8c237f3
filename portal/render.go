package portal

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// assets holds the page templates and the files served by Static.
//
//go:embed templates/*.html static/*
var assets embed.FS

// pageTypes maps each page name to the view model Render expects for it.
var pageTypes = map[string]reflect.Type{
	PageLogin:   reflect.TypeFor[LoginPage](),
	PageHome:    reflect.TypeFor[HomePage](),
	PageProfile: reflect.TypeFor[ProfilePage](),
	PageLogout:  reflect.TypeFor[LogoutPage](),
	PageError:   reflect.TypeFor[ErrorPage](),
	PagePost:    reflect.TypeFor[PostPage](),

	PageAccount:        reflect.TypeFor[AccountPage](),
	PageForgot:         reflect.TypeFor[ForgotPage](),
	PageReset:          reflect.TypeFor[ResetPage](),
	PagePasswordChange: reflect.TypeFor[PasswordChangePage](),
	PageEmailChange:    reflect.TypeFor[EmailChangePage](),
	PageEmailConfirm:   reflect.TypeFor[EmailConfirmPage](),
	PageSessions:       reflect.TypeFor[SessionsPage](),
}

// Options configures a Renderer.
type Options struct {
	// SiteTitle is shown in the header and the window title of pages whose
	// Base.SiteTitle is empty, by language tag; the key "" holds a title
	// for every language (config.Text has this shape). A language without
	// a title shows the one for every language, else another language's.
	// Empty means a generic "社内ポータル" / "Portal".
	SiteTitle map[string]string
	// DefaultLang is used when Base.Lang is not a supported language.
	// Empty means "ja".
	DefaultLang string
	// Location is the time zone in which times are shown. Nil means
	// time.Local.
	Location *time.Location
}

// Renderer renders the portal's pages. It is safe for concurrent use.
type Renderer struct {
	siteTitle   map[string]string
	defaultLang string
	loc         *time.Location
	// base is the layout and its parts, parsed once and never executed:
	// each page's set is a clone of it.
	base *template.Template

	// mu guards pages, which maps language and page name to a template set
	// whose "t" and "fmtTime" speak that language. A set is built on the
	// page's first render in that language: each is a full copy of the
	// layout's parse trees, and most pages are never shown by a gateway
	// that mostly answers /auth, so building all of them at start held
	// megabytes of heap (twice that in RSS under the collector's GOGC
	// headroom) for nothing.
	mu    sync.Mutex
	pages map[pageKey]*template.Template
}

type pageKey struct{ lang, page string }

// New parses the layout and returns a Renderer; each page's template is
// parsed on its first render (the templates are embedded, and
// TestEveryPageParses parses every one in every language). It fails if
// opts.DefaultLang is not one of Languages() or the layout does not parse.
func New(opts Options) (*Renderer, error) {
	r := &Renderer{
		siteTitle:   map[string]string{},
		defaultLang: opts.DefaultLang,
		loc:         opts.Location,
		pages:       make(map[pageKey]*template.Template),
	}
	if r.defaultLang == "" {
		r.defaultLang = defaultLang
	}
	if !supported(r.defaultLang) {
		return nil, fmt.Errorf("portal: default language %q is not supported (want one of %s)",
			opts.DefaultLang, strings.Join(languages, ", "))
	}
	if r.loc == nil {
		r.loc = time.Local
	}
	for lang, title := range opts.SiteTitle {
		if title = strings.TrimSpace(title); title != "" {
			r.siteTitle[lang] = title
		}
	}

	base, err := template.New("base.html").Funcs(r.funcs(r.defaultLang)).ParseFS(assets, "templates/base.html", "templates/parts_*.html")
	if err != nil {
		return nil, fmt.Errorf("portal: parse base template: %w", err)
	}
	r.base = base
	return r, nil
}

// page returns the template set of page (one of pageTypes) in lang,
// parsing it on first use.
func (r *Renderer) page(lang, page string) (*template.Template, error) {
	k := pageKey{lang, page}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.pages[k]; t != nil {
		return t, nil
	}
	t, err := r.base.Clone()
	if err != nil {
		return nil, fmt.Errorf("portal: clone base template: %w", err)
	}
	if _, err := t.Funcs(r.funcs(lang)).ParseFS(assets, "templates/"+page+".html"); err != nil {
		return nil, fmt.Errorf("portal: parse %s template: %w", page, err)
	}
	r.pages[k] = t
	return t, nil
}

// view is what the templates see: the page's view model as Page, its Base
// as Base, and the values the renderer resolves for every page.
type view struct {
	Page      any
	Base      Base
	Name      string
	Lang      string
	SiteTitle string
}

// Render writes page, filled from data, as a complete HTML response with
// the given status (0 means 200). data must be the view model for page — a
// LoginPage or *LoginPage for PageLogin and so on. The page is rendered into
// a buffer first: if data is wrong or a template fails, nothing has been
// written and the caller can still send an error page; an error after that
// is the client's connection failing. Render sets Content-Type and
// Cache-Control: no-store; security headers are the caller's.
func (r *Renderer) Render(w http.ResponseWriter, status int, page string, data any) error {
	b, err := baseOf(page, data)
	if err != nil {
		return err
	}
	lang := normalizeLang(b.Lang, r.defaultLang)
	title := strings.TrimSpace(b.SiteTitle)
	if title == "" {
		title = r.titleIn(lang)
	}
	if title == "" {
		title = T(lang, "site.default_title")
	}
	v := view{Page: data, Base: b, Name: page, Lang: lang, SiteTitle: title}

	t, err := r.page(lang, page)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("portal: render %s: %w", page, err)
	}
	if status == 0 {
		status = http.StatusOK
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err = w.Write(buf.Bytes())
	return err
}

// titleIn is the configured site title for lang: its own, else the one
// for every language, else another language's, else "".
func (r *Renderer) titleIn(lang string) string {
	if t := r.siteTitle[lang]; t != "" {
		return t
	}
	if t := r.siteTitle[""]; t != "" {
		return t
	}
	for _, l := range languages {
		if t := r.siteTitle[l]; t != "" {
			return t
		}
	}
	return ""
}

// ErrUnknownPage is returned by Render for a page name that is not one of
// the Page constants.
var ErrUnknownPage = errors.New("portal: unknown page")

// baseOf checks that data is the view model of page and returns its Base.
func baseOf(page string, data any) (Base, error) {
	want, ok := pageTypes[page]
	if !ok {
		return Base{}, fmt.Errorf("%w %q", ErrUnknownPage, page)
	}
	v := reflect.ValueOf(data)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return Base{}, fmt.Errorf("portal: render %s: nil %s", page, v.Type())
		}
		v = v.Elem()
	}
	if !v.IsValid() || v.Type() != want {
		return Base{}, fmt.Errorf("portal: render %s: data is %T, want %s or *%[3]s", page, data, want)
	}
	return v.FieldByName("Base").Interface().(Base), nil
}

// FormatTime formats t in the renderer's time zone the way pages show it:
// "2026年11月21日(土) 21:59" in Japanese, "Sat, 21 Nov 2026 21:59 JST" in
// English. The zero time reads "記録なし" / "Never".
func (r *Renderer) FormatTime(lang string, t time.Time) string {
	return formatTime(normalizeLang(lang, r.defaultLang), t, r.loc)
}

var jaWeekdays = [...]string{"日", "月", "火", "水", "木", "金", "土"}

func formatTime(lang string, t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return T(lang, "profile.never")
	}
	t = t.In(loc)
	if lang == "ja" {
		return fmt.Sprintf("%d年%d月%d日(%s) %s",
			t.Year(), t.Month(), t.Day(), jaWeekdays[t.Weekday()], t.Format("15:04"))
	}
	return t.Format("Mon, 2 Jan 2006 15:04 MST")
}

// funcs returns the template functions for lang.
func (r *Renderer) funcs(lang string) template.FuncMap {
	return template.FuncMap{
		"t": func(key string, args ...any) string { return T(lang, key, args...) },
		"fmtTime": func(t time.Time) string {
			return formatTime(lang, t, r.loc)
		},
		"isoTime": func(t time.Time) string {
			return t.In(r.loc).Format(time.RFC3339)
		},
		"icon":     icon,
		"asset":    assetURL,
		"errorKey": errorKey,
	}
}

// assetURL returns the versioned URL of a file in static/, so a new release
// is fetched despite the long cache lifetime Static sets.
func assetURL(name string) (string, error) {
	if _, err := fs.Stat(assets, path.Join("static", name)); err != nil {
		return "", fmt.Errorf("portal: no static asset %q", name)
	}
	return "/static/" + name + "?v=" + StaticVersion(), nil
}

// errorKey returns key, or when it is empty the generic message for status.
func errorKey(status int, key string) string {
	if key != "" {
		return key
	}
	switch status {
	case http.StatusBadRequest:
		return "error.bad_request"
	case http.StatusForbidden:
		return "error.forbidden"
	case http.StatusNotFound:
		return "error.not_found"
	case http.StatusMethodNotAllowed:
		return "error.method_not_allowed"
	}
	if status >= 400 && status < 500 {
		return "error.bad_request"
	}
	return "error.internal"
}
