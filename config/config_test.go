package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// parseErr parses src as x.yaml and returns the error text, failing the
// test when there is none.
func parseErr(t *testing.T, src string) string {
	t.Helper()
	c, err := Parse("x.yaml", []byte(src))
	if err == nil {
		t.Fatalf("Parse succeeded, want an error; config: %+v", c)
	}
	if c != nil {
		t.Errorf("Parse returned a config along with an error")
	}
	return err.Error()
}

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := Parse("x.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// clearDerived zeroes what Validate fills and the source, after checking
// them, so that the rest can be compared with reflect.DeepEqual.
func clearDerived(c *Config) {
	c.src = nil
	c.Server.PublicURLParsed = nil
	c.Server.TrustedPrefixes = nil
	c.Portal.Location = nil
	for i := range c.Services {
		c.Services[i].URLParsed = nil
		c.Services[i].UpstreamParsed = nil
	}
}

const fullYAML = `# every key set
server:
  listen: 0.0.0.0:8443
  public_url: https://sso.example.co.jp/
  trusted_proxies: [10.0.0.1, 192.168.0.0/16, "2001:db8::/32", "::1"]
  read_header_timeout: 5s
  shutdown_timeout: 1m
  metrics_listen: 127.0.0.1:9090
store:
  driver: sqlite
  dsn: /var/lib/ssogate/ssogate.db
session:
  idle_timeout: 1h
  absolute_timeout: 1d12h
  cookie_name: __Secure-sso
  cookie_domain: example.co.jp
  secret: 0123456789abcdef0123456789abcdef
  cache_ttl: 10s
portal:
  title: サンプル社 ポータル
  default_language: en
  time_zone: UTC
log:
  level: debug
  format: json
providers:
  - id: local
    type: local
    label: メールアドレスでログイン
    password:
      min_length: 12
      min_classes: 4
    hashing:
      memory_kib: 8192
      iterations: 1
      parallelism: 16
      max_in_flight: 8
      max_waiting: 0
services:
  - id: wiki
    name: 社内Wiki
    name_en: Company wiki
    description: 規程・手順書
    description_en: Policies and how-tos
    icon: book
    url: https://wiki.example.co.jp/
    upstream: http://127.0.0.1:9001
    preserve_host: true
    upstream_timeout: 45s
    session_timeout: 8h
    headers:
      user: X-Auth-User
      remote_user: none
      email: X-Auth-Email
      groups: X-Auth-Groups
      name: X-Auth-Name
      assertion: X-Auth-Assertion
      department: X-Auth-Department
  - id: admin-console
    name: 管理コンソール
    url: http://127.0.0.1:9004/admin
    allowed_groups: [admins, it-staff]
assertion:
  ttl: 2m
`

func TestParseFull(t *testing.T) {
	c := mustParse(t, fullYAML)

	if got := c.Server.PublicURLParsed.String(); got != "https://sso.example.co.jp" {
		t.Errorf("PublicURLParsed = %q, want https://sso.example.co.jp", got)
	}
	wantPrefixes := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.1/32"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("::1/128"),
	}
	if !reflect.DeepEqual(c.Server.TrustedPrefixes, wantPrefixes) {
		t.Errorf("TrustedPrefixes = %v, want %v", c.Server.TrustedPrefixes, wantPrefixes)
	}
	if c.Portal.Location == nil || c.Portal.Location.String() != "UTC" {
		t.Errorf("Location = %v, want UTC", c.Portal.Location)
	}
	if got := c.Services[1].URLParsed.String(); got != "http://127.0.0.1:9004/admin" {
		t.Errorf("Services[1].URLParsed = %q", got)
	}

	clearDerived(c)
	want := &Config{
		Server: Server{
			Listen:            "0.0.0.0:8443",
			PublicURL:         "https://sso.example.co.jp",
			TrustedProxies:    []string{"10.0.0.1", "192.168.0.0/16", "2001:db8::/32", "::1"},
			ReadHeaderTimeout: Duration(5 * time.Second),
			ShutdownTimeout:   Duration(time.Minute),
			MetricsListen:     "127.0.0.1:9090",
		},
		Store: Store{Driver: "sqlite", DSN: "/var/lib/ssogate/ssogate.db"},
		Session: Session{
			IdleTimeout:     Duration(time.Hour),
			AbsoluteTimeout: Duration(36 * time.Hour),
			CookieName:      "__Secure-sso",
			CookieDomain:    "example.co.jp",
			Secret:          "0123456789abcdef0123456789abcdef",
			CacheTTL:        Duration(10 * time.Second),
		},
		Portal: Portal{Title: PlainText("サンプル社 ポータル"), DefaultLanguage: "en", TimeZone: "UTC"},
		Log:    Log{Level: "debug", Format: "json"},
		Providers: []Provider{{
			ID: "local", Type: "local", Label: PlainText("メールアドレスでログイン"),
			Local: &LocalProvider{
				Password: LocalPassword{MinLength: 12, MinClasses: 4},
				Hashing:  LocalHashing{MemoryKiB: 8192, Iterations: 1, Parallelism: 16, MaxInFlight: 8, MaxWaiting: 0},
			},
		}},
		Services: []Service{
			{
				ID: "wiki", Icon: "book", URL: "https://wiki.example.co.jp/",
				Name: Text{"": "社内Wiki", "en": "Company wiki"}, Description: Text{"": "規程・手順書", "en": "Policies and how-tos"},
				Upstream: "http://127.0.0.1:9001", PreserveHost: true,
				UpstreamTimeout: Duration(45 * time.Second), SessionTimeout: Duration(8 * time.Hour),
				Headers: ServiceHeaders{User: "X-Auth-User", RemoteUser: "none", Email: "X-Auth-Email",
					Groups: "X-Auth-Groups", Name: "X-Auth-Name", Assertion: "X-Auth-Assertion",
					Phone: "none", Mobile: "none", Organization: "none", Department: "X-Auth-Department"},
			},
			{
				ID: "admin-console", Name: PlainText("管理コンソール"), Icon: "app",
				URL: "http://127.0.0.1:9004/admin", AllowedGroups: []string{"admins", "it-staff"},
				UpstreamTimeout: Duration(30 * time.Second), Headers: DefaultServiceHeaders,
			},
		},
		Assertion: Assertion{TTL: Duration(2 * time.Minute)},
		Policy:    withAccountDefaults(Policy{AccessRoute: "line_and_internet"}),
		Notify:    defaultNotify,
		Path:      "x.yaml",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", c, want)
	}
}

func TestParseDefaults(t *testing.T) {
	wantLocal := &LocalProvider{
		Password: LocalPassword{MinLength: 8, MinClasses: 3},
		Hashing: LocalHashing{
			MemoryKiB: 65536, Iterations: 3, Parallelism: 2,
			MaxInFlight: max(1, min(runtime.NumCPU()/2, 4)), MaxWaiting: 256,
		},
	}
	defaults := func(publicURL, cookie string) *Config {
		return &Config{
			Server: Server{
				Listen:            "127.0.0.1:8080",
				PublicURL:         publicURL,
				ReadHeaderTimeout: Duration(10 * time.Second),
				ShutdownTimeout:   Duration(15 * time.Second),
			},
			Store: Store{Driver: "sqlite", DSN: "./data/ssogate.db"},
			Session: Session{
				IdleTimeout:     Duration(30 * time.Minute),
				AbsoluteTimeout: Duration(12 * time.Hour),
				CookieName:      cookie,
				CacheTTL:        Duration(5 * time.Second),
			},
			Portal:    Portal{Title: PlainText("ssogate"), DefaultLanguage: "ja", TimeZone: "Asia/Tokyo"},
			Log:       Log{Level: "info", Format: "text"},
			Providers: []Provider{{ID: "local", Type: "local", Local: wantLocal}},
			Assertion: Assertion{TTL: Duration(time.Minute)},
			Policy:    withAccountDefaults(Policy{AccessRoute: "line_and_internet"}),
			Notify:    defaultNotify,
			Path:      "x.yaml",
		}
	}
	withService := defaults("http://127.0.0.1:8080", "ssogate")
	withService.Services = []Service{{ID: "wiki", Name: PlainText("社内Wiki"), Icon: "app", URL: "http://127.0.0.1:9001/",
		UpstreamTimeout: Duration(30 * time.Second), Headers: DefaultServiceHeaders}}

	tests := []struct {
		name string
		src  string
		want *Config
	}{
		{"empty file", "", defaults("http://127.0.0.1:8080", "ssogate")},
		{"comments only", "# nothing yet\n", defaults("http://127.0.0.1:8080", "ssogate")},
		{"empty sections", "server:\nstore:\nsession:\nproviders: []\n", defaults("http://127.0.0.1:8080", "ssogate")},
		{"https public url", "server:\n  public_url: https://sso.example.co.jp\n", defaults("https://sso.example.co.jp", "__Host-ssogate")},
		{"local provider without options", "providers:\n  - id: local\n    type: local\n", defaults("http://127.0.0.1:8080", "ssogate")},
		{"doc comment example", `
server:
  listen: 127.0.0.1:8080
  public_url: http://127.0.0.1:8080
store:
  driver: sqlite
  dsn: ./data/ssogate.db
providers:
  - id: local
    type: local
services:
  - id: wiki
    name: 社内Wiki
    url: http://127.0.0.1:9001/
`, withService},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.src)
			if c.Portal.Location == nil || c.Portal.Location.String() != "Asia/Tokyo" {
				t.Errorf("Location = %v, want Asia/Tokyo", c.Portal.Location)
			}
			clearDerived(c)
			if !reflect.DeepEqual(c, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", c, tt.want)
			}
		})
	}
}

// TestExplicitZeroKept checks that a key written as 0 keeps its 0 instead
// of taking the default.
func TestExplicitZeroKept(t *testing.T) {
	c := mustParse(t, `
session:
  cache_ttl: 0s
providers:
  - id: local
    type: local
    hashing:
      max_waiting: 0
`)
	if c.Session.CacheTTL != 0 {
		t.Errorf("CacheTTL = %v, want 0", c.Session.CacheTTL)
	}
	if got := c.Providers[0].Local.Hashing.MaxWaiting; got != 0 {
		t.Errorf("MaxWaiting = %d, want 0", got)
	}

	c = mustParse(t, "session:\n  cache_ttl:\n")
	if c.Session.CacheTTL.D() != 5*time.Second {
		t.Errorf("CacheTTL with an empty value = %v, want the default 5s", c.Session.CacheTTL)
	}
}

// TestParseErrors checks that each invalid value is reported with the file,
// line and key, and says what would be valid.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // each must appear in the error text
	}{
		// Strict decoding.
		{"unknown top-level key", "server:\n  listen: 127.0.0.1:8080\npolcy:\n  login_methods: [local]\n",
			[]string{`x.yaml:3: polcy: unknown key; did you mean "policy"? valid: server, store, session, portal, log, providers, services, assertion, policy`}},
		{"misspelt key", "server:\n  listn: 127.0.0.1:8080\n",
			[]string{`x.yaml:2: server.listn: unknown key; did you mean "listen"?`}},
		{"unknown key in provider", "providers:\n  - id: local\n    type: local\n    pasword:\n      min_length: 10\n",
			[]string{`x.yaml:4: providers[0].pasword: unknown key; did you mean "password"? valid: id, type, label, password, hashing`}},
		{"unknown key in provider options", "providers:\n  - id: local\n    type: local\n    hashing:\n      memory: 1\n",
			[]string{`x.yaml:5: providers[0].hashing.memory: unknown key`, "memory_kib"}},
		{"unknown key in service", "services:\n  - id: wiki\n    name: Wiki\n    url: http://w/\n    upstreem: http://127.0.0.1:9001\n",
			[]string{`x.yaml:5: services[0].upstreem: unknown key; did you mean "upstream"?`}},
		{"proxied service at the gateway root", "services:\n  - id: wiki\n    name: Wiki\n    url: http://127.0.0.1:8080/\n    upstream: http://127.0.0.1:9001\n",
			[]string{`x.yaml:4: services[0].url: is the gateway's own root`}},
		{"proxied service on a reserved path", "services:\n  - id: wiki\n    name: Wiki\n    url: http://127.0.0.1:8080/login/x/\n    upstream: http://127.0.0.1:9001\n",
			[]string{`x.yaml:4: services[0].url: path /login/x/ is the gateway's own (/login)`}},
		{"two services on one URL", "services:\n  - id: a\n    name: A\n    url: http://w/x\n  - id: b\n    name: B\n    url: http://W/x/\n",
			[]string{`x.yaml:7: services[1].url: http://W/x/ is already the URL of service "a"`}},
		{"bad upstream", "services:\n  - id: a\n    name: A\n    url: http://w/\n    upstream: ftp://x\n",
			[]string{`x.yaml:5: services[0].upstream: "ftp://x" is not an absolute http or https URL`}},
		{"preserve_host without upstream", "services:\n  - id: a\n    name: A\n    url: http://w/\n    preserve_host: true\n",
			[]string{`x.yaml:5: services[0].preserve_host: applies only with upstream`}},
		{"bad header name", "services:\n  - id: a\n    name: A\n    url: http://w/\n    headers:\n      user: X_User\n",
			[]string{`x.yaml:6: services[0].headers.user: "X_User" is not a header name`}},
		{"service path with a dot segment", "services:\n  - id: a\n    name: A\n    url: http://w/a/%2e%2e/b/\n",
			[]string{`x.yaml:4: services[0].url: path /a/%2e%2e/b/ has a . or .. segment`}},
		{"service path with a parameter", "services:\n  - id: a\n    name: A\n    url: http://w/a;x/\n",
			[]string{`x.yaml:4: services[0].url: path /a;x/ has a . or .. segment, a ';'`}},
		{"identity header named Cookie", "services:\n  - id: a\n    name: A\n    url: http://w/\n    headers:\n      phone: cookie\n",
			[]string{`x.yaml:6: services[0].headers.phone: cookie is a header the request needs`}},
		{"bad department header name", "services:\n  - id: a\n    name: A\n    url: http://w/\n    headers:\n      department: X Dept\n",
			[]string{`x.yaml:6: services[0].headers.department: "X Dept" is not a header name`}},
		{"negative session timeout", "services:\n  - id: a\n    name: A\n    url: http://w/\n    session_timeout: -1h\n",
			[]string{`x.yaml:5: services[0].session_timeout`}},
		{"assertion ttl too long", "assertion:\n  ttl: 1h\n",
			[]string{`x.yaml:2: assertion.ttl: 1h is out of range; use 10s to 10m`}},
		{"cookie domain outside public host", "session:\n  cookie_domain: example.org\n",
			[]string{`x.yaml:2: session.cookie_domain: server.public_url's host "127.0.0.1" is not inside "example.org"`}},
		{"duplicate key", "log:\n  level: info\n  level: debug\n",
			[]string{`x.yaml:3: log.level: duplicate key; already set at line 2`}},
		{"section not a mapping", "server: 127.0.0.1:8080\n",
			[]string{`x.yaml:1: server: must be a mapping of keys (listen, public_url`}},
		{"not a number", "providers:\n  - id: local\n    type: local\n    password:\n      min_length: eight\n",
			[]string{`x.yaml:5: providers[0].password.min_length: must be a whole number, not "eight"`}},
		{"number out of range", "providers:\n  - id: local\n    type: local\n    hashing:\n      parallelism: 300\n",
			[]string{`x.yaml:5: providers[0].hashing.parallelism: must be a whole number from 0 to 255, not "300"`}},
		{"list expected", "services:\n  - id: x\n    name: X\n    url: http://x/\n    allowed_groups: staff\n",
			[]string{`x.yaml:5: services[0].allowed_groups: must be a list`}},
		{"single value expected", "portal:\n  title: [a, b]\n",
			[]string{`x.yaml:2: portal.title: must be a text, not a list; write one text for every language, or one per language: {ja: …, en: …}`}},
		{"yaml syntax", "server:\n  listen: 127.0.0.1:8080\n bad: [\n",
			[]string{`x.yaml:2: invalid YAML: did not find expected key`}},
		{"second document", "log:\n  level: info\n---\nlog:\n  level: debug\n",
			[]string{`x.yaml:3: a second YAML document (after ---) is not allowed`}},
		{"merge key", "base: &b\n  level: info\nlog:\n  <<: *b\n",
			[]string{`x.yaml:1: base: unknown key`, `x.yaml:4: log.<<: merge keys (<<) are not supported`}},

		// Server.
		{"listen without port", "server:\n  listen: 127.0.0.1\n",
			[]string{`x.yaml:2: server.listen: "127.0.0.1" is not host:port; use e.g. 127.0.0.1:8080`}},
		{"listen bad port", "server:\n  listen: 127.0.0.1:http\n  public_url: http://127.0.0.1\n",
			[]string{`x.yaml:2: server.listen: port "http" must be a number from 1 to 65535`}},
		{"listen on every address needs public_url", "server:\n  listen: :8080\n",
			[]string{`x.yaml:1: server.public_url: required when server.listen (":8080") does not name one host`}},
		{"public_url not http", "server:\n  public_url: ftp://sso.example.co.jp\n",
			[]string{`x.yaml:2: server.public_url: "ftp://sso.example.co.jp" is not an absolute http or https URL with a host`}},
		{"public_url relative", "server:\n  public_url: sso.example.co.jp\n",
			[]string{`x.yaml:2: server.public_url: "sso.example.co.jp" is not an absolute http or https URL`}},
		{"public_url with path", "server:\n  public_url: https://example.co.jp/sso\n",
			[]string{`x.yaml:2: server.public_url: "https://example.co.jp/sso" must not have a path ("/sso")`, "use e.g. https://example.co.jp"}},
		{"public_url with query", "server:\n  public_url: https://example.co.jp/?a=b\n",
			[]string{`x.yaml:2: server.public_url:`, "must not have a query"}},
		{"public_url with fragment", "server:\n  public_url: https://example.co.jp#top\n",
			[]string{`x.yaml:2: server.public_url:`, "must not have a fragment"}},
		{"public_url with user", "server:\n  public_url: https://admin:pw@example.co.jp\n",
			[]string{`x.yaml:2: server.public_url:`, "must not contain a user name or password"}},
		{"trusted proxy", "server:\n  trusted_proxies:\n    - 10.0.0.1\n    - 10.0.0.0/33\n    - proxy.local\n",
			[]string{
				`x.yaml:4: server.trusted_proxies[1]: "10.0.0.0/33" is not a CIDR prefix; use an IP address or CIDR prefix`,
				`x.yaml:5: server.trusted_proxies[2]: "proxy.local" is not an IP address`,
			}},
		{"read_header_timeout zero", "server:\n  read_header_timeout: 0s\n",
			[]string{`x.yaml:2: server.read_header_timeout: must be greater than 0`}},

		// Store.
		{"store driver", "store:\n  driver: mysql\n",
			[]string{`x.yaml:2: store.driver: unknown store driver "mysql"; valid: sqlite, postgres`}},
		{"postgres without dsn", "store:\n  driver: postgres\n",
			[]string{`x.yaml:1: store.dsn: must not be empty for the postgres driver`}},
		{"postgres dsn unparsable", "store:\n  driver: postgres\n  dsn: \"postgres://sso:s3cret@db:notaport/sso\"\n",
			[]string{`x.yaml:3: store.dsn: is not a valid PostgreSQL connection URL or key=value string, or a file it names`}},
		{"postgres remote without verified tls", "store:\n  driver: postgres\n  dsn: postgres://sso@db.example.co.jp/sso?sslmode=require\n",
			[]string{`x.yaml:3: store.dsn: connects to db.example.co.jp without verifying its TLS certificate`, "use sslmode=verify-full"}},
		{"postgres remote with sslmode prefer", "store:\n  driver: postgres\n  dsn: host=10.0.0.5 dbname=sso\n",
			[]string{`x.yaml:3: store.dsn: connects to 10.0.0.5 without verifying its TLS certificate`}},

		// Session.
		{"idle timeout zero", "session:\n  idle_timeout: 0s\n",
			[]string{`x.yaml:2: session.idle_timeout: must be greater than 0`}},
		{"absolute shorter than idle", "session:\n  idle_timeout: 2h\n  absolute_timeout: 1h\n",
			[]string{`x.yaml:3: session.absolute_timeout: 1h is shorter than session.idle_timeout (2h); use at least 2h`}},
		{"absolute shorter than default idle", "session:\n  absolute_timeout: 10m\n",
			[]string{`x.yaml:2: session.absolute_timeout: 10m is shorter than session.idle_timeout (30m)`}},
		{"short secret", "session:\n  secret: too-short\n",
			[]string{`x.yaml:2: session.secret: is 9 bytes; use at least 32`}},
		{"cache ttl too long", "session:\n  cache_ttl: 2m\n",
			[]string{`x.yaml:2: session.cache_ttl: 2m is out of range; use 0s (no cache) up to 1m`}},
		{"negative duration", "session:\n  cache_ttl: -1s\n",
			[]string{`x.yaml:2: session.cache_ttl: duration "-1s" is negative`}},
		{"duration without unit", "session:\n  idle_timeout: 30\n",
			[]string{`x.yaml:2: session.idle_timeout: invalid duration "30"; write a number with a unit`}},
		{"__Host- cookie over http", "session:\n  cookie_name: __Host-sso\n",
			[]string{`x.yaml:2: session.cookie_name: browsers accept the __Host- prefix only over https`}},
		{"bad cookie name", "session:\n  cookie_name: \"my cookie\"\n",
			[]string{`x.yaml:2: session.cookie_name: "my cookie" is not a cookie name`}},

		// Portal and log.
		{"language", "portal:\n  default_language: fr\n",
			[]string{`x.yaml:2: portal.default_language: unknown language "fr"; valid: ja, en`}},
		{"time zone", "portal:\n  time_zone: Asia/Tokio\n",
			[]string{`x.yaml:2: portal.time_zone: unknown time zone "Asia/Tokio"; use an IANA name, e.g. Asia/Tokyo or UTC`}},
		{"log level", "log:\n  level: verbose\n",
			[]string{`x.yaml:2: log.level: unknown log level "verbose"; valid: debug, info, warn, error`}},
		{"log format", "log:\n  format: xml\n",
			[]string{`x.yaml:2: log.format: unknown log format "xml"; valid: text, json`}},

		// Providers.
		{"unknown provider type", "providers:\n  - id: ldap\n    type: ldpa\n    url: ldaps://dc1\n",
			[]string{`x.yaml:3: providers[0].type: unknown provider type "ldpa"; valid: ldap, local, network, oidc, plugin, saml`}},
		{"missing provider type", "providers:\n  - id: local\n",
			[]string{`x.yaml:2: providers[0].type: required; valid: ldap, local, network, oidc, plugin, saml`}},
		{"missing provider id", "providers:\n  - type: local\n",
			[]string{`x.yaml:2: providers[0].id: required; use 1 to 32 lower-case letters`}},
		{"bad provider id", "providers:\n  - id: Local_1\n    type: local\n",
			[]string{`x.yaml:2: providers[0].id: "Local_1" is not a valid id; use 1 to 32 lower-case letters, digits and '-'`}},
		{"duplicate provider id", "providers:\n  - id: local\n    type: local\n  - id: local\n    type: local\n",
			[]string{`x.yaml:4: providers[1].id: duplicate id "local"; already used at line 2`}},
		{"provider not a mapping", "providers:\n  - local\n",
			[]string{`x.yaml:2: providers[0]: must be a mapping with at least id and type`}},
		{"password min_length", "providers:\n  - id: local\n    type: local\n    password:\n      min_length: 6\n",
			[]string{`x.yaml:5: providers[0].password.min_length: 6 is too short; use 8 or more`}},
		{"password min_classes", "providers:\n  - id: local\n    type: local\n    password:\n      min_classes: 5\n",
			[]string{`x.yaml:5: providers[0].password.min_classes: 5 is out of range; use 1 to 4`}},
		{"hashing minimums", `providers:
  - id: local
    type: local
    hashing:
      memory_kib: 4096
      iterations: 0
      parallelism: 17
      max_in_flight: 0
      max_waiting: -1
`, []string{
			`x.yaml:5: providers[0].hashing.memory_kib: 4096 is too small; use 8192 (8 MiB) or more`,
			`x.yaml:6: providers[0].hashing.iterations: must be at least 1`,
			`x.yaml:7: providers[0].hashing.parallelism: 17 is out of range; use 1 to 16`,
			`x.yaml:8: providers[0].hashing.max_in_flight: must be at least 1`,
			`x.yaml:9: providers[0].hashing.max_waiting: must not be negative`,
		}},

		// Services.
		{"service icon", "services:\n  - id: wiki\n    name: 社内Wiki\n    url: http://w/\n    icon: bok\n",
			[]string{`x.yaml:5: services[0].icon: unknown icon "bok"; did you mean "book"? valid: app, book, calendar`}},
		{"service name required", "services:\n  - id: wiki\n    url: http://w/\n",
			[]string{`x.yaml:2: services[0].name: required`}},
		{"service url required", "services:\n  - id: wiki\n    name: Wiki\n",
			[]string{`x.yaml:2: services[0].url: required`}},
		{"service url relative", "services:\n  - id: wiki\n    name: Wiki\n    url: /wiki/\n",
			[]string{`x.yaml:4: services[0].url: "/wiki/" is not an absolute http or https URL with a host`}},
		{"service id", "services:\n  - id: -wiki\n    name: Wiki\n    url: http://w/\n",
			[]string{`x.yaml:2: services[0].id: "-wiki" is not a valid id`}},
		{"service id too long", "services:\n  - id: " + strings.Repeat("a", 33) + "\n    name: Wiki\n    url: http://w/\n",
			[]string{`x.yaml:2: services[0].id:`, "is not a valid id"}},
		{"duplicate service id", `services:
  - id: wiki
    name: Wiki
    url: http://w/
  - id: mail
    name: Mail
    url: http://m/
  - id: wiki
    name: Wiki 2
    url: http://w2/
`, []string{`x.yaml:8: services[2].id: duplicate id "wiki"; already used at line 2`}},
		{"allowed groups", "services:\n  - id: wiki\n    name: Wiki\n    url: http://w/\n    allowed_groups:\n      - staff\n      - \"\"\n      - a,b\n",
			[]string{
				`x.yaml:7: services[0].allowed_groups[1]: must not be empty`,
				`x.yaml:8: services[0].allowed_groups[2]: "a,b" contains a comma`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseErr(t, tt.src)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("error does not contain\n  %s\ngot\n  %s", w, strings.ReplaceAll(got, "\n", "\n  "))
				}
			}
		})
	}
}

// TestMultipleErrors checks that every problem is reported at once, in
// file order, each as an *Error.
func TestMultipleErrors(t *testing.T) {
	_, err := Parse("x.yaml", []byte(`server:
  listen: nowhere
  colour: blue
session:
  idle_timeout: soon
services:
  - id: wiki
    name: Wiki
    url: http://w/
    icon: bok
`))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, want Errors: %v", err, err)
	}
	want := []struct {
		line int
		key  string
	}{
		{2, "server.listen"},
		{3, "server.colour"},
		{5, "session.idle_timeout"},
		{10, "services[0].icon"},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if errs[i].File != "x.yaml" || errs[i].Line != w.line || errs[i].Key != w.key {
			t.Errorf("error %d = %s:%d %s, want x.yaml:%d %s", i, errs[i].File, errs[i].Line, errs[i].Key, w.line, w.key)
		}
	}
	if n := strings.Count(err.Error(), "\n"); n != len(want)-1 {
		t.Errorf("error text has %d lines, want one per error:\n%v", n+1, err)
	}
	var one *Error
	if !errors.As(err, &one) || one.Key != "server.listen" {
		t.Errorf("errors.As(*Error) = %v, want the first error", one)
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{File: "ssogate.yaml", Line: 12, Key: "providers[0].type", Msg: `unknown provider type "ldpa"; valid: local`},
			`ssogate.yaml:12: providers[0].type: unknown provider type "ldpa"; valid: local`},
		{&Error{File: "ssogate.yaml", Line: 3, Msg: "invalid YAML: x"}, "ssogate.yaml:3: invalid YAML: x"},
		{&Error{File: "ssogate.yaml", Key: "server.listen", Msg: "m"}, "ssogate.yaml: server.listen: m"},
		{&Error{Key: "server.listen", Msg: "m"}, "server.listen: m"},
		{&Error{Line: 4, Key: "k", Msg: "m"}, "line 4: k: m"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("SSOGATE_TEST_URL", "https://sso.example.co.jp")
	t.Setenv("SSOGATE_TEST_LEN", "12")
	t.Setenv("SSOGATE_TEST_EMPTY", "")
	t.Setenv("SSOGATE_TEST_TITLE", "サンプル社")

	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, c *Config)
	}{
		{"whole value", "server:\n  public_url: ${SSOGATE_TEST_URL}\n", func(t *testing.T, c *Config) {
			if c.Server.PublicURL != "https://sso.example.co.jp" {
				t.Errorf("PublicURL = %q", c.Server.PublicURL)
			}
		}},
		{"inside text", "portal:\n  title: \"${SSOGATE_TEST_TITLE} ポータル\"\n", func(t *testing.T, c *Config) {
			if c.Portal.Title.String() != "サンプル社 ポータル" {
				t.Errorf("Title = %q", c.Portal.Title)
			}
		}},
		{"default when unset", "log:\n  level: ${SSOGATE_TEST_UNSET:-debug}\n", func(t *testing.T, c *Config) {
			if c.Log.Level != "debug" {
				t.Errorf("Level = %q, want debug", c.Log.Level)
			}
		}},
		{"default when empty", "log:\n  level: ${SSOGATE_TEST_EMPTY:-warn}\n", func(t *testing.T, c *Config) {
			if c.Log.Level != "warn" {
				t.Errorf("Level = %q, want warn", c.Log.Level)
			}
		}},
		{"empty value takes the key's default", "log:\n  level: ${SSOGATE_TEST_EMPTY}\n", func(t *testing.T, c *Config) {
			if c.Log.Level != "info" {
				t.Errorf("Level = %q, want info", c.Log.Level)
			}
		}},
		{"number", "providers:\n  - id: local\n    type: local\n    password:\n      min_length: ${SSOGATE_TEST_LEN}\n", func(t *testing.T, c *Config) {
			if got := c.Providers[0].Local.Password.MinLength; got != 12 {
				t.Errorf("MinLength = %d, want 12", got)
			}
		}},
		{"escaped dollar", "portal:\n  title: pay $$5 or $${HOME} $x\n", func(t *testing.T, c *Config) {
			if c.Portal.Title.String() != "pay $5 or ${HOME} $x" {
				t.Errorf("Title = %q", c.Portal.Title)
			}
		}},
		{"values in a list item", "services:\n  - id: wiki\n    name: ${SSOGATE_TEST_TITLE}\n    url: ${SSOGATE_TEST_URL}/wiki/\n", func(t *testing.T, c *Config) {
			if c.Services[0].Name.String() != "サンプル社" || c.Services[0].URL != "https://sso.example.co.jp/wiki/" {
				t.Errorf("service = %+v", c.Services[0])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustParse(t, tt.src))
		})
	}

	errTests := []struct {
		name string
		src  string
		want string
	}{
		{"missing variable", "server:\n  listen: 127.0.0.1:8080\n  public_url: ${SSOGATE_TEST_MISSING}\n",
			"x.yaml:3: server.public_url: environment variable SSOGATE_TEST_MISSING is not set; set it or write ${SSOGATE_TEST_MISSING:-default}"},
		{"missing variable in a list", "server:\n  trusted_proxies: [\"${SSOGATE_TEST_MISSING}\"]\n",
			"x.yaml:2: server.trusted_proxies[0]: environment variable SSOGATE_TEST_MISSING is not set"},
		{"unterminated", "portal:\n  title: ${SSOGATE_TEST_TITLE\n",
			"x.yaml:2: portal.title: unterminated ${"},
		{"bad name", "portal:\n  title: ${1X}\n",
			`x.yaml:2: portal.title: invalid variable name "1X"`},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseErr(t, tt.src); !strings.Contains(got, tt.want) {
				t.Errorf("error =\n  %s\nwant it to contain\n  %s", got, tt.want)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "1", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "1"},
		{in: "x${A}y${A}", want: "x1y1"},
		{in: "${B:-two}", want: "two"},
		{in: "${EMPTY:-three}", want: "three"},
		{in: "${EMPTY}", want: ""},
		{in: "${A:-}", want: "1"},
		{in: "${B:-}", want: ""},
		{in: "${B:-a:-b}", want: "a:-b"},
		{in: "$$", want: "$"},
		{in: "$${A}", want: "${A}"},
		{in: "$$$${A}", want: "$${A}"},
		{in: "p@$w0rd$", want: "p@$w0rd$"},
		{in: "${B}", wantErr: true},
		{in: "${A", wantErr: true},
		{in: "${}", wantErr: true},
		{in: "${A-B}", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := expand(tt.in, lookup)
			if tt.wantErr {
				if err == nil {
					t.Errorf("expand(%q) = %q, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	secret := strings.Repeat("s", 40)
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("secret", secret+"\n")
	write("secret-crlf", secret+"\r\n")
	write("secret-two-newlines", secret+"\n\n")
	write("dsn", "/var/lib/ssogate/from-file.db\n")
	write("short", "short\n")

	tests := []struct {
		name       string
		src        string
		wantSecret string
		wantDSN    string
		wantErr    string // "" for success
	}{
		{name: "relative secret_file", src: "session:\n  secret_file: secret\n",
			wantSecret: secret, wantDSN: filepath.Join(dir, "data/ssogate.db")},
		{name: "absolute secret_file", src: "session:\n  secret_file: " + filepath.Join(dir, "secret-crlf") + "\n",
			wantSecret: secret, wantDSN: filepath.Join(dir, "data/ssogate.db")},
		{name: "only one newline trimmed", src: "session:\n  secret_file: secret-two-newlines\n",
			wantSecret: secret + "\n", wantDSN: filepath.Join(dir, "data/ssogate.db")},
		{name: "dsn_file", src: "store:\n  dsn_file: dsn\n",
			wantDSN: "/var/lib/ssogate/from-file.db"},
		{name: "relative dsn", src: "store:\n  dsn: db/sso.db\n",
			wantDSN: filepath.Join(dir, "db/sso.db")},
		{name: "memory dsn", src: "store:\n  dsn: \":memory:\"\n",
			wantDSN: ":memory:"},
		{name: "both secret and secret_file", src: "session:\n  secret: " + secret + "\n  secret_file: secret\n",
			wantErr: "ssogate.yaml:3: session.secret_file: set either session.secret or session.secret_file, not both"},
		{name: "both dsn and dsn_file", src: "store:\n  dsn: a.db\n  dsn_file: dsn\n",
			wantErr: "ssogate.yaml:3: store.dsn_file: set either store.dsn or store.dsn_file, not both"},
		{name: "missing file", src: "session:\n  secret_file: nope\n",
			wantErr: "ssogate.yaml:2: session.secret_file: cannot read the file: open " + filepath.Join(dir, "nope")},
		{name: "short secret from file", src: "session:\n  secret_file: short\n",
			wantErr: "ssogate.yaml:2: session.secret_file: is 5 bytes; use at least 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "ssogate.yaml")
			// Load refuses a file that configures nothing; one service
			// after the keys under test keeps their line numbers.
			write("ssogate.yaml", tt.src+oneService)
			c, err := Load(path)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Load succeeded, want an error containing %q", tt.wantErr)
				}
				if got := strings.ReplaceAll(err.Error(), path, "ssogate.yaml"); !strings.Contains(got, tt.wantErr) {
					t.Errorf("error =\n  %s\nwant it to contain\n  %s", got, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Session.Secret != tt.wantSecret {
				t.Errorf("Secret = %q, want %q", c.Session.Secret, tt.wantSecret)
			}
			if c.Store.DSN != tt.wantDSN {
				t.Errorf("DSN = %q, want %q", c.Store.DSN, tt.wantDSN)
			}
		})
	}
}

// TestParseNamePaths checks that relative paths are resolved against the
// directory of name only when name is an existing file.
func TestParseNamePaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ssogate.yaml")
	src := []byte("store:\n  dsn: ./db/sso.db\n")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, want string }{
		{path, filepath.Join(dir, "db/sso.db")},
		{filepath.Join(dir, "absent.yaml"), "./db/sso.db"},
		{"", "./db/sso.db"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.name, src)
			if err != nil {
				t.Fatal(err)
			}
			if c.Store.DSN != tt.want || c.Path != tt.name {
				t.Errorf("DSN, Path = %q, %q; want %q, %q", c.Store.DSN, c.Path, tt.want, tt.name)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "30m", want: 30 * time.Minute},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "14d", want: 14 * 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "2d30m15s", want: 48*time.Hour + 30*time.Minute + 15*time.Second},
		{in: "0d", want: 0},
		{in: "0s", want: 0},
		{in: "0", want: 0},
		{in: "1.5h", want: 90 * time.Minute},
		{in: "500ms", want: 500 * time.Millisecond},
		{in: "-5m", wantErr: "negative"},
		{in: "-1d", wantErr: "negative"},
		{in: "1d-1h", wantErr: "invalid duration"},
		{in: "30", wantErr: "invalid duration"},
		{in: "d", wantErr: "invalid duration"},
		{in: "1.5d", wantErr: "invalid duration"},
		{in: "1h2d", wantErr: "invalid duration"},
		{in: "soon", wantErr: "invalid duration"},
		{in: "999999999d", wantErr: "invalid duration"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Duration
			err := yaml.Unmarshal([]byte("v: "+tt.in), &struct {
				V *Duration `yaml:"v"`
			}{&d})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Unmarshal(%q) = %v, %v; want an error containing %q", tt.in, d, err, tt.wantErr)
				}
				return
			}
			if err != nil || d.D() != tt.want {
				t.Errorf("Unmarshal(%q) = %v, %v; want %v", tt.in, d.D(), err, tt.want)
			}
		})
	}

	t.Run("not a scalar", func(t *testing.T) {
		var d Duration
		if err := yaml.Unmarshal([]byte("[1h]"), &d); err == nil {
			t.Errorf("Unmarshal of a list succeeded")
		}
	})
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{5 * time.Second, "5s"},
		{30 * time.Minute, "30m"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{12 * time.Hour, "12h"},
		{36 * time.Hour, "36h"},
		{14 * 24 * time.Hour, "14d"},
		{time.Hour + time.Second, "1h0m1s"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			d := Duration(tt.d)
			if got := d.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			back, err := parseDuration(d.String())
			if err != nil || back != tt.d {
				t.Errorf("parseDuration(%q) = %v, %v; want %v", d.String(), back, err, tt.d)
			}
		})
	}
}

// TestValidateBuiltInCode checks Validate on a Config that did not come from
// a file: errors have no line, and derived fields are filled.
func TestValidateBuiltInCode(t *testing.T) {
	c := mustParse(t, "")
	built := *c
	built.src = nil
	built.Path = ""
	built.Server.PublicURL = "http://127.0.0.1:8080/"
	built.Services = []Service{{ID: "wiki", Name: PlainText("Wiki"), URL: "http://w/", Icon: "sparkles"}}
	err := built.Validate()
	if err == nil || err.Error() != `services[0].icon: unknown icon "sparkles"; valid: `+strings.Join(IconNames, ", ") {
		t.Errorf("Validate = %v", err)
	}
	if built.Server.PublicURLParsed == nil || built.Server.PublicURL != "http://127.0.0.1:8080" {
		t.Errorf("PublicURL, PublicURLParsed = %q, %v", built.Server.PublicURL, built.Server.PublicURLParsed)
	}

	built.Services[0].Icon = "book"
	if err := built.Validate(); err != nil {
		t.Errorf("Validate = %v, want nil", err)
	}
}

func TestLoadExample(t *testing.T) {
	c, err := Load("../examples/ssogate.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	wantDSN, err := filepath.Abs("../data/ssogate.db")
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.DSN != wantDSN {
		t.Errorf("DSN = %q, want %q", c.Store.DSN, wantDSN)
	}
	if c.Server.Listen != "127.0.0.1:8080" || c.Server.PublicURL != "http://127.0.0.1:8080" {
		t.Errorf("server = %+v", c.Server)
	}
	if len(c.Providers) != 1 || c.Providers[0].Label.String() != "メールアドレスでログイン" || c.Providers[0].Local == nil {
		t.Errorf("providers = %+v", c.Providers)
	}
	ids := make([]string, len(c.Services))
	for i, s := range c.Services {
		ids[i] = s.ID
		if s.Name["ja"] == "" || s.Name["en"] == "" || s.Description["ja"] == "" || s.Description["en"] == "" {
			t.Errorf("service %s has no English name or description", s.ID)
		}
	}
	if got := strings.Join(ids, ","); got != "whoami,wiki,expenses,attendance,oidcapp,samlapp" {
		t.Errorf("service ids = %s", got)
	}
	if w := c.Services[0]; w.UpstreamParsed == nil || w.UpstreamParsed.String() != "http://127.0.0.1:9001" || RoutePrefix(w.URLParsed) != "/whoami/" {
		t.Errorf("the demo whoami service is not proxied at /whoami/: %+v", w)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load = %v, want an error wrapping os.ErrNotExist", err)
	}
}

// writeExecutable creates an executable file at path (directories made),
// a stand-in for a plugin, and returns path.
func writeExecutable(t *testing.T, path string) string {
	t.Helper()
	writeFiles(t, filepath.Dir(path), map[string]string{filepath.Base(path): "#!/bin/sh\nexit 1\n"})
	if err := os.Chmod(path, 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeFiles creates each file (name relative to dir, directories made)
// with its content.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

const federationYAML = `server:
  public_url: https://sso.example.co.jp
providers:
  - id: local
    type: local
  - id: google
    type: oidc
    label: Googleアカウントでログイン
    preset: google
    issuer: https://accounts.google.com
    client_id: 1234.apps.googleusercontent.com
    client_secret_file: secrets/google
    scopes: [openid, email]
    userinfo: true
    hosted_domain: example.co.jp
    claims:
      email: mail
      email_verified: mail_verified
      name: display_name
      phone: tel
      mobile: mobile_phone
      organization: org
      department: dept
      groups: roles
    link_domains: [example.co.jp]
    provision: true
    provision_domains: [example.co.jp, sub.example.co.jp]
    provision_groups: [ssogate-users]
    group_mapping:
      - from: engineers
        to: [staff, dev]
    owned_fields: [display_name, department]
  - id: microsoft
    type: oidc
    preset: microsoft
    tenant: organizations
    allowed_tenants: [3f5c8a2e-1b4d-4e6f-9a7b-2c8d0e1f3a5b]
    client_id: app-id
    client_secret: ms-secret
  - id: adfs
    type: saml
    label: AD FS
    idp_metadata_url: https://adfs.example.co.jp/FederationMetadata/2007-06/FederationMetadata.xml
    metadata_refresh: 6h
    entity_id: urn:example:ssogate
    certificate_file: saml/sp.crt
    key_file: saml/sp.key
    binding: post
    clock_skew: 0s
    allow_idp_initiated: true
    attributes: entra
    attribute_names: {email: e, name: n, given_name: g, surname: s, phone: p, mobile: m, organization: o, department: d, groups: gr}
    link_domains: [example.co.jp]
    owned_fields: [phone]
  - id: ldap
    type: ldap
    label: OpenLDAP
    preset: openldap
    url: ldap://127.0.0.1:3389
    start_tls: true
    insecure_no_tls: false
    ca_file: ldap-ca.pem
    bind_dn: cn=admin,dc=example,dc=org
    bind_password_file: secrets/ldap
    base_dn: dc=example,dc=org
    login_attributes: [mail]
    user_filter: (objectClass=person)
    groups: member_of
    group_base_dn: ou=groups,dc=example,dc=org
    attributes: {subject: uid, email: mail, name: displayName, phone: tel, mobile: mob, organization: org, department: dep}
    dial_timeout: 2s
    timeout: 3s
    pool_size: 64
    link_domains: [example.org]
    group_mapping:
      - from: cn=admins,ou=groups,dc=example,dc=org
        to: [admins]
    owned_fields: [display_name, phone, mobile, organization, department]
policy:
  login_methods: [google, adfs, ldap]
  hide_password_form: true
`

// TestParseFederation checks that every key of every federated provider
// type, and of policy, is decoded where it belongs.
func TestParseFederation(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"ssogate.yaml":   federationYAML,
		"secrets/google": "google-secret\n",
		"secrets/ldap":   "ldap-password\n",
		"saml/sp.crt":    "certificate",
		"saml/sp.key":    "key",
		"ldap-ca.pem":    "ca",
	})
	c, err := Load(filepath.Join(dir, "ssogate.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	wantProviders := []Provider{
		{ID: "local", Type: "local", Local: &LocalProvider{
			Password: LocalPassword{MinLength: 8, MinClasses: 3},
			Hashing:  LocalHashing{MemoryKiB: 65536, Iterations: 3, Parallelism: 2, MaxInFlight: max(1, min(runtime.NumCPU()/2, 4)), MaxWaiting: 256},
		}},
		{ID: "google", Type: "oidc", Label: PlainText("Googleアカウントでログイン"), OIDC: &OIDCProvider{
			Federation: Federation{
				LinkDomains:      []string{"example.co.jp"},
				Provision:        true,
				ProvisionDomains: []string{"example.co.jp", "sub.example.co.jp"},
				ProvisionGroups:  []string{"ssogate-users"},
				GroupMapping:     []GroupRule{{From: "engineers", To: []string{"staff", "dev"}}},
				OwnedFields:      []string{"display_name", "department"},
			},
			Preset: "google", Issuer: "https://accounts.google.com",
			ClientID: "1234.apps.googleusercontent.com", ClientSecret: "google-secret", ClientSecretFile: "secrets/google",
			Scopes: []string{"openid", "email"}, UserInfo: true, HostedDomain: "example.co.jp",
			Claims: OIDCClaims{Email: "mail", EmailVerified: "mail_verified", Name: "display_name", Phone: "tel",
				Mobile: "mobile_phone", Organization: "org", Department: "dept", Groups: "roles"},
		}},
		{ID: "microsoft", Type: "oidc", OIDC: &OIDCProvider{
			Preset: "microsoft", Issuer: "https://login.microsoftonline.com/organizations/v2.0",
			ClientID: "app-id", ClientSecret: "ms-secret", Scopes: []string{"openid", "email", "profile"},
			Tenant: "organizations", AllowedTenants: []string{"3f5c8a2e-1b4d-4e6f-9a7b-2c8d0e1f3a5b"},
			Claims: OIDCClaims{Email: "email", EmailVerified: "xms_edov", Name: "name", Phone: "phone_number", Groups: "groups"},
		}},
		{ID: "adfs", Type: "saml", Label: PlainText("AD FS"), SAML: &SAMLProvider{
			Federation:        Federation{LinkDomains: []string{"example.co.jp"}, OwnedFields: []string{"phone"}},
			IDPMetadataURL:    "https://adfs.example.co.jp/FederationMetadata/2007-06/FederationMetadata.xml",
			MetadataRefresh:   Duration(6 * time.Hour),
			EntityID:          "urn:example:ssogate",
			CertificateFile:   filepath.Join(dir, "saml/sp.crt"),
			KeyFile:           filepath.Join(dir, "saml/sp.key"),
			Binding:           "post",
			ClockSkew:         0,
			AllowIDPInitiated: true,
			Attributes:        "entra",
			AttributeNames: SAMLAttributeNames{Email: "e", Name: "n", GivenName: "g", Surname: "s", Phone: "p",
				Mobile: "m", Organization: "o", Department: "d", Groups: "gr"},
		}},
		{ID: "ldap", Type: "ldap", Label: PlainText("OpenLDAP"), LDAP: &LDAPProvider{
			Federation: Federation{
				LinkDomains:  []string{"example.org"},
				GroupMapping: []GroupRule{{From: "cn=admins,ou=groups,dc=example,dc=org", To: []string{"admins"}}},
				OwnedFields:  []string{"display_name", "phone", "mobile", "organization", "department"},
			},
			Preset: "openldap", URL: "ldap://127.0.0.1:3389", StartTLS: true,
			CAFile: filepath.Join(dir, "ldap-ca.pem"),
			BindDN: "cn=admin,dc=example,dc=org", BindPassword: "ldap-password", BindPasswordFile: "secrets/ldap",
			BaseDN: "dc=example,dc=org", LoginAttributes: []string{"mail"}, UserFilter: "(objectClass=person)",
			Groups: "member_of", GroupBaseDN: "ou=groups,dc=example,dc=org",
			Attributes: LDAPAttributes{Subject: "uid", Email: "mail", Name: "displayName", Phone: "tel",
				Mobile: "mob", Organization: "org", Department: "dep"},
			DialTimeout: Duration(2 * time.Second), Timeout: Duration(3 * time.Second), PoolSize: 64,
		}},
	}
	if len(c.Providers) != len(wantProviders) {
		t.Fatalf("got %d providers, want %d", len(c.Providers), len(wantProviders))
	}
	for i, want := range wantProviders {
		if got := c.Providers[i]; !reflect.DeepEqual(got, want) {
			t.Errorf("providers[%d] =\n%s\nwant\n%s", i, dump(got), dump(want))
		}
	}
	wantPolicy := withAccountDefaults(Policy{LoginMethods: []string{"google", "adfs", "ldap"}, HidePasswordForm: true, AccessRoute: "line_and_internet"})
	if !reflect.DeepEqual(c.Policy, wantPolicy) {
		t.Errorf("Policy = %+v, want %+v", c.Policy, wantPolicy)
	}
	if f := c.Providers[3].Federated(); f == nil || f.OwnedFields[0] != "phone" {
		t.Errorf("Federated() of the saml provider = %+v", f)
	}
}

// dump shows a provider with its type's options, which %+v would print as
// a pointer.
func dump(p Provider) string {
	var opts any
	switch {
	case p.Local != nil:
		opts = *p.Local
	case p.OIDC != nil:
		opts = *p.OIDC
	case p.SAML != nil:
		opts = *p.SAML
	case p.LDAP != nil:
		opts = *p.LDAP
	case p.Network != nil:
		opts = *p.Network
	case p.Plugin != nil:
		opts = *p.Plugin
	}
	return fmt.Sprintf("%s (%s) %+v", p.ID, p.Type, opts)
}

// TestFederationDefaults checks what each provider type and preset fills.
func TestFederationDefaults(t *testing.T) {
	claims := OIDCClaims{Email: "email", EmailVerified: "email_verified", Name: "name", Phone: "phone_number", Groups: "groups"}
	msClaims := claims
	msClaims.EmailVerified = "xms_edov"
	scopes := []string{"openid", "email", "profile"}
	ad := LDAPAttributes{Subject: "objectGUID", Email: "mail", Name: "displayName", Phone: "telephoneNumber",
		Mobile: "mobile", Organization: "company", Department: "department"}
	openldap := LDAPAttributes{Subject: "entryUUID", Email: "mail", Name: "cn", Phone: "telephoneNumber",
		Mobile: "mobile", Organization: "o", Department: "ou"}
	samlDefaults := func(id, metadataURL string) *SAMLProvider {
		return &SAMLProvider{
			IDPMetadataURL: metadataURL, MetadataRefresh: Duration(24 * time.Hour),
			EntityID: "http://127.0.0.1:8080/saml/" + id + "/metadata", Binding: "redirect",
			ClockSkew: Duration(90 * time.Second), Attributes: "plain",
		}
	}

	tests := []struct {
		name string
		src  string // one providers entry
		want Provider
	}{
		{"oidc google", `
  - id: google
    type: oidc
    preset: google
    client_id: c
    client_secret: s
`, Provider{ID: "google", Type: "oidc", OIDC: &OIDCProvider{Preset: "google", Issuer: "https://accounts.google.com",
			ClientID: "c", ClientSecret: "s", Scopes: scopes, Claims: claims}}},
		{"oidc microsoft single tenant", `
  - id: microsoft
    type: oidc
    preset: microsoft
    tenant: 3f5c8a2e-1b4d-4e6f-9a7b-2c8d0e1f3a5b
    client_id: c
    client_secret: s
`, Provider{ID: "microsoft", Type: "oidc", OIDC: &OIDCProvider{Preset: "microsoft",
			Issuer:   "https://login.microsoftonline.com/3f5c8a2e-1b4d-4e6f-9a7b-2c8d0e1f3a5b/v2.0",
			ClientID: "c", ClientSecret: "s", Scopes: scopes, Tenant: "3f5c8a2e-1b4d-4e6f-9a7b-2c8d0e1f3a5b", Claims: msClaims}}},
		{"oidc microsoft common", `
  - id: microsoft
    type: oidc
    preset: microsoft
    tenant: common
    allowed_tenants: [3f5c8a2e-1b4d-4e6f-9a7b-2c8d0e1f3a5b]
    client_id: c
    client_secret: s
`, Provider{ID: "microsoft", Type: "oidc", OIDC: &OIDCProvider{Preset: "microsoft",
			Issuer:   "https://login.microsoftonline.com/common/v2.0",
			ClientID: "c", ClientSecret: "s", Scopes: scopes, Tenant: "common",
			AllowedTenants: []string{"3f5c8a2e-1b4d-4e6f-9a7b-2c8d0e1f3a5b"}, Claims: msClaims}}},
		{"oidc without preset, http on 127.0.0.1", `
  - id: dex
    type: oidc
    issuer: http://127.0.0.1:5556/dex
    client_id: c
    client_secret: s
`, Provider{ID: "dex", Type: "oidc", OIDC: &OIDCProvider{Issuer: "http://127.0.0.1:5556/dex",
			ClientID: "c", ClientSecret: "s", Scopes: scopes, Claims: claims}}},
		{"oidc http on localhost", `
  - id: dex
    type: oidc
    issuer: http://localhost:5556
    client_id: c
    client_secret: s
`, Provider{ID: "dex", Type: "oidc", OIDC: &OIDCProvider{Issuer: "http://localhost:5556",
			ClientID: "c", ClientSecret: "s", Scopes: scopes, Claims: claims}}},
		{"oidc http on ::1", `
  - id: dex
    type: oidc
    issuer: http://[::1]:5556
    client_id: c
    client_secret: s
`, Provider{ID: "dex", Type: "oidc", OIDC: &OIDCProvider{Issuer: "http://[::1]:5556",
			ClientID: "c", ClientSecret: "s", Scopes: scopes, Claims: claims}}},
		{"saml", `
  - id: idp
    type: saml
    idp_metadata_url: https://idp.example.co.jp/metadata
`, Provider{ID: "idp", Type: "saml", SAML: samlDefaults("idp", "https://idp.example.co.jp/metadata")}},
		{"saml metadata over http on loopback", `
  - id: test-idp
    type: saml
    idp_metadata_url: http://127.0.0.1:7000/metadata
`, Provider{ID: "test-idp", Type: "saml", SAML: samlDefaults("test-idp", "http://127.0.0.1:7000/metadata")}},
		{"ldap active_directory", `
  - id: ad
    type: ldap
    preset: active_directory
    url: ldaps://dc1.example.co.jp
    base_dn: DC=example,DC=co,DC=jp
`, Provider{ID: "ad", Type: "ldap", LDAP: &LDAPProvider{Preset: "active_directory",
			URL: "ldaps://dc1.example.co.jp", BaseDN: "DC=example,DC=co,DC=jp",
			LoginAttributes: []string{"sAMAccountName", "userPrincipalName", "mail"},
			UserFilter:      "(&(objectCategory=person)(objectClass=user))", Groups: "nested",
			GroupBaseDN: "DC=example,DC=co,DC=jp", Attributes: ad,
			DialTimeout: Duration(5 * time.Second), Timeout: Duration(10 * time.Second), PoolSize: 4}}},
		{"ldap openldap", `
  - id: ldap
    type: ldap
    preset: openldap
    url: ldap://ldap.example.co.jp
    start_tls: true
    base_dn: dc=example,dc=co,dc=jp
`, Provider{ID: "ldap", Type: "ldap", LDAP: &LDAPProvider{Preset: "openldap",
			URL: "ldap://ldap.example.co.jp", StartTLS: true, BaseDN: "dc=example,dc=co,dc=jp",
			LoginAttributes: []string{"uid", "mail"}, UserFilter: "(objectClass=inetOrgPerson)",
			Groups: "group_of_names", GroupBaseDN: "dc=example,dc=co,dc=jp", Attributes: openldap,
			DialTimeout: Duration(5 * time.Second), Timeout: Duration(10 * time.Second), PoolSize: 4}}},
		{"ldap without preset", `
  - id: ldap
    type: ldap
    url: ldap://127.0.0.1:3389
    insecure_no_tls: true
    base_dn: dc=example,dc=org
    login_attributes: [uid]
    groups: group_of_names
    attributes:
      subject: uid
`, Provider{ID: "ldap", Type: "ldap", LDAP: &LDAPProvider{
			URL: "ldap://127.0.0.1:3389", InsecureNoTLS: true, BaseDN: "dc=example,dc=org",
			LoginAttributes: []string{"uid"}, Groups: "group_of_names", GroupBaseDN: "dc=example,dc=org",
			Attributes:  LDAPAttributes{Subject: "uid", Email: "mail", Phone: "telephoneNumber", Mobile: "mobile"},
			DialTimeout: Duration(5 * time.Second), Timeout: Duration(10 * time.Second), PoolSize: 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, "providers:"+tt.src)
			if got := c.Providers[0]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("provider =\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

// oidcYAML, samlYAML and ldapYAML are a valid provider of each type
// followed by extra (keys of the same entry, or further sections); extra
// starts on line 7, 5 and 7.
func oidcYAML(extra string) string {
	return "providers:\n  - id: sso\n    type: oidc\n    issuer: https://op.example.co.jp\n    client_id: ssogate\n    client_secret: s3cret\n" + extra
}

func samlYAML(extra string) string {
	return "providers:\n  - id: idp\n    type: saml\n    idp_metadata_url: https://idp.example.co.jp/metadata\n" + extra
}

func ldapYAML(extra string) string {
	return "providers:\n  - id: dir\n    type: ldap\n    preset: openldap\n    url: ldaps://ldap.example.co.jp\n    base_dn: dc=example,dc=co,dc=jp\n" + extra
}

// TestParseFederationErrors checks each rule of the federated providers
// and of policy: every error in want is reported, and nothing else.
func TestParseFederationErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.pem")
	writeFiles(t, dir, map[string]string{"file.pem": "pem"})

	tests := []struct {
		name string
		src  string
		want []string // every error, each a substring of one line
	}{
		// Strict decoding.
		{"oidc misspelt key", oidcYAML("    client_secrets: x\n"),
			[]string{`x.yaml:7: providers[0].client_secrets: unknown key; did you mean "client_secret"? valid: id, type, label, link_domains`}},
		{"key of another type", samlYAML("    base_dn: dc=example\n"),
			[]string{`x.yaml:5: providers[0].base_dn: unknown key; valid: id, type, label, link_domains, provision`}},
		{"unknown attribute key", ldapYAML("    attributes:\n      mail: mail\n"),
			[]string{`x.yaml:8: providers[0].attributes.mail: unknown key; did you mean "email"?`}},
		{"unknown group rule key", oidcYAML("    group_mapping:\n      - from: a\n        too: [b]\n"),
			[]string{`x.yaml:9: providers[0].group_mapping[0].too: unknown key; did you mean "to"? valid: from, to`,
				`x.yaml:8: providers[0].group_mapping[0].to: required: the gateway groups it maps to`}},

		// oidc.
		{"oidc unknown preset", oidcYAML("    preset: gogle\n"),
			[]string{`x.yaml:7: providers[0].preset: unknown preset "gogle"; valid: google, microsoft, or leave it out`}},
		{"oidc issuer required", "providers:\n  - id: sso\n    type: oidc\n    client_id: a\n    client_secret: b\n",
			[]string{`x.yaml:2: providers[0].issuer: required: the OpenID Provider's issuer URL, e.g. https://login.example.co.jp`}},
		{"oidc issuer http", "providers:\n  - id: sso\n    type: oidc\n    issuer: http://op.example.co.jp\n    client_id: a\n    client_secret: b\n",
			[]string{`x.yaml:4: providers[0].issuer: "http://op.example.co.jp" must use https (http only for a test server on localhost, 127.0.0.1 or [::1])`}},
		{"oidc issuer relative", "providers:\n  - id: sso\n    type: oidc\n    issuer: op.example.co.jp\n    client_id: a\n    client_secret: b\n",
			[]string{`x.yaml:4: providers[0].issuer: "op.example.co.jp" is not an absolute http or https URL with a host`}},
		{"oidc issuer with query", "providers:\n  - id: sso\n    type: oidc\n    issuer: https://op.example.co.jp/?x=1\n    client_id: a\n    client_secret: b\n",
			[]string{`x.yaml:4: providers[0].issuer: "https://op.example.co.jp/?x=1" must not have a query or fragment`}},
		{"oidc client id and secret required", "providers:\n  - id: sso\n    type: oidc\n    issuer: https://op.example.co.jp\n",
			[]string{`x.yaml:2: providers[0].client_id: required`, `x.yaml:2: providers[0].client_secret: required: the client secret the OpenID Provider issued`}},
		{"oidc scopes without openid", oidcYAML("    scopes: [email, profile]\n"),
			[]string{`x.yaml:7: providers[0].scopes: must include openid (OpenID Connect needs it), e.g. [openid, email, profile]`}},
		{"oidc empty scopes", oidcYAML("    scopes: []\n"),
			[]string{`x.yaml:7: providers[0].scopes: must include openid`}},
		{"oidc two scopes in one", oidcYAML("    scopes: [openid, \"email profile\"]\n"),
			[]string{`x.yaml:7: providers[0].scopes[1]: "email profile" is not one scope`}},
		{"hosted_domain without google", oidcYAML("    hosted_domain: example.co.jp\n"),
			[]string{`x.yaml:7: providers[0].hosted_domain: applies only with preset: google`}},
		{"hosted_domain not a domain", oidcYAML("    preset: google\n    hosted_domain: admin@Example.co.jp\n"),
			[]string{`x.yaml:8: providers[0].hosted_domain: "admin@Example.co.jp" must be a domain without '@'; write Example.co.jp`}},
		{"hosted_domain upper case", oidcYAML("    preset: google\n    hosted_domain: Example.co.jp\n"),
			[]string{`x.yaml:8: providers[0].hosted_domain: "Example.co.jp" must be lower-case; write example.co.jp`}},
		{"microsoft tenant required", "providers:\n  - id: ms\n    type: oidc\n    preset: microsoft\n    client_id: a\n    client_secret: b\n",
			[]string{`x.yaml:2: providers[0].tenant: required with preset: microsoft`}},
		{"tenant without microsoft", oidcYAML("    tenant: 3f5c8a2e-1b4d-4e6f-9a7b-2c8d0e1f3a5b\n"),
			[]string{`x.yaml:7: providers[0].tenant: applies only with preset: microsoft`}},
		{"tenant consumers", oidcYAML("    preset: microsoft\n    tenant: consumers\n"),
			[]string{`x.yaml:8: providers[0].tenant: consumers admits the personal Microsoft account of anyone`}},
		{"tenant not a tenant", "providers:\n  - id: ms\n    type: oidc\n    preset: microsoft\n    tenant: example.co.jp/x\n    client_id: a\n    client_secret: b\n",
			[]string{`x.yaml:5: providers[0].tenant: "example.co.jp/x" is not a tenant`}},
		{"allowed_tenants required", oidcYAML("    preset: microsoft\n    tenant: organizations\n"),
			[]string{`x.yaml:2: providers[0].allowed_tenants: required with tenant: organizations, which admits accounts of any organisation`}},
		{"allowed_tenants with one tenant", oidcYAML("    preset: microsoft\n    tenant: example.co.jp\n    allowed_tenants: [3f5c8a2e-1b4d-4e6f-9a7b-2c8d0e1f3a5b]\n"),
			[]string{`x.yaml:9: providers[0].allowed_tenants: applies only with tenant: organizations or common`}},
		{"allowed_tenants without microsoft", oidcYAML("    allowed_tenants: [3f5c8a2e-1b4d-4e6f-9a7b-2c8d0e1f3a5b]\n"),
			[]string{`x.yaml:7: providers[0].allowed_tenants: applies only with tenant: organizations or common`}},
		{"allowed tenant not an id", oidcYAML("    preset: microsoft\n    tenant: common\n    allowed_tenants:\n      - example.co.jp\n"),
			[]string{`x.yaml:10: providers[0].allowed_tenants[0]: "example.co.jp" is not a tenant id; use a directory (tenant) id`}},

		// saml.
		{"saml metadata required", "providers:\n  - id: idp\n    type: saml\n",
			[]string{`x.yaml:2: providers[0].idp_metadata_url: required: the IdP's metadata, as idp_metadata_url (e.g. https://adfs.example.co.jp/`}},
		{"saml metadata twice", samlYAML("    idp_metadata_file: " + file + "\n"),
			[]string{`x.yaml:5: providers[0].idp_metadata_file: set either idp_metadata_url or idp_metadata_file, not both`}},
		{"saml metadata twice, url over http", "providers:\n  - id: idp\n    type: saml\n    idp_metadata_url: http://idp/m\n    idp_metadata_file: " + file + "\n",
			[]string{
				`x.yaml:4: providers[0].idp_metadata_url: "http://idp/m" must use https`,
				`x.yaml:5: providers[0].idp_metadata_file: set either idp_metadata_url or idp_metadata_file, not both`,
			}},
		{"saml metadata over http", "providers:\n  - id: idp\n    type: saml\n    idp_metadata_url: http://idp.example.co.jp/metadata\n",
			[]string{`x.yaml:4: providers[0].idp_metadata_url: "http://idp.example.co.jp/metadata" must use https`}},
		{"saml certificate without key", samlYAML("    certificate_file: " + file + "\n"),
			[]string{`x.yaml:5: providers[0].certificate_file: is set but key_file is not; set both`}},
		{"saml key without certificate", samlYAML("    key_file: " + file + "\n"),
			[]string{`x.yaml:5: providers[0].key_file: is set but certificate_file is not; set both`}},
		{"saml binding", samlYAML("    binding: artifact\n"),
			[]string{`x.yaml:5: providers[0].binding: unknown binding "artifact"; valid: redirect, post`}},
		{"saml attributes", samlYAML("    attributes: shibboleth\n"),
			[]string{`x.yaml:5: providers[0].attributes: unknown attribute preset "shibboleth"; valid: plain, adfs, entra`}},
		{"saml clock skew", samlYAML("    clock_skew: 11m\n"),
			[]string{`x.yaml:5: providers[0].clock_skew: 11m is out of range; use 0s to 10m, e.g. 90s`}},
		{"saml metadata refresh", samlYAML("    metadata_refresh: 0s\n"),
			[]string{`x.yaml:5: providers[0].metadata_refresh: must be greater than 0, e.g. 24h`}},
		{"saml entity id", samlYAML("    entity_id: ssogate\n"),
			[]string{`x.yaml:5: providers[0].entity_id: "ssogate" is not an absolute URI`}},

		// ldap.
		{"ldap url required", "providers:\n  - id: dir\n    type: ldap\n    preset: openldap\n    base_dn: dc=x\n",
			[]string{`x.yaml:2: providers[0].url: required: the directory's address, e.g. ldaps://dc1.example.co.jp`}},
		{"ldap url scheme", "providers:\n  - id: dir\n    type: ldap\n    preset: openldap\n    url: https://dc1\n    base_dn: dc=x\n",
			[]string{`x.yaml:5: providers[0].url: "https://dc1" is not an ldaps:// or ldap:// URL with a host`}},
		{"ldap url without host", "providers:\n  - id: dir\n    type: ldap\n    preset: openldap\n    url: ldaps://\n    base_dn: dc=x\n",
			[]string{`x.yaml:5: providers[0].url: "ldaps://" is not an ldaps:// or ldap:// URL with a host`}},
		{"ldap url with a DN", "providers:\n  - id: dir\n    type: ldap\n    preset: openldap\n    url: ldaps://dc1/dc=x\n    base_dn: dc=x\n",
			[]string{`x.yaml:5: providers[0].url: "ldaps://dc1/dc=x" must be only scheme, host and port; put the search base in base_dn`}},
		{"ldap url port", "providers:\n  - id: dir\n    type: ldap\n    preset: openldap\n    url: ldaps://dc1:70000\n    base_dn: dc=x\n",
			[]string{`x.yaml:5: providers[0].url: "ldaps://dc1:70000" has port "70000"`}},
		{"ldaps with start_tls", ldapYAML("    start_tls: true\n"),
			[]string{`x.yaml:7: providers[0].start_tls: applies only to ldap:// URLs; ldaps://ldap.example.co.jp is TLS from the start`}},
		{"ldap without tls", "providers:\n  - id: dir\n    type: ldap\n    preset: openldap\n    url: ldap://dc1\n    base_dn: dc=x\n",
			[]string{`x.yaml:5: providers[0].url: ldap:// without TLS would send passwords across the network in clear; use ldaps://, or start_tls: true, or (for a test directory only) insecure_no_tls: true`}},
		{"insecure_no_tls with ldaps", ldapYAML("    insecure_no_tls: true\n"),
			[]string{`x.yaml:7: providers[0].insecure_no_tls: applies only to ldap:// without start_tls`}},
		{"ldap base_dn required", "providers:\n  - id: dir\n    type: ldap\n    preset: openldap\n    url: ldaps://dc1\n",
			[]string{`x.yaml:2: providers[0].base_dn: required: where people are searched`}},
		{"bind_dn without password", ldapYAML("    bind_dn: cn=ssogate,dc=example\n"),
			[]string{`x.yaml:7: providers[0].bind_dn: is set but bind_password is not; set both`}},
		{"bind_password without dn", ldapYAML("    bind_password: pw\n"),
			[]string{`x.yaml:7: providers[0].bind_password: is set but bind_dn is not; set both`}},
		{"ldap unknown preset", "providers:\n  - id: dir\n    type: ldap\n    preset: samba\n    url: ldaps://dc1\n    base_dn: dc=x\n",
			[]string{`x.yaml:4: providers[0].preset: unknown preset "samba"; valid: active_directory, openldap, or leave it out`}},
		{"ldap without preset", "providers:\n  - id: dir\n    type: ldap\n    url: ldaps://dc1\n    base_dn: dc=x\n",
			[]string{
				`x.yaml:2: providers[0].login_attributes: required without a preset; list what people sign in with, any of sAMAccountName, userPrincipalName, mail, uid`,
				`x.yaml:2: providers[0].groups: required without a preset; valid: member_of, nested, group_of_names`,
				`x.yaml:2: providers[0].attributes.subject: required without a preset: an attribute that never changes`,
			}},
		{"ldap login attribute", ldapYAML("    login_attributes: [uid, cn]\n"),
			[]string{`x.yaml:7: providers[0].login_attributes[1]: unknown login attribute "cn"; valid: sAMAccountName, userPrincipalName, mail, uid`}},
		{"ldap no login attributes", ldapYAML("    login_attributes: []\n"),
			[]string{`x.yaml:7: providers[0].login_attributes: must not be empty`}},
		{"ldap groups", ldapYAML("    groups: memberof\n"),
			[]string{`x.yaml:7: providers[0].groups: unknown group lookup "memberof"; valid: member_of, nested, group_of_names`}},
		{"ldap user filter", ldapYAML("    user_filter: objectClass=person\n"),
			[]string{`x.yaml:7: providers[0].user_filter: "objectClass=person" is not an LDAP filter; write it in parentheses`}},
		{"ldap pool size", ldapYAML("    pool_size: 0\n"),
			[]string{`x.yaml:7: providers[0].pool_size: 0 is out of range; use 1 to 64`}},
		{"ldap pool size too big", ldapYAML("    pool_size: 65\n"),
			[]string{`x.yaml:7: providers[0].pool_size: 65 is out of range; use 1 to 64`}},
		{"ldap timeouts", ldapYAML("    dial_timeout: 0s\n    timeout: 0s\n"),
			[]string{`x.yaml:7: providers[0].dial_timeout: must be greater than 0, e.g. 5s`, `x.yaml:8: providers[0].timeout: must be greater than 0, e.g. 10s`}},

		// Federation, the same for every type.
		{"link domains", oidcYAML("    link_domains:\n      - \"\"\n      - \"@example.co.jp\"\n      - Example.co.jp\n      - example.co.jp/x\n      - example.co.jp\n"),
			[]string{
				`x.yaml:8: providers[0].link_domains[0]: must not be empty; write the part after '@', e.g. example.co.jp`,
				`x.yaml:9: providers[0].link_domains[1]: "@example.co.jp" must be a domain without '@'; write example.co.jp`,
				`x.yaml:10: providers[0].link_domains[2]: "Example.co.jp" must be lower-case; write example.co.jp`,
				`x.yaml:11: providers[0].link_domains[3]: "example.co.jp/x" is not a domain`,
			}},
		{"provision domains", samlYAML("    provision: true\n    provision_domains: [Example.co.jp]\n"),
			[]string{`x.yaml:6: providers[0].provision_domains[0]: "Example.co.jp" must be lower-case`}},
		{"provision without domains", ldapYAML("    provision: true\n"),
			[]string{`x.yaml:7: providers[0].provision: is true but provision_domains is empty; list the email domains`}},
		{"provision groups", ldapYAML("    provision: true\n    provision_domains: [example.co.jp]\n    provision_groups: [\" \"]\n"),
			[]string{`x.yaml:9: providers[0].provision_groups[0]: must not be empty`}},
		{"group mapping", samlYAML(`    group_mapping:
      - to: [staff]
      - from: engineers
      - from: admins
        to: ["", "a,b", admins]
`), []string{
			`x.yaml:6: providers[0].group_mapping[0].from: required: the provider group, a name or an LDAP DN`,
			`x.yaml:7: providers[0].group_mapping[1].to: required: the gateway groups it maps to, e.g. [staff]`,
			`x.yaml:9: providers[0].group_mapping[2].to[0]: must not be empty; list group names`,
			`x.yaml:9: providers[0].group_mapping[2].to[1]: "a,b" contains a comma`,
		}},
		{"owned fields", oidcYAML("    owned_fields:\n      - phone\n      - email\n      - phone\n"),
			[]string{
				`x.yaml:9: providers[0].owned_fields[1]: unknown profile field "email"; valid: display_name, phone, mobile, organization, department`,
				`x.yaml:10: providers[0].owned_fields[2]: "phone" is listed twice; already at line 8`,
			}},
		{"owned field twice on one line", ldapYAML("    owned_fields: [phone, phone]\n"),
			[]string{`x.yaml:7: providers[0].owned_fields[1]: "phone" is listed twice; drop one`}},

		// Policy.
		{"login method not configured", oidcYAML("policy:\n  login_methods: [sso, google]\n"),
			[]string{`x.yaml:8: policy.login_methods[1]: "google" is not a configured provider; configured: sso`}},
		{"hide password form with local only", "policy:\n  hide_password_form: true\n",
			[]string{`x.yaml:2: policy.hide_password_form: would leave nobody a way to sign in: local is the only kind of provider configured`}},
		{"hide password form with local allowed only", oidcYAML("  - id: local\n    type: local\npolicy:\n  login_methods: [local]\n  hide_password_form: true\n"),
			[]string{`x.yaml:11: policy.hide_password_form: would leave nobody a way to sign in: login_methods allows no provider other than local`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseErr(t, tt.src)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("error does not contain\n  %s\ngot\n  %s", w, strings.ReplaceAll(got, "\n", "\n  "))
				}
			}
			if n := strings.Count(got, "\n") + 1; n != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n  %s", n, len(tt.want), strings.ReplaceAll(got, "\n", "\n  "))
			}
		})
	}
}

// TestProviderFiles checks the *_file keys of federated providers: secrets
// are read, other files are resolved against the configuration's
// directory and must be readable.
func TestProviderFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"secrets/oidc": "oidc-secret\r\n",
		"secrets/ldap": "ldap-password\n",
		"empty":        "",
		"idp.xml":      "<EntityDescriptor/>",
		"ca.pem":       "ca",
	})
	if err := os.Mkdir(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	oidc := "providers:\n  - id: sso\n    type: oidc\n    issuer: https://op.example.co.jp\n    client_id: ssogate\n"
	ldap := "providers:\n  - id: dir\n    type: ldap\n    preset: openldap\n    url: ldaps://ldap.example.co.jp\n    base_dn: dc=x\n    bind_dn: cn=ssogate\n"
	saml := "providers:\n  - id: idp\n    type: saml\n"

	tests := []struct {
		name    string
		src     string
		check   func(t *testing.T, p Provider)
		wantErr string // "" for success
	}{
		{name: "relative client_secret_file", src: oidc + "    client_secret_file: secrets/oidc\n",
			check: func(t *testing.T, p Provider) {
				if p.OIDC.ClientSecret != "oidc-secret" || p.OIDC.ClientSecretFile != "secrets/oidc" {
					t.Errorf("ClientSecret, ClientSecretFile = %q, %q", p.OIDC.ClientSecret, p.OIDC.ClientSecretFile)
				}
			}},
		{name: "absolute bind_password_file", src: ldap + "    bind_password_file: " + filepath.Join(dir, "secrets/ldap") + "\n",
			check: func(t *testing.T, p Provider) {
				if p.LDAP.BindPassword != "ldap-password" {
					t.Errorf("BindPassword = %q", p.LDAP.BindPassword)
				}
			}},
		{name: "relative idp_metadata_file and ca_file", src: saml + "    idp_metadata_file: idp.xml\n",
			check: func(t *testing.T, p Provider) {
				if want := filepath.Join(dir, "idp.xml"); p.SAML.IDPMetadataFile != want {
					t.Errorf("IDPMetadataFile = %q, want %q", p.SAML.IDPMetadataFile, want)
				}
			}},
		{name: "relative ca_file", src: ldap + "    bind_password: pw\n    ca_file: ./ca.pem\n",
			check: func(t *testing.T, p Provider) {
				if want := filepath.Join(dir, "ca.pem"); p.LDAP.CAFile != want {
					t.Errorf("CAFile = %q, want %q", p.LDAP.CAFile, want)
				}
			}},
		{name: "both client_secret and client_secret_file", src: oidc + "    client_secret: x\n    client_secret_file: secrets/oidc\n",
			wantErr: "ssogate.yaml:7: providers[0].client_secret_file: set either providers[0].client_secret or providers[0].client_secret_file, not both"},
		{name: "both bind_password and bind_password_file", src: ldap + "    bind_password: x\n    bind_password_file: secrets/ldap\n",
			wantErr: "ssogate.yaml:9: providers[0].bind_password_file: set either providers[0].bind_password or providers[0].bind_password_file, not both"},
		{name: "missing client_secret_file", src: oidc + "    client_secret_file: secrets/nope\n",
			wantErr: "ssogate.yaml:6: providers[0].client_secret_file: cannot read the file: open " + filepath.Join(dir, "secrets/nope")},
		{name: "missing bind_password_file", src: ldap + "    bind_password_file: nope\n",
			wantErr: "ssogate.yaml:8: providers[0].bind_password_file: cannot read the file: open " + filepath.Join(dir, "nope")},
		{name: "empty client_secret_file", src: oidc + "    client_secret_file: empty\n",
			wantErr: "ssogate.yaml:6: providers[0].client_secret_file: required: the client secret"},
		{name: "empty bind_password_file", src: ldap + "    bind_password_file: empty\n",
			wantErr: "ssogate.yaml:8: providers[0].bind_password_file: the file is empty; it must hold the password of bind_dn"},
		{name: "missing idp_metadata_file", src: saml + "    idp_metadata_file: nope.xml\n",
			wantErr: "ssogate.yaml:4: providers[0].idp_metadata_file: cannot read the file: open " + filepath.Join(dir, "nope.xml")},
		{name: "missing key_file", src: saml + "    idp_metadata_file: idp.xml\n    certificate_file: ca.pem\n    key_file: sp.key\n",
			wantErr: "ssogate.yaml:6: providers[0].key_file: cannot read the file: open " + filepath.Join(dir, "sp.key")},
		{name: "certificate_file is a directory", src: saml + "    idp_metadata_file: idp.xml\n    certificate_file: certs\n    key_file: ca.pem\n",
			wantErr: "ssogate.yaml:5: providers[0].certificate_file: " + filepath.Join(dir, "certs") + " is not a regular file"},
		{name: "missing ca_file", src: ldap + "    bind_password: pw\n    ca_file: nope.pem\n",
			wantErr: "ssogate.yaml:9: providers[0].ca_file: cannot read the file: open " + filepath.Join(dir, "nope.pem")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "ssogate.yaml")
			writeFiles(t, dir, map[string]string{"ssogate.yaml": tt.src})
			c, err := Load(path)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Load succeeded, want an error containing %q", tt.wantErr)
				}
				got := strings.ReplaceAll(err.Error(), path, "ssogate.yaml")
				if !strings.Contains(got, tt.wantErr) {
					t.Errorf("error =\n  %s\nwant it to contain\n  %s", got, tt.wantErr)
				}
				if n := strings.Count(got, "\n"); n != 0 {
					t.Errorf("got %d errors, want 1:\n  %s", n+1, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c.Providers[0])
		})
	}
}

// uncommentExamples returns the example file with the regions between
// "# --- begin example NAME ---" and "# --- end example NAME ---"
// uncommented (the first "# " after the indentation removed), and the
// names of the regions. Every line of a region must be a comment.
func uncommentExamples(t *testing.T, src string) (string, []string) {
	t.Helper()
	lines := strings.Split(src, "\n")
	var names []string
	region := ""
	for i, line := range lines {
		text := strings.TrimLeft(line, " ")
		indent := line[:len(line)-len(text)]
		if name, ok := strings.CutPrefix(text, "# --- begin example "); ok {
			if region != "" {
				t.Fatalf("line %d: example %q begins inside example %q", i+1, name, region)
			}
			region = strings.TrimSuffix(name, " ---")
			names = append(names, region)
			continue
		}
		if text == "# --- end example "+region+" ---" && region != "" {
			region = ""
			continue
		}
		if region == "" {
			continue
		}
		switch {
		case text == "#":
			lines[i] = ""
		case strings.HasPrefix(text, "# "):
			lines[i] = indent + text[2:]
		default:
			t.Errorf("line %d of example %q is not a comment, so `make run` would use it: %q", i+1, region, line)
		}
	}
	if region != "" {
		t.Fatalf("example %q has no end marker", region)
	}
	return strings.Join(lines, "\n"), names
}

// TestExampleProviders checks that the commented-out examples of
// examples/ssogate.yaml load once uncommented, so that they stay right.
//
// The copy is laid out like the repository — examples/ssogate.yaml with
// the files its examples name, relative to it, beside it — so that paths
// resolve as they would in a checkout. The plugin example's command,
// ../plugins/bin/httpjson, is a dummy executable there: loading checks
// that the file is executable, not what it is (its sha256 is checked when
// the plugin starts, and the example's is a placeholder).
func TestExampleProviders(t *testing.T) {
	src, err := os.ReadFile("../examples/ssogate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text, regions := uncommentExamples(t, string(src))
	if got := strings.Join(regions, ","); got != "providers,policy,allowed-networks" {
		t.Fatalf("example regions = %s, want providers,policy,allowed-networks", got)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "examples")
	writeFiles(t, dir, map[string]string{
		"ssogate.yaml":                    text,
		"secrets/google-client-secret":    "google-secret\n",
		"secrets/microsoft-client-secret": "microsoft-secret\n",
		"secrets/saml-sp.key":             "key",
		"saml/sp.crt":                     "certificate",
		"certs/ad-ca.pem":                 "ca",
		"secrets/ad-bind-password":        "ad-password\n",
	})
	plugin := writeExecutable(t, filepath.Join(root, "plugins/bin/httpjson"))
	c, err := Load(filepath.Join(dir, "ssogate.yaml"))
	if err != nil {
		t.Fatalf("Load of the uncommented examples: %v", err)
	}

	byID := map[string]Provider{}
	var ids []string
	for _, p := range c.Providers {
		ids = append(ids, p.ID)
		byID[p.ID] = p
	}
	if got := strings.Join(ids, ","); got != "local,google,microsoft,adfs,ad,office,httpjson" {
		t.Fatalf("provider ids = %s, want local,google,microsoft,adfs,ad,office,httpjson", got)
	}
	if l := byID["google"].Label; l.In("ja") != "Googleアカウントでログイン" || l.In("en") != "Sign in with Google" {
		t.Errorf("google label = %#v, want one per language", l)
	}
	if g := byID["google"].OIDC; g == nil || g.ClientSecret != "google-secret" || g.HostedDomain != "example.co.jp" || len(g.LinkDomains) == 0 {
		t.Errorf("google = %s", dump(byID["google"]))
	}
	if m := byID["microsoft"].OIDC; m == nil || m.Tenant != "organizations" || len(m.AllowedTenants) == 0 ||
		m.Issuer != "https://login.microsoftonline.com/organizations/v2.0" || m.ClientSecret != "microsoft-secret" {
		t.Errorf("microsoft = %s", dump(byID["microsoft"]))
	}
	if a := byID["adfs"].SAML; a == nil || a.Attributes != "adfs" || a.KeyFile != filepath.Join(dir, "secrets/saml-sp.key") {
		t.Errorf("adfs = %s", dump(byID["adfs"]))
	}
	if d := byID["ad"].LDAP; d == nil || d.Preset != "active_directory" || !strings.HasPrefix(d.URL, "ldaps://") ||
		d.CAFile != filepath.Join(dir, "certs/ad-ca.pem") || d.BindPassword != "ad-password" ||
		len(d.GroupMapping) == 0 || len(d.OwnedFields) == 0 || !d.Provision {
		t.Errorf("ad = %s", dump(byID["ad"]))
	}
	office := []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8:1234::/48")}
	if n := byID["office"]; n.Network == nil || n.Label.String() != "本社回線" || !reflect.DeepEqual(n.Network.Prefixes, office) {
		t.Errorf("office = %s", dump(n))
	}
	if p := byID["httpjson"].Plugin; p == nil || p.Command != plugin || p.SHA256 != strings.Repeat("0", 64) ||
		p.Config["url"] == nil || p.Config["timeout"] == nil {
		t.Errorf("httpjson = %s", dump(byID["httpjson"]))
	}
	if len(c.Policy.LoginMethods) == 0 || c.Policy.AccessRoute != AccessLineAndInternet {
		t.Errorf("policy = %+v, want login_methods set and access_route line_and_internet", c.Policy)
	}
	expenses := c.Services[2]
	if want := append(office, netip.MustParsePrefix("10.8.0.0/16")); expenses.ID != "expenses" || !reflect.DeepEqual(expenses.AllowedPrefixes, want) {
		t.Errorf("%s: AllowedPrefixes = %v, want %v", expenses.ID, expenses.AllowedPrefixes, want)
	}
}

// TestValidateBuiltInProviders checks Validate on federated providers built
// in code: no lines, and a type without its options is an error.
func TestValidateBuiltInProviders(t *testing.T) {
	c := mustParse(t, "")
	built := *c
	built.src = nil
	built.Path = ""
	built.Providers = []Provider{
		{ID: "local", Type: "local", Local: c.Providers[0].Local},
		{ID: "sso", Type: "oidc", OIDC: &OIDCProvider{Issuer: "https://op.example.co.jp", ClientID: "c", ClientSecret: "s", Scopes: []string{"openid"}}},
	}
	built.Policy = Policy{LoginMethods: []string{"sso"}, HidePasswordForm: true}
	if err := built.Validate(); err != nil {
		t.Errorf("Validate = %v, want nil", err)
	}

	built.Providers = append(built.Providers, Provider{ID: "idp", Type: "saml"})
	err := built.Validate()
	if err == nil || err.Error() != "providers[2]: type saml has no options (its field of Provider is nil)" {
		t.Errorf("Validate = %v", err)
	}
}

// TestExampleDocumentsEveryKey checks that every key of the schema, of
// every provider type, is written in examples/ssogate.yaml (set, or in a
// comment), so that a new key cannot go undocumented.
func TestExampleDocumentsEveryKey(t *testing.T) {
	src, err := os.ReadFile("../examples/ssogate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[reflect.Type]bool{}
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		for typ.Kind() == reflect.Slice || typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == providerType || reflect.PointerTo(typ).Implements(unmarshalerType) || seen[typ] {
			return
		}
		seen[typ] = true
		for _, f := range yamlFields(typ) {
			key := joinKey(path, f.name)
			if !regexp.MustCompile(`(?m)^[ #]*(- )?` + regexp.QuoteMeta(f.name) + `:`).Match(src) {
				t.Errorf("%s is not documented in examples/ssogate.yaml", key)
			}
			walk(key, typ.FieldByIndex(f.index).Type)
		}
	}
	walk("", reflect.TypeFor[Config]())
	for _, name := range providerTypeNames() {
		walk("providers[type "+name+"]", reflect.TypeOf(providerTypes[name]()))
	}
}

// linesYAML is a network and a plugin provider, a policy and services
// using the line; the plugin's command is plugins/bin/kiosk next to it.
const linesYAML = `providers:
  - id: local
    type: local
  - id: office
    type: network
    label: 本社回線
    networks:
      - 203.0.113.0/24
      - 2001:db8:1234::/48
      - 198.51.100.7
      - "::ffff:192.0.2.0/120"
  - id: kiosk
    type: plugin
    label: 受付端末でログイン
    command: plugins/bin/kiosk
    args: [-log-level, info, 5]
    sha256: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08
    config:
      url: https://auth.example.co.jp/check
      timeout: 5s
      retries: 3
      ratio: 0.5
      verify: true
      proxy: null
      since: 2024-04-01
      headers:
        X-Api-Key: "k"
        accept: [application/json, text/plain]
      backends:
        - {host: a.example.co.jp, port: 8443}
        - host: b.example.co.jp
          weight: -2
policy:
  login_methods: [local, kiosk]
  access_route: line_only
services:
  - id: payroll
    name: 給与明細
    url: http://payroll.example.co.jp/
    allowed_networks: [office, 10.8.0.0/16, "::ffff:10.9.0.1", 203.0.113.0/25]
  - id: wiki
    name: 社内Wiki
    url: http://wiki.example.co.jp/
`

// TestParseLines checks that network and plugin providers, access_route
// and allowed_networks are decoded where they belong and resolved.
func TestParseLines(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ssogate.yaml": linesYAML})
	kiosk := writeExecutable(t, filepath.Join(dir, "plugins/bin/kiosk"))
	c, err := Load(filepath.Join(dir, "ssogate.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	mustPrefixes := func(ss ...string) []netip.Prefix {
		var ps []netip.Prefix
		for _, s := range ss {
			ps = append(ps, netip.MustParsePrefix(s))
		}
		return ps
	}
	officePrefixes := mustPrefixes("203.0.113.0/24", "2001:db8:1234::/48", "198.51.100.7/32", "192.0.2.0/24")
	wantProviders := []Provider{
		{ID: "office", Type: "network", Label: PlainText("本社回線"), Network: &NetworkProvider{
			Networks: []string{"203.0.113.0/24", "2001:db8:1234::/48", "198.51.100.7", "::ffff:192.0.2.0/120"},
			Prefixes: officePrefixes,
		}},
		{ID: "kiosk", Type: "plugin", Label: PlainText("受付端末でログイン"), Plugin: &PluginProvider{
			Command: kiosk,
			Args:    []string{"-log-level", "info", "5"},
			SHA256:  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Config: map[string]any{
				"url":     "https://auth.example.co.jp/check",
				"timeout": "5s",
				"retries": 3,
				"ratio":   0.5,
				"verify":  true,
				"proxy":   nil,
				"since":   "2024-04-01",
				"headers": map[string]any{"X-Api-Key": "k", "accept": []any{"application/json", "text/plain"}},
				"backends": []any{
					map[string]any{"host": "a.example.co.jp", "port": 8443},
					map[string]any{"host": "b.example.co.jp", "weight": -2},
				},
			},
		}},
	}
	for i, want := range wantProviders {
		if got := c.Providers[i+1]; !reflect.DeepEqual(got, want) {
			t.Errorf("providers[%d] =\n%s\nwant\n%s", i+1, dump(got), dump(want))
		}
	}

	// The plugin receives its config as JSON: it must encode, and come
	// back the same.
	data, err := json.Marshal(c.Providers[2].Plugin.Config)
	if err != nil {
		t.Fatalf("json.Marshal(config): %v", err)
	}
	const wantJSON = `{"backends":[{"host":"a.example.co.jp","port":8443},{"host":"b.example.co.jp","weight":-2}],` +
		`"headers":{"X-Api-Key":"k","accept":["application/json","text/plain"]},"proxy":null,"ratio":0.5,"retries":3,` +
		`"since":"2024-04-01","timeout":"5s","url":"https://auth.example.co.jp/check","verify":true}`
	if string(data) != wantJSON {
		t.Errorf("config as JSON =\n  %s\nwant\n  %s", data, wantJSON)
	}

	wantPolicy := withAccountDefaults(Policy{LoginMethods: []string{"local", "kiosk"}, AccessRoute: AccessLineOnly})
	if !reflect.DeepEqual(c.Policy, wantPolicy) {
		t.Errorf("Policy = %+v, want %+v", c.Policy, wantPolicy)
	}
	// The line's prefixes, then each written one; 203.0.113.0/25 is
	// kept although the line's /24 holds it (each entry is one rule).
	wantAllowed := append(slices.Clone(officePrefixes), mustPrefixes("10.8.0.0/16", "10.9.0.1/32", "203.0.113.0/25")...)
	if got := c.Services[0].AllowedPrefixes; !reflect.DeepEqual(got, wantAllowed) {
		t.Errorf("payroll AllowedPrefixes = %v, want %v", got, wantAllowed)
	}
	if got := c.Services[1].AllowedPrefixes; got != nil {
		t.Errorf("wiki AllowedPrefixes = %v, want none", got)
	}
}

// TestAllowedNetworks checks how services[].allowed_networks entries
// resolve: a network provider's id to its prefixes, an IP or CIDR prefix
// to itself, in order and each prefix once.
func TestAllowedNetworks(t *testing.T) {
	const providers = `providers:
  - id: local
    type: local
  - id: office
    type: network
    networks: [203.0.113.0/24, "2001:db8::/48"]
  - id: branch
    type: network
    networks: [198.51.100.0/28]
services:
  - id: app
    name: App
    url: http://app/
`
	tests := []struct {
		allowed string
		want    []string
	}{
		{"[office]", []string{"203.0.113.0/24", "2001:db8::/48"}},
		{"[192.0.2.1]", []string{"192.0.2.1/32"}},
		{"[\"2001:db8:1::1\"]", []string{"2001:db8:1::1/128"}},
		{"[10.1.2.3/8]", []string{"10.0.0.0/8"}},
		{"[\"::ffff:10.0.0.0/104\"]", []string{"10.0.0.0/8"}},
		{"[branch, 10.0.0.0/8, office]", []string{"198.51.100.0/28", "10.0.0.0/8", "203.0.113.0/24", "2001:db8::/48"}},
		{"[office, 203.0.113.0/24, office]", []string{"203.0.113.0/24", "2001:db8::/48"}},
		{"[]", nil},
	}
	for _, tt := range tests {
		t.Run(tt.allowed, func(t *testing.T) {
			c := mustParse(t, providers+"    allowed_networks: "+tt.allowed+"\n")
			var want []netip.Prefix
			for _, w := range tt.want {
				want = append(want, netip.MustParsePrefix(w))
			}
			if got := c.Services[0].AllowedPrefixes; !reflect.DeepEqual(got, want) {
				t.Errorf("AllowedPrefixes = %v, want %v", got, want)
			}
		})
	}
}

// TestLinesDefaults checks what network and plugin providers and
// access_route default to.
func TestLinesDefaults(t *testing.T) {
	dir := t.TempDir()
	cmd := writeExecutable(t, filepath.Join(dir, "kiosk"))
	c := mustParse(t, `providers:
  - id: local
    type: local
  - id: office
    type: network
    networks: [203.0.113.0/24]
  - id: kiosk
    type: plugin
    command: `+cmd+`
    sha256: `+strings.Repeat("ab", 32)+`
`)
	if c.Policy.AccessRoute != AccessLineAndInternet {
		t.Errorf("AccessRoute = %q, want %q", c.Policy.AccessRoute, AccessLineAndInternet)
	}
	want := []Provider{
		{ID: "office", Type: "network", Network: &NetworkProvider{
			Networks: []string{"203.0.113.0/24"}, Prefixes: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}},
		{ID: "kiosk", Type: "plugin", Plugin: &PluginProvider{Command: cmd, SHA256: strings.Repeat("ab", 32)}},
	}
	for i, w := range want {
		if got := c.Providers[i+1]; !reflect.DeepEqual(got, w) {
			t.Errorf("providers[%d] =\n%s\nwant\n%s", i+1, dump(got), dump(w))
		}
	}
}

// TestPluginCommandPath checks that a relative plugin command is resolved
// against the configuration file's directory, and made absolute when
// there is none, so that it is never looked up in PATH.
func TestPluginCommandPath(t *testing.T) {
	dir := t.TempDir()
	src := func(cmd string) string {
		return "providers:\n  - id: local\n    type: local\n  - id: kiosk\n    type: plugin\n    command: " + cmd +
			"\n    sha256: " + strings.Repeat("0", 64) + "\n"
	}
	abs := writeExecutable(t, filepath.Join(dir, "bin/kiosk"))

	writeFiles(t, dir, map[string]string{"conf/ssogate.yaml": src("../bin/kiosk")})
	c, err := Load(filepath.Join(dir, "conf/ssogate.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := c.Providers[1].Plugin.Command; got != abs {
		t.Errorf("Command = %q, want %q", got, abs)
	}

	t.Chdir(filepath.Join(dir, "bin"))
	c, err = Parse("", []byte(src("kiosk")))
	if err != nil {
		t.Fatalf("Parse without a file: %v", err)
	}
	if got := c.Providers[1].Plugin.Command; got != abs {
		t.Errorf("Command without a file = %q, want %q", got, abs)
	}
}

// lineYAML is a local provider and a network provider "office" whose
// keys continue with extra, on line 6.
func lineYAML(extra string) string {
	return "providers:\n  - id: local\n    type: local\n  - id: office\n    type: network\n" + extra
}

// pluginYAML is a local provider and a plugin provider "kiosk" with
// command cmd and a valid sha256; extra continues on line 8.
func pluginYAML(cmd, extra string) string {
	return "providers:\n  - id: local\n    type: local\n  - id: kiosk\n    type: plugin\n    command: " + cmd +
		"\n    sha256: " + strings.Repeat("ab", 32) + "\n" + extra
}

// TestParseLineErrors checks each rule of network and plugin providers,
// access_route and allowed_networks: every error in want is reported,
// and nothing else.
func TestParseLineErrors(t *testing.T) {
	dir := t.TempDir()
	exe := writeExecutable(t, filepath.Join(dir, "bin/kiosk"))
	notExe := filepath.Join(dir, "bin/readme")
	writeFiles(t, dir, map[string]string{"bin/readme": "not a program"})
	const office = "    networks: [203.0.113.0/24]\n"
	sha := strings.Repeat("ab", 32)

	tests := []struct {
		name string
		src  string
		want []string // every error, each a substring of one line
	}{
		// network.
		{"networks required", lineYAML("    label: 本社回線\n"),
			[]string{`x.yaml:4: providers[1].networks: required: the line's addresses, IPs or CIDR prefixes, e.g. [203.0.113.0/24, 2001:db8::/48]`}},
		{"networks empty", lineYAML("    networks: []\n"),
			[]string{`x.yaml:6: providers[1].networks: required: the line's addresses`}},
		{"networks not a list", lineYAML("    networks: 203.0.113.0/24\n"),
			[]string{`x.yaml:6: providers[1].networks: must be a list, not "203.0.113.0/24"`}},
		{"network not an address", lineYAML("    networks:\n      - 203.0.113.0/33\n      - office.example.co.jp\n      - fe80::1%eth0\n      - 203.0.113.0/24\n"),
			[]string{
				`x.yaml:7: providers[1].networks[0]: "203.0.113.0/33" is not a CIDR prefix; use an IP address or CIDR prefix, e.g. 10.0.0.1, 10.0.0.0/8 or 2001:db8::/32`,
				`x.yaml:8: providers[1].networks[1]: "office.example.co.jp" is not an IP address; use an IP address or CIDR prefix`,
				`x.yaml:9: providers[1].networks[2]: "fe80::1%eth0" has a zone; use an IP address or CIDR prefix`,
			}},
		{"network twice", lineYAML("    networks:\n      - 203.0.113.0/24\n      - 203.0.113.7/24\n      - \"::ffff:203.0.113.0/120\"\n"),
			[]string{
				`x.yaml:8: providers[1].networks[1]: "203.0.113.7/24" is 203.0.113.0/24, already listed at line 7; drop one`,
				`x.yaml:9: providers[1].networks[2]: "::ffff:203.0.113.0/120" is 203.0.113.0/24, already listed at line 7; drop one`,
			}},
		{"network twice on one line", lineYAML("    networks: [192.0.2.1, 192.0.2.1/32]\n"),
			[]string{`x.yaml:6: providers[1].networks[1]: "192.0.2.1/32" is 192.0.2.1/32, listed twice; drop one`}},
		{"network of every address", lineYAML("    networks: [0.0.0.0/0, \"::/0\"]\n"),
			[]string{
				`x.yaml:6: providers[1].networks[0]: 0.0.0.0/0 is every address: everyone would count as on this line (and skip 2-step verification); list the line's own addresses`,
				`x.yaml:6: providers[1].networks[1]: ::/0 is every address`,
			}},
		{"network misspelt key", lineYAML(office + "    network: 192.0.2.0/24\n"),
			[]string{`x.yaml:7: providers[1].network: unknown key; did you mean "networks"? valid: id, type, label, networks`}},
		{"network with a plugin key", lineYAML(office + "    command: ./x\n"),
			[]string{`x.yaml:7: providers[1].command: unknown key; valid: id, type, label, networks`}},
		{"only network providers", "providers:\n  - id: office\n    type: network\n" + office,
			[]string{`x.yaml:1: providers: has only network providers, which prove a line, not a person, so nobody could sign in; add one people sign in with`}},

		// plugin.
		{"plugin command required", "providers:\n  - id: local\n    type: local\n  - id: kiosk\n    type: plugin\n    sha256: " + sha + "\n",
			[]string{`x.yaml:4: providers[1].command: required: the plugin's executable, e.g. ./plugins/bin/httpjson (relative paths are resolved against the configuration file's directory)`}},
		{"plugin command missing", pluginYAML(filepath.Join(dir, "bin/nope"), ""),
			[]string{`x.yaml:6: providers[1].command: ` + filepath.Join(dir, "bin/nope") + ` does not exist; build the plugin or correct the path`}},
		{"plugin command is a directory", pluginYAML(filepath.Join(dir, "bin"), ""),
			[]string{`x.yaml:6: providers[1].command: ` + filepath.Join(dir, "bin") + ` is a directory; name the plugin's executable file in it`}},
		{"plugin command not executable", pluginYAML(notExe, ""),
			[]string{`x.yaml:6: providers[1].command: ` + notExe + ` is not executable; make it so (chmod +x ` + notExe + `)`}},
		{"plugin sha256 required", "providers:\n  - id: local\n    type: local\n  - id: kiosk\n    type: plugin\n    command: " + exe + "\n",
			[]string{"x.yaml:4: providers[1].sha256: required: the command file's SHA-256 as 64 hex digits: the first field of `sha256sum " + exe + "`; the file is checked against it before every start"}},
		{"plugin sha256 too short", "providers:\n  - id: local\n    type: local\n  - id: kiosk\n    type: plugin\n    command: " + exe + "\n    sha256: abc123\n",
			[]string{`x.yaml:7: providers[1].sha256: "abc123" is not a SHA-256 (6 characters); write the command file's SHA-256 as 64 hex digits`}},
		{"plugin sha256 not hex", "providers:\n  - id: local\n    type: local\n  - id: kiosk\n    type: plugin\n    command: " + exe + "\n    sha256: " + strings.Repeat("g", 64) + "\n",
			[]string{`x.yaml:7: providers[1].sha256: "` + strings.Repeat("g", 64) + `" is not a SHA-256 (64 characters)`}},
		{"plugin args not strings", pluginYAML(exe, "    args:\n      - -v\n      - [a, b]\n      - {k: v}\n      -\n"),
			[]string{
				`x.yaml:10: providers[1].args[1]: must be a single value, not a list`,
				`x.yaml:11: providers[1].args[2]: must be a single value, not a mapping`,
				`x.yaml:12: providers[1].args[3]: is empty (null); write "" for an empty argument, or drop the item`,
			}},
		{"plugin args not a list", pluginYAML(exe, "    args: -v\n"),
			[]string{`x.yaml:8: providers[1].args: must be a list, not "-v"`}},
		{"plugin misspelt key", pluginYAML(exe, "    confg: {}\n"),
			[]string{`x.yaml:8: providers[1].confg: unknown key; did you mean "config"? valid: id, type, label, link_domains, provision, provision_domains, provision_groups, group_mapping, owned_fields, command, args, sha256, config`}},
		{"plugin config not a mapping", pluginYAML(exe, "    config: [url]\n"),
			[]string{`x.yaml:8: providers[1].config: must be a mapping of keys to values (the plugin receives it as a JSON object), not a list`}},
		{"plugin config scalar", pluginYAML(exe, "    config: https://x\n"),
			[]string{`x.yaml:8: providers[1].config: must be a mapping of keys to values (the plugin receives it as a JSON object), not "https://x"`}},
		{"plugin config keys not strings", pluginYAML(exe, "    config:\n      1: a\n      true: b\n      ~: c\n      2024-04-01: d\n      ok: e\n      nested:\n        - 0.5: x\n      ? [a, b]\n      : f\n"),
			[]string{
				`x.yaml:9: providers[1].config.1: key 1 is a number, not a string; JSON keys are strings, so quote it: "1"`,
				`x.yaml:10: providers[1].config.true: key true is true/false, not a string; JSON keys are strings, so quote it: "true"`,
				`x.yaml:11: providers[1].config.~: key ~ is null, not a string; JSON keys are strings, so quote it: "~"`,
				`x.yaml:12: providers[1].config.2024-04-01: key 2024-04-01 is a date, not a string; JSON keys are strings, so quote it: "2024-04-01"`,
				`x.yaml:15: providers[1].config.nested[0].0.5: key 0.5 is a number, not a string`,
				`x.yaml:16: providers[1].config: has a list as a key; keys must be strings (the plugin receives JSON)`,
			}},
		{"plugin config duplicate and merge keys", pluginYAML(exe, "    config:\n      base: &b {x: 1}\n      url: a\n      url: b\n      sub:\n        <<: *b\n"),
			[]string{
				`x.yaml:11: providers[1].config.url: duplicate key; already set at line 10`,
				`x.yaml:13: providers[1].config.sub.<<: merge keys (<<) are not supported; write the keys out`,
			}},
		{"plugin config values JSON cannot carry", pluginYAML(exe, "    config:\n      a: .inf\n      b: [-.inf, .nan]\n      c: !!binary aGVsbG8=\n      d: !custom x\n      e: 9223372036854775808\n"),
			[]string{
				`x.yaml:9: providers[1].config.a: .inf is not a number JSON can carry; write a finite number, or quote it to pass it as a string`,
				`x.yaml:10: providers[1].config.b[0]: -.inf is not a number JSON can carry`,
				`x.yaml:10: providers[1].config.b[1]: .nan is not a number JSON can carry`,
				`x.yaml:11: providers[1].config.c: !!binary values are not supported (the plugin receives JSON); write a string, number, true/false, list or mapping, or quote the value`,
				`x.yaml:12: providers[1].config.d: !custom values are not supported`,
				`x.yaml:13: providers[1].config.e: 9223372036854775808 is out of range for a whole number (-9223372036854775808 to 9223372036854775807); quote it to pass it as a string`,
			}},

		// policy.
		{"access route unknown", "policy:\n  access_route: lines_only\n",
			[]string{`x.yaml:2: policy.access_route: unknown access route "lines_only"; valid: line_and_internet, line_only`}},
		{"line_only without a line", "policy:\n  access_route: line_only\n",
			[]string{`x.yaml:2: policy.access_route: line_only serves only requests from the lines of network providers, and none is configured, so nobody could reach anything; add a provider of type: network, or use line_and_internet`}},
		{"login method is a line", lineYAML(office + "policy:\n  login_methods: [local, office]\n"),
			[]string{`x.yaml:8: policy.login_methods[1]: "office" is a network provider: it proves a line, not a person, so nobody can sign in with it; list the providers people sign in with (local)`}},
		{"hide password form with local and a line", lineYAML(office + "policy:\n  hide_password_form: true\n"),
			[]string{`x.yaml:8: policy.hide_password_form: would leave nobody a way to sign in: local is the only kind of provider configured to sign in with; add an oidc, saml, ldap or plugin provider`}},

		// services.
		{"allowed networks neither line nor address", lineYAML(office + "services:\n  - id: wiki\n    name: Wiki\n    url: http://w/\n    allowed_networks:\n      - offce\n      - local\n      - \"\"\n      - 10.0.0.0/33\n      - office\n"),
			[]string{
				`x.yaml:12: services[0].allowed_networks[0]: "offce" is neither a network provider (configured: office) nor an IP address or CIDR prefix, e.g. 203.0.113.0/24 or 2001:db8::/48`,
				`x.yaml:13: services[0].allowed_networks[1]: "local" is a local provider, not a network provider; name a line (configured: office) or write an IP or CIDR prefix, e.g. 203.0.113.0/24`,
				`x.yaml:14: services[0].allowed_networks[2]: must not be empty; name a line (configured: office) or write an IP or CIDR prefix`,
				`x.yaml:15: services[0].allowed_networks[3]: "10.0.0.0/33" is neither a network provider (configured: office) nor an IP address or CIDR prefix`,
			}},
		{"allowed networks without lines", "services:\n  - id: wiki\n    name: Wiki\n    url: http://w/\n    allowed_networks: [office]\n",
			[]string{`x.yaml:5: services[0].allowed_networks[0]: "office" is neither a network provider (none is configured) nor an IP address or CIDR prefix`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseErr(t, tt.src)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("error does not contain\n  %s\ngot\n  %s", w, strings.ReplaceAll(got, "\n", "\n  "))
				}
			}
			if n := strings.Count(got, "\n") + 1; n != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n  %s", n, len(tt.want), strings.ReplaceAll(got, "\n", "\n  "))
			}
		})
	}

	t.Run("plugin command not a regular file", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no /dev/null")
		}
		got := parseErr(t, pluginYAML(os.DevNull, ""))
		if want := `x.yaml:6: providers[1].command: /dev/null is not a regular file; name the plugin's executable file`; got != want {
			t.Errorf("error =\n  %s\nwant\n  %s", got, want)
		}
	})
}

// TestLinesAccepted checks combinations the rules allow.
func TestLinesAccepted(t *testing.T) {
	tests := []struct{ name, src string }{
		{"line_only with a line in allowed_networks", lineYAML("    networks: [203.0.113.0/24]\npolicy:\n  access_route: line_only\nservices:\n  - id: wiki\n    name: Wiki\n    url: http://w/\n    allowed_networks: [office]\n")},
		{"line_and_internet written", "policy:\n  access_route: line_and_internet\n"},
		{"network beside a plugin only", "providers:\n  - id: office\n    type: network\n    networks: [203.0.113.0/24]\n  - id: oidc\n    type: oidc\n    issuer: https://op.example.co.jp\n    client_id: c\n    client_secret: s\npolicy:\n  login_methods: [oidc]\n  hide_password_form: true\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustParse(t, tt.src)
		})
	}
}

// TestPluginConfigEnv checks ${ENV} expansion inside a plugin's free-form
// config: values only, retyped as elsewhere when unquoted.
func TestPluginConfigEnv(t *testing.T) {
	dir := t.TempDir()
	exe := writeExecutable(t, filepath.Join(dir, "kiosk"))
	t.Setenv("SSOGATE_TEST_URL", "https://auth.example.co.jp")
	t.Setenv("SSOGATE_TEST_PORT", "8443")
	t.Setenv("SSOGATE_TEST_ON", "true")
	t.Setenv("SSOGATE_TEST_EMPTY", "")
	t.Setenv("SSOGATE_TEST_KEY", "not-a-key")

	c := mustParse(t, pluginYAML(exe, `    config:
      url: ${SSOGATE_TEST_URL}/check
      port: ${SSOGATE_TEST_PORT}
      port_text: "${SSOGATE_TEST_PORT}"
      verify: ${SSOGATE_TEST_ON}
      token: ${SSOGATE_TEST_EMPTY}
      level: ${SSOGATE_TEST_UNSET:-info}
      ${SSOGATE_TEST_KEY}: kept
      hosts: ["${SSOGATE_TEST_URL}", {port: "${SSOGATE_TEST_PORT}"}]
`))
	want := map[string]any{
		"url":                 "https://auth.example.co.jp/check",
		"port":                8443,
		"port_text":           "8443",
		"verify":              true,
		"token":               "",
		"level":               "info",
		"${SSOGATE_TEST_KEY}": "kept",
		"hosts":               []any{"https://auth.example.co.jp", map[string]any{"port": "8443"}},
	}
	if got := c.Providers[1].Plugin.Config; !reflect.DeepEqual(got, want) {
		t.Errorf("Config = %#v\nwant %#v", got, want)
	}

	got := parseErr(t, pluginYAML(exe, "    config:\n      nested:\n        token: ${SSOGATE_TEST_MISSING}\n"))
	if want := "x.yaml:10: providers[1].config.nested.token: environment variable SSOGATE_TEST_MISSING is not set; set it or write ${SSOGATE_TEST_MISSING:-default}"; got != want {
		t.Errorf("error =\n  %s\nwant\n  %s", got, want)
	}
}

// TestValidateBuiltInLines checks Validate on network and plugin
// providers built in code: derived fields are filled, "" access_route is
// the default, and errors have no line.
func TestValidateBuiltInLines(t *testing.T) {
	exe := writeExecutable(t, filepath.Join(t.TempDir(), "kiosk"))
	c := mustParse(t, "")
	built := *c
	built.src = nil
	built.Path = ""
	built.Providers = []Provider{
		c.Providers[0],
		{ID: "office", Type: "network", Network: &NetworkProvider{Networks: []string{"203.0.113.0/24", "::ffff:192.0.2.1"}}},
		{ID: "kiosk", Type: "plugin", Plugin: &PluginProvider{Command: exe, SHA256: strings.Repeat("AB", 32)}},
	}
	built.Services = []Service{{ID: "app", Name: PlainText("App"), URL: "http://app/", Icon: "app", AllowedNetworks: []string{"office", "10.0.0.0/8"}}}
	built.Policy = Policy{}
	if err := built.Validate(); err != nil {
		t.Fatalf("Validate = %v, want nil", err)
	}
	office := []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("192.0.2.1/32")}
	if got := built.Providers[1].Network.Prefixes; !reflect.DeepEqual(got, office) {
		t.Errorf("Prefixes = %v, want %v", got, office)
	}
	if got := built.Providers[2].Plugin.SHA256; got != strings.Repeat("ab", 32) {
		t.Errorf("SHA256 = %q, want it lower-cased", got)
	}
	if got, want := built.Services[0].AllowedPrefixes, append(office, netip.MustParsePrefix("10.0.0.0/8")); !reflect.DeepEqual(got, want) {
		t.Errorf("AllowedPrefixes = %v, want %v", got, want)
	}
	// Validating again gives the same, not twice as much.
	if err := built.Validate(); err != nil || len(built.Services[0].AllowedPrefixes) != 3 || len(built.Providers[1].Network.Prefixes) != 2 {
		t.Errorf("second Validate = %v, AllowedPrefixes %v", err, built.Services[0].AllowedPrefixes)
	}

	built.Policy.AccessRoute = AccessLineOnly
	built.Providers[1].Network.Networks = []string{"office"}
	err := built.Validate()
	if want := `providers[1].networks[0]: "office" is not an IP address; use an IP address or CIDR prefix, e.g. 10.0.0.1, 10.0.0.0/8 or 2001:db8::/32`; err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %s", err, want)
	}
}

// oneService is a services list to append to a document that Load must
// accept: a file with neither providers nor services is refused.
const oneService = "services:\n  - id: wiki\n    name: Wiki\n    url: https://wiki.example.co.jp/\n"

func TestLoadRefusesADocumentThatConfiguresNothing(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, src, want string
	}{
		{"empty", "", "ssogate.yaml: the configuration is empty (nothing but comments or blank lines)"},
		{"comments only", "# ssogate.yaml\n\n  # nothing yet\n", "ssogate.yaml: the configuration is empty"},
		{"null document", "---\n~\n", "ssogate.yaml: the configuration is empty"},
		{"neither providers nor services", "server:\n  listen: 127.0.0.1:8080\n", "ssogate.yaml: neither providers nor services are configured"},
		{"both emptied", "server:\n  listen: 127.0.0.1:8080\nproviders: []\nservices: []\n", "ssogate.yaml:4: neither providers nor services are configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "ssogate.yaml")
			if err := os.WriteFile(path, []byte(tt.src), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load accepted %q: %d providers, %d services", tt.src, len(c.Providers), len(c.Services))
			}
			if got := strings.ReplaceAll(err.Error(), path, "ssogate.yaml"); !strings.HasPrefix(got, tt.want) {
				t.Fatalf("error = %s\nwant it to start with %s", got, tt.want)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("error %v: want exactly one Error", err)
			}
		})
	}
	// Only providers, or only services, is a configuration.
	for _, src := range []string{"providers:\n  - id: local\n    type: local\n", oneService} {
		path := filepath.Join(dir, "ssogate.yaml")
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err != nil {
			t.Errorf("Load(%q): %v", src, err)
		}
	}
}

// TestUnknownIconSuggests checks the message README shows: a near miss
// names the icon meant, then lists every valid one.
func TestUnknownIconSuggests(t *testing.T) {
	_, err := Parse("bad.yaml", []byte(`services:
  - id: wiki
    name: Wiki
    url: https://wiki.example.co.jp/
  - id: manual
    name: マニュアル
    icon: bok
    url: https://manual.example.co.jp/
  - id: odd
    name: Odd
    icon: sparkles
    url: https://odd.example.co.jp/
`))
	want := `bad.yaml:7: services[1].icon: unknown icon "bok"; did you mean "book"? valid: app, book, calendar, chart, chat, cloud, code, database, doc, folder, globe, mail, money, people, phone, search, settings, shield, ticket, video` + "\n" +
		`bad.yaml:11: services[2].icon: unknown icon "sparkles"; valid: app, book, calendar, chart, chat, cloud, code, database, doc, folder, globe, mail, money, people, phone, search, settings, shield, ticket, video`
	if err == nil || err.Error() != want {
		t.Fatalf("error =\n%v\nwant\n%s", err, want)
	}
}

func TestWarningsForServicesOnThePortalsHost(t *testing.T) {
	c := mustParse(t, `server:
  listen: 127.0.0.1:8443
  public_url: https://sso.example.co.jp
services:
  - id: wiki
    name: Wiki
    url: https://wiki.example.co.jp/
  - id: payroll
    name: 給与
    url: https://SSO.example.co.jp:443/payroll/
    upstream: http://127.0.0.1:9001
  - id: legacy
    name: Legacy
    url: http://sso.example.co.jp:8080/
notify:
  mail: {smtp: "smtp://mail.example.co.jp", from: no-reply@example.co.jp}
`)
	var got []string
	for _, w := range c.Warnings() {
		got = append(got, w.Error())
	}
	want := []string{
		`x.yaml:10: services[1].url: shares the portal's origin https://sso.example.co.jp: a script on its pages (an XSS hole in the service) runs as the portal and can act there as the person signed in; give each service a host of its own, e.g. https://payroll.example.co.jp/`,
		`x.yaml:14: services[2].url: is on the portal's host sso.example.co.jp: browsers do not separate cookies by port or scheme, so the service receives the portal's session cookie and could act as whoever visits it; give each service a host of its own, e.g. https://legacy.example.co.jp/`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ws := mustParse(t, "services:\n  - id: wiki\n    name: Wiki\n    url: https://wiki.example.co.jp/\n"+
		"notify:\n  mail: {dir: ./mail, from: no-reply@example.co.jp}\n").Warnings(); len(ws) != 0 {
		t.Fatalf("a service on its own host warned: %v", ws[0])
	}
}

// withAccountDefaults returns p with the documented defaults of the
// account policies (lockout, throttle, link lifetimes).
func withAccountDefaults(p Policy) Policy {
	p.Lockout = Lockout{MaxFailures: 10, UnlockLinkTTL: Duration(14 * 24 * time.Hour)}
	p.Throttle = Throttle{MaxFailures: 50, LineMaxFailures: 500, Window: Duration(15 * time.Minute)}
	p.PasswordReset = LinkPolicy{LinkTTL: Duration(14 * 24 * time.Hour)}
	p.EmailChange = LinkPolicy{LinkTTL: Duration(24 * time.Hour)}
	p.TwoFactor = TwoFactor{Methods: []string{"sms", "totp", "voice", "webauthn"},
		RememberBrowser: Duration(30 * 24 * time.Hour), CodeTTL: Duration(5 * time.Minute), MaxTries: 5,
		ResendAfter: Duration(30 * time.Second), PendingTTL: Duration(10 * time.Minute)}
	p.Invitation = LinkPolicy{LinkTTL: Duration(14 * 24 * time.Hour)}
	p.IdentityCheck = IdentityCheck{PINTTL: Duration(15 * time.Minute), MaxTries: 5}
	return p
}
