package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/ssogate/ssogate/store"
)

// openPTY opens a pseudo-terminal: the controlling side, where the test
// types, and the terminal the command reads as its standard input.
func openPTY(t *testing.T) (ctl, tty *os.File) {
	t.Helper()
	ctl, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal (Linux has /dev/ptmx): %v", err)
	}
	var unlock int32
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ctl.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatal(e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ctl.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatal(e)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close(); ctl.Close() })
	// Drain what the terminal echoes, so that it never fills up.
	go func() {
		buf := make([]byte, 1024)
		for {
			if _, err := ctl.Read(buf); err != nil {
				return
			}
		}
	}()
	return ctl, tty
}

// runOnTerminal runs the CLI with a terminal as standard input, typing
// lines into it as it asks.
func runOnTerminal(t *testing.T, lines []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctl, tty := openPTY(t)
	// Typed ahead, as a quick typist does: the terminal keeps the lines
	// (in canonical mode, Enter's CR read as a newline) until each
	// prompt reads one.
	for _, l := range lines {
		if _, err := ctl.WriteString(l + "\r"); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb strings.Builder
	err = run(context.Background(), args, tty, &out, &errb)
	return out.String(), errb.String(), err
}

// TestCLIOnTerminal: on a terminal, user add without --password-stdin
// asks for the password (typed twice), and user delete asks to type the
// email (a different one deletes nothing).
func TestCLIOnTerminal(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	cfg := []string{"--config", h.configPath}

	_, errOut, err := runOnTerminal(t, []string{"Sakura-Passw0rd!", "Sakura-Passw0rd!"},
		append(cfg, "user", "add", "--email", "taro@example.co.jp", "--name", "Taro")...)
	if err != nil || !strings.Contains(errOut, "Password") {
		t.Fatalf("user add on a terminal: %v %q", err, errOut)
	}
	u, err := h.app.store.GetUserByEmail(ctx, "taro@example.co.jp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.store.PasswordHash(ctx, u.ID); err != nil {
		t.Fatalf("no password stored after the prompt: %v", err)
	}
	expectRedirect(t, h.browser().login("taro@example.co.jp", "Sakura-Passw0rd!", ""), "/")

	if _, _, err := runOnTerminal(t, []string{"someone@example.co.jp"}, append(cfg, "user", "delete", "--email", u.Email)...); err == nil {
		t.Fatal("user delete with another email typed succeeded")
	}
	if _, err := h.app.store.GetUser(ctx, u.ID); err != nil {
		t.Fatal("deleted after a wrong confirmation")
	}
	out, _, err := runOnTerminal(t, []string{"Taro@Example.co.jp"}, append(cfg, "user", "delete", "--email", u.Email)...)
	if err != nil || !strings.Contains(out, "deleted user") {
		t.Fatalf("user delete on a terminal: %v %q", err, out)
	}
	if _, err := h.app.store.GetUser(ctx, u.ID); err == nil || !strings.Contains(err.Error(), store.ErrNotFound.Error()) {
		t.Fatalf("user still there: %v", err)
	}
}
