package portal

import (
	"io"
	"net/http/httptest"
	"reflect"
	"runtime"
	"sync"
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

// TestLazyPagesConcurrentFirstRender renders one page from many
// goroutines at once on a new Renderer: the first render builds the set
// while the others wait for it, and all get the same page (run with -race).
func TestLazyPagesConcurrentFirstRender(t *testing.T) {
	r := newRenderer(t)
	const n = 16
	bodies := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			if err := r.Render(rec, 0, PageLogin, LoginPage{Base: Base{Lang: "ja", CSRFToken: "c"}}); err != nil {
				t.Error(err)
			}
			bodies[i] = rec.Body.String()
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if bodies[i] != bodies[0] {
			t.Fatalf("render %d differs from render 0", i)
		}
	}
	if len(r.pages) != 1 {
		t.Errorf("%d page sets after rendering one page, want 1", len(r.pages))
	}
}
