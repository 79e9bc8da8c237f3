package logbuf

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Lines written by many goroutines at once arrive whole, each goroutine's
// in its order, none lost, through a small buffer that fills often; Close
// writes what is left.
func TestConcurrentLinesCompleteAndOrdered(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := New(f, 4096, time.Hour) // only fullness and Close flush
	const writers, lines = 16, 2000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			pad := strings.Repeat("x", g*7+1)
			for i := range lines {
				fmt.Fprintf(w, "writer=%d seq=%d pad=%s end\n", g, i, pad)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		var g, i int
		var pad string
		if _, err := fmt.Sscanf(sc.Text(), "writer=%d seq=%d pad=%s end", &g, &i, &pad); err != nil {
			t.Fatalf("line %d %q: %v", n, sc.Text(), err)
		}
		if len(pad) != g*7+1 {
			t.Fatalf("line %d %q: torn", n, sc.Text())
		}
		if i != next[g] {
			t.Fatalf("line %d: writer %d seq %d, want %d", n, g, i, next[g])
		}
		next[g]++
		n++
	}
	if n != writers*lines {
		t.Fatalf("%d lines, want %d", n, writers*lines)
	}
}

// A line waits at most about the interval, without Close or a full buffer.
func TestFlushedByInterval(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	w := New(lockedWriter{&mu, &out}, 0, 20*time.Millisecond)
	defer w.Close()
	if _, err := w.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if out.Len() != 0 {
		t.Errorf("written at once: %q; want it buffered", out.String())
	}
	mu.Unlock()
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		got := out.String()
		mu.Unlock()
		if got == "one\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 s the destination holds %q, want %q", got, "one\n")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// After Close nothing is buffered any more: a late line is written at once.
func TestWriteAfterClose(t *testing.T) {
	var out bytes.Buffer
	w := New(&out, 0, time.Hour)
	_, _ = w.Write([]byte("before\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "before\n" {
		t.Fatalf("after Close: %q", out.String())
	}
	_, _ = w.Write([]byte("after\n"))
	if out.String() != "before\nafter\n" {
		t.Fatalf("a write after Close: %q", out.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
