package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssogate/ssogate/providers"
)

// Bindings by which Begin sends the AuthnRequest.
const (
	BindingRedirect = "redirect"
	BindingPost     = "post"
)

// Attribute-name presets.
const (
	// AttributesPlain names attributes by their LDAP names or OIDs (mail,
	// displayName, eduPersonAffiliation …): Shibboleth, Keycloak,
	// crewjam/saml, most IdPs that are not Microsoft's.
	AttributesPlain = "plain"
	// AttributesADFS names them by the claim-type URIs AD FS sends.
	AttributesADFS = "adfs"
	// AttributesEntra names them by the claim-type URIs Entra ID sends.
	AttributesEntra = "entra"
)

// Configuration defaults and limits.
const (
	DefaultMetadataRefresh = 24 * time.Hour
	DefaultClockSkew       = 90 * time.Second

	minMetadataRefresh = time.Minute
	maxClockSkew       = 15 * time.Minute
	minRSABits         = 2048
	// transitAllowance is how long a response may take from the IdP
	// through the browser to the gateway, on top of the clock skew.
	transitAllowance = time.Minute
	// fetchTimeout bounds one IdP metadata fetch.
	fetchTimeout = 30 * time.Second
)

// Config configures a SAML provider. In ssogate.yaml it is written as
//
//	providers:
//	  - id: adfs
//	    type: saml
//	    label: Active Directoryアカウントでログイン
//	    idp_metadata_url: https://adfs.example.co.jp/FederationMetadata/2007-06/FederationMetadata.xml
//	    metadata_refresh: 24h          # MetadataRefresh
//	    attributes: adfs               # Attributes: plain, adfs or entra
//	    binding: redirect              # Binding: redirect or post
//	    clock_skew: 90s                # ClockSkew
//	    allow_idp_initiated: false     # AllowIDPInitiated
//	    attribute_names:               # AttributeNames: single overrides
//	      department: http://example.co.jp/claims/busho
//	  - id: shibboleth
//	    type: saml
//	    idp_metadata_file: /etc/ssogate/idp-metadata.xml   # read by the wiring into IDPMetadata
//	    certificate_file: /etc/ssogate/saml.crt            # Certificate
//	    key_file: /etc/ssogate/saml.key                    # Key
//
// The gateway sets EntityID (default MetadataURL), ACSURL and
// MetadataURL from its public URL, and Key and Certificate from the files
// or from a pair it generated and keeps in its store.
type Config struct {
	// EntityID is the gateway's SP entity id. Default MetadataURL.
	EntityID string
	// ACSURL is the assertion consumer service, <public>/callback/<id>,
	// where the IdP posts its response (HTTP-POST binding). Required.
	ACSURL string
	// MetadataURL is where the gateway serves Metadata,
	// <public>/saml/<id>/metadata. Required unless EntityID is set.
	MetadataURL string

	// IDPMetadataURL is where the IdP publishes its metadata. It is
	// fetched at Open and every MetadataRefresh; https is required except
	// on a loopback host, since whoever can change the metadata can sign
	// in as anyone. Exactly one of IDPMetadataURL and IDPMetadata.
	IDPMetadataURL string
	// IDPMetadata is the IdP's metadata XML (idp_metadata_file, read by
	// the wiring): an EntityDescriptor, or an EntitiesDescriptor holding
	// exactly one IdP.
	IDPMetadata []byte
	// MetadataRefresh is how often IDPMetadataURL is fetched again; the
	// last good copy stays in use when a fetch fails. Default 24h, at
	// least 1m.
	MetadataRefresh time.Duration

	// Key signs AuthnRequests and decrypts encrypted assertions. It must
	// be an *rsa.PrivateKey of at least 2048 bits (what AD FS and Entra
	// ID accept), or an *ecdsa.PrivateKey (then the IdP cannot encrypt
	// assertions: the metadata offers no encryption key). Required.
	Key crypto.Signer
	// Certificate is Key's certificate, published in Metadata. Required.
	Certificate *x509.Certificate

	// Binding sends the AuthnRequest by BindingRedirect (default) or
	// BindingPost. When the IdP offers only the other, Begin uses that.
	Binding string
	// ClockSkew is how far the IdP's clock may be from the gateway's:
	// NotBefore and NotOnOrAfter are stretched by it, and a response must
	// arrive within ClockSkew plus one minute of its IssueInstant.
	// Default 90s, at most 15m.
	ClockSkew time.Duration
	// AllowIDPInitiated accepts responses the gateway did not ask for
	// (Complete with no State). They are open to login CSRF: anyone can
	// post their own valid response to a victim's browser. Default false.
	AllowIDPInitiated bool
	// AllowSHA1 accepts responses signed with RSA-SHA1 or SHA-1 digests,
	// for IdPs too old for SHA-256. Not in ssogate.yaml. Default false.
	AllowSHA1 bool

	// Attributes is the attribute-name preset: AttributesPlain (default),
	// AttributesADFS or AttributesEntra.
	Attributes string
	// AttributeNames overrides single names of the preset.
	AttributeNames AttributeNames

	// Replay remembers assertion ids so that each is accepted once, on
	// every gateway replica. Required.
	Replay providers.ReplayCache
	// HTTPClient fetches IDPMetadataURL. Default: a client with a 30s
	// timeout.
	HTTPClient *http.Client
	// Now is the clock for every time check and for metadata retries.
	// Default time.Now.
	Now func() time.Time
	// Logger receives metadata refresh failures. Default slog.Default().
	Logger *slog.Logger
}

// AttributeNames names the SAML attributes mapped to the Identity. An
// attribute matches by its Name or its FriendlyName, ignoring case. An
// empty field takes the preset's list of names (see the package doc); a
// set field replaces that list with the one name.
type AttributeNames struct {
	// Subject names the attribute that identifies the person when the
	// NameID is not persistent. Not in ssogate.yaml.
	Subject      string
	Email        string
	Name         string
	GivenName    string
	Surname      string
	Phone        string
	Mobile       string
	Organization string
	Department   string
	// Groups names a multi-valued attribute; its values become
	// Identity.Groups.
	Groups string
}

// settings is a validated Config with defaults applied.
type settings struct {
	Config
	acsURL      url.URL
	metadataURL url.URL
	sigMethod   string
	// encrypt is true when the IdP may encrypt assertions to Key (RSA).
	encrypt    bool
	issueDelay time.Duration
	names      attributeNames
}

// resolve applies defaults to c and validates it. Each error names the
// ssogate.yaml key and says what would be valid.
func (c Config) resolve() (*settings, error) {
	s := &settings{Config: c}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	s.ACSURL = strings.TrimSpace(s.ACSURL)
	s.MetadataURL = strings.TrimSpace(s.MetadataURL)
	s.EntityID = strings.TrimSpace(s.EntityID)
	s.IDPMetadataURL = strings.TrimSpace(s.IDPMetadataURL)

	if u, err := absoluteURL(s.ACSURL); err != nil {
		bad("acs url %q: %v (the gateway sets it to <public_url>/callback/<id>)", s.ACSURL, err)
	} else {
		s.acsURL = *u
	}
	if s.MetadataURL != "" {
		if u, err := absoluteURL(s.MetadataURL); err != nil {
			bad("metadata url %q: %v (the gateway sets it to <public_url>/saml/<id>/metadata)", s.MetadataURL, err)
		} else {
			s.metadataURL = *u
		}
	}
	if s.EntityID == "" {
		s.EntityID = s.MetadataURL
	}
	if s.EntityID == "" {
		bad("entity_id: required when there is no metadata URL")
	}

	switch {
	case s.IDPMetadataURL != "" && len(s.IDPMetadata) > 0:
		bad("idp_metadata_url and idp_metadata_file: set one, not both")
	case s.IDPMetadataURL != "":
		if err := checkMetadataURL(s.IDPMetadataURL); err != nil {
			bad("idp_metadata_url %q: %v", s.IDPMetadataURL, err)
		}
	case len(s.IDPMetadata) == 0:
		bad("idp_metadata_url or idp_metadata_file: one is required")
	}
	if s.MetadataRefresh == 0 {
		s.MetadataRefresh = DefaultMetadataRefresh
	} else if s.MetadataRefresh < minMetadataRefresh {
		bad("metadata_refresh %s: want at least %s", s.MetadataRefresh, minMetadataRefresh)
	}

	switch k := s.Key.(type) {
	case nil:
		bad("key_file: a private key is required (the gateway generates one when none is given)")
	case *rsa.PrivateKey:
		if k.N.BitLen() < minRSABits {
			bad("key_file: RSA key of %d bits; want at least %d", k.N.BitLen(), minRSABits)
		}
		s.sigMethod = dsig.RSASHA256SignatureMethod
		s.encrypt = true
	case *ecdsa.PrivateKey:
		s.sigMethod = dsig.ECDSASHA256SignatureMethod
	default:
		bad("key_file: a %T key; want RSA (2048 bits or more) or ECDSA", s.Key)
	}
	if s.Certificate == nil {
		bad("certificate_file: a certificate for the key is required")
	} else if s.Key != nil {
		if pub, ok := s.Key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(s.Certificate.PublicKey) {
			bad("certificate_file: the certificate is not the key's (subject %q)", s.Certificate.Subject.String())
		}
	}

	s.Binding = strings.ToLower(strings.TrimSpace(s.Binding))
	switch s.Binding {
	case "":
		s.Binding = BindingRedirect
	case BindingRedirect, BindingPost:
	default:
		bad("binding %q: want %s or %s", s.Binding, BindingRedirect, BindingPost)
	}

	switch {
	case s.ClockSkew == 0:
		s.ClockSkew = DefaultClockSkew
	case s.ClockSkew < 0 || s.ClockSkew > maxClockSkew:
		bad("clock_skew %s: want 0s (default %s) to %s", s.ClockSkew, DefaultClockSkew, maxClockSkew)
	}
	s.issueDelay = s.ClockSkew + transitAllowance

	s.Attributes = strings.ToLower(strings.TrimSpace(s.Attributes))
	if s.Attributes == "" {
		s.Attributes = AttributesPlain
	}
	if names, ok := presets[s.Attributes]; ok {
		s.names = names.override(s.AttributeNames)
	} else {
		bad("attributes %q: want %s, %s or %s", s.Attributes, AttributesPlain, AttributesADFS, AttributesEntra)
	}

	if s.Replay == nil {
		bad("replay cache: required (the gateway passes its store)")
	}
	if s.HTTPClient == nil {
		s.HTTPClient = &http.Client{Timeout: fetchTimeout}
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	return s, errors.Join(errs...)
}

// absoluteURL parses an absolute http(s) URL.
func absoluteURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("want an absolute http or https URL")
	}
	return u, nil
}

// checkMetadataURL requires https, except on a loopback host (tests,
// an IdP on the same machine): plain http would let anyone on the path
// replace the IdP's signing certificate.
func checkMetadataURL(raw string) error {
	u, err := absoluteURL(raw)
	if err != nil {
		return err
	}
	if u.Scheme == "https" || isLoopback(u.Hostname()) {
		return nil
	}
	return errors.New("want https (http only on a loopback host): the metadata carries the IdP's signing certificate")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
