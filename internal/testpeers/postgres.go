package testpeers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgreSQL 15 as Debian installs it (scripts/test-deps.sh).
const pgBin = "/usr/lib/postgresql/15/bin"

// pgSharedPort is the shared server's port: fixed, so that every test
// binary finds it, and outside the ephemeral range 32768-60999, where a
// client socket of another program could hold it.
const pgSharedPort = 25439

// pgPassword is the superuser's password; the servers listen on 127.0.0.1
// only and hold nothing but test data.
const pgPassword = "ssogate-test"

// PostgresServer is a running PostgreSQL 15 server on 127.0.0.1. Tests
// never use its databases directly: each asks Database for one of its own.
type PostgresServer struct {
	// Port is the TCP port on 127.0.0.1.
	Port int
	// dataDir holds the cluster (and its Unix socket).
	dataDir string
}

// AdminDSN is the DSN of the superuser "postgres" on database db.
func (p *PostgresServer) AdminDSN(db string) string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable", pgPassword, p.Port, db)
}

// Database creates an empty database for tb alone and returns its DSN
// (the superuser's, so a test may also terminate backends). The database
// is dropped, with whatever still connects to it, when tb ends; register
// the cleanups that close stores on it after calling Database.
func (p *PostgresServer) Database(tb testing.TB) string {
	tb.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	name := "t_" + hex.EncodeToString(b[:])
	if err := p.exec(tb.Context(), "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("postgres: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("postgres: drop database %s: %v", name, err)
		}
	})
	return p.AdminDSN(name)
}

// Exec runs statements as the superuser on database db: for tests that
// change the server around a store (read-only, terminated backends).
func (p *PostgresServer) Exec(tb testing.TB, db string, statements ...string) {
	tb.Helper()
	conn, err := pgx.Connect(tb.Context(), p.AdminDSN(db))
	if err != nil {
		tb.Fatalf("postgres: connect: %v", err)
	}
	defer conn.Close(context.Background())
	for _, st := range statements {
		if _, err := conn.Exec(tb.Context(), st); err != nil {
			tb.Fatalf("postgres: %s: %v", st, err)
		}
	}
}

func (p *PostgresServer) exec(ctx context.Context, statement string) error {
	conn, err := pgx.Connect(ctx, p.AdminDSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, statement)
	return err
}

// pgShared is the server every test binary of the machine shares, joined
// and released like the directories (see the package doc), under the
// lock files baseDir/postgres.lock and baseDir/postgres.users. Its data
// lives outside baseDir, which only root may enter, since the server
// runs as the user postgres.
var pgShared = &pgPeer{dataDir: "/tmp/ssogate-postgres-peer"}

type pgPeer struct {
	dataDir string

	once    sync.Once
	srv     *PostgresServer
	missing string
	err     error
	held    *share
}

// Postgres returns the shared PostgreSQL 15 server, starting it if no
// test process on the machine runs it yet (about 1.5 s), or skips or fails
// tb when it cannot (see the package doc). It listens on 127.0.0.1:25439
// with fsync off: fast, and the data is thrown away.
func Postgres(tb testing.TB) *PostgresServer {
	tb.Helper()
	if testing.Short() {
		tb.Skip("PostgreSQL is not started with -short")
	}
	if !mainCalled.Load() {
		tb.Fatalf("testpeers: postgres: call testpeers.Main from TestMain, or the server is never released")
	}
	p := pgShared
	p.once.Do(p.join)
	switch {
	case p.missing != "" && os.Getenv(requireEnv) != "":
		tb.Fatalf("postgres: %s, but %s is set; run scripts/test-deps.sh (as root)", p.missing, requireEnv)
	case p.missing != "":
		tb.Skipf("postgres: %s (make test installs it)", p.missing)
	case p.err != nil:
		tb.Fatalf("postgres did not start: %v", p.err)
	}
	return p.srv
}

func pgMissing() string {
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(pgBin, b)); err != nil {
			return filepath.Join(pgBin, b) + " not installed"
		}
	}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("runuser"); err != nil {
			return "runuser not installed"
		}
	}
	return ""
}

func (p *pgPeer) join() {
	if p.missing = pgMissing(); p.missing != "" {
		return
	}
	if err := os.MkdirAll(baseDir, 0o700); err != nil {
		p.err = err
		return
	}
	srv := &PostgresServer{Port: pgSharedPort, dataDir: p.dataDir}
	begin := time.Now()
	started := false
	p.held, p.err = acquire(baseDir, "postgres",
		func() error { started = true; return startPostgres(srv) },
		func() error { return checkPostgres(srv) })
	if p.err != nil {
		return
	}
	p.srv = srv
	how := "joined the running server"
	if started {
		how = "started"
	}
	fmt.Fprintf(os.Stderr, "testpeers: postgres: %s in %v\n", how, time.Since(begin).Round(100*time.Millisecond))
}

// release is peer.release for the shared PostgreSQL server.
func (p *pgPeer) release(code int) error {
	stop := func() error { return stopPostgres(p.dataDir) }
	if p.held == nil {
		if _, err := os.Stat(p.dataDir); err != nil {
			return nil
		}
		return reap(baseDir, "postgres", stop)
	}
	_, err := p.held.release(func() error {
		if err := stop(); err != nil {
			return err
		}
		if code == 0 {
			return removeData(p.dataDir)
		}
		fmt.Fprintf(os.Stderr, "testpeers: postgres: log kept in %s\n", filepath.Join(p.dataDir, "pg.log"))
		return nil
	})
	p.held = nil
	return err
}

// PostgresPrivate starts a PostgreSQL server for tb alone, on a free port
// of its own, and stops it when tb ends: for tests that change the whole
// server (ALTER SYSTEM), which would disturb the shared one.
func PostgresPrivate(tb testing.TB) *PostgresServer {
	tb.Helper()
	if testing.Short() {
		tb.Skip("PostgreSQL is not started with -short")
	}
	if missing := pgMissing(); missing != "" {
		if os.Getenv(requireEnv) != "" {
			tb.Fatalf("postgres: %s, but %s is set; run scripts/test-deps.sh (as root)", missing, requireEnv)
		}
		tb.Skipf("postgres: %s (make test installs it)", missing)
	}
	dir, err := os.MkdirTemp("", "ssogate-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	var srv *PostgresServer
	for range 20 {
		port, err := freePort()
		if err != nil {
			tb.Fatal(err)
		}
		srv = &PostgresServer{Port: port, dataDir: dir}
		if err = startPostgres(srv); err == nil {
			break
		}
		if !strings.Contains(err.Error(), "already in use") {
			os.RemoveAll(dir)
			tb.Fatalf("postgres: start a private server: %v", err)
		}
	}
	tb.Cleanup(func() {
		if err := stopPostgres(dir); err != nil {
			tb.Errorf("postgres: stop the private server: %v", err)
		}
		if tb.Failed() {
			tb.Logf("postgres: the private server's log is kept in %s", filepath.Join(dir, "pg.log"))
			return
		}
		removeData(dir)
	})
	return srv
}

// freePort returns a port in 20000-29999 (below the ephemeral range) that
// nothing listens on right now.
func freePort() (int, error) {
	for range 100 {
		n, err := rand.Int(rand.Reader, big.NewInt(10000))
		if err != nil {
			return 0, err
		}
		port := 20000 + int(n.Int64())
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		ln.Close()
		return port, nil
	}
	return 0, errors.New("no free port in 20000-29999")
}

// asPostgres runs a PostgreSQL program as the user postgres when this
// process is root (initdb refuses root), else as this user.
func asPostgres(prog string, args ...string) *exec.Cmd {
	path := filepath.Join(pgBin, prog)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// chownPostgres gives dir to the user postgres when this process is root.
func chownPostgres(paths ...string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	out, err := exec.Command("chown", append([]string{"postgres:postgres"}, paths...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("chown: %v: %s", err, out)
	}
	return nil
}

// startPostgres makes a fresh cluster in srv.dataDir (after stopping
// whatever a killed run left there) and starts it.
func startPostgres(srv *PostgresServer) error {
	dir := srv.dataDir
	if err := stopPostgres(dir); err != nil {
		return fmt.Errorf("stop leftover: %w", err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "data")); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(pgPassword+"\n"), 0o600); err != nil {
		return err
	}
	if err := chownPostgres(dir, pw); err != nil {
		return err
	}
	if out, err := asPostgres("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--pwfile="+pw,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return launchPostgres(srv)
}

// launchPostgres starts the cluster already in srv.dataDir and waits
// until it answers.
func launchPostgres(srv *PostgresServer) error {
	dir := srv.dataDir
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"+
		" -c full_page_writes=off -c max_connections=300", srv.Port, dir)
	if out, err := asPostgres("pg_ctl", "-D", filepath.Join(dir, "data"), "-l", filepath.Join(dir, "pg.log"),
		"-w", "-t", "30", "-o", opts, "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "pg.log"))
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return checkPostgres(srv)
}

// checkPostgres makes sure the server answers as the superuser.
func checkPostgres(srv *PostgresServer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.exec(ctx, "SELECT 1"); err != nil {
		return fmt.Errorf("not answering on 127.0.0.1:%d: %w", srv.Port, err)
	}
	return nil
}

// stopPostgres stops the cluster in dir, if one runs there.
func stopPostgres(dir string) error {
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err != nil {
		return nil
	}
	out, err := asPostgres("pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "30", "stop").CombinedOutput()
	if err != nil && !strings.Contains(string(out), "not running") {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}
