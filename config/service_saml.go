package config

import (
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// ServiceSAML registers a service as a service provider (SP) of the
// gateway's SAML IdP: the app signs in with SAML, and its tile opens it
// IdP-initiated, already signed in. For example:
//
//	saml:
//	  metadata_url: https://kintone.example.co.jp/saml/metadata
//	  name_id_format: email
//	  attributes:
//	    mail: email
//	    displayName: display_name
//	    groups: groups
type ServiceSAML struct {
	// MetadataURL is where the SP publishes its metadata (https; http only
	// on loopback), fetched at first use and again every MetadataRefresh
	// and when a signature does not verify with the copy held; a failed
	// fetch keeps the last good copy. Exactly one of MetadataURL and
	// MetadataFile.
	MetadataURL string `yaml:"metadata_url"`
	// MetadataFile is the SP's metadata as a file (relative paths are
	// relative to the configuration file), reread on the same schedule.
	MetadataFile string `yaml:"metadata_file"`
	// MetadataRefresh is how often the metadata is read again. Default 24h.
	MetadataRefresh Duration `yaml:"metadata_refresh"`
	// EntityID is the SP's entity id when it differs from the metadata's
	// entityID (an SP that issues requests under another name). Default:
	// the metadata's.
	EntityID string `yaml:"entity_id"`
	// NameIDFormat is the NameID the SP receives: "email" (the person's
	// email address) or "persistent" (an opaque id, stable for the person
	// and this SP, different for each SP). Default "email".
	NameIDFormat string `yaml:"name_id_format"`
	// Attributes maps each SAML attribute the SP receives (its Name) to a
	// field of the person: email, display_name, groups (one value per
	// group), department, organization, phone, mobile, login_id. Default
	// mail: email, displayName: display_name, groups: groups.
	Attributes map[string]string `yaml:"attributes"`
	// AttributeNameFormat is the NameFormat of every attribute: "basic",
	// "uri" or "unspecified". Default "basic".
	AttributeNameFormat string `yaml:"attribute_name_format"`
	// Sign says what the IdP signs: "both" (the Response and the
	// Assertion), "response" or "assertion". Default "both".
	Sign string `yaml:"sign"`
	// SignatureAlgorithm is the signature method of what the IdP signs,
	// and the weakest it accepts on a signed AuthnRequest or
	// LogoutRequest of the SP: "rsa-sha256", or "rsa-sha1" for an old SP
	// that knows nothing else (SHA-1 is broken; only such an SP should
	// ask for it). Default "rsa-sha256".
	SignatureAlgorithm string `yaml:"signature_algorithm"`
	// RequireSignedRequests refuses an AuthnRequest without a valid
	// signature even when the SP's metadata does not say
	// AuthnRequestsSigned (when it does, a signature is always required).
	// Default false.
	RequireSignedRequests bool `yaml:"require_signed_requests"`
	// RelayState is where the SP sends the person after an IdP-initiated
	// sign-in from the tile (the RelayState it receives), e.g. the app's
	// home page. Default none: the SP's own default page.
	RelayState string `yaml:"relay_state"`
}

// SAML name id formats and signing choices of ServiceSAML.
const (
	SAMLNameIDEmail      = "email"
	SAMLNameIDPersistent = "persistent"

	SAMLSignBoth      = "both"
	SAMLSignResponse  = "response"
	SAMLSignAssertion = "assertion"

	SAMLRSASHA256 = "rsa-sha256"
	SAMLRSASHA1   = "rsa-sha1"
)

// SAMLAttributeSources are the fields of a person an attribute may carry.
var SAMLAttributeSources = []string{"email", "login_id", "display_name", "groups", "department", "organization", "phone", "mobile"}

// defaultSAMLMetadataRefresh is MetadataRefresh's default.
const defaultSAMLMetadataRefresh = 24 * time.Hour

// minSAMLMetadataRefresh bounds how often the gateway fetches an SP's
// metadata.
const minSAMLMetadataRefresh = time.Minute

// Refresh returns MetadataRefresh, or its default when unset.
func (s *ServiceSAML) Refresh() time.Duration {
	if s.MetadataRefresh > 0 {
		return s.MetadataRefresh.D()
	}
	return defaultSAMLMetadataRefresh
}

// AttributeMap returns Attributes, or the default set when none is
// written, with the attribute names sorted.
func (s *ServiceSAML) AttributeMap() (names []string, sources map[string]string) {
	sources = s.Attributes
	if len(sources) == 0 {
		sources = map[string]string{"mail": "email", "displayName": "display_name", "groups": "groups"}
	}
	for n := range sources {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, sources
}

// serviceSAML checks a service's saml block.
func (v *validator) serviceSAML(path string, s *Service) {
	c := s.SAML
	const metadataExample = "https://app.example.co.jp/saml/metadata"
	switch {
	case c.MetadataURL != "" && c.MetadataFile != "":
		v.errorf(path+".metadata_file", "set either metadata_url or metadata_file, not both")
	case c.MetadataURL == "" && c.MetadataFile == "":
		v.errorf(path+".metadata_url", "required: the service provider's metadata, as metadata_url (e.g. %s) or metadata_file", metadataExample)
	}
	if c.MetadataURL != "" {
		if _, err := parseHTTPSURL(c.MetadataURL, metadataExample); err != nil {
			v.errorf(path+".metadata_url", "%v", err)
		}
	}
	if c.MetadataFile != "" {
		c.MetadataFile = v.c.src.resolve(c.MetadataFile)
		if fi, err := os.Stat(c.MetadataFile); err != nil {
			v.errorf(path+".metadata_file", "cannot read the file: %v", err)
		} else if !fi.Mode().IsRegular() {
			v.errorf(path+".metadata_file", "%s is not a regular file; name the SP's metadata XML file itself", c.MetadataFile)
		}
	}
	if c.MetadataRefresh < 0 || (c.MetadataRefresh > 0 && c.MetadataRefresh.D() < minSAMLMetadataRefresh) ||
		(c.MetadataRefresh == 0 && v.c.src.present(path+".metadata_refresh")) {
		v.errorf(path+".metadata_refresh", "%s is too short; use at least %s, e.g. 24h", c.MetadataRefresh, Duration(minSAMLMetadataRefresh))
	}
	if c.EntityID != "" {
		if u, err := url.Parse(c.EntityID); err != nil || u.Scheme == "" {
			v.errorf(path+".entity_id", "%q is not an absolute URI; use the SP's entity id, e.g. %s, or leave it out to use its metadata's", c.EntityID, metadataExample)
		}
	}
	if c.NameIDFormat != "" {
		v.oneOf(path+".name_id_format", "name id format", c.NameIDFormat, []string{SAMLNameIDEmail, SAMLNameIDPersistent})
	}
	names := make([]string, 0, len(c.Attributes))
	for n := range c.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		key := path + ".attributes." + n
		if strings.TrimSpace(n) == "" || strings.ContainsAny(n, " \t\r\n<>&\"'") {
			v.errorf(key, "%q is not an attribute name; use e.g. mail, displayName or urn:oid:0.9.2342.19200300.100.1.3", n)
			continue
		}
		if src := c.Attributes[n]; !slices.Contains(SAMLAttributeSources, src) {
			v.errorf(key, "unknown field %q%s; valid: %s", src, suggest(src, SAMLAttributeSources), strings.Join(SAMLAttributeSources, ", "))
		}
	}
	if c.AttributeNameFormat != "" {
		v.oneOf(path+".attribute_name_format", "attribute name format", c.AttributeNameFormat, []string{"basic", "uri", "unspecified"})
	}
	if c.Sign != "" {
		v.oneOf(path+".sign", "signing choice", c.Sign, []string{SAMLSignBoth, SAMLSignResponse, SAMLSignAssertion})
	}
	if c.SignatureAlgorithm != "" {
		v.oneOf(path+".signature_algorithm", "signature algorithm", c.SignatureAlgorithm, []string{SAMLRSASHA256, SAMLRSASHA1})
	}
	if c.RelayState != "" {
		if _, err := parseHTTPURL(c.RelayState, "https://app.example.co.jp/home"); err != nil {
			v.errorf(path+".relay_state", "%v", err)
		}
	}
	if s.OIDC != nil {
		v.errorf(path, "a service is either an OpenID Connect client (oidc) or a SAML service provider (saml), not both; make two services")
	}
}
