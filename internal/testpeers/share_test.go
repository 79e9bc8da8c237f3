//go:build unix

package testpeers

import (
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// server counts what acquire and release do to a pretend server. Every
// acquire opens the lock files anew, so one test process stands in for
// several: flock locks belong to open files, not to processes.
type server struct {
	starts, checks, stops atomic.Int32
	startErr              error
	running               atomic.Bool
}

func (s *server) start() error {
	s.starts.Add(1)
	time.Sleep(50 * time.Millisecond) // long enough for acquires to queue
	if s.startErr != nil {
		return s.startErr
	}
	s.running.Store(true)
	return nil
}

func (s *server) check() error {
	s.checks.Add(1)
	if !s.running.Load() {
		return errors.New("not running")
	}
	return nil
}

func (s *server) stop() error {
	s.stops.Add(1)
	s.running.Store(false)
	return nil
}

func (s *server) acquire(t *testing.T, base string) *share {
	t.Helper()
	sh, err := acquire(base, "peer", s.start, s.check)
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

func (s *server) want(t *testing.T, starts, checks, stops int32) {
	t.Helper()
	if s.starts.Load() != starts || s.checks.Load() != checks || s.stops.Load() != stops {
		t.Fatalf("starts, checks, stops = %d, %d, %d; want %d, %d, %d",
			s.starts.Load(), s.checks.Load(), s.stops.Load(), starts, checks, stops)
	}
}

func TestShareStartsOnceStopsLast(t *testing.T) {
	base := t.TempDir()
	var s server
	a := s.acquire(t, base)
	b := s.acquire(t, base)
	s.want(t, 1, 1, 0)
	if stopped, err := a.release(s.stop); stopped || err != nil {
		t.Fatalf("first to leave: stopped %v, %v", stopped, err)
	}
	c := s.acquire(t, base) // joins while b still holds it
	s.want(t, 1, 2, 0)
	for _, sh := range []*share{b, c} {
		if _, err := sh.release(s.stop); err != nil {
			t.Fatal(err)
		}
	}
	s.want(t, 1, 2, 1)
	// Nobody holds it now: the next one starts it again.
	s.acquire(t, base).release(s.stop)
	s.want(t, 2, 2, 2)
}

func TestShareConcurrentAcquireStartsOnce(t *testing.T) {
	base := t.TempDir()
	var s server
	var wg sync.WaitGroup
	shares := make([]*share, 4)
	for i := range shares {
		wg.Go(func() {
			var err error
			if shares[i], err = acquire(base, "peer", s.start, s.check); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	s.want(t, 1, 3, 0)
	for _, sh := range shares {
		sh.release(s.stop)
	}
	s.want(t, 1, 3, 1)
}

func TestShareRecoversFromKilledHolder(t *testing.T) {
	base := t.TempDir()
	var s server
	a := s.acquire(t, base)
	// Killed: the kernel drops its lock, nothing runs release.
	a.users.Close()
	b := s.acquire(t, base)
	s.want(t, 2, 0, 0) // the start stops what the dead run left first
	b.release(s.stop)
	s.want(t, 2, 0, 1)
}

func TestShareFailedStartHoldsNothing(t *testing.T) {
	base := t.TempDir()
	s := server{startErr: errors.New("port in use")}
	if _, err := acquire(base, "peer", s.start, s.check); err == nil {
		t.Fatal("acquire succeeded although start failed")
	}
	s.startErr = nil
	s.acquire(t, base).release(s.stop)
	s.want(t, 2, 0, 1)
}

func TestReapStopsOnlyUnusedServers(t *testing.T) {
	base := t.TempDir()
	var s server
	a := s.acquire(t, base)
	if err := reap(base, "peer", s.stop); err != nil {
		t.Fatal(err)
	}
	s.want(t, 1, 0, 0) // in use: left alone
	a.users.Close()    // killed
	if err := reap(base, "peer", s.stop); err != nil {
		t.Fatal(err)
	}
	s.want(t, 1, 0, 1)

	// Someone joining or leaving holds the mutex: left to them.
	mu, err := lockMutex(filepath.Join(base, "peer.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer mu.Close()
	if err := reap(base, "peer", s.stop); err != nil {
		t.Fatal(err)
	}
	s.want(t, 1, 0, 1)
}
