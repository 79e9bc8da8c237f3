package config

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestTextForms checks the ways a text people read may be written: once
// for every language, or per language in flow or block style, with
// ${ENV} expanded in each, and the older name_en / description_en.
func TestTextForms(t *testing.T) {
	t.Setenv("SSOGATE_TEST_EN", "Sample Co. Portal")
	tests := []struct {
		name, src string
		get       func(*Config) Text
		want      Text
		ja, en    string
	}{
		{"plain", "portal:\n  title: サンプル社 ポータル\n", func(c *Config) Text { return c.Portal.Title },
			Text{"": "サンプル社 ポータル"}, "サンプル社 ポータル", "サンプル社 ポータル"},
		{"flow", "portal:\n  title: {ja: サンプル社 ポータル, en: Sample Co. Portal}\n", func(c *Config) Text { return c.Portal.Title },
			Text{"ja": "サンプル社 ポータル", "en": "Sample Co. Portal"}, "サンプル社 ポータル", "Sample Co. Portal"},
		{"block with env", "portal:\n  title:\n    ja: サンプル社 ポータル\n    en: ${SSOGATE_TEST_EN}\n", func(c *Config) Text { return c.Portal.Title },
			Text{"ja": "サンプル社 ポータル", "en": "Sample Co. Portal"}, "サンプル社 ポータル", "Sample Co. Portal"},
		{"japanese only falls back", "portal:\n  title: {ja: サンプル社}\n", func(c *Config) Text { return c.Portal.Title },
			Text{"ja": "サンプル社"}, "サンプル社", "サンプル社"},
		{"english only falls back", "portal:\n  title: {en: Sample}\n", func(c *Config) Text { return c.Portal.Title },
			Text{"en": "Sample"}, "Sample", "Sample"},
		{"default title", "", func(c *Config) Text { return c.Portal.Title }, Text{"": "ssogate"}, "ssogate", "ssogate"},
		{"provider label", "providers:\n  - id: local\n    type: local\n    label: {ja: メールでログイン, en: Sign in with email}\n",
			func(c *Config) Text { return c.Providers[0].Label },
			Text{"ja": "メールでログイン", "en": "Sign in with email"}, "メールでログイン", "Sign in with email"},
		{"service name", "services:\n  - id: wiki\n    name:\n      ja: 社内Wiki\n      en: Wiki\n    url: http://w/\n",
			func(c *Config) Text { return c.Services[0].Name }, Text{"ja": "社内Wiki", "en": "Wiki"}, "社内Wiki", "Wiki"},
		{"older name_en", "services:\n  - id: wiki\n    name: 社内Wiki\n    name_en: Wiki\n    url: http://w/\n",
			func(c *Config) Text { return c.Services[0].Name }, Text{"": "社内Wiki", "en": "Wiki"}, "社内Wiki", "Wiki"},
		{"older description_en", "services:\n  - id: wiki\n    name: W\n    description: {ja: 手順書}\n    description_en: How-tos\n    url: http://w/\n",
			func(c *Config) Text { return c.Services[0].Description }, Text{"ja": "手順書", "en": "How-tos"}, "手順書", "How-tos"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.src)
			got := tt.get(c)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("text = %#v, want %#v", got, tt.want)
			}
			if got.In("ja") != tt.ja || got.In("en") != tt.en {
				t.Errorf("In(ja), In(en) = %q, %q; want %q, %q", got.In("ja"), got.In("en"), tt.ja, tt.en)
			}
			for _, s := range c.Services {
				if s.NameEN != "" || s.DescriptionEN != "" {
					t.Errorf("service %s keeps name_en/description_en after Validate: %+v", s.ID, s)
				}
			}
		})
	}
}

// TestTextErrors checks that a badly written text is reported at the line
// and key of the mistake.
func TestTextErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unknown language", "portal:\n  title:\n    ja: サンプル社\n    fr: Échantillon\n",
			`x.yaml:4: portal.title.fr: unknown language "fr"; valid: ja, en`},
		{"unknown language in flow", "providers:\n  - id: local\n    type: local\n    label: {ja: a, english: b}\n",
			`x.yaml:4: providers[0].label.english: unknown language "english"; valid: ja, en`},
		{"comma in flow", "services:\n  - id: wiki\n    name: {ja: 社内Wiki, en: Policies, how-tos}\n    url: http://w/\n",
			`x.yaml:3: services[0].name.how-tos: unknown language "how-tos"`},
		{"not a string", "portal:\n  title:\n    ja: [a, b]\n",
			"x.yaml:3: portal.title.ja: the ja text must be a single string, not a list"},
		{"twice", "portal:\n  title:\n    en: a\n    en: b\n", "x.yaml:4: portal.title.en: en is written twice; already set at line 3"},
		{"a list", "portal:\n  title: [a]\n", "x.yaml:2: portal.title: must be a text, not a list"},
		{"empty name", "services:\n  - id: wiki\n    name: {}\n    url: http://w/\n", "x.yaml:3: services[0].name: required"},
		{"english twice", "services:\n  - id: wiki\n    name: {ja: 社内Wiki, en: Wiki}\n    name_en: Company wiki\n    url: http://w/\n",
			"x.yaml:4: services[0].name_en: the English name is also written as name.en; keep one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestTextUnmarshal checks Text decoded by yaml.v3 directly, outside the
// configuration's own decoder.
func TestTextUnmarshal(t *testing.T) {
	var v struct {
		A Text `yaml:"a"`
		B Text `yaml:"b"`
	}
	if err := yaml.Unmarshal([]byte("a: plain\nb: {ja: 日本語, en: English}\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.A.In("en") != "plain" || v.B.In("ja") != "日本語" || v.B.In("en") != "English" || v.B.String() != "日本語" {
		t.Errorf("decoded %#v", v)
	}
	err := yaml.Unmarshal([]byte("a:\n  ja: x\n  de: y\n"), &v)
	if err == nil || !strings.Contains(err.Error(), `line 3: unknown language "de"`) {
		t.Errorf("unknown language: %v", err)
	}
	var zero Text
	if zero.In("ja") != "" || !zero.IsZero() || !PlainText("").IsZero() {
		t.Error("the zero Text is not empty")
	}
}
