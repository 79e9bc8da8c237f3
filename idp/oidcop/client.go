package oidcop

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/ssogate/ssogate/config"
)

// Client is a service registered as a client of the provider.
type Client struct {
	// ServiceID is the id of the service in the configuration.
	ServiceID string
	cfg       config.ServiceOIDC
	digest    []byte // SHA-256 of the secret; nil for clients without one
	loginURL  string
	devMode   bool
	keys      *clientKeys
}

var _ op.Client = (*Client)(nil)

// NewClient makes the client of service id from its validated oidc block.
// loginURL is the login step's URL without the request id; devMode lets
// http redirect URIs through (only while the issuer itself is http).
func NewClient(serviceID string, o config.ServiceOIDC, loginURL string, devMode bool, hc *http.Client) (*Client, error) {
	c := &Client{ServiceID: serviceID, cfg: o, loginURL: loginURL, devMode: devMode}
	if o.ClientSecretHash != "" {
		d, ok := config.ClientSecretDigest(o.ClientSecretHash)
		if !ok {
			return nil, fmt.Errorf("oidcop: client %s: bad client_secret_hash", o.ClientID)
		}
		c.digest = d
	}
	if o.TokenEndpointAuthMethod == string(oidc.AuthMethodPrivateKeyJWT) {
		c.keys = &clientKeys{uri: o.JWKSURI, hc: hc}
		if len(o.JWKS) > 0 {
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(o.JWKS, &set); err != nil {
				return nil, fmt.Errorf("oidcop: client %s: jwks: %w", o.ClientID, err)
			}
			c.keys.set = &set
		}
	}
	return c, nil
}

// Config is the client's oidc block.
func (c *Client) Config() config.ServiceOIDC { return c.cfg }

// checkSecret reports whether secret is the client's, comparing digests
// in constant time.
func (c *Client) checkSecret(secret string) bool {
	got := sha256.Sum256([]byte(secret))
	want, has := c.digest, c.digest != nil
	if !has {
		// Compare anyway, so a client without a secret takes as long.
		want = make([]byte, sha256.Size)
	}
	same := subtle.ConstantTimeCompare(got[:], want) == 1
	return has && same
}

// GetID implements op.Client.
func (c *Client) GetID() string { return c.cfg.ClientID }

// RedirectURIs implements op.Client: compared exactly by the library.
func (c *Client) RedirectURIs() []string { return c.cfg.RedirectURIs }

// PostLogoutRedirectURIs implements op.Client.
func (c *Client) PostLogoutRedirectURIs() []string { return c.cfg.PostLogoutRedirectURIs }

// ApplicationType implements op.Client: a public client is a user agent
// app (exact redirect URIs, no loopback port leeway).
func (c *Client) ApplicationType() op.ApplicationType {
	if c.cfg.Public {
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

// AuthMethod implements op.Client.
func (c *Client) AuthMethod() oidc.AuthMethod {
	return oidc.AuthMethod(c.cfg.TokenEndpointAuthMethod)
}

// ResponseTypes implements op.Client: the code flow only.
func (c *Client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

// GrantTypes implements op.Client.
func (c *Client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

// LoginURL implements op.Client: the gateway's login step.
func (c *Client) LoginURL(id string) string { return c.loginURL + id }

// AccessTokenType implements op.Client: opaque tokens, so that revoking
// one in the store ends it everywhere at once.
func (c *Client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }

// IDTokenLifetime implements op.Client.
func (c *Client) IDTokenLifetime() time.Duration { return IDTokenLifetime }

// DevMode implements op.Client: true only while the issuer is http.
func (c *Client) DevMode() bool { return c.devMode }

// RestrictAdditionalIdTokenScopes implements op.Client.
func (c *Client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// RestrictAdditionalAccessTokenScopes implements op.Client.
func (c *Client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed implements op.Client.
func (c *Client) IsScopeAllowed(scope string) bool { return slices.Contains(c.cfg.Scopes, scope) }

// IDTokenUserinfoClaimsAssertion implements op.Client: the ID token
// carries the claims of the scopes too, as many apps read only it.
func (c *Client) IDTokenUserinfoClaimsAssertion() bool { return true }

// ClockSkew implements op.Client.
func (c *Client) ClockSkew() time.Duration { return 0 }

// clientKeys are a private_key_jwt client's public keys: a fixed set, or
// fetched from jwks_uri and cached.
type clientKeys struct {
	uri string
	hc  *http.Client

	mu      sync.Mutex
	set     *jose.JSONWebKeySet
	fetched time.Time
}

// jwksRefresh is how long keys fetched from a jwks_uri are reused before
// they are fetched again (an unknown kid fetches at once).
const jwksRefresh = 5 * time.Minute

// jwksMinRefetch is the least time between two fetches of a jwks_uri.
const jwksMinRefetch = 10 * time.Second

// key returns the key with id kid.
func (k *clientKeys) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.uri == "" {
		return findKey(k.set, kid)
	}
	if k.set != nil {
		key, err := findKey(k.set, kid)
		age := time.Since(k.fetched)
		// An unknown kid fetches the set again (the app rotated its key),
		// but not more often than jwksMinRefetch: assertions with made-up
		// kids must not turn into a stream of requests to the app.
		if (err == nil && age < jwksRefresh) || age < jwksMinRefetch {
			return key, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.uri, nil)
	if err != nil {
		return nil, fmt.Errorf("oidcop: jwks_uri: %w", err)
	}
	resp, err := k.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oidcop: jwks_uri: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("oidcop: jwks_uri: status %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("oidcop: jwks_uri: %w", err)
	}
	k.set, k.fetched = &set, time.Now()
	return findKey(k.set, kid)
}

func findKey(set *jose.JSONWebKeySet, kid string) (*jose.JSONWebKey, error) {
	if set == nil {
		return nil, errNotFound
	}
	for i := range set.Keys {
		key := &set.Keys[i]
		if (kid == "" || key.KeyID == kid) && key.IsPublic() && key.Use != "enc" {
			return key, nil
		}
	}
	return nil, errNotFound
}
