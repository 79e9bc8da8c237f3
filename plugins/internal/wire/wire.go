// Package wire is the one place where ssogate's plugin protocol meets Go:
// the go-plugin handshake, the gRPC server that exposes a
// providers.Provider (used by plugins/sdk), and the conversions between
// the providers types and their proto messages (used by both sides). No
// proto type leaves plugins and plugins/sdk.
package wire

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/ssogate/ssogate/plugins/proto"
	"github.com/ssogate/ssogate/providers"
)

// ProtocolVersion is the version of provider.proto's contract. A host and
// a plugin of different versions refuse each other at the handshake.
const ProtocolVersion = 1

// PluginName is the name under which the provider is dispensed.
const PluginName = "provider"

// Handshake is shared by the host and every plugin. The cookie only keeps
// a plugin binary from being run by hand; it is no secret.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "SSOGATE_PROVIDER_PLUGIN",
	MagicCookieValue: "7c1f9e4b2d8a6053-ssogate-provider-plugin",
}

// Factory builds a plugin's provider from its id and its config block.
type Factory func(id string, config json.RawMessage) (providers.Provider, error)

// GRPCPlugin is the go-plugin glue for the ProviderPlugin service. On the
// plugin side Factory is set and GRPCServer registers the service; on the
// host side GRPCClient returns a proto.ProviderPluginClient.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Factory Factory
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the ProviderPlugin service backed by p.Factory.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	proto.RegisterProviderPluginServer(s, NewServer(p.Factory))
	return nil
}

// GRPCClient returns a proto.ProviderPluginClient on c.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return proto.NewProviderPluginClient(c), nil
}
