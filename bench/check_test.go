package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTargetCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/missing":
			http.Error(w, "no such route", http.StatusNotFound)
		case r.URL.Path == "/login-first" && r.Header.Get("Cookie") == "":
			http.Redirect(w, r, "/login", http.StatusFound)
		default:
			_, _ = w.Write([]byte(upstreamBody))
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	ok := &target{URL: srv.URL + "/", wantBody: upstreamBody}
	if err := ok.check(ctx, true); err != nil {
		t.Errorf("200 with the right body: %v", err)
	}
	wrongBody := &target{URL: srv.URL + "/", wantBody: "ok"}
	if err := wrongBody.check(ctx, true); err == nil {
		t.Error("wrong body: no error")
	}
	missing := &target{URL: srv.URL + "/missing"}
	if err := missing.check(ctx, true); err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "no such route") {
		t.Errorf("404: error %v, want the status and the body", err)
	}
	authed := &target{URL: srv.URL + "/login-first", headers: []string{"Cookie: ssogate=x"}}
	if err := authed.check(ctx, true); err != nil {
		t.Errorf("with the cookie: %v", err)
	}
	if err := authed.check(ctx, false); err == nil || !strings.Contains(err.Error(), "Location: /login") {
		t.Errorf("without the cookie: error %v, want the redirect", err)
	}
}

// TestParseStatusRSS reads VmRSS and its anonymous and file-backed parts
// from a /proc/PID/status text, and refuses one without them.
func TestParseStatusRSS(t *testing.T) {
	status := "Name:\tssogate\nVmPeak:\t 1500000 kB\nVmRSS:\t   57800 kB\nRssAnon:\t   16000 kB\nRssFile:\t   41700 kB\nRssShmem:\t     100 kB\nThreads:\t8\n"
	got, err := parseStatusRSS(status)
	if err != nil {
		t.Fatal(err)
	}
	if want := (rssSample{Total: 57800 << 10, Anon: 16000 << 10, File: 41700 << 10}); got != want {
		t.Errorf("parseStatusRSS = %+v, want %+v", got, want)
	}
	if _, err := parseStatusRSS("Name:\tssogate\nVmRSS:\t   57800 kB\n"); err == nil {
		t.Error("a status without RssAnon and RssFile was accepted")
	}
	if s := summarizeRSS([]rssSample{{Total: 3e6, Anon: 1e6, File: 2e6}, {Total: 5e6, Anon: 2e6, File: 3e6}, {Total: 4e6}}); s.PeakMB != 5 || s.PeakAnonMB != 2 || s.PeakFileMB != 3 || s.MedianMB != 4 {
		t.Errorf("summarizeRSS = %+v, want the peak 5 MB split 2 + 3, median 4", *s)
	}
}
