package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Identity headers the gateway sets; the assertion header's name is
// configurable and lives in config.
const (
	headerUser   = "X-Forwarded-User"
	headerRemote = "Remote-User"
	headerEmail  = "X-Forwarded-Email"
	headerGroups = "X-Forwarded-Groups"
	headerName   = "X-Forwarded-Name"
)

// app is the demo's HTTP side: the whoami page, /healthz and /ws.
type app struct {
	cfg      config
	verifier *verifier
	log      *slog.Logger
	now      func() time.Time

	// shutdown is closed when the server shuts down; open WebSockets watch
	// it because http.Server.Shutdown does not close hijacked connections.
	mu       sync.Mutex
	closing  bool
	shutdown chan struct{}
	sockets  sync.WaitGroup
}

func newApp(cfg config, v *verifier, logger *slog.Logger) *app {
	return &app{
		cfg:      cfg,
		verifier: v,
		log:      logger,
		now:      time.Now,
		shutdown: make(chan struct{}),
	}
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", a.healthz)
	mux.HandleFunc("/ws", a.serveWebSocket)
	mux.HandleFunc("/", a.whoami)
	return a.withRequestLog(mux)
}

func (a *app) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok"))
}

// report is what the whoami page shows, and its JSON form. The gateway's
// tests decode this JSON; keep the field names.
type report struct {
	Method     string          `json:"method"`
	Path       string          `json:"path"`
	Host       string          `json:"host"`
	RemoteAddr string          `json:"remote_addr"`
	Headers    http.Header     `json:"headers"`
	User       string          `json:"user"`
	Email      string          `json:"email"`
	Name       string          `json:"name"`
	Groups     []string        `json:"groups"`
	Assertion  assertionReport `json:"assertion"`
}

// assertionReport is the verification result. Reason is empty when Valid.
// Claims are shown whenever the signature verified, also when a claim check
// failed (an expired assertion still says whom it was for).
type assertionReport struct {
	Present bool           `json:"present"`
	Valid   bool           `json:"valid"`
	Reason  string         `json:"reason"`
	Detail  string         `json:"detail,omitempty"`
	Claims  map[string]any `json:"claims"`
}

func (a *app) whoami(w http.ResponseWriter, r *http.Request) {
	rep := a.buildReport(r)
	logAttrs(r, slog.String("user", rep.User), slog.String("assertion", assertionOutcome(rep.Assertion)))

	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if wantsJSON(r) {
		h.Set("Content-Type", "application/json; charset=utf-8")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			a.log.Warn("write json", "request_id", requestID(r), "err", err)
		}
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	if err := pageTemplate.Execute(w, a.newPage(rep)); err != nil {
		a.log.Warn("write page", "request_id", requestID(r), "err", err)
	}
}

func assertionOutcome(ar assertionReport) string {
	if ar.Valid {
		return "valid"
	}
	return ar.Reason
}

func (a *app) buildReport(r *http.Request) report {
	rep := report{
		Method:     r.Method,
		Path:       r.URL.Path,
		Host:       r.Host,
		RemoteAddr: r.RemoteAddr,
		Headers:    r.Header.Clone(),
		User:       r.Header.Get(headerUser),
		Email:      r.Header.Get(headerEmail),
		Name:       decodeHeaderValue(r.Header.Get(headerName)),
		Groups:     decodeGroups(r.Header.Get(headerGroups)),
	}
	if rep.Headers == nil {
		rep.Headers = http.Header{}
	}
	if rep.User == "" {
		rep.User = r.Header.Get(headerRemote)
	}

	token := r.Header.Get(a.cfg.AssertionHeader)
	ar := assertionReport{Present: strings.TrimSpace(token) != ""}
	asrt, err := a.verifier.Verify(r.Context(), token)
	if asrt != nil {
		ar.Claims = asrt.Raw
	}
	var verr *verifyError
	switch {
	case err == nil:
		ar.Valid = true
	case errors.As(err, &verr):
		ar.Reason, ar.Detail = string(verr.Reason), verr.Detail
		// A rejected assertion is a result worth a line, not an error.
		if verr.Reason != reasonMissing {
			a.log.Info("assertion rejected", "request_id", requestID(r),
				"reason", string(verr.Reason), "err", verr.Err)
		}
	default:
		ar.Reason = string(reasonMalformed)
		a.log.Warn("assertion check failed", "request_id", requestID(r), "err", err)
	}
	rep.Assertion = ar
	return rep
}

// decodeHeaderValue undoes the gateway's percent-encoding (RFC 3986
// unreserved characters kept, so a space is %20 and '+' is itself). A value
// that is not valid percent-encoded UTF-8 is shown as received.
func decodeHeaderValue(s string) string {
	s = strings.TrimSpace(s)
	d, err := url.PathUnescape(s)
	if err != nil || !utf8.ValidString(d) {
		return s
	}
	return d
}

// decodeGroups splits the comma-separated X-Forwarded-Groups and decodes
// each group. The commas separate before decoding, so a group name may
// itself contain an encoded comma (%2C).
func decodeGroups(s string) []string {
	groups := []string{}
	for g := range strings.SplitSeq(s, ",") {
		if g = decodeHeaderValue(g); g != "" {
			groups = append(groups, g)
		}
	}
	return groups
}

// wantsJSON reports whether the client asked for JSON: ?format=json, or an
// Accept header that lists application/json and not text/html (browsers
// list text/html, API clients and tests list application/json).
func wantsJSON(r *http.Request) bool {
	switch r.URL.Query().Get("format") {
	case "json":
		return true
	case "html":
		return false
	}
	var jsonOK, htmlOK bool
	for _, accept := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(accept, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || params["q"] == "0" || params["q"] == "0.0" {
				continue
			}
			switch mt {
			case "application/json":
				jsonOK = true
			case "text/html":
				htmlOK = true
			}
		}
	}
	return jsonOK && !htmlOK
}

// page is the data of the HTML template.
type page struct {
	Report    report
	OK        bool
	Verdict   string
	Audience  string
	Headers   []headerRow
	ClaimJSON string
	Times     []timeRow
}

type headerRow struct {
	Name     string
	Values   []string
	Identity bool
}

type timeRow struct {
	Claim string
	When  string
}

func (a *app) newPage(rep report) page {
	p := page{Report: rep, OK: rep.Assertion.Valid, Audience: a.cfg.Audience}
	switch {
	case rep.Assertion.Valid:
		p.Verdict = "Assertion verified ✓ for audience " + a.cfg.Audience
	case rep.Assertion.Reason == string(reasonMissing):
		p.Verdict = "No assertion received ✗ (missing)"
	default:
		p.Verdict = "Assertion rejected ✗ " + rep.Assertion.Reason
	}

	identity := map[string]bool{
		headerUser: true, headerRemote: true, headerEmail: true,
		headerGroups: true, headerName: true, a.cfg.AssertionHeader: true,
	}
	for name, values := range rep.Headers {
		p.Headers = append(p.Headers, headerRow{Name: name, Values: values, Identity: identity[name]})
	}
	slices.SortFunc(p.Headers, func(x, y headerRow) int { return strings.Compare(x.Name, y.Name) })

	if rep.Assertion.Claims != nil {
		b, err := json.MarshalIndent(rep.Assertion.Claims, "", "  ")
		if err == nil {
			p.ClaimJSON = string(b)
		}
		now := a.now()
		for _, c := range []string{"iat", "nbf", "exp", "auth_time"} {
			n, ok := rep.Assertion.Claims[c].(json.Number)
			if !ok {
				continue
			}
			sec, err := n.Int64()
			if err != nil {
				continue
			}
			t := time.Unix(sec, 0)
			rel := t.Sub(now).Round(time.Second)
			when := t.UTC().Format(time.RFC3339) + " (in " + rel.String() + ")"
			if rel < 0 {
				when = t.UTC().Format(time.RFC3339) + " (" + (-rel).String() + " ago)"
			}
			p.Times = append(p.Times, timeRow{Claim: c, When: when})
		}
	}
	return p
}

// pageCSS is the page's only styling. The CSP allows exactly this block by
// its hash, so the page runs no script and loads nothing.
const pageCSS = `
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:64rem;padding:0 1rem;color:#1a1a1a}
h1{font-size:1.6rem;padding:.8rem 1rem;border-radius:6px}
h1.ok{background:#e3f6e6;color:#14532d}
h1.bad{background:#fde8e8;color:#7f1d1d}
h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #ddd}
td{word-break:break-all}
th{white-space:nowrap;width:14rem}
tr.identity{background:#fff7d6}
pre{background:#f5f5f5;padding:.8rem;overflow:auto}
.muted{color:#666}
`

var pageCSP = func() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>whoami</title>
<style>` + pageCSS + `</style>
</head>
<body>
<h1 class="{{if .OK}}ok{{else}}bad{{end}}">{{.Verdict}}</h1>
{{with .Report.Assertion.Detail}}<p>{{.}}</p>{{end}}

<h2>Identity</h2>
<table>
<tr><th>User</th><td>{{.Report.User}}</td></tr>
<tr><th>Email</th><td>{{.Report.Email}}</td></tr>
<tr><th>Name</th><td>{{.Report.Name}}</td></tr>
<tr><th>Groups</th><td>{{range $i, $g := .Report.Groups}}{{if $i}}, {{end}}{{$g}}{{else}}<span class="muted">none</span>{{end}}</td></tr>
</table>

<h2>Assertion claims</h2>
{{if .ClaimJSON}}
{{if not .OK}}<p class="muted">Signed by the gateway but not accepted: {{.Report.Assertion.Reason}}.</p>{{end}}
<pre>{{.ClaimJSON}}</pre>
{{with .Times}}<table>{{range .}}<tr><th>{{.Claim}}</th><td>{{.When}}</td></tr>{{end}}</table>{{end}}
{{else}}
<p class="muted">No verified claims to show.</p>
{{end}}

<h2>Request</h2>
<table>
<tr><th>Method</th><td>{{.Report.Method}}</td></tr>
<tr><th>Path</th><td>{{.Report.Path}}</td></tr>
<tr><th>Host</th><td>{{.Report.Host}}</td></tr>
<tr><th>Remote address</th><td>{{.Report.RemoteAddr}}</td></tr>
</table>

<h2>Request headers</h2>
<p class="muted">Highlighted rows are the identity headers the gateway sets.</p>
<table>
{{range .Headers}}<tr{{if .Identity}} class="identity"{{end}}><th>{{.Name}}</th><td>{{range $i, $v := .Values}}{{if $i}}<br>{{end}}{{$v}}{{end}}</td></tr>
{{end}}</table>
</body>
</html>
`))

// Request ids and the request log.

type ctxKey struct{}

type requestInfo struct {
	id    string
	attrs []slog.Attr
}

func requestID(r *http.Request) string {
	if ri, ok := r.Context().Value(ctxKey{}).(*requestInfo); ok {
		return ri.id
	}
	return ""
}

// logAttrs adds attributes to the request's log line.
func logAttrs(r *http.Request, attrs ...slog.Attr) {
	if ri, ok := r.Context().Value(ctxKey{}).(*requestInfo); ok {
		ri.attrs = append(ri.attrs, attrs...)
	}
}

// withRequestLog gives each request an id (the gateway's X-Request-Id when
// it sent a sane one, so both logs line up) and logs one line per request.
func (a *app) withRequestLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{id: r.Header.Get("X-Request-Id")}
		if !saneRequestID(ri.id) {
			var b [8]byte
			rand.Read(b[:])
			ri.id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", ri.id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri)))
		attrs := []slog.Attr{
			slog.String("request_id", ri.id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.statusOrOK()),
			slog.Int64("duration_ms", time.Since(start).Milliseconds()),
		}
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "request", append(attrs, ri.attrs...)...)
	})
}

func saneRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// statusWriter records the status code. Unwrap lets the WebSocket upgrade
// reach the underlying Hijacker.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) statusOrOK() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
