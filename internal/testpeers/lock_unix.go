//go:build unix

package testpeers

import (
	"errors"
	"os"
	"syscall"
)

var errBusy = errors.New("testpeers: locked by another process")

// flock locks f exclusively or shared, waiting or failing with errBusy.
// Locking a file f already holds converts the lock.
func flock(f *os.File, exclusive, wait bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err := syscall.Flock(int(f.Fd()), how)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EWOULDBLOCK:
			return errBusy
		}
		return err
	}
}
