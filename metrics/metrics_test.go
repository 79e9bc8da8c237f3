package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/providers/ldap"
	"github.com/ssogate/ssogate/providers/local"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/sqlite"
)

// TestObserveDoesNotAllocate checks that the request hook, once a class
// has met a status code, costs no allocation: it runs on every /auth.
func TestObserveDoesNotAllocate(t *testing.T) {
	m := New(nil)
	m.Observe(gateway.ClassAuth, 200, time.Millisecond)
	if n := testing.AllocsPerRun(1000, func() { m.Observe(gateway.ClassAuth, 200, time.Millisecond) }); n != 0 {
		t.Errorf("Observe allocates %v times per call, want 0", n)
	}
	if got := counterValue(t, m, "ssogate_http_requests_total", "class", "auth", "code", "200"); got != 1002 {
		t.Errorf("ssogate_http_requests_total{class=auth,code=200} = %v, want 1002", got)
	}
	m.Observe("unheard-of", 777, time.Millisecond)
	if got := counterValue(t, m, "ssogate_http_requests_total", "class", "other", "code", "other"); got != 1 {
		t.Errorf("unknown class and code: %v, want 1 under other/other", got)
	}
}

// feedStore is a real SQLite store whose change feed the test drives.
type feedStore struct {
	*sqlite.Store
	watched chan struct{}
}

// feedless is a real SQLite store seen only through store.Store: a
// backend without a change feed.
type feedless struct{ store.Store }

func (f *feedStore) WatchChanges(ctx context.Context, changed func(store.Change), live func(bool)) error {
	live(true)
	changed(store.Change{Kind: store.ChangeKeys})
	close(f.watched)
	<-ctx.Done()
	return ctx.Err()
}

// TestWrapStore checks that every call is timed, that failures other than
// not found are counted, and that the wrapper is a store.ChangeFeed
// exactly when the wrapped store is, passing the feed through.
func TestWrapStore(t *testing.T) {
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	m := New(nil)

	plain := m.WrapStore(feedless{sq})
	if _, ok := plain.(store.ChangeFeed); ok {
		t.Error("the wrapper of a store without a change feed claims to have one")
	}
	u := &store.User{Email: "hanako@example.co.jp", DisplayName: "花子", Role: store.RoleUser, Status: store.StatusActive}
	if err := plain.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got, err := plain.GetUser(ctx, u.ID); err != nil || got.Email != u.Email {
		t.Fatalf("GetUser through the wrapper = %+v, %v", got, err)
	}
	if _, err := plain.GetUser(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetUser(nobody) = %v, want ErrNotFound through the wrapper", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := plain.Ping(cctx); err == nil {
		t.Fatal("Ping with a cancelled context succeeded")
	}
	if got := histogramCount(t, m, "ssogate_store_call_duration_seconds", "method", "GetUser"); got != 2 {
		t.Errorf("GetUser calls timed = %d, want 2", got)
	}
	if got := histogramCount(t, m, "ssogate_store_call_duration_seconds", "method", "CreateUser"); got != 1 {
		t.Errorf("CreateUser calls timed = %d, want 1", got)
	}
	if got := counterValue(t, m, "ssogate_store_call_errors_total", "method", "GetUser"); got != 0 {
		t.Errorf("GetUser errors = %v, want 0: not found is an answer", got)
	}
	if got := counterValue(t, m, "ssogate_store_call_errors_total", "method", "Ping"); got != 1 {
		t.Errorf("Ping errors = %v, want 1", got)
	}

	fs := &feedStore{Store: sq, watched: make(chan struct{})}
	wrapped := m.WrapStore(fs)
	feed, ok := wrapped.(store.ChangeFeed)
	if !ok {
		t.Fatal("the wrapper of a store with a change feed hides it")
	}
	var changes []store.Change
	var lives []bool
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- feed.WatchChanges(wctx, func(c store.Change) { changes = append(changes, c) }, func(l bool) { lives = append(lives, l) })
	}()
	<-fs.watched
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("WatchChanges = %v, want context.Canceled", err)
	}
	if len(changes) != 1 || changes[0].Kind != store.ChangeKeys || !slices.Equal(lives, []bool{true}) {
		t.Errorf("through the wrapper: changes %v, live %v", changes, lives)
	}
	if _, err := wrapped.GetUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if got := histogramCount(t, m, "ssogate_store_call_duration_seconds", "method", "GetUser"); got != 3 {
		t.Errorf("GetUser calls timed with the feed wrapper = %d, want 3", got)
	}
}

// TestWrapStoreAccounts checks that the account and outbox calls pass
// through the wrapper with their answers and are each timed under their
// own method label, not found counting as an answer.
func TestWrapStoreAccounts(t *testing.T) {
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	m := New(nil)
	st := m.WrapStore(sq)
	now := time.Now()
	u := &store.User{Email: "hanako@example.co.jp", Role: store.RoleUser, Status: store.StatusActive}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	tk := &store.Ticket{ID: "t1", Purpose: store.PurposeUnlock, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := st.CreateTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
	got, err := st.Apply(ctx, &store.Batch{Consume: &store.TicketUse{Purpose: store.PurposeUnlock, ID: "t1", Now: now}})
	if err != nil || got == nil || got.ID != "t1" {
		t.Fatalf("Apply through the wrapper = %+v, %v; want ticket t1", got, err)
	}
	if n, err := st.CountFailure(ctx, u.ID, "", now); err != nil || n != 1 {
		t.Fatalf("CountFailure = %d, %v", n, err)
	}
	if n, err := st.Failures(ctx, u.ID, ""); err != nil || n != 1 {
		t.Fatalf("Failures = %d, %v", n, err)
	}
	if err := st.ClearFailure(ctx, u.ID, ""); err != nil {
		t.Fatal(err)
	}
	if n, _, err := st.Hit(ctx, "k", now, time.Minute); err != nil || n != 1 {
		t.Fatalf("Hit = %d, %v", n, err)
	}
	if n, _, err := st.HitCount(ctx, "k", now); err != nil || n != 1 {
		t.Fatalf("HitCount = %d, %v", n, err)
	}
	if n, err := st.DeleteExpiredHits(ctx, now.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredHits = %d, %v", n, err)
	}
	msg := &store.Message{Channel: store.ChannelMail, Template: "mail_test", To: u.Email, CreatedAt: now}
	if err := st.EnqueueMessage(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if list, err := st.ClaimMessages(ctx, "w", now, time.Minute, 10); err != nil || len(list) != 1 || list[0].ID != msg.ID {
		t.Fatalf("ClaimMessages = %v, %v; want the message", list, err)
	}
	if err := st.MessageSent(ctx, msg.ID, "other", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("MessageSent by another owner = %v, want ErrNotFound", err)
	}
	if err := st.MessageFailed(ctx, msg.ID, "w", "451", now, now, false); err != nil {
		t.Fatal(err)
	}
	if list, err := st.ListMessages(ctx, store.MessageFilter{}); err != nil || len(list) != 1 || list[0].Attempts != 1 {
		t.Fatalf("ListMessages = %v, %v; want the message tried once", list, err)
	}
	for _, method := range []string{"Apply", "CountFailure", "Failures", "ClearFailure", "Hit", "HitCount", "DeleteExpiredHits",
		"EnqueueMessage", "ClaimMessages", "MessageSent", "MessageFailed", "ListMessages"} {
		if got := histogramCount(t, m, "ssogate_store_call_duration_seconds", "method", method); got != 1 {
			t.Errorf("%s calls timed = %d, want 1", method, got)
		}
		if got := counterValue(t, m, "ssogate_store_call_errors_total", "method", method); got != 0 {
			t.Errorf("%s errors = %v, want 0", method, got)
		}
	}
}

// TestWrapStoreTwoStep checks that the 2-step verification calls pass
// through the wrapper with their answers and are each timed once under
// their own method label, a refused counter counting as an answer.
func TestWrapStoreTwoStep(t *testing.T) {
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	m := New(nil)
	st := m.WrapStore(sq)
	now := time.Now()
	u := &store.User{Email: "hanako@example.co.jp", Role: store.RoleUser, Status: store.StatusActive}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	tk := &store.Ticket{ID: "t1", Purpose: store.PurposeSignInPending, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := st.CreateTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
	if got, err := st.PeekTicket(ctx, store.PurposeSignInPending, "t1", now); err != nil || got.ID != "t1" {
		t.Fatalf("PeekTicket = %+v, %v; want ticket t1", got, err)
	}
	f := &store.Factor{UserID: u.ID, Kind: store.FactorWebAuthn, Handle: "cred-1", Secret: []byte{0, 1}, Counter: 3}
	if err := st.AddFactor(ctx, f); err != nil || f.ID == "" {
		t.Fatalf("AddFactor = %v, id %q", err, f.ID)
	}
	if list, err := st.ListFactors(ctx, u.ID); err != nil || len(list) != 1 || list[0].ID != f.ID {
		t.Fatalf("ListFactors = %v, %v; want the factor", list, err)
	}
	if got, err := st.FactorByHandle(ctx, store.FactorWebAuthn, "cred-1"); err != nil || got.ID != f.ID {
		t.Fatalf("FactorByHandle = %+v, %v; want the factor", got, err)
	}
	if err := st.UseFactor(ctx, f.ID, 3, now); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("UseFactor with the stored counter = %v, want ErrConflict", err)
	}
	if err := st.RenameFactor(ctx, u.ID, f.ID, "YubiKey"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteFactor(ctx, u.ID, f.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.SetRecoveryCodes(ctx, u.ID, []string{"h1", "h2"}); err != nil {
		t.Fatal(err)
	}
	if err := st.UseRecoveryCode(ctx, u.ID, "h1"); err != nil {
		t.Fatal(err)
	}
	if n, err := st.RecoveryCodesLeft(ctx, u.ID); err != nil || n != 1 {
		t.Fatalf("RecoveryCodesLeft = %d, %v; want 1", n, err)
	}
	b := &store.RememberedBrowser{ID: "b1", UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := st.RememberBrowser(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := st.UseRememberedBrowser(ctx, "b1", u.ID, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	if list, err := st.ListRememberedBrowsers(ctx, u.ID, now); err != nil || len(list) != 1 {
		t.Fatalf("ListRememberedBrowsers = %v, %v; want the browser", list, err)
	}
	if err := st.ForgetBrowser(ctx, u.ID, "b1"); err != nil {
		t.Fatal(err)
	}
	if n, err := st.DeleteExpiredBrowsers(ctx, now); err != nil || n != 0 {
		t.Fatalf("DeleteExpiredBrowsers = %d, %v; want 0", n, err)
	}
	if err := st.ResetTwoStep(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := sq.RecoveryCodesLeft(ctx, u.ID); err != nil || n != 0 {
		t.Fatalf("recovery codes after ResetTwoStep through the wrapper = %d, %v; want 0", n, err)
	}
	for _, method := range []string{"PeekTicket", "AddFactor", "ListFactors", "FactorByHandle", "UseFactor", "RenameFactor",
		"DeleteFactor", "SetRecoveryCodes", "UseRecoveryCode", "RecoveryCodesLeft", "RememberBrowser", "UseRememberedBrowser",
		"ListRememberedBrowsers", "ForgetBrowser", "DeleteExpiredBrowsers", "ResetTwoStep"} {
		if got := histogramCount(t, m, "ssogate_store_call_duration_seconds", "method", method); got != 1 {
			t.Errorf("%s calls timed = %d, want 1", method, got)
		}
		if got := counterValue(t, m, "ssogate_store_call_errors_total", "method", method); got != 0 {
			t.Errorf("%s errors = %v, want 0", method, got)
		}
	}
}

// accounts is the local provider's view of a store with no accounts.
type accounts struct{}

func (accounts) LookupPassword(context.Context, string) (string, string, error) {
	return "", "", local.ErrNoAccount
}

// ldapAt opens a real LDAP provider for a server at addr on 127.0.0.1,
// with timeouts longer than HealthTimeout.
func ldapAt(t *testing.T, id, addr string) *ldap.Provider {
	t.Helper()
	p, err := ldap.Open(id, ldap.Config{URL: "ldap://" + addr, InsecureNoTLS: true, BaseDN: "dc=example,dc=co,dc=jp",
		LoginAttributes: []string{"uid", "mail"}, Attributes: ldap.Attributes{Subject: "entryUUID"},
		DialTimeout: 30 * time.Second, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestScrapeTimeSeries checks the series read from the State: the cache
// counters, provider health (a hung check ends at HealthTimeout) and the
// hashing gauges of a local provider.
func TestScrapeTimeSeries(t *testing.T) {
	m := New(nil)
	// A port nothing listens on, and a server that accepts and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	lp, err := local.Open("local", local.Config{Memory: 8192, Iterations: 1, Parallelism: 1}, accounts{})
	if err != nil {
		t.Fatal(err)
	}
	m.SetState(State{
		Cache: func() gateway.CacheStats {
			return gateway.CacheStats{SessionHits: 7, SessionMisses: 3, Sessions: 2, Handoffs: 5}
		},
		Providers: []providers.Provider{lp, ldapAt(t, "down", closed), ldapAt(t, "hung", silent.Addr().String())},
	})
	start := time.Now()
	for name, want := range map[string]float64{
		"ssogate_session_cache_hits_total": 7, "ssogate_session_cache_misses_total": 3,
		"ssogate_session_cache_sessions": 2, "ssogate_handoff_cache_entries": 5,
	} {
		if got := counterValue(t, m, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for provider, want := range map[string]float64{"local": 1, "down": 0, "hung": 0} {
		if got := counterValue(t, m, "ssogate_provider_up", "provider", provider); got != want {
			t.Errorf("ssogate_provider_up{provider=%s} = %v, want %v", provider, got, want)
		}
	}
	if took := time.Since(start); took > 4*(HealthTimeout+time.Second) {
		t.Errorf("scrapes took %s: a hung health check must end at HealthTimeout", took)
	}
	if got := counterValue(t, m, "ssogate_password_hashes_in_flight", "provider", "local"); got != 0 {
		t.Errorf("hashes in flight = %v, want 0", got)
	}
	if got := counterValue(t, m, "ssogate_password_hashes_waiting", "provider", "local"); got != 0 {
		t.Errorf("hashes waiting = %v, want 0", got)
	}
}

// TestDashboardQueriesExistingSeries checks that the example Grafana
// dashboard is valid JSON and queries only series this package exports.
func TestDashboardQueriesExistingSeries(t *testing.T) {
	raw, err := os.ReadFile("../examples/grafana/ssogate-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	known := exportedNames(t)
	series := regexp.MustCompile(`\b(ssogate|go|process)_[a-z0-9_]+`)
	queried := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range series.FindAllString(tg.Expr, -1) {
				queried++
				base := name
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					if b, ok := strings.CutSuffix(name, suffix); ok && known[b] {
						base = b
					}
				}
				if !known[base] {
					t.Errorf("panel %q queries %s, which is not exported", p.Title, name)
				}
			}
		}
	}
	if queried < 10 {
		t.Errorf("the dashboard queries %d series, want the main ones", queried)
	}
}

// exportedNames are the names of every series the registry can export:
// those it gathers once each vector has a child, and those the
// scrape-time collector describes (plugins need a running process).
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	m := New(nil)
	m.Observe(gateway.ClassAuth, 200, time.Millisecond)
	m.SignIn("local", gateway.OutcomeOK)
	m.Reloaded(nil)
	names := map[string]bool{}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	ch := make(chan *prometheus.Desc, 16)
	(&stateCollector{m: m}).Describe(ch)
	close(ch)
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		names[fq.FindStringSubmatch(d.String())[1]] = true
	}
	return names
}

// find returns the metric of family name whose labels include the
// label/value pairs of lv.
func find(t *testing.T, m *Metrics, name string, lv ...string) *dto.Metric {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, mt := range mf.GetMetric() {
			for i := 0; i+1 < len(lv); i += 2 {
				if !slices.ContainsFunc(mt.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == lv[i] && l.GetValue() == lv[i+1] }) {
					continue next
				}
			}
			return mt
		}
	}
	t.Fatalf("no series %s%v", name, lv)
	return nil
}

func counterValue(t *testing.T, m *Metrics, name string, lv ...string) float64 {
	t.Helper()
	mt := find(t, m, name, lv...)
	switch {
	case mt.Counter != nil:
		return mt.Counter.GetValue()
	case mt.Gauge != nil:
		return mt.Gauge.GetValue()
	}
	t.Fatalf("%s is neither a counter nor a gauge", name)
	return 0
}

func histogramCount(t *testing.T, m *Metrics, name string, lv ...string) uint64 {
	t.Helper()
	return find(t, m, name, lv...).GetHistogram().GetSampleCount()
}

// BenchmarkObserve is the request hook alone, as /auth calls it.
func BenchmarkObserve(b *testing.B) {
	m := New(nil)
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(gateway.ClassAuth, 200, 150*time.Microsecond)
	}
}

// TestGatewayDoesNotImportMetrics keeps the layering: the gateway knows
// only its Observe and SignIn hooks, never this package.
func TestGatewayDoesNotImportMetrics(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/ssogate/ssogate/gateway").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/ssogate/ssogate/store") {
		t.Fatalf("go list -deps gateway lists no store; is its output as expected?\n%s", out)
	}
	for _, dep := range deps {
		if strings.HasPrefix(dep, "github.com/ssogate/ssogate/metrics") || strings.HasPrefix(dep, "github.com/prometheus/") {
			t.Errorf("gateway depends on %s", dep)
		}
	}
}

// TestWrapStoreAdmin checks that the administrator's calls pass through
// the wrapper with their answers and are each timed once under their own
// method label, a missing device (ErrNotFound) an answer, not an error.
func TestWrapStoreAdmin(t *testing.T) {
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	m := New(nil)
	st := m.WrapStore(sq)
	now := time.Now()
	u := &store.User{Email: "hanako@example.co.jp", DisplayName: "山田 花子", Role: store.RoleUser, Status: store.StatusActive}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if page, err := st.SearchUsers(ctx, store.UserQuery{Text: "花子"}); err != nil || page.Total != 1 || page.Users[0].ID != u.ID {
		t.Fatalf("SearchUsers = %+v, %v; want hanako", page, err)
	}
	if err := st.SetSetting(ctx, &store.Setting{Key: store.SettingDeviceApproval, Value: "true"}); err != nil {
		t.Fatal(err)
	}
	if list, err := st.Settings(ctx); err != nil || len(list) != 1 || list[0].Value != "true" {
		t.Fatalf("Settings = %+v, %v; want device_approval=true", list, err)
	}
	tk := &store.Ticket{ID: "i1", Purpose: store.PurposeInvitation, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := st.CreateTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
	if list, err := st.ListTickets(ctx, store.PurposeInvitation, now); err != nil || len(list) != 1 {
		t.Fatalf("ListTickets = %v, %v; want the invitation", list, err)
	}
	if n, err := st.DeleteTickets(ctx, store.PurposeInvitation, u.ID); err != nil || n != 1 {
		t.Fatalf("DeleteTickets = %d, %v; want 1", n, err)
	}
	if err := st.AddDevice(ctx, &store.ApprovedDevice{ID: "d1", UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	if err := st.UseDevice(ctx, "d1", u.ID, now); err != nil {
		t.Fatal(err)
	}
	if list, err := st.ListDevices(ctx, u.ID); err != nil || len(list) != 1 {
		t.Fatalf("ListDevices = %v, %v; want the device", list, err)
	}
	if err := st.DeleteDevice(ctx, u.ID, "d1"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteDevice(ctx, u.ID, "d1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteDevice again = %v, want ErrNotFound", err)
	}
	if err := st.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sq.GetUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user after DeleteUser through the wrapper: %v, want ErrNotFound", err)
	}
	for _, method := range []string{"SearchUsers", "DeleteUser", "Settings", "SetSetting", "ListTickets", "DeleteTickets",
		"AddDevice", "UseDevice", "ListDevices", "DeleteDevice"} {
		want := uint64(1)
		if method == "DeleteDevice" {
			want = 2
		}
		if got := histogramCount(t, m, "ssogate_store_call_duration_seconds", "method", method); got != want {
			t.Errorf("%s calls timed = %d, want %d", method, got, want)
		}
		if got := counterValue(t, m, "ssogate_store_call_errors_total", "method", method); got != 0 {
			t.Errorf("%s errors = %v, want 0", method, got)
		}
	}
}
