package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
)

var (
	accessRoutes = []string{AccessLineAndInternet, AccessLineOnly}

	sha256Pattern = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

const networkHint = "e.g. [203.0.113.0/24, 2001:db8::/48]"

// parseNetwork is parsePrefix for the addresses of lines, with an
// IPv4-mapped IPv6 prefix (::ffff:192.0.2.0/120) written as the IPv4 one
// (192.0.2.0/24): client addresses are compared unmapped, so a mapped
// prefix would never match.
func parseNetwork(s string) (netip.Prefix, error) {
	p, err := parsePrefix(s)
	if err != nil {
		return p, err
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p, nil
}

// network checks a network provider and fills its Prefixes.
func (v *validator) network(path string, n *NetworkProvider) {
	n.Prefixes = nil
	if len(n.Networks) == 0 {
		v.errorf(path+".networks", "required: the line's addresses, IPs or CIDR prefixes, %s", networkHint)
		return
	}
	seen := map[netip.Prefix]string{}
	for j, s := range n.Networks {
		key := fmt.Sprintf("%s.networks[%d]", path, j)
		p, err := parseNetwork(s)
		switch {
		case err != nil:
			v.errorf(key, "%v", err)
		case p.Bits() == 0:
			v.errorf(key, "%s is every address: everyone would count as on this line (and skip 2-step verification); list the line's own addresses, %s", p, networkHint)
		case seen[p] != "":
			if first := v.c.src.line(seen[p]); first != v.c.src.line(key) {
				v.errorf(key, "%q is %s, already listed at line %d; drop one", s, p, first)
			} else {
				v.errorf(key, "%q is %s, listed twice; drop one", s, p)
			}
		default:
			seen[p] = key
			n.Prefixes = append(n.Prefixes, p)
		}
	}
}

// plugin checks a plugin provider: its command must be an executable file
// now, so that a wrong path is reported here rather than when the plugin
// is started. SHA256 is normalised to lower case.
func (v *validator) plugin(path string, p *PluginProvider) {
	const cmdHint = "relative paths are resolved against the configuration file's directory"
	switch fi, err := os.Stat(p.Command); {
	case p.Command == "":
		v.errorf(path+".command", "required: the plugin's executable, e.g. ./plugins/bin/httpjson (%s)", cmdHint)
	case errors.Is(err, fs.ErrNotExist):
		v.errorf(path+".command", "%s does not exist; build the plugin or correct the path (%s)", p.Command, cmdHint)
	case err != nil:
		v.errorf(path+".command", "cannot use the file: %v", err)
	case fi.IsDir():
		v.errorf(path+".command", "%s is a directory; name the plugin's executable file in it", p.Command)
	case !fi.Mode().IsRegular():
		v.errorf(path+".command", "%s is not a regular file; name the plugin's executable file", p.Command)
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0:
		v.errorf(path+".command", "%s is not executable; make it so (chmod +x %s)", p.Command, p.Command)
	}

	for j, a := range p.Args {
		key := fmt.Sprintf("%s.args[%d]", path, j)
		switch {
		case a == "" && v.c.src.values[key] != nil && !v.c.src.present(key):
			v.errorf(key, "is empty (null); write \"\" for an empty argument, or drop the item")
		case strings.ContainsRune(a, 0):
			v.errorf(key, "%q contains a NUL character, which no program can receive as an argument", a)
		}
	}

	cmd := p.Command
	if cmd == "" {
		cmd = "<command>"
	}
	shaHint := "the command file's SHA-256 as 64 hex digits: the first field of `sha256sum " + cmd + "`"
	switch {
	case p.SHA256 == "":
		v.errorf(path+".sha256", "required: %s; the file is checked against it before every start", shaHint)
	case !sha256Pattern.MatchString(p.SHA256):
		v.errorf(path+".sha256", "%q is not a SHA-256 (%d characters); write %s", p.SHA256, len(p.SHA256), shaHint)
	default:
		p.SHA256 = strings.ToLower(p.SHA256)
	}
}

// networkProviders returns the network providers by id, and their ids in
// configuration order.
func (c *Config) networkProviders() (map[string]*NetworkProvider, []string) {
	byID := map[string]*NetworkProvider{}
	var ids []string
	for i := range c.Providers {
		p := &c.Providers[i]
		if p.Type == "network" && p.Network != nil && p.ID != "" && byID[p.ID] == nil {
			byID[p.ID] = p.Network
			ids = append(ids, p.ID)
		}
	}
	return byID, ids
}

// allowedNetworks resolves a service's AllowedNetworks into its
// AllowedPrefixes: each entry names a network provider or is an IP or
// CIDR prefix.
func (v *validator) allowedNetworks(path string, s *Service) {
	s.AllowedPrefixes = nil
	if len(s.AllowedNetworks) == 0 {
		return
	}
	lines, ids := v.c.networkProviders()
	types := map[string]string{}
	for _, p := range v.c.Providers {
		types[p.ID] = p.Type
	}
	add := func(p netip.Prefix) {
		if !slices.Contains(s.AllowedPrefixes, p) {
			s.AllowedPrefixes = append(s.AllowedPrefixes, p)
		}
	}
	for j, entry := range s.AllowedNetworks {
		key := fmt.Sprintf("%s.allowed_networks[%d]", path, j)
		if strings.TrimSpace(entry) == "" {
			v.errorf(key, "must not be empty; name a line (%s) or write an IP or CIDR prefix, e.g. 203.0.113.0/24", lineList(ids))
			continue
		}
		if n := lines[entry]; n != nil {
			for _, p := range n.Prefixes {
				add(p)
			}
			continue
		}
		p, err := parseNetwork(entry)
		switch {
		case err == nil:
			add(p)
		case types[entry] != "":
			v.errorf(key, "%q is a %s provider, not a network provider; name a line (%s) or write an IP or CIDR prefix, e.g. 203.0.113.0/24",
				entry, types[entry], lineList(ids))
		default:
			v.errorf(key, "%q is neither a network provider (%s) nor an IP address or CIDR prefix, e.g. 203.0.113.0/24 or 2001:db8::/48",
				entry, lineList(ids))
		}
	}
}

// lineList names the network providers for an error message.
func lineList(ids []string) string {
	if len(ids) == 0 {
		return "none is configured"
	}
	return "configured: " + strings.Join(ids, ", ")
}

// accessRoute checks policy.access_route: line_only needs a line to be
// reached from.
func (v *validator) accessRoute() {
	const key = "policy.access_route"
	route := v.c.Policy.AccessRoute
	if route == "" {
		return // a Config built in code: the default applies
	}
	v.oneOf(key, "access route", route, accessRoutes)
	if _, ids := v.c.networkProviders(); route == AccessLineOnly && len(ids) == 0 {
		v.errorf(key, "line_only serves only requests from the lines of network providers, and none is configured, so nobody could reach anything; add a provider of type: network, or use line_and_internet")
	}
}
