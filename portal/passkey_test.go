package portal

import (
	"html"
	"regexp"
	"strings"
	"testing"
)

// TestPasskeyLoginPage renders the passkey sign-in page: the options
// travel as JSON data in an attribute (markup in them stays text), the
// page loads the one script by its versioned URL, and says what to do
// without JavaScript; the error-only state loads no script.
func TestPasskeyLoginPage(t *testing.T) {
	r := newRenderer(t)
	opts := `{"challenge":"abc","rpId":"sso.example.test","x":"</script><script>alert(1)</script>"}`
	for _, lang := range Languages() {
		b := signedOut(lang)
		body := render(t, r, 0, PagePasskeyLogin, PasskeyLoginPage{Base: b, Options: opts, ReturnTo: "/wiki/"})
		m := regexp.MustCompile(`data-webauthn-options="([^"]*)"`).FindStringSubmatch(body)
		if m == nil || html.UnescapeString(m[1]) != opts {
			t.Errorf("%s: options attribute = %v, want %s", lang, m, opts)
		}
		if strings.Contains(body, "<script>alert") {
			t.Errorf("%s: markup in the options became markup", lang)
		}
		if !strings.Contains(body, `<script src="/static/webauthn.js?v=`+StaticVersion()+`" defer></script>`) {
			t.Errorf("%s: page does not load webauthn.js", lang)
		}
		for _, want := range []string{`name="credential"`, `name="csrf_token"`, `action="/login/passkey"`, `data-webauthn="get"`,
			T(lang, "passkey.noscript"), T(lang, "passkey.cancelled"), `href="/login?return_to=%2fwiki%2f"`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: page lacks %q", lang, want)
			}
		}

		body = render(t, r, 400, PagePasskeyLogin, PasskeyLoginPage{Base: b, ErrorKey: "passkey.error.invalid"})
		if strings.Contains(body, "<script") || !strings.Contains(body, T(lang, "passkey.error.invalid")) ||
			!strings.Contains(body, `href="/login/passkey"`) {
			t.Errorf("%s: error page = %s", lang, body)
		}
	}
}

func TestLoginPagePasskeyButton(t *testing.T) {
	r := newRenderer(t)
	b := signedOut("ja")
	with := render(t, r, 0, PageLogin, LoginPage{Base: b, ShowPasswordForm: true, Passkey: true, ReturnTo: "/wiki/"})
	if !strings.Contains(with, `href="/login/passkey?return_to=%2fwiki%2f" id="passkey-login">パスキーでログイン</a>`) {
		t.Errorf("login page lacks the passkey button: %s", with)
	}
	without := render(t, r, 0, PageLogin, LoginPage{Base: b, ShowPasswordForm: true})
	if strings.Contains(without, "passkey-login") || strings.Contains(with, "<script") {
		t.Error("passkey button shown when off, or the login page loads a script")
	}
}

func TestStaticScript(t *testing.T) {
	rec := serve("GET", "/static/webauthn.js?v="+StaticVersion(), nil)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" ||
		!strings.Contains(rec.Body.String(), "navigator.credentials.get") {
		t.Errorf("webauthn.js: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}
