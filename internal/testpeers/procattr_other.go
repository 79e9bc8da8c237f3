//go:build !linux

package testpeers

import "syscall"

// peerProcAttr is the default elsewhere: the peers that need more
// (httpd with mod_auth_mellon) run on Debian only.
func peerProcAttr() *syscall.SysProcAttr { return nil }

// gracefulRestart is SIGUSR1 where there is one (elsewhere no httpd runs).
var gracefulRestart = syscall.SIGHUP
