// Command testplugin is a plugin for the plugins package's tests: a
// password provider whose logins choose how it misbehaves.
//
//   - alice / secret: signs in;
//   - hang: never answers, ignoring its context;
//   - crash: the process exits.
//
// Config {"refuse": true} makes Configure fail. When the environment
// variable SSOGATE_TESTPLUGIN_MARKER names a file, every start appends its
// pid to it, so that a test can tell whether the binary ever ran.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/ssogate/ssogate/plugins/sdk"
	"github.com/ssogate/ssogate/providers"
)

type provider struct{ id string }

func (p *provider) ID() string   { return p.id }
func (p *provider) Type() string { return "testplugin" }

func (p *provider) Authenticate(ctx context.Context, login, password string) (*providers.Identity, error) {
	switch login {
	case "hang":
		select {}
	case "crash":
		os.Exit(3)
	case "alice":
		if password == "secret" {
			return &providers.Identity{ProviderID: p.id, Subject: "alice", Email: "alice@example.com", AMR: []string{"pwd"}}, nil
		}
	}
	return nil, providers.ErrInvalidCredentials
}

func main() {
	if m := os.Getenv("SSOGATE_TESTPLUGIN_MARKER"); m != "" {
		f, err := os.OpenFile(m, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintln(f, os.Getpid())
			f.Close()
		}
	}
	sdk.Serve(func(id string, config json.RawMessage) (providers.Provider, error) {
		var c struct {
			Refuse bool `json:"refuse"`
		}
		if err := json.Unmarshal(config, &c); err != nil {
			return nil, err
		}
		if c.Refuse {
			return nil, errors.New("testplugin: config: refuse is set")
		}
		return &provider{id: id}, nil
	})
}
