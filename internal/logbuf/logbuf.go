// Package logbuf is a buffered log writer shared by the slog handler and
// the access log: whole records are appended to one buffer, in the order
// they arrive, and written to the destination in batches by a background
// flusher, so a busy gateway makes one write(2) per batch instead of one
// per request.
package logbuf

import (
	"io"
	"sync"
	"time"
)

// Defaults for New.
const (
	// DefaultSize is the buffer that, once full, is written at once.
	DefaultSize = 64 << 10
	// DefaultInterval is how long a record may wait in the buffer.
	DefaultInterval = 100 * time.Millisecond
)

// Writer is an io.Writer that buffers whole records. Each Write is one
// record (slog handlers write one record per call) and is never split or
// interleaved with another. Records are written to the destination in
// order, every DefaultInterval or as soon as DefaultSize bytes wait.
//
// Memory is bounded: when the destination is slower than the records
// arrive, Write blocks while the full buffer is written (back-pressure);
// it never drops a record. At most two buffers exist, the one filling and
// the one being written.
//
// Close (or Flush) must be called before the process exits, or up to
// DefaultInterval of records are lost.
type Writer struct {
	dst      io.Writer
	size     int
	interval time.Duration

	mu     sync.Mutex // guards buf, closed
	buf    []byte
	closed bool

	// out serializes writes to dst and keeps batches in order: a batch is
	// taken from buf and written while out is held, so one taken later
	// is written later.
	out   sync.Mutex
	spare []byte // the buffer not filling, under out
	err   error  // the first write error, under out

	stop chan struct{}
	done chan struct{}
}

// New returns a Writer to dst that flushes every interval or when size
// bytes wait; zero values take the defaults. Close stops its flusher.
func New(dst io.Writer, size int, interval time.Duration) *Writer {
	if size <= 0 {
		size = DefaultSize
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	w := &Writer{dst: dst, size: size, interval: interval,
		buf: make([]byte, 0, size), spare: make([]byte, 0, size),
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.flusher()
	return w
}

// Write appends the record p. It returns len(p), nil unless the Writer is
// closed, in which case p is written straight to the destination, so a
// late log line is still not lost.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	for !w.closed && len(w.buf) > 0 && len(w.buf)+len(p) > w.size {
		// Full: write it out now, in this goroutine, then try again.
		w.mu.Unlock()
		_ = w.Flush()
		w.mu.Lock()
	}
	if w.closed {
		w.mu.Unlock()
		w.out.Lock()
		defer w.out.Unlock()
		return w.dst.Write(p)
	}
	w.buf = append(w.buf, p...)
	w.mu.Unlock()
	return len(p), nil
}

// Flush writes every buffered record to the destination and returns the
// first write error seen so far.
func (w *Writer) Flush() error {
	// out before mu, always: holding out while the batch is taken keeps
	// batches in order, and one lock order keeps it free of deadlock.
	w.out.Lock()
	defer w.out.Unlock()
	w.mu.Lock()
	batch := w.buf
	w.buf = w.spare[:0]
	w.mu.Unlock()
	if len(batch) > 0 {
		if _, err := w.dst.Write(batch); err != nil && w.err == nil {
			w.err = err
		}
	}
	if cap(batch) > 2*w.size {
		// A record far larger than the buffer grew it; do not keep that.
		batch = make([]byte, 0, w.size)
	}
	w.spare = batch[:0]
	return w.err
}

// Close flushes, stops the flusher and makes later writes go straight to
// the destination. It does not close the destination.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.Flush()
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	return w.Flush()
}

func (w *Writer) flusher() {
	defer close(w.done)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.mu.Lock()
			empty := len(w.buf) == 0
			w.mu.Unlock()
			if !empty {
				_ = w.Flush()
			}
		}
	}
}
