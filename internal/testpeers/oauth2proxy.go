package testpeers

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// OAuth2ProxyVersion is the oauth2-proxy release scripts/test-deps.sh
// builds into GOPATH/bin.
const OAuth2ProxyVersion = "v7.15.6"

// OAuth2ProxyConfig shapes an oauth2-proxy relying party. IssuerURL,
// ClientID and ClientSecret are required; the zero value of every other
// field is oauth2-proxy's default or the one named.
type OAuth2ProxyConfig struct {
	// IssuerURL is the OpenID Provider's issuer; oauth2-proxy fetches
	// IssuerURL/.well-known/openid-configuration when it starts and
	// refuses to start when that fails.
	IssuerURL    string
	ClientID     string
	ClientSecret string
	// Port is the port to listen on; 0 picks a free one. Pick it first
	// with FreePort when the OP must know the redirect URI
	// (http://127.0.0.1:<port>/oauth2/callback) before oauth2-proxy starts.
	Port int
	// Scope is the scope requested; default "openid email profile groups".
	Scope string
	// CodeChallengeMethod is "S256", "plain" or "" (no PKCE).
	CodeChallengeMethod string
	// VerifyNonce sends a nonce and checks the ID token's
	// (insecure_oidc_skip_nonce = false); oauth2-proxy's default sends
	// none.
	VerifyNonce bool
	// EmailClaim and GroupsClaim name the ID token's claims; default
	// "email" and "groups".
	EmailClaim  string
	GroupsClaim string
	// AllowedGroups, when set, lets in only members of one of them.
	AllowedGroups []string
	// InsecureAllowUnverifiedEmail accepts an ID token whose
	// email_verified is false.
	InsecureAllowUnverifiedEmail bool
	// BackendLogoutURL is fetched by oauth2-proxy itself (not the
	// browser) at /oauth2/sign_out; "{id_token}" in it becomes the ID
	// token, e.g. http://op/oauth2/logout?id_token_hint={id_token}.
	BackendLogoutURL string
	// CookieRefresh, when set, makes oauth2-proxy redeem the refresh token
	// (and so notice a revoked session) once the session is that old.
	CookieRefresh time.Duration
	// CookieExpire is the session's lifetime; default oauth2-proxy's 168h.
	CookieExpire time.Duration
	// WhitelistDomains are the hosts the rd parameter of /oauth2/start and
	// /oauth2/sign_out may send the browser to (e.g. the OP's
	// "127.0.0.1:8443" for its end_session_endpoint).
	WhitelistDomains []string
	// ProviderCAFiles are PEM files trusted for an https IssuerURL.
	ProviderCAFiles []string
	// ExtraArgs are further command-line flags, e.g.
	// "--oidc-enabled-signing-alg=RS256".
	ExtraArgs []string
}

// OAuth2ProxyPeer is a running oauth2-proxy (the real program, built by
// scripts/test-deps.sh) on 127.0.0.1 in front of Upstream, started for
// one test and stopped when it ends.
type OAuth2ProxyPeer struct {
	// URL is http://127.0.0.1:<port>; everything under it but /oauth2/
	// and /ping goes, once signed in, to Upstream.
	URL string
	// RedirectURL is URL + "/oauth2/callback", the redirect URI to
	// register at the OP.
	RedirectURL string
	// Upstream is the application behind oauth2-proxy: it answers every
	// request with the UpstreamRequest it received, as JSON.
	Upstream *httptest.Server
	// Bin is the oauth2-proxy binary that runs.
	Bin string

	cmd      *exec.Cmd
	out      *SyncBuffer
	done     chan struct{}
	mu       sync.Mutex
	received []UpstreamRequest
}

// UpstreamRequest is what a peer's upstream application received: what
// oauth2-proxy passes on (X-Forwarded-Email, X-Forwarded-User,
// X-Forwarded-Groups, X-Forwarded-Preferred-Username, …) is in Header.
type UpstreamRequest struct {
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Header http.Header `json:"header"`
}

// FreePort returns a port in 20000-29999 (below the ephemeral range) that
// nothing listens on right now.
func FreePort(tb testing.TB) int {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	return port
}

// OAuth2ProxyBinary finds the oauth2-proxy that scripts/test-deps.sh
// builds: $SSOGATE_OAUTH2_PROXY, else GOPATH/bin/oauth2-proxy, else
// oauth2-proxy on PATH. It skips tb when there is none, or fails it
// when SSOGATE_REQUIRE_BROWSER is set (as `make test` does after running
// scripts/test-deps.sh).
func OAuth2ProxyBinary(tb testing.TB) string {
	tb.Helper()
	var tried []string
	if p := os.Getenv("SSOGATE_OAUTH2_PROXY"); p != "" {
		tried = append(tried, p)
		if isExecutable(p) {
			return p
		}
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "oauth2-proxy")
			tried = append(tried, p)
			if isExecutable(p) {
				return p
			}
		}
	}
	if p, err := exec.LookPath("oauth2-proxy"); err == nil {
		return p
	}
	tried = append(tried, "oauth2-proxy on PATH")
	msg := fmt.Sprintf("testpeers: no oauth2-proxy (tried %s); scripts/test-deps.sh builds %s", strings.Join(tried, ", "), OAuth2ProxyVersion)
	if os.Getenv(requireEnv) != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// OAuth2Proxy starts oauth2-proxy as an OpenID Connect client of the OP
// at c.IssuerURL, with an upstream of its own, and stops it when tb ends.
// It returns once oauth2-proxy answers /ping, which is after its OIDC
// discovery succeeded. Its output is logged when tb fails.
func OAuth2Proxy(tb testing.TB, c OAuth2ProxyConfig) *OAuth2ProxyPeer {
	tb.Helper()
	bin := OAuth2ProxyBinary(tb)
	p := &OAuth2ProxyPeer{Bin: bin, out: &SyncBuffer{}}
	p.Upstream = httptest.NewServer(http.HandlerFunc(p.echo))
	tb.Cleanup(p.Upstream.Close)
	if c.Port == 0 {
		c.Port = FreePort(tb)
	}
	p.URL = "http://127.0.0.1:" + strconv.Itoa(c.Port)
	p.RedirectURL = p.URL + "/oauth2/callback"

	// Secrets go in a file only this user reads, not on the command line
	// (which every user of the machine sees).
	conf := filepath.Join(tb.TempDir(), "oauth2-proxy.cfg")
	if err := os.WriteFile(conf, []byte(oauth2ProxyConfig(tb, c, p)), 0o600); err != nil {
		tb.Fatal(err)
	}
	args := append([]string{"--config=" + conf}, c.ExtraArgs...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = peerProcAttr()
	begin := time.Now()
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("testpeers: start oauth2-proxy: %v", err)
	}
	p.done = make(chan struct{})
	go func() { p.cmd.Wait(); close(p.done) }()
	tb.Cleanup(func() {
		p.Stop()
		if tb.Failed() {
			tb.Logf("oauth2-proxy output:\n%s", p.Output())
		}
	})
	if err := p.waitReady(30 * time.Second); err != nil {
		tb.Fatalf("testpeers: oauth2-proxy did not start: %v\n%s", err, p.Output())
	}
	tb.Logf("testpeers: oauth2-proxy on %s ready in %v", p.URL, time.Since(begin).Round(time.Millisecond))
	return p
}

// oauth2ProxyConfig is c as oauth2-proxy's (TOML) configuration file.
func oauth2ProxyConfig(tb testing.TB, c OAuth2ProxyConfig, p *OAuth2ProxyPeer) string {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	str := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, strconv.Quote(v)) }
	list := func(k string, vs []string) {
		q := make([]string, len(vs))
		for i, v := range vs {
			q[i] = strconv.Quote(v)
		}
		fmt.Fprintf(&b, "%s = [%s]\n", k, strings.Join(q, ", "))
	}
	boolean := func(k string, v bool) { fmt.Fprintf(&b, "%s = %t\n", k, v) }
	str("http_address", strings.TrimPrefix(p.URL, "http://"))
	str("provider", "oidc")
	str("provider_display_name", "ssogate test OP")
	str("oidc_issuer_url", c.IssuerURL)
	str("client_id", c.ClientID)
	str("client_secret", c.ClientSecret)
	str("redirect_url", p.RedirectURL)
	list("upstreams", []string{p.Upstream.URL + "/"})
	str("cookie_secret", base64.URLEncoding.EncodeToString(secret))
	// Cookies do not tell ports apart: two peers on 127.0.0.1 (or a peer
	// and the gateway) in one browser must not share a cookie name.
	str("cookie_name", "_oauth2_proxy_"+strconv.Itoa(c.Port))
	boolean("cookie_secure", false)
	list("email_domains", []string{"*"})
	boolean("skip_provider_button", true)
	boolean("set_xauthrequest", true)
	boolean("pass_user_headers", true)
	str("scope", orDefault(c.Scope, "openid email profile groups"))
	str("oidc_email_claim", orDefault(c.EmailClaim, "email"))
	str("oidc_groups_claim", orDefault(c.GroupsClaim, "groups"))
	if c.CodeChallengeMethod != "" {
		str("code_challenge_method", c.CodeChallengeMethod)
	}
	if len(c.AllowedGroups) > 0 {
		list("allowed_groups", c.AllowedGroups)
	}
	boolean("insecure_oidc_allow_unverified_email", c.InsecureAllowUnverifiedEmail)
	boolean("insecure_oidc_skip_nonce", !c.VerifyNonce)
	if c.BackendLogoutURL != "" {
		str("backend_logout_url", c.BackendLogoutURL)
	}
	if c.CookieRefresh > 0 {
		str("cookie_refresh", c.CookieRefresh.String())
	}
	if c.CookieExpire > 0 {
		str("cookie_expire", c.CookieExpire.String())
	}
	if len(c.WhitelistDomains) > 0 {
		list("whitelist_domains", c.WhitelistDomains)
	}
	if len(c.ProviderCAFiles) > 0 {
		list("provider_ca_files", c.ProviderCAFiles)
	}
	// Quiet: only errors and the authentication log, which says why a
	// sign-in was refused.
	boolean("request_logging", false)
	return b.String()
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// echo is the upstream application: it records the request and answers
// with it as JSON.
func (p *OAuth2ProxyPeer) echo(w http.ResponseWriter, r *http.Request) {
	got := UpstreamRequest{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone()}
	p.mu.Lock()
	p.received = append(p.received, got)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(got)
}

// Received is every request the upstream received so far, in order.
func (p *OAuth2ProxyPeer) Received() []UpstreamRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]UpstreamRequest(nil), p.received...)
}

// waitReady waits until oauth2-proxy answers /ping or exits.
func (p *OAuth2ProxyPeer) waitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("exited: %v", p.cmd.ProcessState)
		default:
		}
		resp, err := client.Get(p.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no answer on %s/ping in %v", p.URL, timeout)
}

// Stop stops oauth2-proxy and waits until it has exited; stopping it
// again does nothing.
func (p *OAuth2ProxyPeer) Stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// Output is what oauth2-proxy wrote to stdout and stderr so far.
func (p *OAuth2ProxyPeer) Output() string { return p.out.String() }

// GetUpstream GETs path (under the peer's URL) with client and returns
// what the upstream received, failing tb unless the upstream answered.
func (p *OAuth2ProxyPeer) GetUpstream(tb testing.TB, client *http.Client, path string) UpstreamRequest {
	tb.Helper()
	resp, err := client.Get(p.URL + path)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	var got UpstreamRequest
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), p.URL) ||
		json.Unmarshal(body, &got) != nil {
		tb.Fatalf("GET %s ended at %s with %s, not the upstream:\n%s", path, resp.Request.URL, resp.Status, body)
	}
	return got
}

// SyncBuffer is a bytes.Buffer safe for a process's output (or a log)
// and a test reading it at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
