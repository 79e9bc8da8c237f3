package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
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
		Portal: Portal{Title: "サンプル社 ポータル", DefaultLanguage: "en", TimeZone: "UTC"},
		Log:    Log{Level: "debug", Format: "json"},
		Providers: []Provider{{
			ID: "local", Type: "local", Label: "メールアドレスでログイン",
			Local: &LocalProvider{
				Password: LocalPassword{MinLength: 12, MinClasses: 4},
				Hashing:  LocalHashing{MemoryKiB: 8192, Iterations: 1, Parallelism: 16, MaxInFlight: 8, MaxWaiting: 0},
			},
		}},
		Services: []Service{
			{
				ID: "wiki", Name: "社内Wiki", NameEN: "Company wiki",
				Description: "規程・手順書", DescriptionEN: "Policies and how-tos",
				Icon: "book", URL: "https://wiki.example.co.jp/",
				Upstream: "http://127.0.0.1:9001", PreserveHost: true,
				UpstreamTimeout: Duration(45 * time.Second), SessionTimeout: Duration(8 * time.Hour),
				Headers: ServiceHeaders{User: "X-Auth-User", RemoteUser: "none", Email: "X-Auth-Email",
					Groups: "X-Auth-Groups", Name: "X-Auth-Name", Assertion: "X-Auth-Assertion"},
			},
			{
				ID: "admin-console", Name: "管理コンソール", Icon: "app",
				URL: "http://127.0.0.1:9004/admin", AllowedGroups: []string{"admins", "it-staff"},
				UpstreamTimeout: Duration(30 * time.Second), Headers: DefaultServiceHeaders,
			},
		},
		Assertion: Assertion{TTL: Duration(2 * time.Minute)},
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
			MaxInFlight: runtime.NumCPU(), MaxWaiting: 256,
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
			Portal:    Portal{Title: "ssogate", DefaultLanguage: "ja", TimeZone: "Asia/Tokyo"},
			Log:       Log{Level: "info", Format: "text"},
			Providers: []Provider{{ID: "local", Type: "local", Local: wantLocal}},
			Assertion: Assertion{TTL: Duration(time.Minute)},
			Path:      "x.yaml",
		}
	}
	withService := defaults("http://127.0.0.1:8080", "ssogate")
	withService.Services = []Service{{ID: "wiki", Name: "社内Wiki", Icon: "app", URL: "http://127.0.0.1:9001/",
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
		{"unknown top-level key", "server:\n  listen: 127.0.0.1:8080\npolicy:\n  access_route: line_only\n",
			[]string{`x.yaml:3: policy: unknown key; valid: server, store, session, portal, log, providers, services`}},
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
			[]string{`x.yaml:2: portal.title: must be a single value, not a list`}},
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
		{"store driver", "store:\n  driver: postgres\n",
			[]string{`x.yaml:2: store.driver: unknown store driver "postgres"; valid: sqlite`}},

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
			[]string{`x.yaml:3: providers[0].type: unknown provider type "ldpa"; valid: local`}},
		{"missing provider type", "providers:\n  - id: local\n",
			[]string{`x.yaml:2: providers[0].type: required; valid: local`}},
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
			[]string{`x.yaml:5: services[0].icon: unknown icon "bok"; valid: app, book, calendar`}},
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
			if c.Portal.Title != "サンプル社 ポータル" {
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
			if c.Portal.Title != "pay $5 or ${HOME} $x" {
				t.Errorf("Title = %q", c.Portal.Title)
			}
		}},
		{"values in a list item", "services:\n  - id: wiki\n    name: ${SSOGATE_TEST_TITLE}\n    url: ${SSOGATE_TEST_URL}/wiki/\n", func(t *testing.T, c *Config) {
			if c.Services[0].Name != "サンプル社" || c.Services[0].URL != "https://sso.example.co.jp/wiki/" {
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
			write("ssogate.yaml", tt.src)
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
	built.Services = []Service{{ID: "wiki", Name: "Wiki", URL: "http://w/", Icon: "nope"}}
	err := built.Validate()
	if err == nil || err.Error() != `services[0].icon: unknown icon "nope"; valid: `+strings.Join(IconNames, ", ") {
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
	if len(c.Providers) != 1 || c.Providers[0].Label != "メールアドレスでログイン" || c.Providers[0].Local == nil {
		t.Errorf("providers = %+v", c.Providers)
	}
	ids := make([]string, len(c.Services))
	for i, s := range c.Services {
		ids[i] = s.ID
		if s.NameEN == "" || s.DescriptionEN == "" {
			t.Errorf("service %s has no English name or description", s.ID)
		}
	}
	if got := strings.Join(ids, ","); got != "whoami,wiki,expenses,attendance,admin-console" {
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
