package main

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store/postgres"
)

// TestReplicaChangeFeedStalled stalls a replica's change feed without
// closing it, the way a network cut without a reset or a hung server does:
// the PostgreSQL backend of its LISTEN connection is stopped (SIGSTOP), so
// notices stop coming while the connection stays open. A session revoked
// then must still be refused once cache_ttl has passed: cache_ttl is the
// fallback whenever notices do not arrive, not only when the connection
// is seen to fail.
func TestReplicaChangeFeedStalled(t *testing.T) {
	const cacheTTL = 2 * time.Second
	pg := testpeers.PostgresPrivate(t)
	dsn := pg.Database(t)
	up := newUpstream(t)
	addr := freeLoopbackAddr(t)
	rs := newReplicaSet(t, dsn, "http://"+addr, cacheTTL.String(), up.URL, "")
	n := rs.start(addr)
	rs.waitReady()
	rs.cli(replicaPW+"\n", "user", "add", "--email", replicaEmail, "--name", "Taro", "--password-stdin")
	_, ck := rs.signIn(replicaPW)
	rs.warm(ck)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	err = conn.QueryRow(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = 'ssogate-changes' AND datname = current_database()").Scan(&pid)
	conn.Close(ctx)
	if err != nil {
		t.Fatalf("the replica's LISTEN connection: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("stop the listener's backend: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })

	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.GetUserByEmail(ctx, replicaEmail)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeleteUserSessions(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for rs.status(rs.auth(n, ck)) == 200 {
		if time.Since(revoked) > cacheTTL+time.Second {
			t.Fatalf("%s still accepts a session revoked %v ago (cache_ttl %v): its change feed is stalled and nothing notices",
				n.name, time.Since(revoked).Round(time.Millisecond), cacheTTL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("refused %v after the revocation, with the feed stalled", time.Since(revoked).Round(time.Millisecond))
}
