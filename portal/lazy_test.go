package portal

import (
	"io"
	"net/http/httptest"
	"reflect"
	"runtime"
	"testing"
)

// TestEveryPageParses parses and executes every page in every language:
// pages are parsed on their first render, so a template that does not
// parse (or does not escape) must be caught here rather than by a person
// opening the page.
func TestEveryPageParses(t *testing.T) {
	r := newRenderer(t)
	for page, typ := range pageTypes {
		for _, lang := range Languages() {
			set, err := r.page(lang, page)
			if err != nil {
				t.Fatalf("%s/%s: %v", page, lang, err)
			}
			data := reflect.New(typ)
			data.Elem().FieldByName("Base").Set(reflect.ValueOf(Base{Lang: lang}))
			if err := set.ExecuteTemplate(io.Discard, "layout", view{Page: data.Interface(), Base: Base{Lang: lang}, Name: page, Lang: lang}); err != nil {
				t.Errorf("%s/%s: execute with a zero view model: %v", page, lang, err)
			}
		}
	}
}

// TestNewParsesPagesLazily checks that New parses only the layout: each
// page's set (a full copy of the layout's parse trees, per language) is
// built on first render. Parsing all of them at start held about 4.5 MB
// of heap in every gateway process, which mostly answers /auth and never
// shows most pages.
func TestNewParsesPagesLazily(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("New allocated %d bytes, want under 1 MiB: it should parse the layout only", got)
	}
	if n := len(r.pages); n != 0 {
		t.Errorf("New built %d page sets, want none before a render", n)
	}
	if err := r.Render(httptest.NewRecorder(), 0, PageLogin, LoginPage{Base: Base{Lang: "en"}}); err != nil {
		t.Fatal(err)
	}
	if n := len(r.pages); n != 1 {
		t.Errorf("after one render %d page sets exist, want 1", n)
	}
	runtime.KeepAlive(r)
}
