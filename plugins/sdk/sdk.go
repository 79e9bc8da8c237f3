// Package sdk is what a provider plugin imports. A plugin is a small Go
// program whose main calls Serve with a factory; ssogate starts it, hands
// it the provider's id and config block, and calls it over gRPC:
//
//	func main() {
//		sdk.Serve(func(id string, config json.RawMessage) (providers.Provider, error) {
//			return newKiosk(id, config)
//		})
//	}
//
// The provider is an ordinary providers.Provider that implements one or
// more of providers.PasswordAuthenticator, RedirectAuthenticator,
// RequestAuthenticator and MetadataPublisher; ssogate offers exactly those
// capabilities to the gateway. Return the providers sentinel errors,
// *providers.AccountError and *providers.ProviderError as a built-in
// provider would: they reach the gateway intact (errors.Is and errors.As
// work). Any other error reaches it as its message only.
//
// Honour ctx: ssogate gives every call a deadline and restarts a plugin
// whose call is still running well after it.
//
// See plugins/examples/httpjson for a complete plugin.
package sdk

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"

	"github.com/hashicorp/go-plugin"

	"github.com/ssogate/ssogate/plugins/internal/wire"
	"github.com/ssogate/ssogate/providers"
)

// ProtocolVersion is the plugin protocol version this sdk speaks. ssogate
// refuses a plugin built against another version.
const ProtocolVersion = wire.ProtocolVersion

// Factory builds the plugin's provider from the provider's id in ssogate's
// configuration and its `config:` block as JSON. It runs on every start of
// the plugin process; an error stops the start and is shown to the admin,
// so say which key is wrong and what would be valid.
type Factory func(id string, config json.RawMessage) (providers.Provider, error)

// LogLevel is the level of slog.Default once Serve runs (Info unless set
// before). The host shows the plugin's log lines in its own log.
var LogLevel = new(slog.LevelVar)

// Serve serves the provider built by f to ssogate and returns when ssogate
// closes the plugin. Run directly rather than by ssogate, it prints a
// notice and exits with status 1.
//
// Serve points slog.Default at ssogate's log: write the plugin's log lines
// with slog, never to stdout (which carries the handshake). Never log a
// password or a token.
func Serve(f Factory) {
	slog.SetDefault(slog.New(NewLogHandler(os.Stderr, LogLevel)))
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: wire.Handshake,
		Plugins: plugin.PluginSet{
			wire.PluginName: &wire.GRPCPlugin{Factory: wire.Factory(f)},
		},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}

// NewLogHandler returns a slog handler that writes the JSON lines
// go-plugin understands (@level, @message, @timestamp), so that the host
// logs each line at its level with its attributes.
func NewLogHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", hclogLevel(a.Value.Any().(slog.Level)))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	})
}

func hclogLevel(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	}
	return "error"
}
