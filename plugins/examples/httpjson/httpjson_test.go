package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssogate/ssogate/providers"
)

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	tests := []struct {
		name   string
		config string
		want   string // substring of the error; empty: valid
	}{
		{"https", `{"url":"https://auth.example.co.jp/check"}`, ""},
		{"http localhost", `{"url":"http://localhost:8080/check"}`, ""},
		{"http 127.0.0.1", `{"url":"http://127.0.0.1:8080/check"}`, ""},
		{"http ::1", `{"url":"http://[::1]:8080/check"}`, ""},
		{"all keys", `{"url":"https://a.example/","timeout":"3s","headers":{"Authorization":"Bearer x","X-Api-Key":"k"}}`, ""},
		{"timeout in seconds", `{"url":"https://a.example/","timeout":3}`, ""},
		{"missing url", `{}`, "url: missing"},
		{"http elsewhere", `{"url":"http://auth.example.co.jp/check"}`, "http only for localhost"},
		{"http private address", `{"url":"http://10.0.0.5/check"}`, "http only for localhost"},
		{"ftp", `{"url":"ftp://a.example/"}`, "want an https URL"},
		{"no host", `{"url":"https:///check"}`, "has no host"},
		{"unknown key", `{"url":"https://a.example/","endpoint":"x"}`, "valid keys: url, timeout, ca_file, headers"},
		{"timeout too long", `{"url":"https://a.example/","timeout":"40s"}`, "at most 25s"},
		{"timeout negative", `{"url":"https://a.example/","timeout":"-1s"}`, "more than 0s"},
		{"timeout garbage", `{"url":"https://a.example/","timeout":"soon"}`, "no duration"},
		{"content-type header", `{"url":"https://a.example/","headers":{"content-type":"text/plain"}}`, "set by the plugin"},
		{"bad header name", `{"url":"https://a.example/","headers":{"X Key":"v"}}`, "no valid header name"},
		{"header injection", `{"url":"https://a.example/","headers":{"X-Key":"a\r\nEvil: 1"}}`, "line break"},
		{"missing ca_file", `{"url":"https://a.example/","ca_file":"/nonexistent/ca.pem"}`, "ca_file"},
		{"ca_file not PEM", fmt.Sprintf(`{"url":"https://a.example/","ca_file":%q}`, notPEM), "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New("kiosk", json.RawMessage(tt.config))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// answer is what the test endpoint sends back.
type reply struct {
	status int
	body   string
	delay  time.Duration
}

func TestAuthenticate(t *testing.T) {
	var current atomic.Pointer[reply]
	var got atomic.Pointer[http.Request]
	var gotBody atomic.Pointer[string]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s := string(b)
		got.Store(r)
		gotBody.Store(&s)
		rp := current.Load()
		if rp.delay > 0 {
			select {
			case <-time.After(rp.delay):
			case <-r.Context().Done():
				return
			}
		}
		if rp.status == http.StatusFound {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rp.status)
		io.WriteString(w, rp.body)
	}))
	defer srv.Close()
	p, err := New("kiosk", json.RawMessage(fmt.Sprintf(`{"url":%q,"timeout":"300ms","headers":{"X-Api-Key":"k1"}}`, srv.URL+"/check")))
	if err != nil {
		t.Fatal(err)
	}

	unavailable := func(err error) bool { return errors.Is(err, providers.ErrUnavailable) }
	tests := []struct {
		name  string
		reply reply
		ok    func(*providers.Identity, error) bool
	}{
		{"ok", reply{200, `{"ok":true,"subject":"u-1","email":"taro@example.co.jp","email_verified":true,"name":"山田 太郎","groups":["staff","it"],"department":"情報システム部"}`, 0},
			func(id *providers.Identity, err error) bool {
				return err == nil && reflect.DeepEqual(*id, providers.Identity{
					ProviderID: "kiosk", Subject: "u-1", Email: "taro@example.co.jp", EmailVerified: true,
					DisplayName: "山田 太郎", Groups: []string{"staff", "it"}, Department: "情報システム部", AMR: []string{"pwd"},
				})
			}},
		{"wrong password", reply{200, `{"ok":false}`, 0}, func(_ *providers.Identity, err error) bool { return errors.Is(err, providers.ErrInvalidCredentials) }},
		{"wrong password as 401", reply{401, `{"ok":false}`, 0}, func(_ *providers.Identity, err error) bool { return errors.Is(err, providers.ErrInvalidCredentials) }},
		{"invalid_credentials error", reply{200, `{"ok":false,"error":"invalid_credentials"}`, 0}, func(_ *providers.Identity, err error) bool { return errors.Is(err, providers.ErrInvalidCredentials) }},
		{"locked", reply{200, `{"ok":false,"error":"locked","message":"5 failures"}`, 0}, func(_ *providers.Identity, err error) bool {
			var ae *providers.AccountError
			return errors.As(err, &ae) && *ae == providers.AccountError{Reason: providers.ReasonLocked, Detail: "5 failures"}
		}},
		{"password expired", reply{403, `{"error":"password_expired"}`, 0}, func(_ *providers.Identity, err error) bool {
			var ae *providers.AccountError
			return errors.As(err, &ae) && ae.Reason == providers.ReasonPasswordExpired
		}},
		{"unknown error", reply{200, `{"ok":false,"error":"weird"}`, 0}, func(_ *providers.Identity, err error) bool { return unavailable(err) }},
		{"ok without subject", reply{200, `{"ok":true}`, 0}, func(_ *providers.Identity, err error) bool { return unavailable(err) }},
		{"no ok", reply{200, `{"subject":"u-1"}`, 0}, func(_ *providers.Identity, err error) bool { return unavailable(err) }},
		{"401 from a proxy", reply{401, `{"message":"Unauthorized"}`, 0}, func(_ *providers.Identity, err error) bool { return unavailable(err) }},
		{"not JSON", reply{200, `<html>`, 0}, func(_ *providers.Identity, err error) bool { return unavailable(err) }},
		{"too large", reply{200, `{"ok":false,"message":"` + strings.Repeat("x", maxAnswer) + `"}`, 0}, func(_ *providers.Identity, err error) bool { return unavailable(err) }},
		{"500", reply{500, `{"ok":true,"subject":"u-1"}`, 0}, func(_ *providers.Identity, err error) bool { return unavailable(err) }},
		{"503", reply{503, ``, 0}, func(_ *providers.Identity, err error) bool { return unavailable(err) }},
		{"429", reply{429, ``, 0}, func(_ *providers.Identity, err error) bool { return errors.Is(err, providers.ErrBusy) }},
		{"redirect not followed", reply{302, ``, 0}, func(_ *providers.Identity, err error) bool { return unavailable(err) }},
		{"too slow", reply{200, `{"ok":true,"subject":"u-1"}`, time.Second}, func(_ *providers.Identity, err error) bool { return unavailable(err) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current.Store(&tt.reply)
			id, err := p.Authenticate(context.Background(), "taro", "pa\"ss")
			if !tt.ok(id, err) {
				t.Errorf("got %+v, %v", id, err)
			}
			r := got.Load()
			if r.Method != http.MethodPost || r.URL.Path != "/check" || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Api-Key") != "k1" {
				t.Errorf("request %s %s %v", r.Method, r.URL, r.Header)
			}
			var body map[string]string
			if err := json.Unmarshal([]byte(*gotBody.Load()), &body); err != nil || body["login"] != "taro" || body["password"] != "pa\"ss" || len(body) != 2 {
				t.Errorf("body %s", *gotBody.Load())
			}
		})
	}

	t.Run("empty password asks nobody", func(t *testing.T) {
		got.Store(nil)
		if _, err := p.Authenticate(context.Background(), "taro", ""); !errors.Is(err, providers.ErrInvalidCredentials) {
			t.Errorf("err = %v", err)
		}
		if got.Load() != nil {
			t.Error("the endpoint was asked")
		}
	})
	t.Run("endpoint down", func(t *testing.T) {
		down := httptest.NewServer(http.NotFoundHandler())
		down.Close()
		q, err := New("kiosk", json.RawMessage(fmt.Sprintf(`{"url":%q}`, down.URL)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Authenticate(context.Background(), "taro", "pw"); !unavailable(err) || strings.Contains(err.Error(), "pw") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestTLSWithCAFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true,"subject":"u-9"}`)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, config string
		ok           bool
	}{
		{"trusted by ca_file", fmt.Sprintf(`{"url":%q,"ca_file":%q}`, srv.URL, ca), true},
		{"unknown authority", fmt.Sprintf(`{"url":%q}`, srv.URL), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New("kiosk", json.RawMessage(tt.config))
			if err != nil {
				t.Fatal(err)
			}
			id, err := p.Authenticate(context.Background(), "taro", "pw")
			if tt.ok && (err != nil || id.Subject != "u-9") {
				t.Errorf("got %+v, %v", id, err)
			}
			if !tt.ok && !errors.Is(err, providers.ErrUnavailable) {
				t.Errorf("err = %v, want ErrUnavailable", err)
			}
		})
	}
}
