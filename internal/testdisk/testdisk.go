// Package testdisk gives tests a real disk that can run full: a small
// tmpfs mounted on a test's temporary directory, and a filler file that
// takes every free byte of it. SQLite on such a disk fails with
// SQLITE_FULL exactly as on a production disk that has filled up.
//
// Mounting needs root (CAP_SYS_ADMIN), as the test machine and CI have; a
// test that cannot mount fails with a message saying so.
package testdisk

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// fillerName is the file Fill writes; it lives next to the test's files.
const fillerName = "testdisk.filler"

// Mount mounts a tmpfs of size bytes on a new temporary directory and
// returns the directory. It is unmounted when the test ends, after the
// cleanups the test registers later (which close the files on it).
func Mount(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+size+",mode=0700"); err != nil {
		t.Fatalf("testdisk: mount a %s tmpfs on %s (full-disk tests need root): %v", size, dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			// Something still holds a file open; detach so the test's
			// temporary directory can go, and say so.
			t.Errorf("testdisk: unmount %s: %v", dir, err)
			_ = syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	return dir
}

// Fill writes a file in dir until the file system has no byte left, and
// returns a function that removes it again (freeing the space).
func Fill(t testing.TB, dir string) (free func()) {
	t.Helper()
	path := filepath.Join(dir, fillerName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("testdisk: fill %s: %v", dir, err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err = f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("testdisk: fill %s: %v, want ENOSPC", dir, err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatalf("testdisk: statfs %s: %v", dir, err)
	}
	if st.Bavail != 0 {
		t.Fatalf("testdisk: %s still has %d free blocks after filling", dir, st.Bavail)
	}
	return func() {
		t.Helper()
		if err := os.Remove(path); err != nil {
			t.Fatalf("testdisk: free %s: %v", dir, err)
		}
	}
}
