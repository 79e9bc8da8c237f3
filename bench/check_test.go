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
