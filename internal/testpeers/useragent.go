package testpeers

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Browser is a user agent for signing in through a peer: it keeps
// cookies and follows redirects (and so runs a whole OIDC code flow in
// one Get).
func Browser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err) // cookiejar.New fails only on a bad PublicSuffixList, and none is given
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// Form is an HTML page's form, as a browser would submit it.
type Form struct {
	// Action is the absolute URL it posts to.
	Action string
	Method string
	// Fields are its inputs' names and values.
	Fields url.Values
	// Interactive says it has an input a person fills in (one not
	// hidden), as a login form has and an auto-submitting form has not.
	Interactive bool
}

var (
	formTagRE = regexp.MustCompile(`(?is)<form\b[^>]*>`)
	inputRE   = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	attrRE    = regexp.MustCompile(`(?is)\b([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
)

func attrs(tag string) map[string]string {
	a := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(tag, -1) {
		a[strings.ToLower(m[1])] = html.UnescapeString(m[2] + m[3])
	}
	return a
}

// ParseForm finds the first form in page, served at base, or returns
// false. Submit buttons are not fields.
func ParseForm(base *url.URL, page []byte) (Form, bool) {
	loc := formTagRE.FindIndex(page)
	if loc == nil {
		return Form{}, false
	}
	fa := attrs(string(page[loc[0]:loc[1]]))
	action, err := base.Parse(fa["action"])
	if err != nil {
		return Form{}, false
	}
	f := Form{Action: action.String(), Method: strings.ToUpper(fa["method"]), Fields: url.Values{}}
	if f.Method == "" {
		f.Method = http.MethodGet
	}
	rest := page[loc[1]:]
	if end := strings.Index(strings.ToLower(string(rest)), "</form>"); end >= 0 {
		rest = rest[:end]
	}
	for _, tag := range inputRE.FindAll(rest, -1) {
		a := attrs(string(tag))
		typ := strings.ToLower(a["type"])
		if typ != "hidden" && typ != "submit" && typ != "button" {
			f.Interactive = true
		}
		if a["name"] == "" || typ == "submit" {
			continue
		}
		f.Fields.Add(a["name"], a["value"])
	}
	return f, true
}

// Submit sends f with client, with the fields in set replacing f's.
func (f Form) Submit(client *http.Client, set url.Values) (*http.Response, error) {
	fields := url.Values{}
	for k, v := range f.Fields {
		fields[k] = v
	}
	for k, v := range set {
		fields[k] = v
	}
	if f.Method == http.MethodPost {
		return client.PostForm(f.Action, fields)
	}
	u, err := url.Parse(f.Action)
	if err != nil {
		return nil, err
	}
	u.RawQuery = fields.Encode()
	return client.Get(u.String())
}

// FollowSAMLForms reads resp and, while its page is a form of hidden
// fields carrying a SAMLRequest or SAMLResponse (the auto-submitting form
// of the HTTP-POST binding, which a browser's script posts), submits it
// with client. It returns the final page's response and body (a login
// form, say, or the application's page).
func FollowSAMLForms(tb testing.TB, client *http.Client, resp *http.Response) (*http.Response, []byte) {
	tb.Helper()
	for range 10 {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			tb.Fatal(err)
		}
		f, ok := ParseForm(resp.Request.URL, body)
		if !ok || f.Interactive || f.Fields.Get("SAMLRequest") == "" && f.Fields.Get("SAMLResponse") == "" {
			return resp, body
		}
		if resp, err = f.Submit(client, nil); err != nil {
			tb.Fatalf("post the SAML form to %s: %v", f.Action, err)
		}
	}
	tb.Fatal("more than 10 SAML forms in a row")
	return nil, nil
}
