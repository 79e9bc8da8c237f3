package local

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// When hashing goes idle the memory of the hashes is returned once, after
// the delay; not while a hash runs, and not again without new hashing.
func TestReclaimAfterIdle(t *testing.T) {
	cfg := Config{Memory: minMemory, Iterations: 1, Parallelism: 1, MaxInFlight: 1}
	p := openTest(t, cfg, withAccount(t, cfg))
	var freed atomic.Int32
	done := make(chan struct{}, 4)
	r := newReclaimer(p.limit.busy)
	r.free = func() { freed.Add(1); done <- struct{}{} }
	r.delay, r.every = 50*time.Millisecond, 50*time.Millisecond
	p.limit.onIdle = r.idle

	// A hash holding the only slot keeps the limiter busy: nothing returns.
	ctx := context.Background()
	if err := p.limit.acquire(ctx, p.limit.budget); err != nil {
		t.Fatal(err)
	}
	r.idle() // as if another provider's burst had ended meanwhile
	time.Sleep(150 * time.Millisecond)
	if n := freed.Load(); n != 0 {
		t.Fatalf("memory returned %d times while a hash ran, want 0", n)
	}
	p.limit.release(p.limit.budget)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("memory not returned within 5 s of hashing going idle")
	}

	// A sign-in (a real hash) after that returns it once more.
	_, _ = p.Authenticate(ctx, "taro@example.com", "wrong password")
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("memory not returned after a sign-in")
	}
	time.Sleep(200 * time.Millisecond)
	if n := freed.Load(); n != 2 {
		t.Errorf("memory returned %d times, want 2 (once per idle period)", n)
	}
}

// The default bound keeps every core busy and no more: CPUs over the
// parallelism, at least one, at most 256 MiB of hashes.
func TestDefaultMaxInFlight(t *testing.T) {
	if got := DefaultMaxInFlight(1<<20, 1); got != 1 {
		t.Errorf("DefaultMaxInFlight(1 GiB, 1) = %d, want 1", got)
	}
	if got, want := DefaultMaxInFlight(DefaultMemory, 16), max(1, min(runtime.NumCPU()/16, 4)); got != want {
		t.Errorf("DefaultMaxInFlight(64 MiB, 16 lanes) = %d, want %d", got, want)
	}
	if got := DefaultMaxInFlight(minMemory, 64); got != 1 {
		t.Errorf("DefaultMaxInFlight(8 MiB, 64 lanes) = %d, want 1", got)
	}
	if got, want := DefaultMaxInFlight(DefaultMemory, DefaultParallelism), max(1, min(runtime.NumCPU()/2, 4)); got != want {
		t.Errorf("DefaultMaxInFlight(default cost) = %d, want %d", got, want)
	}
}
