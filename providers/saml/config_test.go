package saml

import (
	"context"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
)

func TestOpenRefusesBadConfig(t *testing.T) {
	idp, sp, _ := testKeys(t)
	small := newKeyPair(t, "small", mustRSA(t, 1024))
	base := func() Config {
		return Config{
			MetadataURL:    "https://gw.example.test/saml/x/metadata",
			ACSURL:         "https://gw.example.test/callback/x",
			IDPMetadataURL: "https://idp.example.test/metadata",
			Key:            sp.key,
			Certificate:    sp.cert,
			Replay:         newMemReplay(nil),
		}
	}
	tests := []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"no ACS", func(c *Config) { c.ACSURL = "" }, "acs url"},
		{"relative ACS", func(c *Config) { c.ACSURL = "/callback/x" }, "acs url"},
		{"no entity id", func(c *Config) { c.MetadataURL = "" }, "entity_id"},
		{"no IdP metadata", func(c *Config) { c.IDPMetadataURL = "" }, "idp_metadata_url or idp_metadata_file"},
		{"both IdP metadata", func(c *Config) { c.IDPMetadata = []byte("<x/>") }, "set one, not both"},
		{"IdP metadata over plain http", func(c *Config) { c.IDPMetadataURL = "http://adfs.example.co.jp/md.xml" }, "want https"},
		{"short refresh", func(c *Config) { c.MetadataRefresh = time.Second }, "metadata_refresh"},
		{"no key", func(c *Config) { c.Key = nil }, "key_file"},
		{"small RSA key", func(c *Config) { c.Key, c.Certificate = small.key, small.cert }, "1024 bits"},
		{"no certificate", func(c *Config) { c.Certificate = nil }, "certificate_file"},
		{"certificate of another key", func(c *Config) { c.Certificate = idp.cert }, "not the key's"},
		{"bad binding", func(c *Config) { c.Binding = "artifact" }, `binding "artifact": want redirect or post`},
		{"negative clock skew", func(c *Config) { c.ClockSkew = -time.Second }, "clock_skew"},
		{"huge clock skew", func(c *Config) { c.ClockSkew = time.Hour }, "clock_skew"},
		{"bad preset", func(c *Config) { c.Attributes = "okta" }, `attributes "okta": want plain, adfs or entra`},
		{"no replay cache", func(c *Config) { c.Replay = nil }, "replay cache"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(&c)
			_, err := Open(context.Background(), "x", c)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), `saml: provider "x": `) {
				t.Fatalf("Open: %v, want an error about %q", err, tc.want)
			}
		})
	}
	if _, err := Open(context.Background(), "", base()); err == nil {
		t.Fatal("Open with an empty id succeeded")
	}

	// Loopback http is fine, defaults apply, and an unreachable IdP does
	// not fail Open.
	c := base()
	c.IDPMetadataURL = "http://127.0.0.1:1/metadata"
	c.Logger = discardLogger
	p, err := Open(context.Background(), "x", c)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s := p.s
	if s.EntityID != c.MetadataURL || s.Binding != BindingRedirect || s.ClockSkew != 90*time.Second ||
		s.MetadataRefresh != 24*time.Hour || s.Attributes != AttributesPlain || s.issueDelay != 150*time.Second {
		t.Fatalf("defaults: %+v", s.Config)
	}
}

func TestParseIDPMetadata(t *testing.T) {
	h := newIDP(t)
	now := time.Now()
	idpED := h.server.IDP.Metadata()
	marshal := func(v any) []byte {
		b, err := xml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	spED := crewjam.EntityDescriptor{EntityID: "https://sp.example.test", SPSSODescriptors: []crewjam.SPSSODescriptor{{}}}
	clone := func(edit func(ed *crewjam.EntityDescriptor)) []byte {
		var ed crewjam.EntityDescriptor
		if err := xml.Unmarshal(marshal(idpED), &ed); err != nil {
			t.Fatal(err)
		}
		edit(&ed)
		return marshal(ed)
	}
	other := *idpED
	other.EntityID = "https://idp2.example.test"

	tests := []struct {
		name string
		data []byte
		want string // "" for success
	}{
		{"EntityDescriptor", marshal(idpED), ""},
		{"EntitiesDescriptor with one IdP and one SP",
			marshal(crewjam.EntitiesDescriptor{EntityDescriptors: []crewjam.EntityDescriptor{spED, *idpED}}), ""},
		{"EntitiesDescriptor with two IdPs",
			marshal(crewjam.EntitiesDescriptor{EntityDescriptors: []crewjam.EntityDescriptor{*idpED, other}}), "2 identity providers"},
		{"SP metadata", marshal(spED), "no SAML 2.0 IDPSSODescriptor"},
		{"expired", clone(func(ed *crewjam.EntityDescriptor) { ed.ValidUntil = now.Add(-time.Hour) }), "expired"},
		{"no signing certificate", clone(func(ed *crewjam.EntityDescriptor) {
			ed.IDPSSODescriptors[0].KeyDescriptors = ed.IDPSSODescriptors[0].KeyDescriptors[1:] // encryption only
		}), "no signing certificate"},
		{"no usable SSO endpoint", clone(func(ed *crewjam.EntityDescriptor) {
			ed.IDPSSODescriptors[0].SingleSignOnServices = []crewjam.Endpoint{{Binding: crewjam.SOAPBinding, Location: "https://x"}}
		}), "no SingleSignOnService"},
		{"not XML", []byte("{}"), "not XML"},
		{"HTML", []byte("<html><body>login</body></html>"), "root element html"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseIDPMetadata(tc.data, now)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if m.ed.EntityID != h.entityID() || m.redirectSSO == "" || m.postSSO == "" {
					t.Fatalf("metadata %+v", m)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestBindingFallback(t *testing.T) {
	p := unitProvider(t, "", AttributeNames{})
	p.s.Binding = BindingPost
	both := &idpMetadata{redirectSSO: "https://idp/r", postSSO: "https://idp/p"}
	if b, l := p.ssoEndpoint(both); b != crewjam.HTTPPostBinding || l != "https://idp/p" {
		t.Errorf("post with both: %s %s", b, l)
	}
	if b, l := p.ssoEndpoint(&idpMetadata{redirectSSO: "https://idp/r"}); b != crewjam.HTTPRedirectBinding || l != "https://idp/r" {
		t.Errorf("post, IdP offers redirect only: %s %s", b, l)
	}
	p.s.Binding = BindingRedirect
	if b, _ := p.ssoEndpoint(both); b != crewjam.HTTPRedirectBinding {
		t.Errorf("redirect with both: %s", b)
	}
	if b, _ := p.ssoEndpoint(&idpMetadata{postSSO: "https://idp/p"}); b != crewjam.HTTPPostBinding {
		t.Errorf("redirect, IdP offers post only: %s", b)
	}
}
