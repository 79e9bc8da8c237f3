// Command httpjson is an ssogate provider plugin that checks a login and a
// password by asking an HTTPS endpoint of your own: a password-style
// provider in front of any system that can answer a JSON POST. See
// README.md for the endpoint's contract and how to install the plugin;
// copy this directory to start a plugin of your own.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/ssogate/ssogate/plugins/sdk"
	"github.com/ssogate/ssogate/providers"
)

func main() {
	level := flag.String("log-level", "info", "log level: debug, info, warn or error")
	flag.Parse()
	if err := sdk.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "httpjson: -log-level %q: want debug, info, warn or error\n", *level)
		os.Exit(2)
	}
	sdk.Serve(func(id string, config json.RawMessage) (providers.Provider, error) {
		return New(id, config)
	})
}
