package oidc

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/ssogate/ssogate/providers"
)

// decodeClaims decodes a JSON object of claims, keeping numbers as
// written (an exp of 1735689600 stays "1735689600", not 1.7356896e+09).
func decodeClaims(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// flatten turns a claim value into strings: a string, number or boolean
// is one value, a list is its elements, and an object (or an object in a
// list) is its compact JSON. null is no value.
func flatten(v any) []string {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if e == nil {
				continue
			}
			out = append(out, scalar(e))
		}
		return out
	default:
		return []string{scalar(v)}
	}
}

func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		if v {
			return "true"
		}
		return "false"
	case json.Number:
		return v.String()
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
}

// first returns the first value of the named claim, or "".
func first(claims map[string]any, name string) string {
	if name == "" {
		return ""
	}
	if vs := flatten(claims[name]); len(vs) > 0 {
		return strings.TrimSpace(vs[0])
	}
	return ""
}

// isTrue reports whether a claim value asserts true: JSON true, the
// string "true" (any case; AWS Cognito sends strings) or "1", or the
// number 1.
func isTrue(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true") || v == "1"
	case json.Number:
		return v.String() == "1"
	}
	return false
}

// identity maps claims to an Identity.
func (p *Provider) identity(subject string, claims map[string]any) *providers.Identity {
	names := p.s.Claims
	id := &providers.Identity{
		ProviderID:   p.id,
		Subject:      subject,
		Email:        first(claims, names.Email),
		DisplayName:  first(claims, names.Name),
		Phone:        first(claims, names.Phone),
		Mobile:       first(claims, names.Mobile),
		Organization: first(claims, names.Organization),
		Department:   first(claims, names.Department),
		Claims:       make(map[string][]string, len(claims)),
		AMR:          []string{"fed"},
	}
	id.EmailVerified = id.Email != "" && isTrue(claims[names.EmailVerified])
	for _, g := range flatten(claims[names.Groups]) {
		if g = strings.TrimSpace(g); g != "" && !slices.Contains(id.Groups, g) {
			id.Groups = append(id.Groups, g)
		}
	}
	for _, m := range flatten(claims["amr"]) {
		if m != "" && !slices.Contains(id.AMR, m) {
			id.AMR = append(id.AMR, m)
		}
	}
	for k, v := range claims {
		if vs := flatten(v); len(vs) > 0 {
			id.Claims[k] = vs
		}
	}
	return id
}
