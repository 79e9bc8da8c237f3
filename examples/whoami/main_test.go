package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	defaults := config{
		Listen:          "127.0.0.1:9001",
		Issuer:          "http://127.0.0.1:8080",
		JWKSURL:         "http://127.0.0.1:8080/.well-known/jwks.json",
		Audience:        "whoami",
		AssertionHeader: "X-Ssogate-Assertion",
		Leeway:          5 * time.Second,
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    config
		wantErr string
	}{
		{name: "defaults", want: defaults},
		{
			name: "flags",
			args: []string{"-listen", ":9100", "-issuer", "https://sso.example.co.jp/", "-audience", "wiki",
				"-assertion-header", "x-my-assertion", "-leeway", "2s"},
			want: config{Listen: ":9100", Issuer: "https://sso.example.co.jp/",
				JWKSURL:  "https://sso.example.co.jp/.well-known/jwks.json",
				Audience: "wiki", AssertionHeader: "X-My-Assertion", Leeway: 2 * time.Second},
		},
		{
			name: "env fallbacks",
			env: map[string]string{"WHOAMI_LISTEN": "0.0.0.0:9002", "WHOAMI_ISSUER": "https://sso.example.co.jp",
				"WHOAMI_JWKS": "http://ssogate:8080/jwks", "WHOAMI_AUDIENCE": "wiki",
				"WHOAMI_ASSERTION_HEADER": "X-Assertion", "WHOAMI_LEEWAY": "1s"},
			want: config{Listen: "0.0.0.0:9002", Issuer: "https://sso.example.co.jp", JWKSURL: "http://ssogate:8080/jwks",
				Audience: "wiki", AssertionHeader: "X-Assertion", Leeway: time.Second},
		},
		{
			name: "flag beats env",
			args: []string{"-audience", "flag", "-leeway", "3s"},
			env:  map[string]string{"WHOAMI_AUDIENCE": "env", "WHOAMI_LEEWAY": "1s"},
			want: func() config { c := defaults; c.Audience, c.Leeway = "flag", 3*time.Second; return c }(),
		},
		{name: "bad env leeway", env: map[string]string{"WHOAMI_LEEWAY": "5"}, wantErr: "WHOAMI_LEEWAY"},
		{name: "negative leeway", args: []string{"-leeway", "-1s"}, wantErr: "-leeway"},
		{name: "huge leeway", args: []string{"-leeway", "1h"}, wantErr: "-leeway"},
		{name: "issuer not a URL", args: []string{"-issuer", "127.0.0.1:8080"}, wantErr: "-issuer"},
		{name: "jwks not http", args: []string{"-jwks", "file:///etc/jwks.json"}, wantErr: "-jwks"},
		{name: "empty audience", args: []string{"-audience", " "}, wantErr: "-audience"},
		{name: "bad header name", args: []string{"-assertion-header", "X Assertion"}, wantErr: "-assertion-header"},
		{name: "bad listen", args: []string{"-listen", "9001"}, wantErr: "-listen"},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected argument"},
		{name: "unknown flag", args: []string{"-port", "1"}, wantErr: "-port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			got, err := parseConfig(tt.args, getenv, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("config = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestRun starts the program on a free port, checks /healthz, and stops it
// the way SIGTERM does: by cancelling its context.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdoutR, stdoutW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0"}, func(string) string { return "" }, stdoutW, t.Output())
		stdoutW.Close()
	}()

	line, err := bufio.NewReader(stdoutR).ReadString('\n')
	if err != nil {
		t.Fatalf("read banner: %v (run: %v)", err, <-done)
	}
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "whoami listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("banner = %q", line)
	}
	go io.Copy(io.Discard, stdoutR)

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("GET /healthz = %d %q", resp.StatusCode, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatal("run did not return after cancel")
	}
}
