package config

import (
	"crypto/tls"
	"net/netip"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// postgresExample is the DSN the messages suggest.
const postgresExample = "postgres://ssogate@db.example.co.jp:5432/ssogate?sslmode=verify-full&sslrootcert=/etc/ssogate/db-ca.pem"

// postgresDSN checks a PostgreSQL DSN: it must parse, and a connection to
// a host beyond this machine must verify the server's certificate, since
// the connection carries password hashes and session ids. The messages
// never quote the DSN, which may hold a password.
func (v *validator) postgresDSN(key, dsn string) {
	if dsn == "" {
		v.errorf(key, "must not be empty for the postgres driver; use a connection URL, e.g. %s", postgresExample)
		return
	}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		// pgconn's message may quote the DSN, password included.
		v.errorf(key, "is not a valid PostgreSQL connection URL or key=value string, or a file it names (sslrootcert, sslcert, sslkey) cannot be read; use e.g. %s", postgresExample)
		return
	}
	type target struct {
		host     string
		verified bool
	}
	targets := []target{{cfg.Host, verifiesServer(cfg.TLSConfig)}}
	for _, fb := range cfg.Fallbacks {
		targets = append(targets, target{fb.Host, verifiesServer(fb.TLSConfig)})
	}
	for _, t := range targets {
		if t.verified || localHost(t.host) {
			continue
		}
		v.errorf(key, "connects to %s without verifying its TLS certificate (sslmode prefer, require or disable); "+
			"use sslmode=verify-full, with sslrootcert=FILE for a private CA, e.g. %s", t.host, postgresExample)
		return
	}
}

// verifiesServer reports whether a connection with c checks the server's
// certificate: sslmode verify-full leaves InsecureSkipVerify off, and
// verify-ca sets it but verifies the chain in VerifyPeerCertificate.
func verifiesServer(c *tls.Config) bool {
	return c != nil && (!c.InsecureSkipVerify || c.VerifyPeerCertificate != nil)
}

// localHost reports whether host is a Unix socket directory or a loopback
// address, where the traffic never leaves the machine.
func localHost(host string) bool {
	if strings.HasPrefix(host, "/") || host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
