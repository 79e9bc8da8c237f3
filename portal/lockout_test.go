package portal

import (
	"net/http"
	"strings"
	"testing"
)

// TestUnlockAndThrottledPages renders each state in both languages: the
// confirm form posts the ticket with its CSRF token, the done page links
// to sign-in, the invalid page to a password reset, and markup in the
// ticket stays text.
func TestUnlockAndThrottledPages(t *testing.T) {
	r := newRenderer(t)
	for _, lang := range Languages() {
		b := signedOut(lang)
		confirm := render(t, r, 0, PageUnlock, UnlockPage{Base: b, State: UnlockConfirm, Ticket: `u1.<script>x</script>`})
		for _, want := range []string{`action="/unlock"`, `name="csrf_token" value="csrf-abc"`, `name="ticket" value="u1.&lt;script&gt;x&lt;/script&gt;"`, `id="unlock-submit"`, T(lang, "unlock.submit")} {
			if !strings.Contains(confirm, want) {
				t.Errorf("%s confirm page lacks %s", lang, want)
			}
		}
		done := render(t, r, 0, PageUnlock, UnlockPage{Base: b, State: UnlockDone})
		if !strings.Contains(done, T(lang, "unlock.done")) || !strings.Contains(done, `href="/login"`) || strings.Contains(done, "<form id=\"unlock-form\"") {
			t.Errorf("%s done page:\n%s", lang, done)
		}
		invalid := render(t, r, http.StatusGone, PageUnlock, UnlockPage{Base: b, State: UnlockInvalid})
		if !strings.Contains(invalid, T(lang, "unlock.reset_hint")) || !strings.Contains(invalid, `href="/password/forgot"`) {
			t.Errorf("%s invalid page:\n%s", lang, invalid)
		}
		wait := render(t, r, http.StatusTooManyRequests, PageThrottled, ThrottledPage{Base: b, Minutes: 12})
		if !strings.Contains(wait, T(lang, "throttle.wait", 12)) || !strings.Contains(wait, "429") {
			t.Errorf("%s throttled page:\n%s", lang, wait)
		}
	}
}
