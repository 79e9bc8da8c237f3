package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// opClientYAML is a configuration with one service whose oidc block is block
// (indented by six spaces).
func opClientYAML(publicURL, block string) string {
	return `server:
  public_url: ` + publicURL + `
providers:
  - id: local
    type: local
services:
  - id: app
    name: App
    url: https://app.example.com/
    oidc:
` + block
}

// TestServiceOIDC: a client's secret file is read, checked for length and
// kept only as its hash; defaults are filled.
func TestServiceOIDC(t *testing.T) {
	dir := t.TempDir()
	secret := strings.Repeat("k", MinClientSecretLen)
	writeFiles(t, dir, map[string]string{"secret": secret + "\n"})
	c := mustParse(t, opClientYAML("https://sso.example.co.jp", `      client_secret_file: `+filepath.Join(dir, "secret")+`
      redirect_uris: [https://app.example.com/cb]
`))
	o := c.Services[0].OIDC
	if o.ClientID != "app" || o.TokenEndpointAuthMethod != "client_secret_basic" || len(o.Scopes) != len(OIDCScopes) {
		t.Fatalf("defaults: %+v", o)
	}
	if o.ClientSecretHash != HashClientSecret(secret) {
		t.Fatalf("hash %q, want the secret's", o.ClientSecretHash)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("validating again: %v", err)
	}
}

// TestServiceOIDCErrors: every refusal names file, line and key.
func TestServiceOIDCErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"short": "tooshort\n", "good": strings.Repeat("k", 40), "jwks": `{"keys": []}`})
	good := filepath.Join(dir, "good")
	tests := []struct {
		name, pub, block string
		want             []string
	}{
		{"no redirect uris", "https://sso.example.co.jp", "      client_secret_file: " + good + "\n",
			[]string{`x.yaml:10: services[0].oidc.redirect_uris: required: where the app receives the code`}},
		{"no secret", "https://sso.example.co.jp", "      redirect_uris: [https://app.example.com/cb]\n",
			[]string{`x.yaml:10: services[0].oidc.client_secret_file: required for client_secret_basic`}},
		{"short secret", "https://sso.example.co.jp", "      client_secret_file: " + filepath.Join(dir, "short") + "\n      redirect_uris: [https://app.example.com/cb]\n",
			[]string{`x.yaml:11: services[0].oidc.client_secret_file: the secret has 8 characters; use at least 32`}},
		{"both secret forms", "https://sso.example.co.jp", "      client_secret_file: " + good + "\n      client_secret_hash: " + HashClientSecret("x") + "\n      redirect_uris: [https://app.example.com/cb]\n",
			[]string{`x.yaml:11: services[0].oidc.client_secret_file: set either client_secret_file or client_secret_hash, not both`}},
		{"bad hash", "https://sso.example.co.jp", "      client_secret_hash: abc\n      redirect_uris: [https://app.example.com/cb]\n",
			[]string{`x.yaml:11: services[0].oidc.client_secret_hash: not a hash from`}},
		{"http redirect on https gateway, fragment, relative", "https://sso.example.co.jp",
			"      client_secret_file: " + good + "\n      redirect_uris: [http://app.example.com/cb, https://app.example.com/cb#x, /cb]\n",
			[]string{`x.yaml:12: services[0].oidc.redirect_uris[0]: "http://app.example.com/cb" is http; use https`,
				`x.yaml:12: services[0].oidc.redirect_uris[1]: "https://app.example.com/cb#x" must not have a fragment`,
				`x.yaml:12: services[0].oidc.redirect_uris[2]: "/cb" is not an absolute URL`}},
		{"unknown method and scope", "https://sso.example.co.jp",
			"      client_secret_file: " + good + "\n      token_endpoint_auth_method: client_secret_jwt\n      redirect_uris: [https://app.example.com/cb]\n      scopes: [openid, admin]\n",
			[]string{`x.yaml:12: services[0].oidc.token_endpoint_auth_method: unknown token_endpoint_auth_method "client_secret_jwt"`,
				`x.yaml:14: services[0].oidc.scopes[1]: unknown scope "admin"`}},
		{"public client with a secret", "https://sso.example.co.jp",
			"      public: true\n      client_secret_file: " + good + "\n      redirect_uris: [https://app.example.com/cb]\n",
			[]string{`services[0].oidc.token_endpoint_auth_method: none takes no client secret`}},
		{"public client with basic", "https://sso.example.co.jp",
			"      public: true\n      token_endpoint_auth_method: client_secret_basic\n      client_secret_file: " + good + "\n      redirect_uris: [https://app.example.com/cb]\n",
			[]string{`x.yaml:12: services[0].oidc.token_endpoint_auth_method: a public client (public: true) uses none, and only a public client does`}},
		{"private_key_jwt without keys", "https://sso.example.co.jp",
			"      token_endpoint_auth_method: private_key_jwt\n      redirect_uris: [https://app.example.com/cb]\n",
			[]string{`services[0].oidc.jwks_uri: required for private_key_jwt`}},
		{"private_key_jwt empty key set", "https://sso.example.co.jp",
			"      token_endpoint_auth_method: private_key_jwt\n      jwks_file: " + filepath.Join(dir, "jwks") + "\n      redirect_uris: [https://app.example.com/cb]\n",
			[]string{`x.yaml:12: services[0].oidc.jwks_file: not a JWK set with at least one key`}},
		{"misspelt key", "https://sso.example.co.jp", "      redirect_uri: [https://app.example.com/cb]\n",
			[]string{`x.yaml:11: services[0].oidc.redirect_uri: unknown key; did you mean "redirect_uris"?`,
				`services[0].oidc.redirect_uris: required`, `services[0].oidc.client_secret_file: required`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseErr(t, opClientYAML(tt.pub, tt.block))
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("error does not contain\n  %s\ngot\n  %s", w, strings.ReplaceAll(got, "\n", "\n  "))
				}
			}
			if n := strings.Count(got, "\n") + 1; n != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n  %s", n, len(tt.want), strings.ReplaceAll(got, "\n", "\n  "))
			}
		})
	}
	// A second client with the same client_id.
	got := parseErr(t, opClientYAML("https://sso.example.co.jp", "      client_secret_file: "+good+"\n      redirect_uris: [https://app.example.com/cb]\n")+
		"  - id: app2\n    name: App2\n    url: https://app2.example.com/\n    oidc:\n      client_id: app\n      client_secret_file: "+good+"\n      redirect_uris: [https://app2.example.com/cb]\n")
	if !strings.Contains(got, `services[0].oidc.client_id: "app" is also the client_id of service "app2"`) {
		t.Errorf("duplicate client_id: %s", got)
	}
}
