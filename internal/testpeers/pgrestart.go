package testpeers

import "testing"

// Stop stops the server the way an administrator's restart does
// (pg_ctl stop -m fast: clients are disconnected, the data is kept). Only
// for a server of tb's own (PostgresPrivate): the shared one serves other
// tests.
func (p *PostgresServer) Stop(tb testing.TB) {
	tb.Helper()
	if p == pgShared.srv {
		tb.Fatal("postgres: Stop on the shared server; use PostgresPrivate")
	}
	if err := stopPostgres(p.dataDir); err != nil {
		tb.Fatalf("postgres: stop: %v", err)
	}
}

// Start starts a server Stop stopped again, on the same port and data,
// and waits until it answers.
func (p *PostgresServer) Start(tb testing.TB) {
	tb.Helper()
	if err := launchPostgres(p); err != nil {
		tb.Fatalf("postgres: start again: %v", err)
	}
}
