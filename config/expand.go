package config

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// expandEnv replaces ${NAME} and ${NAME:-default} in every string value of
// the tree rooted at n (never in keys). It runs on the node tree so that a
// failure names the line and key, and so that an unquoted ${PORT} can still
// become a number: expanded plain scalars lose their resolved tag and are
// resolved again from the new text. Changed nodes are recorded in
// d.expanded.
func (d *decoder) expandEnv(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			d.expandEnv(n.Content[i+1], joinKey(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.expandEnv(c, fmt.Sprintf("%s[%d]", path, i))
		}
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" || !strings.Contains(n.Value, "$") {
			return
		}
		v, err := expand(n.Value, os.LookupEnv)
		if err != nil {
			d.fail(n, path, "%v", err)
			// Decode it as absent, not as the unexpanded text.
			n.Tag, n.Value, n.Style = "!!null", "", 0
			return
		}
		n.Value = v
		if n.Style&(yaml.TaggedStyle|yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			n.Tag = ""
		}
		d.expanded[n] = true
	}
}

// expand replaces ${NAME} and ${NAME:-default} in s using lookup. As in the
// shell, the default is used when NAME is unset or empty. $$ is a literal $;
// any other $ is kept as written, so most passwords need no escaping.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			s = s[i+2:]
			continue
		case '{':
		default:
			b.WriteByte('$')
			s = s[i+1:]
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q; write ${NAME} or ${NAME:-default}, or $$ for a literal $", s[i:])
		}
		ref := s[i+2 : i+end]
		s = s[i+end+1:]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validEnvName(name) {
			return "", fmt.Errorf("invalid variable name %q in ${%s}; use letters, digits and _ (not starting with a digit)", name, ref)
		}
		v, ok := lookup(name)
		switch {
		case hasDef && v == "":
			v = def
		case !ok:
			return "", fmt.Errorf("environment variable %s is not set; set it or write ${%s:-default}", name, name)
		}
		b.WriteString(v)
	}
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
