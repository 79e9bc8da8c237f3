package local_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ssogate/ssogate/providers/local"
	"github.com/ssogate/ssogate/providers/providertest"
)

// accounts is an in-memory local.Accounts: email -> user id and hash.
type accounts map[string]struct{ userID, hash string }

func (a accounts) LookupPassword(_ context.Context, email string) (string, string, error) {
	acct, ok := a[email]
	if !ok || acct.hash == "" {
		return "", "", fmt.Errorf("accounts: %q: %w", email, local.ErrNoAccount)
	}
	return acct.userID, acct.hash, nil
}

func TestConformance(t *testing.T) {
	// Cheap hashing: the suite signs in a few dozen times.
	cfg := local.Config{Memory: 8192, Iterations: 1, Parallelism: 1}
	accts := accounts{}
	p, err := local.Open("local", cfg, accts)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := p.Hash(t.Context(), "Kiso-Dani!2024")
	if err != nil {
		t.Fatal(err)
	}
	accts["taro@example.com"] = struct{ userID, hash string }{"u-taro", hash}
	accts["hanako@example.com"] = struct{ userID, hash string }{"u-hanako", ""} // signs in elsewhere

	// An account that signs in elsewhere has no password here: to the
	// caller it must look like no account at all.
	for _, unknown := range []string{"jiro@example.com", "hanako@example.com"} {
		t.Run(unknown, func(t *testing.T) {
			providertest.Run(t, providertest.Harness{
				Provider: p,
				ID:       "local",
				Type:     "local",
				Password: &providertest.PasswordStyle{
					Good:          providertest.Credentials{Login: "taro@example.com", Password: "Kiso-Dani!2024"},
					WrongPassword: "Kiso-Dani!2025",
					UnknownLogin:  unknown,
					Expect: providertest.IdentityExpectation{
						Subject: "u-taro", Email: "taro@example.com", EmailVerified: false, AMR: []string{"pwd"},
					},
				},
			})
		})
	}
}
