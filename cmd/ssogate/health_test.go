package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/internal/testpeers"
)

// hangingListener accepts TCP connections on loopback and never answers
// them, as a directory that hangs does.
func hangingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// failing500 is a real listener that answers every request with 500.
func failing500(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestReadyzReportsEveryProvider starts a gateway whose SAML IdP serves
// its metadata with a 500, whose OIDC discovery fails, whose Active
// Directory hangs, and whose OpenLDAP works: /readyz stays 200 (the store
// answers) but says degraded and names each provider, within 2.5 s; the
// login page shows the broken ones as temporarily unavailable.
func TestReadyzReportsEveryProvider(t *testing.T) {
	ol := testpeers.Slapd(t)
	broken := failing500(t)
	h := newHarness(t, withProviders(fmt.Sprintf(`
  - id: adfs
    type: saml
    label: SAMLでログイン
    idp_metadata_url: %[1]s/metadata
  - id: corp
    type: oidc
    label: 社内IDでログイン
    issuer: %[1]s
    client_id: c
    client_secret: s
  - id: ad
    type: ldap
    preset: active_directory
    label: %[2]s
    url: ldaps://%[3]s
    bind_dn: CN=ssogate,CN=Users,DC=example,DC=test
    bind_password: Service!Pass123
    base_dn: DC=example,DC=test
`, broken, adLabel, hangingListener(t))), ldapProvider("openldap", "openldap", olLabel, ol.LDAPSURL, ol, ""))

	if !strings.Contains(h.logs.String(), "oidc: discovery failed at start") {
		t.Errorf("the failed OIDC discovery at start is not logged:\n%s", h.logs.String())
	}

	start := time.Now()
	p := h.browser().get("/readyz")
	took := time.Since(start)
	expectStatus(t, p, http.StatusOK)
	if took > 2500*time.Millisecond {
		t.Errorf("/readyz took %s with a hanging directory", took)
	}
	t.Logf("/readyz in %s:\n%s", took.Round(time.Millisecond), p.body)
	lines := strings.Split(strings.TrimSuffix(p.body, "\n"), "\n")
	if len(lines) != 6 || lines[0] != "degraded" {
		t.Fatalf("/readyz body:\n%s\nwant degraded and one line per provider", p.body)
	}
	for i, want := range []string{
		"provider local: ok",
		"provider adfs: unavailable: ",
		"provider corp: unavailable: ",
		"provider ad: unavailable: ",
		"provider openldap: ok",
	} {
		if !strings.HasPrefix(lines[i+1], want) {
			t.Errorf("line %d %q, want it to start %q", i+2, lines[i+1], want)
		}
	}
	for _, c := range []struct {
		line   int
		reason string
	}{{2, "500"}, {3, "500"}, {4, "no answer"}} {
		if !strings.Contains(lines[c.line], c.reason) {
			t.Errorf("line %q does not give the reason %q", lines[c.line], c.reason)
		}
	}

	// A caller from another machine learns which provider is down, not
	// the internal address that says why.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/readyz", nil)
	req.RemoteAddr = "198.51.100.7:40000"
	h.srv.Config.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "provider ad: unavailable\n") ||
		strings.Contains(rec.Body.String(), "500") || strings.Contains(rec.Body.String(), "no answer") {
		t.Errorf("/readyz from outside: %d\n%s\nwant the providers' state without reasons", rec.Code, rec.Body.String())
	}

	// Within the cache's lifetime the hanging directory costs nothing.
	start = time.Now()
	expectStatus(t, h.browser().get("/readyz"), http.StatusOK)
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("second /readyz took %s", d)
	}

	page := h.browser().get("/login")
	for id, down := range map[string]bool{"adfs": true, "corp": true, "ad": true, "openldap": false} {
		disabled := strings.Contains(page.body, fmt.Sprintf(`id="provider-%s" data-provider="%s" aria-disabled="true"`, id, id))
		if disabled != down {
			t.Errorf("login button %s: shown unavailable %v, want %v", id, disabled, down)
		}
	}
}

// TestReadyzDirectoryStopped stops a real slapd under a running gateway:
// /readyz says so at once, and the directory's button is disabled.
func TestReadyzDirectoryStopped(t *testing.T) {
	s := testpeers.StartOwnSlapd(t)
	h := newHarness(t, withProviders(fmt.Sprintf(`
  - id: dir
    type: ldap
    preset: openldap
    label: %s
    url: %s
    insecure_no_tls: true
    bind_dn: %q
    bind_password: %q
    base_dn: %q
`, olLabel, s.URL, s.AdminDN, s.AdminPassword, s.BaseDN)))
	s.Stop()
	start := time.Now()
	p := h.browser().get("/readyz")
	expectStatus(t, p, http.StatusOK)
	if !strings.HasPrefix(p.body, "degraded\nprovider local: ok\nprovider dir: unavailable: ") || !strings.Contains(p.body, "connection refused") {
		t.Fatalf("/readyz with slapd stopped:\n%s", p.body)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("/readyz took %s", d)
	}
	if page := h.browser().get("/login"); !strings.Contains(page.body, `id="provider-dir" data-provider="dir" aria-disabled="true"`) {
		t.Errorf("the login page does not show the stopped directory as unavailable")
	}
}

func TestReadyzAllWell(t *testing.T) {
	h := newHarness(t)
	p := h.browser().get("/readyz")
	expectStatus(t, p, http.StatusOK)
	if p.body != "ok\nprovider local: ok\n" {
		t.Fatalf("/readyz body %q", p.body)
	}
}

// TestReloadRefetchesSAMLMetadata checks that a reload, which keeps an
// unchanged SAML provider running, makes it fetch the IdP's metadata
// again: an admin who reloads after the IdP changed its certificate must
// not wait for the daily refresh.
func TestReloadRefetchesSAMLMetadata(t *testing.T) {
	var hits atomic.Int32
	idp := &samlIdP{testpeers.NewSAMLIdP(t, testpeers.SAMLMetadataFaults(nil, &hits))}
	h := newHarness(t, samlProvider(idp, ""))
	before := hits.Load()
	if before == 0 {
		t.Fatal("the IdP metadata was not fetched at start")
	}
	cfg, err := config.Load(h.configPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.app.Reload(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.logs.String(), "providers_kept=2") {
		t.Fatalf("the reload did not keep the providers:\n%s", h.logs.String())
	}
	waitFor(t, func() bool { return hits.Load() > before })
}
