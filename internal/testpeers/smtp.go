package testpeers

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smtpPython is the interpreter with Debian's python3-aiosmtpd; a python3
// earlier on PATH (pyenv) may lack the module.
const smtpPython = "/usr/bin/python3"

// SMTPOptions shape an SMTP peer. The zero value offers STARTTLS (not
// required) and no AUTH.
type SMTPOptions struct {
	// ImplicitTLS speaks TLS from the first byte (smtps://).
	ImplicitTLS bool
	// NoStartTLS offers no STARTTLS: plain text only.
	NoStartTLS bool
	// RequireStartTLS refuses mail before STARTTLS.
	RequireStartTLS bool
	// Username and Password, when set, are the only credentials AUTH
	// accepts.
	Username, Password string
	// Mechanisms are the AUTH mechanisms offered: PLAIN, LOGIN (default
	// both).
	Mechanisms []string
	// AuthWithoutTLS offers AUTH on a connection without TLS.
	AuthWithoutTLS bool
	// Port is the port to listen on; 0 picks a free one.
	Port int
}

// SMTPPeer is a running aiosmtpd process (internal/testpeers/smtpd.py) on
// 127.0.0.1, started for one test and stopped when it ends.
type SMTPPeer struct {
	// Host is 127.0.0.1; Port the port it listens on; Addr both.
	Host string
	Port int
	Addr string
	// Dir is where the server writes each mail it accepts.
	Dir string
	// CAFile is the PEM certificate of the CA that issued the server's
	// certificate (for 127.0.0.1 and localhost); RootCAs trusts it.
	CAFile  string
	RootCAs *x509.CertPool

	opts     SMTPOptions
	certFile string
	keyFile  string
	pwFile   string
	cmd      *exec.Cmd
}

// ReceivedMail is one mail the peer accepted.
type ReceivedMail struct {
	// Raw is the message as received (headers and body).
	Raw []byte
	// MailFrom and RcptTos are the envelope.
	MailFrom string
	RcptTos  []string
	// TLSVersion is "TLSv1.3" and the like, "" when sent in clear.
	TLSVersion string
	// AuthMechanism is the AUTH mechanism the client used ("" for none).
	AuthMechanism string
}

// StartSMTP starts an SMTP peer for tb and stops it when tb ends. Without
// /usr/bin/python3 and its aiosmtpd module the test is skipped, unless
// SSOGATE_REQUIRE_BROWSER is set (as `make test` does after installing
// every peer), when it fails.
func StartSMTP(tb testing.TB, o SMTPOptions) *SMTPPeer {
	tb.Helper()
	if out, err := exec.Command(smtpPython, "-c", "import aiosmtpd").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("testpeers: SMTP peer needs python3-aiosmtpd (scripts/test-deps.sh): %v %s", err, out)
		if os.Getenv(requireEnv) != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	dir := tb.TempDir()
	p := &SMTPPeer{Host: "127.0.0.1", Dir: filepath.Join(dir, "mail"), opts: o}
	if err := os.Mkdir(p.Dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	var err error
	p.CAFile, p.certFile, p.keyFile, err = writeTestCerts(dir)
	if err != nil {
		tb.Fatalf("testpeers: SMTP certificates: %v", err)
	}
	if p.RootCAs, err = readCA(p.CAFile); err != nil {
		tb.Fatal(err)
	}
	if o.Username != "" {
		p.pwFile = filepath.Join(dir, "password")
		if err := os.WriteFile(p.pwFile, []byte(o.Password+"\n"), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	p.Port = o.Port
	p.Start(tb)
	tb.Cleanup(p.Stop)
	return p
}

// Start starts the server again after Stop, on the same port.
func (p *SMTPPeer) Start(tb testing.TB) {
	tb.Helper()
	script, err := peerFile("internal/testpeers/smtpd.py")
	if err != nil {
		tb.Fatal(err)
	}
	args := []string{script, "--dir", p.Dir, "--port", strconv.Itoa(p.Port), "--cert", p.certFile, "--key", p.keyFile}
	o := p.opts
	if o.ImplicitTLS {
		args = append(args, "--implicit-tls")
	}
	if o.NoStartTLS {
		args = append(args, "--no-starttls")
	}
	if o.RequireStartTLS {
		args = append(args, "--require-starttls")
	}
	if o.Username != "" {
		args = append(args, "--username", o.Username, "--password-file", p.pwFile)
		if len(o.Mechanisms) > 0 {
			args = append(args, "--mechanisms", strings.Join(o.Mechanisms, ","))
		}
		if o.AuthWithoutTLS {
			args = append(args, "--auth-without-tls")
		}
	}
	cmd := exec.Command(smtpPython, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("testpeers: start SMTP peer: %v", err)
	}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	var line string
	select {
	case line = <-ready:
	case <-time.After(15 * time.Second):
	}
	port, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "READY ")))
	if !strings.HasPrefix(line, "READY ") || err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		tb.Fatalf("testpeers: SMTP peer did not start (said %q)", line)
	}
	p.cmd, p.Port, p.Addr = cmd, port, net.JoinHostPort(p.Host, strconv.Itoa(port))
}

// Stop stops the server and waits until it has exited (its port is then
// free); stopping a stopped peer does nothing.
func (p *SMTPPeer) Stop() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	p.cmd = nil
}

// Mails returns every mail received so far, in the order received.
func (p *SMTPPeer) Mails() ([]ReceivedMail, error) {
	names, err := filepath.Glob(filepath.Join(p.Dir, "*.eml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	mails := make([]ReceivedMail, 0, len(names))
	for _, name := range names {
		raw, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		meta, err := os.ReadFile(strings.TrimSuffix(name, ".eml") + ".json")
		if err != nil {
			return nil, err
		}
		var m struct {
			MailFrom      string   `json:"mail_from"`
			RcptTos       []string `json:"rcpt_tos"`
			TLSVersion    string   `json:"tls_version"`
			AuthMechanism string   `json:"auth_mechanism"`
		}
		if err := json.Unmarshal(meta, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		mails = append(mails, ReceivedMail{Raw: raw, MailFrom: m.MailFrom, RcptTos: m.RcptTos,
			TLSVersion: m.TLSVersion, AuthMechanism: m.AuthMechanism})
	}
	return mails, nil
}

// WaitMails waits until at least n mails have arrived, and returns them
// all; it fails tb after timeout.
func (p *SMTPPeer) WaitMails(tb testing.TB, n int, timeout time.Duration) []ReceivedMail {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		// Counting names is cheap; the mails are read once they are all there.
		names, err := filepath.Glob(filepath.Join(p.Dir, "*.eml"))
		if err != nil {
			tb.Fatal(err)
		}
		if len(names) >= n {
			mails, err := p.Mails()
			if err != nil {
				tb.Fatal(err)
			}
			return mails
		}
		if time.Now().After(deadline) {
			tb.Fatalf("testpeers: %d mails arrived in %s, want %d", len(names), timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// peerFile finds rel in the module that holds the working directory.
func peerFile(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, rel), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s: no go.mod above the working directory", rel)
		}
		dir = parent
	}
}

// writeTestCerts writes a CA and a server certificate it issued, for
// 127.0.0.1 and localhost, into dir.
func writeTestCerts(dir string) (caFile, certFile, keyFile string, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ssogate test SMTP CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return "", "", "", err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return "", "", "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return "", "", "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", "", err
	}
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{caFile, "CERTIFICATE", caDER}, {certFile, "CERTIFICATE", der}, {keyFile, "EC PRIVATE KEY", keyDER}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			return "", "", "", err
		}
	}
	return caFile, certFile, keyFile, nil
}
