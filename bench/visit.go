package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// visitAll requests t.URL once with each cookie of the file at path (one
// Cookie header value a line), visitConns at a time, so that the measured runs
// of a many-session target see every session already resolved once, as a
// gateway that has been up a while would: without it the first runs would
// measure how fast sessions are first read from the store. It fails on
// the first answer that is not 200.
func visitAll(ctx context.Context, t *target, path string) (int, time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cookies := make(chan string, 64)
	go func() {
		defer close(cookies)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if line := sc.Text(); line != "" {
				select {
				case cookies <- line:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	start := time.Now()
	client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: visitConns}, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	var n atomic.Int64
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for range visitConns {
		wg.Go(func() {
			for c := range cookies {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
				if err == nil {
					for _, h := range t.headers {
						k, v, _ := strings.Cut(h, ":")
						req.Header.Set(k, strings.TrimSpace(v))
					}
					req.Header.Set("Cookie", c)
					var resp *http.Response
					if resp, err = client.Do(req); err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							err = fmt.Errorf("GET %s: %s, want 200", t.URL, resp.Status)
						}
					}
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					for range cookies {
						// Drain, so the reader ends.
					}
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return int(n.Load()), time.Since(start), firstErr
}

// visitConns is how many requests visitAll keeps in flight: as many as
// wrk's connections, so that a pass takes about as long as the server
// needs, not as long as a few clients wait.
const visitConns = 64
