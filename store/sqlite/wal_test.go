package sqlite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

var walLoad = flag.Duration("wal-load", 8*time.Second, "how long BenchmarkWALPeak loads the store")

// signInLoad is the write pattern of a sign-in storm: workers goroutines
// each in a loop create a session (as a sign-in does), read it back and
// touch it (as the next requests do), append an audit event and now and
// then end an old session, until ctx is done. It returns the number of
// loops completed.
func signInLoad(ctx context.Context, t testing.TB, s *Store, workers int) int64 {
	t.Helper()
	users := make([]*store.User, workers)
	for i := range users {
		users[i] = &store.User{Email: fmt.Sprintf("load%d@example.com", i), Status: store.StatusActive}
		if err := s.CreateUser(context.Background(), users[i]); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg    sync.WaitGroup
		loops atomic.Int64
		fail  atomic.Pointer[error]
	)
	for i := range workers {
		wg.Go(func() {
			u := users[i]
			var prev string
			for ctx.Err() == nil {
				b := make([]byte, 32)
				_, _ = rand.Read(b)
				id := hex.EncodeToString(b)
				now := time.Now()
				sess := &store.Session{ID: id, UserID: u.ID, AMR: []string{"pwd"}, AuthTime: now, ClientIP: "192.0.2.1",
					UserAgent: "Mozilla/5.0 (load)", CreatedAt: now, LastSeenAt: now,
					IdleExpiresAt: now.Add(30 * time.Minute), AbsoluteExpiresAt: now.Add(12 * time.Hour)}
				err := s.CreateSession(ctx, sess)
				if err == nil {
					_, err = s.GetSession(ctx, id)
				}
				if err == nil {
					err = s.TouchSession(ctx, id, now, now.Add(30*time.Minute))
				}
				if err == nil {
					err = s.AppendAudit(ctx, &store.AuditEvent{Action: "login", UserID: u.ID, Actor: u.Email,
						ClientIP: "192.0.2.1", Outcome: store.OutcomeSuccess, Detail: "provider=local", RequestID: id[:16]})
				}
				if err == nil && prev != "" {
					err = s.DeleteSession(ctx, prev)
				}
				if err != nil {
					if ctx.Err() == nil {
						fail.CompareAndSwap(nil, &err)
					}
					return
				}
				prev = id
				loops.Add(1)
			}
		})
	}
	wg.Wait()
	if err := fail.Load(); err != nil && !errors.Is(*err, context.Canceled) && !errors.Is(*err, context.DeadlineExceeded) {
		t.Fatalf("load: %v", *err)
	}
	return loops.Load()
}

// walSize is the size of the store's WAL file, 0 when there is none.
func walSize(path string) int64 {
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		return 0
	}
	return fi.Size()
}

// watchWAL samples the WAL's size until ctx is done and returns the peak.
func watchWAL(ctx context.Context, path string) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, walSize(path))
			select {
			case <-ctx.Done():
				out <- max(peak, walSize(path))
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// BenchmarkWALPeak measures how large the WAL grows under a sign-in storm
// of 64 writers for -wal-load (8s by default) and how large it is a moment
// after. Run it alone: go test -run '^$' -bench WALPeak -benchtime 1x ./store/sqlite/
func BenchmarkWALPeak(b *testing.B) {
	for b.Loop() {
		path := filepath.Join(b.TempDir(), "ssogate.db")
		s, err := Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), *walLoad)
		peak := watchWAL(ctx, path)
		loops := signInLoad(ctx, b, s, 64)
		cancel()
		p := <-peak
		time.Sleep(2 * time.Second)
		after := walSize(path)
		b.ReportMetric(float64(p)/(1<<20), "peak-wal-MiB")
		b.ReportMetric(float64(after)/(1<<20), "wal-after-2s-MiB")
		b.ReportMetric(float64(loops), "sign-ins")
		s.Close()
	}
}

// waitWAL waits up to 5 seconds for the WAL to shrink below limit bytes and
// returns its last size.
func waitWAL(path string, limit int64) int64 {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := walSize(path)
		if n < limit || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWALTruncatedAfterBurst checks that the periodic checkpoint gives the
// space of a burst back: the WAL is truncated soon after the writes stop,
// instead of keeping the size of the largest burst until restart.
func TestWALTruncatedAfterBurst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ssogate.db")
	s, err := Open(t.Context(), path, WithCheckpoint(100*time.Millisecond, 1<<30))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	peak := watchWAL(ctx, path)
	loops := signInLoad(ctx, t, s, 16)
	cancel()
	if p := <-peak; p < 256<<10 {
		t.Fatalf("the burst (%d sign-ins) grew the WAL to only %d bytes; too small a burst to test with", loops, p)
	}
	if n := waitWAL(path, 64<<10); n >= 64<<10 {
		t.Errorf("WAL is %d bytes 5s after the burst, want < 64 KiB", n)
	}
}

// TestWALCheckpointAfterCommits checks that a run of commits kicks a
// checkpoint without waiting for the periodic one.
func TestWALCheckpointAfterCommits(t *testing.T) {
	const after = 50
	path := filepath.Join(t.TempDir(), "ssogate.db")
	s, err := Open(t.Context(), path, WithCheckpoint(time.Hour, after))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	write := func(i int) {
		t.Helper()
		if err := s.AppendAudit(t.Context(), &store.AuditEvent{Action: "login", Detail: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Open's own commits (migrations) must not count towards the first kick.
	for i := range after - 1 {
		write(i)
	}
	time.Sleep(100 * time.Millisecond)
	if n := walSize(path); n == 0 {
		t.Fatalf("WAL truncated after %d commits, want the first checkpoint at %d", after-1, after)
	}
	write(after)
	if n := waitWAL(path, 1); n != 0 {
		t.Errorf("WAL is %d bytes after %d commits, want it truncated to 0", n, after)
	}
}
