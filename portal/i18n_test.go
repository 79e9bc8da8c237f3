package portal

import (
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// gatewayKeys are the message keys the gateway passes in view models. They
// are a contract: removing one breaks a page.
var gatewayKeys = []string{
	"login.error.invalid", "login.error.busy", "login.error.disabled", "login.error.required",
	"error.csrf", "error.not_found", "error.forbidden", "error.method_not_allowed",
	"error.internal", "error.bad_request", "error.store_unavailable",
	"profile.saved", "profile.error.required", "profile.error.too_long",
	"profile.error.phone", "profile.error.invalid_chars",
	"logout.done",
}

func TestCatalogLanguagesMatch(t *testing.T) {
	if got := slices.Sorted(maps.Keys(catalog)); !slices.Equal(got, slices.Sorted(slices.Values(Languages()))) {
		t.Fatalf("catalog languages %v, Languages() %v", got, Languages())
	}
	ja := slices.Sorted(maps.Keys(catalog["ja"]))
	for _, lang := range Languages() {
		keys := slices.Sorted(maps.Keys(catalog[lang]))
		for _, k := range ja {
			if _, ok := catalog[lang][k]; !ok {
				t.Errorf("%s: missing key %q", lang, k)
			}
		}
		for _, k := range keys {
			if _, ok := catalog["ja"][k]; !ok {
				t.Errorf("ja: missing key %q (present in %s)", k, lang)
			}
			msg := catalog[lang][k]
			if strings.TrimSpace(msg) == "" {
				t.Errorf("%s: empty message %q", lang, k)
			}
			if verbs(msg) != verbs(catalog["ja"][k]) {
				t.Errorf("%s %q: format verbs %q differ from ja %q", lang, k, verbs(msg), verbs(catalog["ja"][k]))
			}
		}
	}
}

var verbRE = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

func verbs(s string) string { return strings.Join(verbRE.FindAllString(s, -1), " ") }

func TestGatewayKeys(t *testing.T) {
	for _, k := range gatewayKeys {
		if !HasKey(k) {
			t.Errorf("gateway key %q missing", k)
		}
	}
	if got, want := T("ja", "login.error.invalid"), "メールアドレスまたはパスワードが正しくありません。"; got != want {
		t.Errorf("login.error.invalid = %q, want %q", got, want)
	}
	if got, want := T("ja", "logout.done"), "ログアウトしました。"; got != want {
		t.Errorf("logout.done = %q, want %q", got, want)
	}
}

var templateKeyRE = regexp.MustCompile(`\bt\s+"([^"]+)"`)

func TestTemplateKeysExist(t *testing.T) {
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	n := 0
	for _, f := range files {
		b, err := fs.ReadFile(assets, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range templateKeyRE.FindAllStringSubmatch(string(b), -1) {
			n++
			if !HasKey(m[1]) {
				t.Errorf("%s uses unknown key %q", f, m[1])
			}
		}
	}
	if n < 40 {
		t.Errorf("found only %d t calls; is the regexp still right?", n)
	}
	// Keys chosen in Go rather than in a template.
	for _, status := range []int{0, 400, 401, 403, 404, 405, 500, 503} {
		if k := errorKey(status, ""); !HasKey(k) {
			t.Errorf("errorKey(%d) = unknown key %q", status, k)
		}
	}
	for _, k := range []string{"site.default_title", "profile.never"} {
		if !HasKey(k) {
			t.Errorf("key %q used by render.go missing", k)
		}
	}
}

func TestT(t *testing.T) {
	tests := []struct {
		lang, key string
		args      []any
		want      string
	}{
		{"ja", "login.title", nil, "ログイン"},
		{"en", "login.title", nil, "Sign in"},
		{"fr", "login.title", nil, "ログイン"},
		{"", "login.title", nil, "ログイン"},
		{"en", "error.status", []any{404}, "Status code 404"},
		{"ja", "error.status", []any{404}, "ステータスコード 404"},
		{"en", "no.such.key", nil, "no.such.key"},
		{"en", "no.such.key", []any{1}, "no.such.key"},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.key, func(t *testing.T) {
			if got := T(tt.lang, tt.key, tt.args...); got != tt.want {
				t.Errorf("T = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLanguages(t *testing.T) {
	got := Languages()
	if !slices.Equal(got, []string{"ja", "en"}) {
		t.Fatalf("Languages() = %v", got)
	}
	got[0] = "xx"
	if Languages()[0] != "ja" {
		t.Error("Languages() exposes internal state")
	}
}

func TestMatchLanguage(t *testing.T) {
	tests := []struct {
		name, cookie, accept, def, want string
	}{
		{"cookie wins", "en", "ja", "ja", "en"},
		{"cookie ja", "ja", "en-US,en;q=0.9", "en", "ja"},
		{"cookie case", " EN ", "", "ja", "en"},
		{"bad cookie ignored", "fr", "en", "ja", "en"},
		{"cookie region not valid", "en-US", "", "ja", "ja"},
		{"browser en-US", "", "en-US,en;q=0.9,ja;q=0.8", "ja", "en"},
		{"browser ja-JP", "", "ja-JP", "en", "ja"},
		{"q order", "", "en;q=0.5,ja;q=0.8", "en", "ja"},
		{"q tie keeps order", "", "en;q=0.8,ja;q=0.8", "ja", "en"},
		{"unsupported first", "", "fr-FR,fr;q=0.9,en;q=0.5", "ja", "en"},
		{"only unsupported", "", "fr", "ja", "ja"},
		{"only unsupported def en", "", "fr", "en", "en"},
		{"q zero excluded", "", "en;q=0,fr", "ja", "ja"},
		{"q zero excluded ja", "", "ja;q=0,en;q=0.1", "ja", "en"},
		{"wildcard", "", "*", "en", "en"},
		{"wildcard first", "", "*,en;q=0.5", "ja", "en"},
		{"spaces", "", " en-GB ; q=0.7 , ja ; q=0.6 ", "ja", "en"},
		{"uppercase", "", "EN-us", "ja", "en"},
		{"underscore", "", "ja_JP", "en", "ja"},
		{"bad q skipped", "", "en;q=abc,ja;q=0.1", "en", "ja"},
		{"q above one skipped", "", "en;q=2,ja;q=0.1", "en", "ja"},
		{"other params", "", "en;level=1;q=0.4,ja;q=0.3", "ja", "en"},
		{"garbage", "", ";;;,,,=q", "ja", "ja"},
		{"binary", "", "\x00\xff<script>", "en", "en"},
		{"empty", "", "", "ja", "ja"},
		{"prefix trap", "", "jav,eng", "ja", "ja"},
		{"long", "", strings.Repeat("fr,", 2000) + "en", "ja", "ja"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchLanguage(tt.cookie, tt.accept, tt.def); got != tt.want {
				t.Errorf("MatchLanguage(%q, %q, %q) = %q, want %q", tt.cookie, tt.accept, tt.def, got, tt.want)
			}
		})
	}
}
