package samlidp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
)

// spMetadata is an SP's metadata with the given ACS location.
func spMetadata(entityID, acs string) string {
	return fmt.Sprintf(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="%s">
  <SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <AssertionConsumerService index="0" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="%s"/>
  </SPSSODescriptor>
</EntityDescriptor>`, entityID, acs)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestRegistryRefresh: an SP's metadata is fetched over HTTP at first use,
// served from the copy held until metadata_refresh has passed, then
// fetched again in the background; a fetch that fails keeps the last good
// copy; trouble with a signature fetches at once, but not twice within a
// few seconds.
func TestRegistryRefresh(t *testing.T) {
	var body atomic.Value
	body.Store(spMetadata("https://app.example.co.jp/sp", "https://app.example.co.jp/acs1"))
	var fetches atomic.Int32
	var broken atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if broken.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, body.Load().(string))
	}))
	defer srv.Close()
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	reg := NewRegistry([]config.Service{{ID: "app", SAML: &config.ServiceSAML{MetadataURL: srv.URL, MetadataRefresh: config.Duration(time.Hour)}}},
		srv.Client(), clk.now, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	acs := func() string {
		t.Helper()
		sp, md, err := reg.ByEntityID(ctx, "https://app.example.co.jp/sp")
		if err != nil || sp.ServiceID != "app" {
			t.Fatalf("ByEntityID: %v", err)
		}
		e, err := ACS(md, "", "")
		if err != nil {
			t.Fatal(err)
		}
		return e.Location
	}
	waitFetches := func(n int32) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); fetches.Load() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("fetches = %d, want %d", fetches.Load(), n)
			}
		}
		time.Sleep(20 * time.Millisecond) // the background load stores its copy
	}

	if got := acs(); got != "https://app.example.co.jp/acs1" || fetches.Load() != 1 {
		t.Fatalf("first use: %s after %d fetches", got, fetches.Load())
	}
	body.Store(spMetadata("https://app.example.co.jp/sp", "https://app.example.co.jp/acs2"))
	clk.add(59 * time.Minute)
	if got := acs(); got != "https://app.example.co.jp/acs1" || fetches.Load() != 1 {
		t.Fatalf("within metadata_refresh: %s after %d fetches", got, fetches.Load())
	}
	clk.add(2 * time.Minute)
	acs() // starts the refresh, serving the copy held
	waitFetches(2)
	if got := acs(); got != "https://app.example.co.jp/acs2" {
		t.Fatalf("after the refresh: %s", got)
	}

	broken.Store(true)
	clk.add(2 * time.Hour)
	acs()
	waitFetches(3)
	if got := acs(); got != "https://app.example.co.jp/acs2" {
		t.Fatalf("a failed refresh lost the last good copy: %s", got)
	}

	broken.Store(false)
	body.Store(spMetadata("https://app.example.co.jp/sp", "https://app.example.co.jp/acs3"))
	sp := reg.Get("app")
	clk.add(time.Minute)
	if !reg.Refetch(ctx, sp) {
		t.Fatal("Refetch after a signature trouble did not fetch")
	}
	if got := acs(); got != "https://app.example.co.jp/acs3" {
		t.Fatalf("after Refetch: %s", got)
	}
	if reg.Refetch(ctx, sp) {
		t.Error("a second Refetch within seconds fetched again")
	}
}

// TestRegistryFileAndEntityID: metadata from a file, under the configured
// entity_id; an unknown entity is ErrUnknownSP; a file that turns bad
// keeps the last good copy.
func TestRegistryFileAndEntityID(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "sp.xml")
	if err := os.WriteFile(f, []byte(spMetadata("urn:app:meta", "https://app/acs")), 0o600); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	reg := NewRegistry([]config.Service{
		{ID: "plain"},
		{ID: "app", SAML: &config.ServiceSAML{MetadataFile: f, EntityID: "https://app.example.co.jp", MetadataRefresh: config.Duration(time.Minute)}},
	}, nil, clk.now, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	if len(reg.All()) != 1 {
		t.Fatalf("registry holds %d SPs, want 1", len(reg.All()))
	}
	sp, md, err := reg.ByEntityID(ctx, "https://app.example.co.jp")
	if err != nil || sp.ServiceID != "app" || md.EntityID != "https://app.example.co.jp" {
		t.Fatalf("ByEntityID: %v %+v", err, md)
	}
	if _, _, err := reg.ByEntityID(ctx, "urn:app:meta"); err == nil {
		t.Error("the metadata's own entity id is accepted although entity_id overrides it")
	}
	if err := os.WriteFile(f, []byte("not xml"), 0o600); err != nil {
		t.Fatal(err)
	}
	clk.add(2 * time.Minute)
	if reg.Refetch(ctx, sp) {
		t.Error("a bad file counted as a new copy")
	}
	if _, md, err := reg.ByEntityID(ctx, "https://app.example.co.jp"); err != nil || md == nil {
		t.Fatalf("a bad file lost the last good copy: %v", err)
	}
}

// TestPersistentID: stable for a person and an SP, different for another
// SP or person, and neither the user id nor the key.
func TestPersistentID(t *testing.T) {
	k := []byte("0123456789abcdef0123456789abcdef")
	a := PersistentID(k, "u1", "https://a.example")
	if a != PersistentID(k, "u1", "https://a.example") {
		t.Error("not stable")
	}
	for _, other := range []string{PersistentID(k, "u1", "https://b.example"), PersistentID(k, "u2", "https://a.example"),
		PersistentID([]byte("another key, another gateway...."), "u1", "https://a.example")} {
		if other == a {
			t.Error("two pairs share a persistent id")
		}
	}
	if len(a) != 43 {
		t.Errorf("id %q", a)
	}
}
