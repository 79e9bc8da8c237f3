//go:build !unix

package testpeers

import (
	"errors"
	"fmt"
	"os"
)

var errBusy = errors.New("testpeers: locked by another process")

// flock is unix-only; elsewhere the servers are not shared.
func flock(*os.File, bool, bool) error {
	return fmt.Errorf("testpeers: sharing the servers needs flock: %w", errors.ErrUnsupported)
}
