package config

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// TextLanguages are the languages a Text may be written in, in the order a
// missing one falls back through.
var TextLanguages = []string{"ja", "en"}

// Text is a string people read — a portal title, a provider's label, a
// service's name — written once for every language or once per language:
//
//	title: サンプル社 ポータル
//	title: {ja: サンプル社 ポータル, en: Sample Co. Portal}
//	title:
//	  ja: サンプル社 ポータル
//	  en: Sample Co. Portal
//
// The keys are language tags (TextLanguages); the key "" holds a text
// written once for every language. The zero Text is empty.
type Text map[string]string

// PlainText is a Text written once for every language.
func PlainText(s string) Text {
	if s == "" {
		return nil
	}
	return Text{"": s}
}

// In returns the text for lang: the text written for lang, else the one
// written for every language, else the first written in another language
// (in the order of TextLanguages), else "". A person never sees an empty
// label just because their language was left out.
func (t Text) In(lang string) string {
	if s := t[lang]; s != "" {
		return s
	}
	if s := t[""]; s != "" {
		return s
	}
	for _, l := range TextLanguages {
		if s := t[l]; s != "" {
			return s
		}
	}
	return ""
}

// String is the text for logs and other places that speak no particular
// language: the text written for every language, else the Japanese one,
// else the English one.
func (t Text) String() string { return t.In("") }

// IsZero reports whether no text is written in any language.
func (t Text) IsZero() bool { return t.String() == "" }

// with returns a copy of t with the text for lang set to s.
func (t Text) with(lang, s string) Text {
	out := make(Text, len(t)+1)
	for k, v := range t {
		out[k] = v
	}
	out[lang] = s
	return out
}

// UnmarshalYAML reads a plain string, or a mapping of language tags (ja,
// en) to strings. Any other key is an error naming its line.
func (t *Text) UnmarshalYAML(n *yaml.Node) error {
	v, at, msg := parseText(n, nil)
	if msg != "" {
		return fmt.Errorf("line %d: %s", at.Line, msg)
	}
	*t = v
	return nil
}

// parseText reads n as a Text. On a problem it returns the node at fault
// (an unknown key, a value that is not a string) and what is wrong.
// expanded marks scalars rewritten by ${ENV} expansion, whose text stands
// even if it reads as null.
func parseText(n *yaml.Node, expanded map[*yaml.Node]bool) (Text, *yaml.Node, string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	scalar := func(v *yaml.Node) (string, bool) {
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if v.Kind != yaml.ScalarNode {
			return "", false
		}
		if v.ShortTag() == "!!null" && !expanded[v] {
			return "", true
		}
		return v.Value, true
	}
	const hint = "write one text for every language, or one per language: {ja: …, en: …}"
	switch n.Kind {
	case yaml.ScalarNode:
		s, _ := scalar(n)
		return PlainText(s), nil, ""
	case yaml.MappingNode:
		t := Text{}
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || !validTextLanguage(k.Value) {
				return nil, k, fmt.Sprintf("unknown language %q; valid: %s (%s)", k.Value, strings.Join(TextLanguages, ", "), hint)
			}
			if first, ok := seen[k.Value]; ok {
				return nil, k, fmt.Sprintf("%s is written twice; already set at line %d", k.Value, first.Line)
			}
			seen[k.Value] = k
			s, ok := scalar(v)
			if !ok {
				return nil, v, fmt.Sprintf("the %s text must be a single string, not %s", k.Value, describe(v))
			}
			if s != "" {
				t[k.Value] = s
			}
		}
		if len(t) == 0 {
			return nil, nil, ""
		}
		return t, nil, ""
	}
	return nil, n, fmt.Sprintf("must be a text, not %s; %s", describe(n), hint)
}

func validTextLanguage(lang string) bool {
	for _, l := range TextLanguages {
		if l == lang {
			return true
		}
	}
	return false
}

var textType = reflect.TypeFor[Text]()

// decodeText decodes a Text, reporting a problem at the line and key
// (services[0].name.fr) where it is.
func (d *decoder) decodeText(n *yaml.Node, v reflect.Value, path string) {
	t, at, msg := parseText(n, d.expanded)
	if msg != "" {
		key := path
		if at != n && n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i] == at || n.Content[i+1] == at {
					key = joinKey(path, n.Content[i].Value)
				}
			}
		}
		d.fail(at, key, "%s", msg)
		d.src.failed[path] = true
		return
	}
	v.Set(reflect.ValueOf(t))
}
