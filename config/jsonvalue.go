package config

import (
	"fmt"
	"math"
	"reflect"

	"gopkg.in/yaml.v3"
)

// decodeJSONObject decodes free-form YAML (a plugin's config) into v, a
// map[string]any, keeping only what JSON can carry unchanged: mappings
// with string keys become map[string]any, lists []any, and scalars
// string, bool, int, float64 (finite) or nil. Anything else — a key that
// is not a string, .inf, a custom tag — is reported with its line, rather
// than changed or dropped on the way to the plugin.
func (d *decoder) decodeJSONObject(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping of keys to values (the plugin receives it as a JSON object), not %s", describe(n))
		return
	}
	errs := len(d.errs)
	obj := d.jsonValue(n, path)
	if len(d.errs) > errs {
		d.src.failed[path] = true
		return
	}
	v.Set(reflect.ValueOf(obj))
}

// jsonValue converts the node n at key path into a JSON-encodable value,
// reporting what cannot be one.
func (d *decoder) jsonValue(n *yaml.Node, path string) any {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		obj := make(map[string]any, len(n.Content)/2)
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.AliasNode {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode {
				d.errorAt(k, path, "has %s as a key; keys must be strings (the plugin receives JSON)", describe(k))
				continue
			}
			key := joinKey(path, k.Value)
			switch tag := k.ShortTag(); {
			case tag == "!!merge":
				d.errorAt(k, key, "merge keys (<<) are not supported; write the keys out")
				continue
			case tag != "!!str":
				d.errorAt(k, key, "key %s is %s, not a string; JSON keys are strings, so quote it: %q", k.Value, tagName(tag), k.Value)
				continue
			}
			if first, ok := seen[k.Value]; ok {
				d.errorAt(k, key, "duplicate key; already set at line %d", first.Line)
				continue
			}
			seen[k.Value] = k
			obj[k.Value] = d.jsonValue(val, key)
		}
		return obj
	case yaml.SequenceNode:
		list := make([]any, len(n.Content))
		for i, item := range n.Content {
			list[i] = d.jsonValue(item, fmt.Sprintf("%s[%d]", path, i))
		}
		return list
	case yaml.ScalarNode:
		return d.jsonScalar(n, path)
	}
	d.errorAt(n, path, "is not a value JSON can carry; write a string, number, true/false, list or mapping")
	return nil
}

func (d *decoder) jsonScalar(n *yaml.Node, path string) any {
	tag := n.ShortTag()
	if d.expanded[n] && tag == "!!null" {
		// As for string keys: the text after expansion is the value, even
		// if it reads as null (an empty variable gives "").
		return n.Value
	}
	switch tag {
	case "!!null":
		return nil
	case "!!str", "!!timestamp":
		// Dates stay as written: JSON has no date type.
		return n.Value
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			d.errorAt(n, path, "%q is not true or false", n.Value)
			return nil
		}
		return b
	case "!!int":
		var i int
		if err := n.Decode(&i); err != nil {
			d.errorAt(n, path, "%s is out of range for a whole number (%d to %d); quote it to pass it as a string", n.Value, math.MinInt, math.MaxInt)
			return nil
		}
		return i
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			d.errorAt(n, path, "%q is not a number", n.Value)
			return nil
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			d.errorAt(n, path, "%s is not a number JSON can carry; write a finite number, or quote it to pass it as a string", n.Value)
			return nil
		}
		return f
	}
	d.errorAt(n, path, "%s values are not supported (the plugin receives JSON); write a string, number, true/false, list or mapping, or quote the value", tag)
	return nil
}

// tagName says in words what kind of scalar a YAML tag resolves to.
func tagName(tag string) string {
	switch tag {
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "true/false"
	case "!!null":
		return "null"
	case "!!timestamp":
		return "a date"
	}
	return "tagged " + tag
}
