package testpeers

import (
	"bufio"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Where Debian's apache2 and libapache2-mod-auth-mellon put the server and
// its modules.
const (
	apacheBin     = "/usr/sbin/apache2"
	apacheModules = "/usr/lib/apache2/modules"
)

// SAML bindings and NameID formats a test names.
const (
	BindingHTTPRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	BindingHTTPPost     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	NameIDEmail         = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDPersistent    = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	NameIDTransient     = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
)

// MellonConfig shapes an Apache httpd with mod_auth_mellon as a SAML
// service provider. IdPMetadata is required.
type MellonConfig struct {
	// IdPMetadata is the identity provider's metadata (an
	// EntityDescriptor with an IDPSSODescriptor), written to the file
	// MellonIdPMetadataFile names.
	IdPMetadata []byte
	// Port is the port to listen on; 0 picks a free one. Pick it first
	// with FreePort when the IdP must know the SP before httpd starts.
	Port int
	// NameIDFormats are listed in the SP metadata, in order; none by
	// default.
	NameIDFormats []string
	// NoEncryptionKey leaves the encryption key out of the SP metadata,
	// so that an IdP sends the assertion unencrypted.
	NoEncryptionKey bool
	// Settings are further mod_auth_mellon (or Apache) directives for
	// the whole site (<Location />), e.g. MellonSignatureMethod rsa-sha1,
	// MellonSetEnv, MellonSubjectConfirmationDataAddressCheck Off.
	Settings []MellonSetting
	// SecretSettings are further directives for /secret/ only, e.g.
	// MellonCond or MellonRequire, or RequestHeader (mod_headers is
	// loaded) to pass a variable as a header, which the page shows as
	// HTTP_<NAME>. (Settings that shape the AuthnRequest, such as
	// MellonAuthnContextClassRef, act only in Settings: the request is
	// made at /mellon/login.)
	SecretSettings []MellonSetting
}

// MellonSetting is one Apache directive: its name and arguments (quoted
// when written).
type MellonSetting struct {
	Directive string
	Args      []string
}

// MellonPeer is a running Apache httpd (Debian's apache2) with
// mod_auth_mellon 0.18 on 127.0.0.1, started for one test and stopped
// when it ends.
//
// Its mellon endpoints are under /mellon/: metadata (the SP metadata,
// also the entity ID), login, postResponse (the assertion consumer
// service, HTTP-POST), logout (single logout, HTTP-Redirect). /secret/…
// needs a mellon session (AuthType Mellon, MellonEnable auth, Require
// valid-user) and is a CGI script that answers with its environment, as
// text/plain lines NAME=value: REMOTE_USER, AUTH_TYPE, and what mellon
// set: MELLON_NAME_ID (the NameID) and one MELLON_<attribute name> per
// attribute (its first value; MELLON_<name>_0, _1 … hold each value),
// or the names MellonSetEnv and MellonSetEnvNoPrefix give.
// /whoami is the same script without authentication (MellonEnable info):
// it shows the session, if any. /loggedout is a plain page, the
// ReturnTo of LogoutURL.
//
// mellon's session cookie is named mellon-p<port> (two peers in one
// browser keep theirs apart) and carries no SameSite attribute: over
// http, Chromium would drop mellon's usual SameSite=None.
type MellonPeer struct {
	// URL is http://127.0.0.1:<port>.
	URL string
	// EntityID is URL + "/mellon/metadata", where mellon serves
	// SPMetadata.
	EntityID string
	// SPMetadata is the service provider's metadata to register at the
	// IdP: signing and (unless NoEncryptionKey) encryption key, ACS
	// URL/mellon/postResponse (HTTP-POST), SLO URL/mellon/logout
	// (HTTP-Redirect).
	SPMetadata []byte
	// Key and Certificate are the SP's signing and encryption pair.
	Key         *rsa.PrivateKey
	Certificate *x509.Certificate
	// Dir holds the configuration, keys, metadata and logs.
	Dir string

	conf string
	cmd  *exec.Cmd
	done chan struct{}
	out  *SyncBuffer
}

// apacheUser is the user httpd's children run as when started by root
// (Apache refuses to serve as root).
const apacheUser = "www-data"

// Mellon starts Apache with mod_auth_mellon trusting the IdP of
// c.IdPMetadata and stops it when tb ends. Without apache2 and
// libapache2-mod-auth-mellon the test is skipped, unless
// SSOGATE_REQUIRE_BROWSER is set, when it fails. The error log is logged
// when tb fails.
func Mellon(tb testing.TB, c MellonConfig) *MellonPeer {
	tb.Helper()
	var missing []string
	for _, f := range []string{apacheBin, filepath.Join(apacheModules, "mod_auth_mellon.so")} {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("testpeers: mellon peer needs %s (scripts/test-deps.sh installs apache2 and libapache2-mod-auth-mellon)", strings.Join(missing, ", "))
		if os.Getenv(requireEnv) != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	if len(c.IdPMetadata) == 0 {
		tb.Fatal("testpeers: Mellon needs the IdP's metadata")
	}
	// Not tb.TempDir: its parents are private to this user, and the
	// children of an httpd started by root run as www-data.
	dir, err := os.MkdirTemp("", "ssogate-mellon-")
	if err != nil {
		tb.Fatal(err)
	}
	m := &MellonPeer{Dir: dir, out: &SyncBuffer{}}
	tb.Cleanup(func() {
		m.Stop()
		if tb.Failed() {
			tb.Logf("testpeers: mellon: httpd's error log (kept in %s):\n%s", dir, m.ErrorLog())
			return
		}
		removeData(dir)
	})
	if c.Port == 0 {
		c.Port = FreePort(tb)
	}
	m.URL = "http://127.0.0.1:" + strconv.Itoa(c.Port)
	m.EntityID = m.URL + "/mellon/metadata"
	m.Key, m.Certificate = RSAKeyPair(tb, "127.0.0.1")
	m.SPMetadata = mellonSPMetadata(m.URL, m.Certificate, c)
	keyDER, err := x509.MarshalPKCS8PrivateKey(m.Key)
	if err != nil {
		tb.Fatal(err)
	}
	for _, sub := range []string{"run", "cgi", "htdocs"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"sp-key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600},
		{"sp-cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: m.Certificate.Raw}), 0o644},
		{"sp-metadata.xml", m.SPMetadata, 0o644},
		{"idp-metadata.xml", c.IdPMetadata, 0o644},
		{"cgi/env", []byte(mellonCGI), 0o755},
		{"htdocs/loggedout", []byte("signed out\n"), 0o644},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			tb.Fatal(err)
		}
	}
	m.conf = filepath.Join(dir, "httpd.conf")
	if err := os.WriteFile(m.conf, []byte(m.httpdConf(c)), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := chownTree(dir); err != nil {
		tb.Fatal(err)
	}
	if out, err := exec.Command(apacheBin, "-t", "-f", m.conf).CombinedOutput(); err != nil {
		tb.Fatalf("testpeers: mellon: httpd refuses its configuration: %v\n%s", err, out)
	}
	m.start(tb)
	return m
}

// chownTree gives dir and everything in it to www-data when this process
// is root, so that httpd's children can read the keys and metadata and
// write mellon's lock file.
func chownTree(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(apacheUser)
	if err != nil {
		return fmt.Errorf("testpeers: mellon: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// mellonCGI answers with its whole environment, one NAME=value a line:
// what mellon set (and the CGI variables, HTTP_* request headers among
// them). Apache turns characters other than letters, digits and _ in a
// variable's name into _ for CGI, so an attribute named with a URI
// (urn:oid:…) shows as MELLON_urn_oid_…; MellonSetEnv names it better.
const mellonCGI = `#!/bin/sh
printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n'
env | LC_ALL=C sort
`

// httpdConf is the server's whole configuration: nothing of Debian's
// /etc/apache2 is read.
func (m *MellonPeer) httpdConf(c MellonConfig) string {
	var b strings.Builder
	d := m.Dir
	hostPort := strings.TrimPrefix(m.URL, "http://")
	fmt.Fprintf(&b, "ServerRoot %s\nDefaultRuntimeDir %s\nPidFile %s\nErrorLog %s\nLogLevel info auth_mellon:debug\n",
		quote(d), quote(filepath.Join(d, "run")), quote(filepath.Join(d, "httpd.pid")), quote(filepath.Join(d, "error.log")))
	fmt.Fprintf(&b, "Listen %s\nServerName %s\n", hostPort, hostPort)
	for _, mod := range []string{"mpm_prefork", "authn_core", "authz_core", "authz_user", "alias", "cgi", "headers", "setenvif", "auth_mellon"} {
		fmt.Fprintf(&b, "LoadModule %s_module %s\n", mod, quote(filepath.Join(apacheModules, "mod_"+mod+".so")))
	}
	if os.Geteuid() == 0 {
		fmt.Fprintf(&b, "User %s\nGroup %s\n", apacheUser, apacheUser)
	}
	b.WriteString("StartServers 1\nMinSpareServers 1\nMaxSpareServers 4\nMaxRequestWorkers 16\n")
	fmt.Fprintf(&b, "DocumentRoot %s\n", quote(filepath.Join(d, "htdocs")))
	// Sessions live in shared memory (made anew by every start or
	// reload); the lock file is this server's own, not /var/run's.
	fmt.Fprintf(&b, "MellonCacheSize 100\nMellonLockFile %s\n", quote(filepath.Join(d, "mellon.lock")))
	// mellon marks its cookie SameSite=None, which a browser drops unless
	// it is also Secure (https): over http it must carry no SameSite at all
	// (Lax in the browser, enough on 127.0.0.1 where every port is the
	// same site).
	b.WriteString("SetEnvIf Request_URI ^ MELLON_DISABLE_SAMESITE=1\n")
	fmt.Fprintf(&b, "ScriptAliasMatch ^/secret/ %s\n", quote(filepath.Join(d, "cgi", "env")))
	fmt.Fprintf(&b, "ScriptAliasMatch ^/whoami$ %s\n", quote(filepath.Join(d, "cgi", "env")))
	fmt.Fprintf(&b, "<Directory %s>\n  Require all granted\n</Directory>\n", quote(d))
	b.WriteString("<Location />\n  Require all granted\n  MellonEnable info\n  MellonEndpointPath /mellon\n")
	// The cookie's name is mellon-<this>: cookies do not tell ports apart,
	// and two peers in one browser must not share one.
	fmt.Fprintf(&b, "  MellonVariable %s\n", quote("p"+strings.TrimPrefix(hostPort, "127.0.0.1:")))
	fmt.Fprintf(&b, "  MellonSPMetadataFile %s\n  MellonSPPrivateKeyFile %s\n  MellonSPCertFile %s\n  MellonIdPMetadataFile %s\n",
		quote(filepath.Join(d, "sp-metadata.xml")), quote(filepath.Join(d, "sp-key.pem")),
		quote(filepath.Join(d, "sp-cert.pem")), quote(filepath.Join(d, "idp-metadata.xml")))
	writeSettings(&b, c.Settings)
	b.WriteString("</Location>\n<Location /secret/>\n  AuthType Mellon\n  MellonEnable auth\n  Require valid-user\n")
	writeSettings(&b, c.SecretSettings)
	b.WriteString("</Location>\n")
	return b.String()
}

func writeSettings(b *strings.Builder, settings []MellonSetting) {
	for _, s := range settings {
		b.WriteString("  " + s.Directive)
		for _, a := range s.Args {
			b.WriteString(" " + quote(a))
		}
		b.WriteString("\n")
	}
}

// quote is s as one Apache configuration argument.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// mellonSPMetadata is the SP's metadata as mellon_create_metadata (in
// libapache2-mod-auth-mellon) writes it, with the NameID formats asked
// for.
func mellonSPMetadata(base string, cert *x509.Certificate, c MellonConfig) []byte {
	var b strings.Builder
	certB64 := base64.StdEncoding.EncodeToString(cert.Raw)
	key := func(use string) {
		fmt.Fprintf(&b, `    <KeyDescriptor use="%s"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>`+"\n", use, certB64)
	}
	fmt.Fprintf(&b, `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%s">`+"\n", html.EscapeString(base+"/mellon/metadata"))
	b.WriteString(`  <SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="true" WantAssertionsSigned="true">` + "\n")
	key("signing")
	if !c.NoEncryptionKey {
		key("encryption")
	}
	fmt.Fprintf(&b, `    <SingleLogoutService Binding="%s" Location="%s/mellon/logout"/>`+"\n", BindingHTTPRedirect, html.EscapeString(base))
	for _, f := range c.NameIDFormats {
		fmt.Fprintf(&b, "    <NameIDFormat>%s</NameIDFormat>\n", html.EscapeString(f))
	}
	fmt.Fprintf(&b, `    <AssertionConsumerService index="0" isDefault="true" Binding="%s" Location="%s/mellon/postResponse"/>`+"\n", BindingHTTPPost, html.EscapeString(base))
	b.WriteString("  </SPSSODescriptor>\n</EntityDescriptor>\n")
	return []byte(b.String())
}

// start runs httpd in the foreground (the parent stays this process's
// child; its children serve) and waits until it answers.
func (m *MellonPeer) start(tb testing.TB) {
	tb.Helper()
	begin := time.Now()
	m.cmd = exec.Command(apacheBin, "-f", m.conf, "-DFOREGROUND")
	m.cmd.SysProcAttr = peerProcAttr()
	m.cmd.Stdout, m.cmd.Stderr = m.out, m.out
	if err := m.cmd.Start(); err != nil {
		tb.Fatalf("testpeers: mellon: start httpd: %v", err)
	}
	done := make(chan struct{})
	m.done = done
	cmd := m.cmd
	go func() { cmd.Wait(); close(done) }()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-done:
			tb.Fatalf("testpeers: mellon: httpd exited: %v\n%s\n%s", cmd.ProcessState, m.out.String(), m.ErrorLog())
		default:
		}
		if resp, err := client.Get(m.URL + "/mellon/metadata"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("testpeers: mellon: httpd does not answer on %s\n%s", m.URL, m.ErrorLog())
		}
		time.Sleep(30 * time.Millisecond)
	}
	tb.Logf("testpeers: mellon: httpd on %s ready in %v", m.URL, time.Since(begin).Round(time.Millisecond))
}

// Stop stops httpd and waits until it and its children have exited;
// stopping it again does nothing.
func (m *MellonPeer) Stop() {
	if m.cmd == nil {
		return
	}
	// SIGTERM to the parent stops its children too, and it waits for them.
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(15 * time.Second):
		m.cmd.Process.Kill()
		<-m.done
	}
	m.cmd = nil
}

// Restart stops httpd and starts it again on the same port with the same
// files: mellon's sessions, in shared memory, are gone.
func (m *MellonPeer) Restart(tb testing.TB) {
	tb.Helper()
	m.Stop()
	m.start(tb)
}

// Reload makes httpd read its files again (a graceful restart, SIGUSR1)
// and returns once the new generation serves. mellon's sessions end: it
// makes its shared memory anew.
func (m *MellonPeer) Reload(tb testing.TB) {
	tb.Helper()
	before := strings.Count(m.ErrorLog(), "resuming normal operations")
	if err := m.cmd.Process.Signal(gracefulRestart); err != nil {
		tb.Fatalf("testpeers: mellon: graceful restart: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(m.ErrorLog(), "resuming normal operations") <= before {
		if time.Now().After(deadline) {
			tb.Fatalf("testpeers: mellon: httpd did not reload\n%s", m.ErrorLog())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// SetIdPMetadata replaces the IdP's metadata (after the IdP rotated its
// key, say) and reloads httpd.
func (m *MellonPeer) SetIdPMetadata(tb testing.TB, metadata []byte) {
	tb.Helper()
	path := filepath.Join(m.Dir, "idp-metadata.xml")
	if err := os.WriteFile(path, metadata, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := chownTree(m.Dir); err != nil {
		tb.Fatal(err)
	}
	m.Reload(tb)
}

// ErrorLog is httpd's error log so far (mod_auth_mellon logs at debug
// level: the SAML messages and why it refused one).
func (m *MellonPeer) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(m.Dir, "error.log"))
	return string(b) + m.out.String()
}

// SecretURL is URL + "/secret/" + path.
func (m *MellonPeer) SecretURL(path string) string { return m.URL + "/secret/" + path }

// LoginURL is mellon's login endpoint, which sends the browser to the IdP
// and then back to returnTo.
func (m *MellonPeer) LoginURL(returnTo string) string {
	return m.URL + "/mellon/login?ReturnTo=" + url.QueryEscape(returnTo)
}

// LogoutURL is mellon's single logout endpoint started by the SP: it
// sends a LogoutRequest to the IdP (HTTP-Redirect) and, once the IdP
// answers, the browser to URL/loggedout.
func (m *MellonPeer) LogoutURL() string {
	return m.URL + "/mellon/logout?ReturnTo=" + url.QueryEscape(m.URL+"/loggedout")
}

// MellonEnv is what the /secret/ and /whoami pages show: the CGI
// environment, with the variables mellon set, by name.
type MellonEnv map[string]string

// Values are every value of the attribute variable name (e.g.
// "MELLON_groups"): mellon sets name_0, name_1 … for each.
func (e MellonEnv) Values(name string) []string {
	var vs []string
	for i := 0; ; i++ {
		v, ok := e[name+"_"+strconv.Itoa(i)]
		if !ok {
			return vs
		}
		vs = append(vs, v)
	}
}

// ParseMellonEnv reads a /secret/ or /whoami page.
func ParseMellonEnv(body io.Reader) (MellonEnv, error) {
	env := MellonEnv{}
	sc := bufio.NewScanner(body)
	sc.Buffer(nil, 1<<20)
	last := ""
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), "=")
		if !ok || name == "" {
			// A value with a line break goes on over the next line.
			if last == "" {
				return nil, fmt.Errorf("testpeers: mellon: not NAME=value: %q", sc.Text())
			}
			env[last] += "\n" + sc.Text()
			continue
		}
		env[name], last = value, name
	}
	return env, sc.Err()
}

// Whoami reads /whoami with client: the mellon session's variables, or
// none when client has no session.
func (m *MellonPeer) Whoami(tb testing.TB, client *http.Client) MellonEnv {
	tb.Helper()
	resp, err := client.Get(m.URL + "/whoami")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("GET /whoami: %s\n%s", resp.Status, b)
	}
	env, err := ParseMellonEnv(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return env
}
