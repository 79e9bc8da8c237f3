package main

import (
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ssogate/ssogate/config"
)

// TestDemoTilesLeadSomewhere checks that every tile of the example
// configuration, which `make run` serves, opens something real: each is
// served by the gateway itself (a path on its own host, proxied), and each
// upstream on 127.0.0.1 is a demo app scripts/run-demo.sh starts, with the
// service's id as the audience it verifies.
func TestDemoTilesLeadSomewhere(t *testing.T) {
	cfg, err := config.Load("../../examples/ssogate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("../../scripts/run-demo.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^demo_apps=\(([^)]*)\)$`).FindSubmatch(script)
	if m == nil {
		t.Fatal("scripts/run-demo.sh has no demo_apps=(id:port …) line")
	}
	apps := map[string]string{} // port -> service id
	for _, app := range strings.Fields(string(m[1])) {
		id, port, ok := strings.Cut(app, ":")
		if !ok {
			t.Fatalf("demo app %q is not id:port", app)
		}
		apps[port] = id
	}
	if !strings.Contains(string(script), `for app in "${demo_apps[@]}"; do`) {
		t.Fatal("scripts/run-demo.sh does not start the demo_apps")
	}

	public := cfg.Server.PublicURLParsed
	used := map[string]bool{}
	for _, s := range cfg.Services {
		u := s.URLParsed
		if s.OIDC != nil || s.SAML != nil {
			// An app outside the gateway: started by the script itself,
			// on its own port, as ./bin/<id>.
			if u.Hostname() != "127.0.0.1" || !strings.Contains(string(script), "./bin/"+s.ID+" -listen 127.0.0.1:"+u.Port()+" ") {
				t.Errorf("tile %s leads to %s, but scripts/run-demo.sh starts no ./bin/%s -listen 127.0.0.1:%s", s.ID, s.URL, s.ID, u.Port())
			}
			continue
		}
		if u.Scheme != public.Scheme || u.Host != public.Host {
			t.Errorf("tile %s leads to %s, which the demo does not serve: give it a path on %s and an upstream", s.ID, s.URL, public)
			continue
		}
		if s.UpstreamParsed == nil {
			t.Errorf("tile %s (%s) has no upstream: the gateway has nothing to show there", s.ID, s.URL)
			continue
		}
		host, port, err := net.SplitHostPort(s.UpstreamParsed.Host)
		if err != nil || host != "127.0.0.1" {
			t.Errorf("tile %s: upstream %s is not a demo app on 127.0.0.1", s.ID, s.Upstream)
			continue
		}
		switch id, ok := apps[port]; {
		case !ok:
			t.Errorf("tile %s: nothing in scripts/run-demo.sh listens on 127.0.0.1:%s", s.ID, port)
		case id != s.ID:
			t.Errorf("tile %s: the demo app on port %s verifies audience %q, not %q", s.ID, port, id, s.ID)
		}
		used[port] = true
	}
	for port, id := range apps {
		if !used[port] {
			t.Errorf("scripts/run-demo.sh starts %s on port %s, but no tile leads there", id, port)
		}
	}
}
