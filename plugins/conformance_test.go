//go:build unix

package plugins

import (
	"context"
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/ssogate/ssogate/providers"
	"github.com/ssogate/ssogate/providers/local"
	"github.com/ssogate/ssogate/providers/network"
	"github.com/ssogate/ssogate/providers/providertest"
)

// memAccounts is an in-memory account list for the local provider.
type memAccounts map[string][2]string // email -> user id, encoded hash

func (m memAccounts) LookupPassword(_ context.Context, email string) (string, string, error) {
	a, ok := m[email]
	if !ok {
		return "", "", local.ErrNoAccount
	}
	return a[0], a[1], nil
}

// TestConformanceThroughGRPC runs the one provider conformance suite
// against built-in providers served through the plugin's gRPC adapters
// in-process: the gateway must not be able to tell them apart.
func TestConformanceThroughGRPC(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		accounts := memAccounts{}
		factory := func(id string, _ json.RawMessage) (providers.Provider, error) {
			lp, err := local.Open(id, local.Config{Memory: 8192, Iterations: 1, Parallelism: 1}, accounts)
			if err != nil {
				return nil, err
			}
			hash, err := lp.Hash(context.Background(), "Sakura-Passw0rd!")
			if err != nil {
				return nil, err
			}
			accounts["taro@example.co.jp"] = [2]string{"u-taro", hash}
			return lp, nil
		}
		p, err := inProcess(t, "local", factory)
		if err != nil {
			t.Fatal(err)
		}
		providertest.Run(t, providertest.Harness{
			Provider: p.Provider(), ID: "local", Type: Type,
			Password: &providertest.PasswordStyle{
				Good:          providertest.Credentials{Login: "taro@example.co.jp", Password: "Sakura-Passw0rd!"},
				WrongPassword: "Wrong-Passw0rd!", UnknownLogin: "nobody@example.co.jp",
				Expect: providertest.IdentityExpectation{Subject: "u-taro", Email: "taro@example.co.jp", AMR: []string{"pwd"}},
			},
		})
	})
	t.Run("network", func(t *testing.T) {
		factory := func(id string, _ json.RawMessage) (providers.Provider, error) {
			return network.Open(id, network.Config{Name: "本社回線", Networks: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
		}
		p, err := inProcess(t, "office", factory)
		if err != nil {
			t.Fatal(err)
		}
		providertest.Run(t, providertest.Harness{
			Provider: p.Provider(), ID: "office", Type: Type,
			Request: &providertest.RequestStyle{
				Matches: []providertest.Match{{Facts: providers.RequestFacts{ClientIP: netip.MustParseAddr("203.0.113.9")}, Name: "本社回線"}},
				Misses:  []providers.RequestFacts{{ClientIP: netip.MustParseAddr("198.51.100.1")}},
			},
		})
	})
}

// TestConformanceExternalBinary runs the suite against the real httpjson
// plugin binary in its own process.
func TestConformanceExternalBinary(t *testing.T) {
	bin, _ := binaries(t)
	log, _ := testLogger(t)
	srv := endpoint(t)
	p, err := Open(context.Background(), httpjsonSpec(t, bin, srv.URL, log))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	providertest.Run(t, providertest.Harness{
		Provider: p.Provider(), ID: "kiosk", Type: Type,
		Password: &providertest.PasswordStyle{
			Good:          providertest.Credentials{Login: "taro", Password: "pw"},
			WrongPassword: "nope", UnknownLogin: "nobody",
			Expect: providertest.IdentityExpectation{Subject: "u-1", Email: "taro@example.co.jp", EmailVerified: true,
				DisplayName: "山田 太郎", Groups: []string{"staff"}},
		},
	})
}
