package config

import (
	"strings"
	"testing"
)

// TestMetricsListen checks that /metrics stays off the public listener
// unless server.metrics_on_public_listener asks for it.
func TestMetricsListen(t *testing.T) {
	tests := []struct {
		name    string
		server  string
		wantErr string // "" for success
	}{
		{name: "off by default", server: ""},
		{name: "own port", server: "  metrics_listen: 127.0.0.1:9090\n"},
		{name: "same address refused", server: "  metrics_listen: 127.0.0.1:8080\n",
			wantErr: `x.yaml:4: server.metrics_listen: "127.0.0.1:8080" is the public listener (server.listen)`},
		{name: "every address on the public port refused", server: "  metrics_listen: :8080\n",
			wantErr: `server.metrics_listen: ":8080" is the public listener`},
		{name: "same address with opt-in", server: "  metrics_listen: 127.0.0.1:8080\n  metrics_on_public_listener: true\n"},
		{name: "opt-in on another address of the port", server: "  metrics_listen: 127.0.0.2:8080\n  metrics_on_public_listener: true\n",
			wantErr: `server.metrics_listen: "127.0.0.2:8080" shares its port with server.listen ("127.0.0.1:8080")`},
		{name: "opt-in without a listener", server: "  metrics_on_public_listener: true\n",
			wantErr: "server.metrics_on_public_listener: needs server.metrics_listen"},
		{name: "bad address", server: "  metrics_listen: localhost\n",
			wantErr: `server.metrics_listen: "localhost" is not host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "server:\n  listen: 127.0.0.1:8080\n  public_url: http://127.0.0.1:8080\n" + tt.server
			if tt.wantErr == "" {
				mustParse(t, src)
				return
			}
			if got := parseErr(t, src); !strings.Contains(got, tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", got, tt.wantErr)
			}
		})
	}
}
