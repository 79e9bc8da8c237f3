package config

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ServiceOIDC registers a service as a client of the gateway's OpenID
// Provider (issuer = server.public_url). In YAML, under a service:
//
//	oidc:
//	  client_id: kintone
//	  client_secret_file: secrets/kintone-oidc   # or client_secret_hash
//	  redirect_uris: [https://example.cybozu.com/oauth2/callback]
//	  post_logout_redirect_uris: [https://example.cybozu.com/]
//	  token_endpoint_auth_method: client_secret_basic
//	  backchannel_logout_uri: https://example.cybozu.com/oidc/logout
//	  initiate_login_uri: https://example.cybozu.com/login/sso
//	  scopes: [openid, profile, email, groups]
type ServiceOIDC struct {
	// ClientID is the client_id the app sends. Default: the service id.
	ClientID string `yaml:"client_id"`
	// ClientSecretFile names a file holding the client secret (at least
	// MinClientSecretLen characters). Validate reads it, keeps only its
	// hash in ClientSecretHash, and forgets the secret.
	ClientSecretFile string `yaml:"client_secret_file"`
	// ClientSecretHash is the secret's hash as `ssogate oidc-secret`
	// prints it ("sha256:" and the unpadded base64url SHA-256), so that
	// the file need not be on the gateway's host.
	ClientSecretHash string `yaml:"client_secret_hash"`
	// RedirectURIs are where codes may be sent: compared exactly.
	RedirectURIs []string `yaml:"redirect_uris"`
	// PostLogoutRedirectURIs are where RP-initiated logout may return:
	// compared exactly.
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris"`
	// Public marks a client that cannot keep a secret (a single-page or
	// native app): no secret, token_endpoint_auth_method none, PKCE S256
	// required.
	Public bool `yaml:"public"`
	// TokenEndpointAuthMethod is how the client authenticates at the token
	// endpoint: client_secret_basic (default), client_secret_post,
	// private_key_jwt or none (public clients).
	TokenEndpointAuthMethod string `yaml:"token_endpoint_auth_method"`
	// JWKSURI is where the keys of a private_key_jwt client are fetched.
	JWKSURI string `yaml:"jwks_uri"`
	// JWKSFile names a file with the JWK set of a private_key_jwt client.
	JWKSFile string `yaml:"jwks_file"`
	// BackchannelLogoutURI receives a logout token when a session that
	// signed in to the app ends (OIDC Back-Channel Logout 1.0).
	BackchannelLogoutURI string `yaml:"backchannel_logout_uri"`
	// InitiateLoginURI is where the tile leads: the app's login initiation
	// endpoint (OIDC third-party-initiated login), called with iss and
	// target_link_uri. Default: the tile goes to the service's url.
	InitiateLoginURI string `yaml:"initiate_login_uri"`
	// Scopes the client may ask for. Default: openid profile email phone
	// groups offline_access.
	Scopes []string `yaml:"scopes"`

	// JWKS is the key set read from JWKSFile by Validate.
	JWKS []byte `yaml:"-"`

	// hashedFile is set once Validate has hashed ClientSecretFile, so
	// that validating again does not take the hash for a second secret.
	hashedFile bool
}

// MinClientSecretLen is the shortest client secret accepted: a secret is
// compared by its SHA-256, which is only as strong as the secret's entropy.
const MinClientSecretLen = 32

// OIDCScopes are the scopes the OpenID Provider knows.
var OIDCScopes = []string{"openid", "profile", "email", "phone", "groups", "offline_access"}

// OIDCAuthMethods are the supported token_endpoint_auth_method values.
var OIDCAuthMethods = []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}

// HashClientSecret is the form client_secret_hash takes for secret.
func HashClientSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// ClientSecretDigest returns the SHA-256 that client_secret_hash h holds.
func ClientSecretDigest(h string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(h, "sha256:")
	if !ok {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) != sha256.Size {
		return nil, false
	}
	return b, true
}

// serviceOIDC checks a service's oidc block, reads its secret and key
// files, and fills the defaults.
func (v *validator) serviceOIDC(path string, s *Service) {
	o := s.OIDC
	if o.ClientID == "" {
		o.ClientID = s.ID
	}
	if strings.ContainsAny(o.ClientID, " \t\r\n:") {
		v.errorf(path+".client_id", "%q must not contain spaces or ':'", o.ClientID)
	}
	for i := range v.c.Services {
		other := &v.c.Services[i]
		if other != s && other.OIDC != nil && other.OIDC.ClientID == o.ClientID {
			v.errorf(path+".client_id", "%q is also the client_id of service %q; each client needs its own", o.ClientID, other.ID)
			break
		}
	}
	if o.TokenEndpointAuthMethod == "" {
		o.TokenEndpointAuthMethod = "client_secret_basic"
		if o.Public {
			o.TokenEndpointAuthMethod = "none"
		}
	}
	switch {
	case !slices.Contains(OIDCAuthMethods, o.TokenEndpointAuthMethod):
		// How the client proves itself is unknown, so its secret and keys
		// cannot be checked either.
		v.oneOf(path+".token_endpoint_auth_method", "token_endpoint_auth_method", o.TokenEndpointAuthMethod, OIDCAuthMethods)
	case o.Public != (o.TokenEndpointAuthMethod == "none"):
		v.errorf(path+".token_endpoint_auth_method", "a public client (public: true) uses none, and only a public client does; got %q", o.TokenEndpointAuthMethod)
	default:
		v.oidcSecret(path, o)
		v.oidcKeys(path, o)
	}
	if len(o.RedirectURIs) == 0 {
		v.errorf(path+".redirect_uris", "required: where the app receives the code, e.g. https://app.example.com/oauth2/callback")
	}
	pubHTTP := strings.HasPrefix(v.c.Server.PublicURL, "http://")
	for i, u := range o.RedirectURIs {
		v.oidcURI(fmt.Sprintf("%s.redirect_uris[%d]", path, i), u, pubHTTP)
	}
	for i, u := range o.PostLogoutRedirectURIs {
		v.oidcURI(fmt.Sprintf("%s.post_logout_redirect_uris[%d]", path, i), u, pubHTTP)
	}
	if o.BackchannelLogoutURI != "" {
		v.oidcURI(path+".backchannel_logout_uri", o.BackchannelLogoutURI, pubHTTP)
	}
	if o.InitiateLoginURI != "" {
		v.oidcURI(path+".initiate_login_uri", o.InitiateLoginURI, pubHTTP)
	}
	if len(o.Scopes) == 0 {
		o.Scopes = slices.Clone(OIDCScopes)
	}
	for i, sc := range o.Scopes {
		v.oneOf(fmt.Sprintf("%s.scopes[%d]", path, i), "scope", sc, OIDCScopes)
	}
	if !slices.Contains(o.Scopes, "openid") {
		v.errorf(path+".scopes", "must include openid")
	}
}

// oidcSecret checks how a client proves itself and reduces a secret file
// to its hash.
func (v *validator) oidcSecret(path string, o *ServiceOIDC) {
	secretAuth := o.TokenEndpointAuthMethod == "client_secret_basic" || o.TokenEndpointAuthMethod == "client_secret_post"
	switch {
	case o.ClientSecretFile != "" && o.ClientSecretHash != "" && !o.hashedFile:
		v.errorf(path+".client_secret_file", "set either client_secret_file or client_secret_hash, not both")
		return
	case !secretAuth && (o.ClientSecretFile != "" || o.ClientSecretHash != ""):
		v.errorf(path+".token_endpoint_auth_method", "%s takes no client secret; remove client_secret_file/client_secret_hash", o.TokenEndpointAuthMethod)
		return
	case secretAuth && o.ClientSecretFile == "" && o.ClientSecretHash == "":
		v.errorf(path+".client_secret_file", "required for %s: a file with a random secret of at least %d characters "+
			"(e.g. openssl rand -base64 48), or client_secret_hash from `ssogate oidc-secret`", o.TokenEndpointAuthMethod, MinClientSecretLen)
		return
	}
	if o.ClientSecretFile != "" {
		data, err := os.ReadFile(v.resolve(o.ClientSecretFile))
		if err != nil {
			v.errorf(path+".client_secret_file", "cannot read the file: %v", err)
			return
		}
		secret := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
		if len(secret) < MinClientSecretLen {
			v.errorf(path+".client_secret_file", "the secret has %d characters; use at least %d random ones (e.g. openssl rand -base64 48)", len(secret), MinClientSecretLen)
			return
		}
		o.ClientSecretHash, o.hashedFile = HashClientSecret(secret), true
		return
	}
	if o.ClientSecretHash != "" {
		if _, ok := ClientSecretDigest(o.ClientSecretHash); !ok {
			v.errorf(path+".client_secret_hash", "not a hash from `ssogate oidc-secret` (sha256: and 43 base64url characters)")
		}
	}
}

// oidcKeys checks where a private_key_jwt client's keys come from.
func (v *validator) oidcKeys(path string, o *ServiceOIDC) {
	if o.TokenEndpointAuthMethod != "private_key_jwt" {
		if o.JWKSURI != "" || o.JWKSFile != "" {
			v.errorf(path+".jwks_uri", "only a private_key_jwt client has keys; remove jwks_uri/jwks_file")
		}
		return
	}
	switch {
	case o.JWKSURI != "" && o.JWKSFile != "":
		v.errorf(path+".jwks_uri", "set either jwks_uri or jwks_file, not both")
	case o.JWKSURI == "" && o.JWKSFile == "":
		v.errorf(path+".jwks_uri", "required for private_key_jwt: the URL of the app's JWK set, or jwks_file")
	case o.JWKSURI != "":
		if _, err := parseHTTPURL(o.JWKSURI, "https://app.example.com/jwks.json"); err != nil {
			v.errorf(path+".jwks_uri", "%v", err)
		}
	default:
		data, err := os.ReadFile(v.resolve(o.JWKSFile))
		if err != nil {
			v.errorf(path+".jwks_file", "cannot read the file: %v", err)
			return
		}
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(data, &set); err != nil || len(set.Keys) == 0 {
			v.errorf(path+".jwks_file", "not a JWK set with at least one key ({\"keys\": [...]})")
			return
		}
		o.JWKS = data
	}
}

// oidcURI checks a URI the provider sends the browser or a request to:
// absolute, no fragment, https unless the gateway itself is on http.
func (v *validator) oidcURI(key, s string, httpOK bool) {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "":
		v.errorf(key, "%q is not an absolute URL; use e.g. https://app.example.com/oauth2/callback", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		v.errorf(key, "%q must not have a fragment (#…)", s)
	case u.User != nil:
		v.errorf(key, "%q must not contain a user name or password", u.Redacted())
	case u.Scheme == "http" && !httpOK:
		v.errorf(key, "%q is http; use https (http is accepted only while server.public_url is http)", s)
	case u.Scheme != "http" && u.Scheme != "https":
		v.errorf(key, "%q has scheme %q; use https", s, u.Scheme)
	}
}

// resolve makes a path relative to the configuration file's directory.
func (v *validator) resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	if s := v.c.src; s != nil && s.dir != "" {
		return filepath.Join(s.dir, p)
	}
	return p
}
