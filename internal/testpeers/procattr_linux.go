package testpeers

import "syscall"

// peerProcAttr starts a peer process in a process group of its own (the
// prefork MPM of httpd signals its whole group when it stops or reloads,
// which would otherwise be the test's) and has the kernel stop it when
// the test process dies without cleaning up (a killed run leaves no peer
// holding its port).
func peerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// gracefulRestart makes httpd's parent read its configuration again and
// replace its children once they finish their requests.
var gracefulRestart = syscall.SIGUSR1
