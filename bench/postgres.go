package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// A throwaway PostgreSQL 15 cluster for the PostgreSQL-store target, set up
// as in the project's test-peers notes, on its own port.
const (
	pgBin  = "/usr/lib/postgresql/15/bin"
	pgPort = "25433"
	pgDSN  = "postgres://sso:ssopw@127.0.0.1:" + pgPort + "/sso?sslmode=disable"
)

// postgres is a running throwaway cluster.
type postgres struct {
	dir string
}

// startPostgres creates and starts a cluster under a new directory in tmp.
// It returns an error saying why when it cannot (binaries missing, not
// root), for the report to show instead of the row.
func startPostgres(ctx context.Context, tmp string) (*postgres, error) {
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		return nil, fmt.Errorf("PostgreSQL 15 is not installed (%s/initdb)", pgBin)
	}
	if os.Getuid() != 0 {
		return nil, errors.New("starting a PostgreSQL cluster needs root (to run it as user postgres)")
	}
	if err := portFree("127.0.0.1:" + pgPort); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tmp, "pg-")
	if err != nil {
		return nil, err
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("postgrespw\n"), 0o600); err != nil {
		return nil, err
	}
	for _, p := range []string{dir, pw} {
		if out, err := exec.CommandContext(ctx, "chown", "postgres:postgres", p).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("chown %s: %v: %s", p, err, out)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	pg := &postgres{dir: dir}
	steps := [][]string{
		{"runuser", "-u", "postgres", "--", filepath.Join(pgBin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres",
			"--pwfile=" + pw, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"},
		{"runuser", "-u", "postgres", "--", filepath.Join(pgBin, "pg_ctl"), "-D", filepath.Join(dir, "data"),
			"-l", filepath.Join(dir, "pg.log"), "-w", "-t", "30", "-o",
			"-p " + pgPort + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", "start"},
		{filepath.Join(pgBin, "psql"), "-h", "127.0.0.1", "-p", pgPort, "-U", "postgres", "-v", "ON_ERROR_STOP=1",
			"-c", "CREATE ROLE sso LOGIN PASSWORD 'ssopw'", "-c", "CREATE DATABASE sso OWNER sso"},
	}
	for i, s := range steps {
		cmd := exec.CommandContext(ctx, s[0], s[1:]...)
		cmd.Env = append(os.Environ(), "PGPASSWORD=postgrespw")
		if out, err := cmd.CombinedOutput(); err != nil {
			if i > 0 {
				pg.stop()
			}
			return nil, fmt.Errorf("%s: %v\n%s", []string{"initdb", "pg_ctl start", "psql"}[i], err, indent(strings.TrimSpace(string(out))))
		}
	}
	return pg, nil
}

// stop shuts the cluster down; the directory goes with the bench's tmp.
func (pg *postgres) stop() {
	_ = exec.Command("runuser", "-u", "postgres", "--", filepath.Join(pgBin, "pg_ctl"), "-D", filepath.Join(pg.dir, "data"),
		"-m", "immediate", "-w", "stop").Run()
}
