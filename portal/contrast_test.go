package portal

import (
	"fmt"
	"io/fs"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// cssRule is one rule of the stylesheet: its selectors and declarations,
// and the media query it sits in ("" at the top level).
type cssRule struct {
	media     string
	selectors []string
	decls     map[string]string
}

var cssComment = regexp.MustCompile(`(?s)/\*.*?\*/`)

// parseCSS reads the flat subset of CSS the portal's stylesheet uses:
// rules, and rules inside one level of @media.
func parseCSS(t *testing.T, src string) []cssRule {
	t.Helper()
	src = cssComment.ReplaceAllString(src, "")
	var rules []cssRule
	var parse func(s, media string)
	parse = func(s, media string) {
		for {
			open := strings.IndexByte(s, '{')
			if open < 0 {
				if strings.TrimSpace(s) != "" {
					t.Fatalf("stylesheet: trailing text %q", s)
				}
				return
			}
			head := strings.TrimSpace(s[:open])
			depth, end := 0, -1
			for i := open; i < len(s); i++ {
				if s[i] == '{' {
					depth++
				} else if s[i] == '}' {
					if depth--; depth == 0 {
						end = i
						break
					}
				}
			}
			if end < 0 {
				t.Fatalf("stylesheet: unbalanced braces after %q", head)
			}
			body := s[open+1 : end]
			s = s[end+1:]
			if strings.HasPrefix(head, "@media") {
				parse(body, strings.TrimSpace(strings.TrimPrefix(head, "@media")))
				continue
			}
			r := cssRule{media: media, decls: map[string]string{}}
			for sel := range strings.SplitSeq(head, ",") {
				r.selectors = append(r.selectors, strings.Join(strings.Fields(sel), " "))
			}
			for d := range strings.SplitSeq(body, ";") {
				name, value, ok := strings.Cut(d, ":")
				if ok {
					r.decls[strings.TrimSpace(name)] = strings.TrimSpace(value)
				}
			}
			rules = append(rules, r)
		}
	}
	parse(src, "")
	return rules
}

// theme is the custom properties of one colour scheme.
type theme struct {
	name string
	vars map[string]string
}

// themes returns the light theme (the top-level :root) and the dark one
// (:root inside prefers-color-scheme: dark, over the light values).
func themes(t *testing.T, rules []cssRule) []theme {
	t.Helper()
	light, dark := map[string]string{}, map[string]string{}
	for _, r := range rules {
		if len(r.selectors) != 1 || r.selectors[0] != ":root" {
			continue
		}
		for k, v := range r.decls {
			if !strings.HasPrefix(k, "--") {
				continue
			}
			switch r.media {
			case "":
				light[k] = v
			case "(prefers-color-scheme: dark)":
				dark[k] = v
			}
		}
	}
	if len(dark) == 0 {
		t.Fatal("stylesheet has no dark :root")
	}
	merged := map[string]string{}
	for k, v := range light {
		merged[k] = v
	}
	for k, v := range dark {
		merged[k] = v
	}
	return []theme{{"light", light}, {"dark", merged}}
}

var (
	hexColour = regexp.MustCompile(`^#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$`)
	varRef    = regexp.MustCompile(`^var\((--[a-z0-9-]+)(?:,\s*([^)]*))?\)$`)
)

// colour resolves a colour value (#rgb, #rrggbb, var(--x), white) in th.
func (th theme) colour(v string) (string, error) {
	v = strings.TrimSpace(v)
	for range 8 {
		m := varRef.FindStringSubmatch(v)
		if m == nil {
			break
		}
		val, ok := th.vars[m[1]]
		if !ok {
			return "", fmt.Errorf("%s is not defined in the %s theme", m[1], th.name)
		}
		v = val
	}
	switch {
	case v == "white":
		return "#ffffff", nil
	case hexColour.MatchString(v):
		if len(v) == 4 {
			v = "#" + strings.Repeat(v[1:2], 2) + strings.Repeat(v[2:3], 2) + strings.Repeat(v[3:4], 2)
		}
		return strings.ToLower(v), nil
	}
	return "", fmt.Errorf("%q is not a colour this test can read", v)
}

// shorthandColour is the colour token of a border or outline shorthand
// ("1px solid var(--x)"), or the value itself for a plain colour property.
func shorthandColour(v string) string {
	for _, tok := range strings.Fields(v) {
		if strings.HasPrefix(tok, "#") || strings.HasPrefix(tok, "var(") || tok == "white" {
			return tok
		}
	}
	return v
}

// relativeLuminance is WCAG 2.2's relative luminance of an sRGB colour.
func relativeLuminance(hex string) float64 {
	var rgb [3]float64
	for i := range rgb {
		n, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(n) / 255
		if c <= 0.04045 {
			rgb[i] = c / 12.92
		} else {
			rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
}

// contrastRatio is WCAG 2.2's contrast ratio of two colours, 1 to 21.
func contrastRatio(a, b string) float64 {
	la, lb := relativeLuminance(a), relativeLuminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func TestContrastRatio(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"#000000", "#ffffff", 21},
		{"#ffffff", "#ffffff", 1},
		{"#767676", "#ffffff", 4.54},
		{"#f0a500", "#ffffff", 2.08}, // the old focus ring
		{"#d5dbe5", "#ffffff", 1.39}, // the old input border
	} {
		if got := contrastRatio(tc.a, tc.b); math.Abs(got-tc.want) > 0.01 {
			t.Errorf("contrast(%s, %s) = %.2f, want %.2f", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestControlContrast checks, in the light and the dark theme, that what
// shows where a control is and where the focus is has at least 3:1
// against every colour next to it (WCAG 2.2 SC 1.4.11), and that body and
// hint text have 4.5:1 (SC 1.4.3). The colours are read from the
// stylesheet itself, so a later change cannot lower them unnoticed.
func TestControlContrast(t *testing.T) {
	src, err := fs.ReadFile(assets, "static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	rules := parseCSS(t, string(src))
	// value is the last declaration of prop in a top-level rule for
	// exactly selector.
	value := func(selector, prop string) string {
		t.Helper()
		got := ""
		for _, r := range rules {
			if r.media != "" {
				continue
			}
			for _, s := range r.selectors {
				if s == selector {
					if v, ok := r.decls[prop]; ok {
						got = v
					}
				}
			}
		}
		if got == "" {
			t.Errorf("stylesheet: no %s for %s", prop, selector)
		}
		return got
	}
	surfaces := []string{"var(--surface)", "var(--bg)", "var(--surface-2)"}
	checks := []struct {
		what      string
		selector  string
		prop      string
		against   []string
		min       float64
		shorthand bool
	}{
		{"focus ring", ":focus-visible", "outline", surfaces, 3, true},
		{"error summary focus ring", ".error-summary:focus", "outline", []string{"var(--surface)"}, 3, true},
		{"input border", ".field input", "border", []string{"var(--surface)"}, 3, true},
		{"input border, hovered", ".field input:hover", "border-color", []string{"var(--surface)"}, 3, false},
		{"input border, focused", ".field input:focus-visible", "border-color", []string{"var(--surface)"}, 3, false},
		{"input border, invalid", `.field input[aria-invalid="true"]`, "border-color", []string{"var(--surface)"}, 3, false},
		{"check box", `.check input[type="checkbox"]`, "accent-color", []string{"var(--surface)"}, 3, false},
		{"primary button", ".button-primary", "background", surfaces, 3, false},
		{"primary button, hovered", ".button-primary:hover", "background", surfaces, 3, false},
		{"secondary button (a link as a button) border", ".button-secondary", "border-color", surfaces, 3, false},
		{"provider button border", ".provider-button", "border-color", surfaces, 3, false},
		{"menu button border", ".menu > summary", "border", []string{"var(--surface)", "var(--surface-2)"}, 3, true},
		{"language switch border", ".lang-switch", "border", []string{"var(--surface)"}, 3, true},
		{"language switch divider", ".lang-switch button + button", "border-left", []string{"var(--surface)"}, 3, true},
		{"current language", `.lang-switch button[aria-current="true"]`, "background", []string{"var(--surface)"}, 3, false},
		{"text", "body", "color", surfaces, 4.5, false},
		{"hint text", ".field-hint", "color", []string{"var(--surface)"}, 4.5, false},
		{"field error text", ".field-error", "color", []string{"var(--surface)"}, 4.5, false},
		{"error summary text", ".error-summary", "color", []string{"var(--error-bg)"}, 4.5, false},
		{"link", "a", "color", surfaces, 4.5, false},
	}
	for _, th := range themes(t, rules) {
		for _, c := range checks {
			v := value(c.selector, c.prop)
			if v == "" {
				continue
			}
			if c.shorthand {
				v = shorthandColour(v)
			}
			fg, err := th.colour(v)
			if err != nil {
				t.Errorf("%s theme, %s (%s { %s }): %v", th.name, c.what, c.selector, c.prop, err)
				continue
			}
			for _, bgRef := range c.against {
				bg, err := th.colour(bgRef)
				if err != nil {
					t.Fatal(err)
				}
				if r := contrastRatio(fg, bg); r < c.min {
					t.Errorf("%s theme: %s %s on %s %s: contrast %.2f:1, want at least %.1f:1",
						th.name, c.what, fg, bgRef, bg, r, c.min)
				}
			}
		}
	}
	// The focus ring is drawn outside the control, against the page: an
	// inset ring would sit on the control's own colour (a current-language
	// button is the primary blue, on which the ring has too little contrast).
	for _, r := range rules {
		for _, s := range r.selectors {
			if off, ok := r.decls["outline-offset"]; ok && strings.Contains(s, "focus") && strings.HasPrefix(off, "-") {
				t.Errorf("%s { outline-offset: %s }: the focus ring must be outside the control", s, off)
			}
		}
	}
}
