package main

import (
	"strings"
	"testing"

	"github.com/ssogate/ssogate/config"
)

// TestOIDCSecretCommand: the hash printed is the one config accepts for
// the secret read from standard input; a short secret is refused; a
// generated secret comes with its hash.
func TestOIDCSecretCommand(t *testing.T) {
	secret := strings.Repeat("x", 40)
	out, _, err := runCLI(t, secret+"\n", "oidc-secret")
	if err != nil || out != "client_secret_hash: "+config.HashClientSecret(secret)+"\n" {
		t.Fatalf("oidc-secret: %v %q", err, out)
	}
	if _, _, err := runCLI(t, "short\n", "oidc-secret"); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("short secret: %v", err)
	}
	out, _, err = runCLI(t, "", "oidc-secret", "--generate")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 2 {
		t.Fatalf("--generate: %v %q", err, out)
	}
	gen, _ := strings.CutPrefix(lines[0], "client_secret: ")
	if len(gen) < config.MinClientSecretLen || lines[1] != "client_secret_hash: "+config.HashClientSecret(gen) {
		t.Fatalf("--generate printed %q", out)
	}
}
