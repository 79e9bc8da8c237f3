package gateway

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ssogate/ssogate/portal"
	"github.com/ssogate/ssogate/store"
)

// auditPageSize is how many events a page of the audit log shows.
const auditPageSize = 50

// auditExportBatch is how many events the CSV export reads at a time.
const auditExportBatch = 1000

// auditExportMax caps one CSV export: a larger one must be narrowed by
// the filter (a date range), so that one click cannot hold a connection
// and the store for minutes.
const auditExportMax = 200_000

// auditRoutes registers the audit log and the organisation settings.
func (g *Gateway) auditRoutes(mux *http.ServeMux) {
	g.adminRoute(mux, "GET /admin/audit", g.adminAudit)
	g.adminRoute(mux, "GET /admin/settings", g.adminSettingsPage)
	g.adminRoute(mux, "POST /admin/settings", g.adminSettingsSubmit)
}

// location is the portal's time zone, in which the console reads and
// shows dates.
func (g *Gateway) location() *time.Location {
	if l := g.cfg.Portal.Location; l != nil {
		return l
	}
	return time.UTC
}

// auditFilter reads the filter of the audit log's query q into a store
// filter; errs maps each bad field to a message key.
func (g *Gateway) auditFilter(ctx context.Context, q portal.AuditQuery) (store.AuditFilter, map[string]string, error) {
	var f store.AuditFilter
	errs := map[string]string{}
	if q.User != "" {
		u, err := g.store.GetUserByEmail(ctx, q.User)
		switch {
		case errors.Is(err, store.ErrNotFound):
			errs["user"] = "admin.audit.error.user"
		case err != nil:
			return f, nil, err
		default:
			f.UserID = u.ID
		}
	}
	f.Action = q.Action
	switch q.Outcome {
	case "":
	case string(store.OutcomeSuccess), string(store.OutcomeFailure):
		f.Outcome = store.Outcome(q.Outcome)
	default:
		errs["outcome"] = "admin.audit.error.outcome"
	}
	if q.IP != "" {
		ip, err := netip.ParseAddr(q.IP)
		if err != nil {
			errs["ip"] = "admin.audit.error.ip"
		} else {
			// Events store the address as the gateway printed it.
			f.ClientIP = ip.Unmap().String()
		}
	}
	loc := g.location()
	day := func(field, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			errs[field] = "admin.audit.error.date"
		}
		return t
	}
	f.Since = day("from", q.From)
	if to := day("to", q.To); !to.IsZero() {
		// The end date is included: up to the start of the next day.
		f.Until = to.AddDate(0, 0, 1)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		errs["to"] = "admin.audit.error.range"
	}
	if len(errs) == 0 {
		errs = nil
	}
	return f, errs, nil
}

// auditQuery reads the audit log's filter fields from r's query.
func auditQuery(r *http.Request) portal.AuditQuery {
	v := r.URL.Query()
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return portal.AuditQuery{User: get("user"), Action: get("action"), Outcome: get("outcome"),
		IP: get("ip"), From: get("from"), To: get("to")}
}

// values turns q back into a query string (empty fields left out).
func auditValues(q portal.AuditQuery) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"user": q.User, "action": q.Action, "outcome": q.Outcome,
		"ip": q.IP, "from": q.From, "to": q.To} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// adminAudit is GET /admin/audit: the audit log filtered by user, action,
// outcome, client address and dates, newest first, a page at a time
// (before = the last event's id of the previous page); with format=csv,
// every event the filter selects as a CSV file.
func (g *Gateway) adminAudit(w http.ResponseWriter, r *http.Request, sess *store.Session, admin *store.User) {
	ctx := r.Context()
	q := auditQuery(r)
	f, errs, err := g.auditFilter(ctx, q)
	if err != nil {
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return
	}
	if r.URL.Query().Get("format") == "csv" && errs == nil {
		g.auditCSV(w, r, admin, q, f)
		return
	}
	page := portal.AdminAuditPage{Base: g.base(w, r, sess, admin), Query: q, Errors: errs, TimeZone: g.location().String()}
	v := auditValues(q)
	if b, err := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64); err == nil && b > 0 {
		f.Before = b
		page.FirstURL = "/admin/audit?" + v.Encode()
	}
	csvV := auditValues(q)
	csvV.Set("format", "csv")
	page.CSVURL = "/admin/audit?" + csvV.Encode()
	status := http.StatusOK
	if errs != nil {
		status = http.StatusBadRequest
	} else {
		// One more than a page tells whether a next page exists.
		f.Limit = auditPageSize + 1
		evs, err := g.store.ListAudit(ctx, f)
		if err != nil {
			code, key := storeFailure(w, err)
			g.fail(w, r, code, key, err)
			return
		}
		if len(evs) > auditPageSize {
			evs = evs[:auditPageSize]
			next := auditValues(q)
			next.Set("before", strconv.FormatInt(evs[len(evs)-1].ID, 10))
			page.NextURL = "/admin/audit?" + next.Encode()
		}
		emails := userEmails{g: g}
		for _, e := range evs {
			page.Events = append(page.Events, portal.AuditRow{ID: e.ID, Time: e.Time, Action: e.Action,
				Outcome: string(e.Outcome), UserEmail: emails.of(ctx, e.UserID), Actor: e.Actor,
				ClientIP: e.ClientIP, Detail: e.Detail, RequestID: e.RequestID})
		}
	}
	g.renderPage(w, r, status, portal.PageAdminAudit, page)
}

// userEmails looks up the emails of the users events name, once each.
type userEmails struct {
	g    *Gateway
	seen map[string]string
}

// of returns the email of user id, "" for none or a deleted user.
func (u *userEmails) of(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	if e, ok := u.seen[id]; ok {
		return e
	}
	if u.seen == nil {
		u.seen = map[string]string{}
	}
	email := ""
	if usr, err := u.g.store.GetUser(ctx, id); err == nil {
		email = usr.Email
	}
	u.seen[id] = email
	return email
}

// utf8BOM opens the CSV export, so that Excel reads it as UTF-8 (and
// shows Japanese names) rather than as the system's code page.
const utf8BOM = "\ufeff"

// csvSafe defuses a cell a spreadsheet would run as a formula (CSV
// injection): one starting with = + - @, a tab or a carriage return gets
// a leading apostrophe.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// auditCSV writes every event f selects (newest first, at most
// auditExportMax) as a CSV download: time in the portal's time zone,
// action, outcome, user email, actor, client IP, detail, request id.
// The export itself is audited, naming the administrator.
func (g *Gateway) auditCSV(w http.ResponseWriter, r *http.Request, admin *store.User, q portal.AuditQuery, f store.AuditFilter) {
	ctx := r.Context()
	lang := g.lang(r)
	loc := g.location()
	// The first batch is read before anything is written, so that a store
	// failure still gets a proper error page.
	f.Limit = auditExportBatch
	evs, err := g.store.ListAudit(ctx, f)
	if err != nil {
		code, key := storeFailure(w, err)
		g.fail(w, r, code, key, err)
		return
	}
	g.audit(ctx, store.AuditEvent{Action: "admin_audit_export", UserID: admin.ID, Actor: admin.Email,
		Outcome: store.OutcomeSuccess, Detail: auditValues(q).Encode()})
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="audit-`+g.now().In(loc).Format("20060102-1504")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if _, err := w.Write([]byte(utf8BOM)); err != nil {
		return
	}
	cw := csv.NewWriter(w)
	// Excel on Windows expects CRLF line ends.
	cw.UseCRLF = true
	_ = cw.Write([]string{portal.T(lang, "admin.audit.csv.time"), portal.T(lang, "admin.audit.action"),
		portal.T(lang, "admin.audit.outcome"), portal.T(lang, "admin.audit.csv.user"), portal.T(lang, "admin.audit.actor"),
		portal.T(lang, "admin.audit.ip"), portal.T(lang, "admin.audit.detail"), portal.T(lang, "admin.audit.request_id")})
	emails := userEmails{g: g}
	written := 0
	for len(evs) > 0 && written < auditExportMax {
		for _, e := range evs {
			rec := []string{e.Time.In(loc).Format(time.DateTime), e.Action, string(e.Outcome),
				emails.of(ctx, e.UserID), e.Actor, e.ClientIP, e.Detail, e.RequestID}
			for i := range rec {
				rec[i] = csvSafe(rec[i])
			}
			if err := cw.Write(rec); err != nil {
				return
			}
		}
		written += len(evs)
		if len(evs) < f.Limit {
			break
		}
		f.Before = evs[len(evs)-1].ID
		if evs, err = g.store.ListAudit(ctx, f); err != nil {
			// The status is sent already: the file ends short, and the
			// log says why.
			g.log.Error("audit export failed", "request_id", requestID(ctx), "err", err)
			break
		}
	}
	cw.Flush()
}
