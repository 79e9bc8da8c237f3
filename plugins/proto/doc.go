// Package proto holds the gRPC contract between ssogate and its provider
// plugins (provider.proto) and the Go code generated from it. Only the
// adapters in plugins and plugins/sdk use these types; neither the gateway
// nor a plugin author sees them.
package proto

//go:generate sh ../../scripts/generate-plugin-proto.sh
