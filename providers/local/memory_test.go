package local

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/providers"
)

// A login storm must not take more memory than the hashing budget allows:
// 1,000 concurrent bad sign-ins with 16 MiB hashes and 2 slots. Without
// the bound they would ask for 16 GB at once.
//
// What is measured is the heap, dead objects included, and every hash
// leaves a 16 MiB buffer behind for the collector. With the default
// GOGC=100 the peak reaches 6 or 7 buffers (96-112 MiB) for a 2-buffer
// budget, so the test runs the collector at GOGC=10 to see the hashes
// rather than the collector's slack: then the peak is 4 buffers, 5 at
// worst seen, and one more hash in flight than allowed shows as 6 or more.
func TestMemoryCeilingUnderLoginStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("login storm takes seconds")
	}
	const (
		logins      = 1000
		memoryKiB   = 16 * 1024
		maxInFlight = 2
		mib         = 1 << 20
		budget      = maxInFlight * memoryKiB * 1024
		// Slack: two finished buffers not yet collected, one being
		// allocated, and the few MiB the test binary holds anyway.
		ceiling = budget + 56*mib
	)
	cfg := Config{Memory: memoryKiB, Iterations: 1, Parallelism: 2, MaxInFlight: maxInFlight, MaxWaiting: logins}
	p := openTest(t, cfg, withAccount(t, cfg))

	const metric = "/memory/classes/heap/objects:bytes"
	sample := []metrics.Sample{{Name: metric}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	baseline := read()

	// The sampler also watches the slots: a storm that never filled them
	// would pass without proving anything.
	type peaks struct {
		heap     uint64
		inFlight int
	}
	stop := make(chan struct{})
	peakc := make(chan peaks)
	go func() {
		var pk peaks
		take := func() {
			pk.heap = max(pk.heap, read())
			inFlight, _ := p.Stats()
			pk.inFlight = max(pk.inFlight, inFlight)
		}
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			take()
			select {
			case <-tick.C:
			case <-stop:
				take()
				peakc <- pk
				return
			}
		}
	}()

	start := time.Now()
	errs := make([]error, logins)
	var wg sync.WaitGroup
	for i := range logins {
		wg.Go(func() {
			login := "taro@example.com" // wrong password
			if i%2 == 1 {
				login = "nobody@example.com" // unknown email
			}
			_, errs[i] = p.Authenticate(context.Background(), login, "wrong password")
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	pk := <-peakc
	peak := pk.heap

	for i, err := range errs {
		if !errors.Is(err, providers.ErrInvalidCredentials) {
			t.Fatalf("login %d: %v, want ErrInvalidCredentials", i, err)
		}
	}
	if inFlight, waiting := p.Stats(); inFlight != 0 || waiting != 0 {
		t.Errorf("Stats() after the storm = %d, %d; want 0, 0", inFlight, waiting)
	}
	if pk.inFlight != maxInFlight {
		t.Errorf("saw at most %d hashes in flight, want %d", pk.inFlight, maxInFlight)
	}
	t.Logf("%d logins in %v, %d in flight at most; heap objects: baseline %.1f MiB, peak %.1f MiB, ceiling %d MiB",
		logins, elapsed.Round(time.Millisecond), pk.inFlight, float64(baseline)/mib, float64(peak)/mib, ceiling/mib)
	if peak >= ceiling {
		t.Errorf("peak heap %.1f MiB, want below %d MiB", float64(peak)/mib, ceiling/mib)
	}
}
