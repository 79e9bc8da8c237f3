package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCA writes a self-signed CA certificate and returns its path.
func writeCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "db-ca"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "db-ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPostgresDSNAccepted checks the PostgreSQL DSNs the validation lets
// through: a verified TLS connection to another host, and any connection
// that stays on this machine.
func TestPostgresDSNAccepted(t *testing.T) {
	// pgx reads sslrootcert while parsing: it must be a real certificate.
	ca := writeCA(t)
	for _, dsn := range []string{
		"postgres://sso:pw@db.example.co.jp:5432/sso?sslmode=verify-full",
		"postgres://sso@db.example.co.jp/sso?sslmode=verify-ca&sslrootcert=" + ca,
		"host=db.example.co.jp dbname=sso sslmode=require sslrootcert=" + ca,
		"postgres://sso:pw@127.0.0.1:5432/sso?sslmode=disable",
		"postgres://sso@[::1]/sso",
		"host=/var/run/postgresql dbname=sso",
		"postgres://sso@localhost/sso",
	} {
		c := mustParse(t, "store:\n  driver: postgres\n  dsn: \""+dsn+"\"\n"+oneService)
		if c.Store.DSN != dsn {
			t.Errorf("DSN = %q, want %q as written", c.Store.DSN, dsn)
		}
	}
}

// TestPostgresDSNPasswordNotShown checks that a DSN refused for any
// reason is not quoted back: it may hold the database password.
func TestPostgresDSNPasswordNotShown(t *testing.T) {
	for _, dsn := range []string{
		"postgres://sso:s3cret-pw@db:notaport/sso",
		"postgres://sso:s3cret-pw@db.example.co.jp/sso?sslmode=require",
		"host=db.example.co.jp password=s3cret-pw sslmode=bogus",
	} {
		got := parseErr(t, "store:\n  driver: postgres\n  dsn: \""+dsn+"\"\n")
		if !strings.Contains(got, "store.dsn") {
			t.Errorf("error for %q does not name store.dsn: %s", dsn, got)
		}
		if strings.Contains(got, "s3cret-pw") {
			t.Errorf("error for a refused DSN shows its password: %s", got)
		}
	}
}
