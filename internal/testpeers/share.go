package testpeers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// share is this process's hold on a server that test processes share: a
// shared lock on <base>/<name>.users, kept until release, or until the
// process dies and the kernel drops it.
type share struct {
	mutex string // <base>/<name>.lock
	users *os.File
}

// acquire joins the server name, calling start when no process uses it
// (nobody does, or the last one died without stopping it) and check when
// another process does. <base>/<name>.lock serialises acquire and
// release across processes.
func acquire(base, name string, start, check func() error) (*share, error) {
	s := &share{mutex: filepath.Join(base, name+".lock")}
	mu, err := lockMutex(s.mutex)
	if err != nil {
		return nil, err
	}
	defer mu.Close()
	s.users, err = os.OpenFile(filepath.Join(base, name+".users"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	err = flock(s.users, true, false)
	switch {
	case err == nil:
		err = start()
	case errors.Is(err, errBusy):
		err = check()
	}
	if err == nil {
		// Under the mutex nobody else takes this lock, so converting the
		// exclusive lock (after start) cannot lose a race.
		err = flock(s.users, false, true)
	}
	if err != nil {
		s.users.Close()
		return nil, err
	}
	return s, nil
}

// release gives the hold up, calling stop when no other process holds
// the server; it reports whether it did.
func (s *share) release(stop func() error) (stopped bool, err error) {
	defer s.users.Close()
	mu, err := lockMutex(s.mutex)
	if err != nil {
		return false, err
	}
	defer mu.Close()
	// Converting the shared lock to an exclusive one succeeds only for the
	// last holder. A failed conversion drops the shared lock, which is
	// what leaving means anyway.
	switch err := flock(s.users, true, false); {
	case errors.Is(err, errBusy):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, stop()
}

// reap calls stop when nobody holds the server name nor is joining or
// leaving it: for a server a killed run left behind, which would
// otherwise keep its ports until a test next needs it.
func reap(base, name string, stop func() error) error {
	mu, err := os.OpenFile(filepath.Join(base, name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer mu.Close()
	users, err := os.OpenFile(filepath.Join(base, name+".users"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer users.Close()
	for _, f := range []*os.File{mu, users} {
		switch err := flock(f, true, false); {
		case errors.Is(err, errBusy):
			return nil // in use: its users stop it
		case err != nil:
			return err
		}
	}
	return stop()
}

// lockMutex takes the exclusive lock on path, waiting for it; closing the
// file releases it.
func lockMutex(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	err = flock(f, true, false)
	if errors.Is(err, errBusy) {
		fmt.Fprintf(os.Stderr, "testpeers: another test process holds %s; waiting\n", path)
		err = flock(f, true, true)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}
