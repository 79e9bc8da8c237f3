package config

import "net/netip"

// NetworkProvider is type: network, line authentication: a registered
// office line, by the client addresses it uses. Its label names the line
// ("本社回線"). A request from a registered line may skip 2-step
// verification (the session's amr records "net"), services may be limited
// to lines, and with policy.access_route line_only nothing is served
// outside them.
//
//   - id: office
//     type: network
//     label: 本社回線
//     networks: [203.0.113.0/24, 2001:db8::/48]
type NetworkProvider struct {
	// Networks are the line's addresses: IPs or CIDR prefixes, IPv4 or IPv6.
	Networks []string `yaml:"networks"`

	Prefixes []netip.Prefix `yaml:"-"`
}

// PluginProvider is type: plugin, a provider in its own process, spoken to
// over gRPC (hashicorp/go-plugin). The binary is checked against sha256
// before every launch; a crashed or hung plugin is restarted with backoff
// while every other provider keeps working.
//
//	providers:
//	  - id: kiosk
//	    type: plugin
//	    label: 受付端末でログイン
//	    command: ./plugins/bin/httpjson
//	    args: [-log-level, info]
//	    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//	    config:
//	      url: https://auth.example.co.jp/check
//	      timeout: 5s
type PluginProvider struct {
	// Federation links the plugin's identities to users, as for any
	// federated provider.
	Federation `yaml:",inline"`
	// Command is the plugin's executable: required, an executable regular
	// file. A relative path is resolved against the configuration file's
	// directory (never looked up in PATH); after Load or Parse it is
	// absolute.
	Command string `yaml:"command"`
	// Args are passed to Command as written.
	Args []string `yaml:"args"`
	// SHA256 is the SHA-256 of Command's file: required, 64 hex digits,
	// lower-cased by Validate.
	SHA256 string `yaml:"sha256"`
	// Config is passed to the plugin as JSON, unchanged. Decoded from
	// YAML it holds only what JSON carries: map[string]any with string
	// keys, []any, string, bool, int, float64 and nil; ${ENV} is expanded
	// in its values like everywhere else.
	Config map[string]any `yaml:"config"`
}

// Access routes (policy.access_route).
const (
	AccessLineAndInternet = "line_and_internet"
	AccessLineOnly        = "line_only"
)
