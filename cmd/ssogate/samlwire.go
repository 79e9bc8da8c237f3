package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/gateway"
	"github.com/ssogate/ssogate/providers/saml"
	"github.com/ssogate/ssogate/store"
)

// samlConfig turns the YAML of a saml provider into its Config. Without a
// configured certificate and key, the SP's are generated on first start
// and kept in the store, sealed.
func samlConfig(ctx context.Context, cfg *config.Config, st store.Store, pc config.Provider, log *slog.Logger) (saml.Config, error) {
	s := pc.SAML
	base := cfg.Server.PublicURL
	c := saml.Config{
		EntityID: s.EntityID, ACSURL: base + "/callback/" + pc.ID, MetadataURL: base + "/saml/" + pc.ID + "/metadata",
		IDPMetadataURL: s.IDPMetadataURL, MetadataRefresh: s.MetadataRefresh.D(), Binding: s.Binding,
		ClockSkew: s.ClockSkew.D(), AllowIDPInitiated: s.AllowIDPInitiated, Attributes: s.Attributes,
		AttributeNames: saml.AttributeNames{
			Email: s.AttributeNames.Email, Name: s.AttributeNames.Name, GivenName: s.AttributeNames.GivenName,
			Surname: s.AttributeNames.Surname, Phone: s.AttributeNames.Phone, Mobile: s.AttributeNames.Mobile,
			Organization: s.AttributeNames.Organization, Department: s.AttributeNames.Department,
			Groups: s.AttributeNames.Groups,
		},
		Replay: gateway.TicketReplayCache{Store: st, Purpose: "saml_assertion"},
		Logger: log,
	}
	if s.IDPMetadataFile != "" {
		md, err := os.ReadFile(s.IDPMetadataFile)
		if err != nil {
			return c, fmt.Errorf("idp_metadata_file: %w", err)
		}
		c.IDPMetadata = md
	}
	var keyPEM, certPEM []byte
	if s.CertificateFile != "" {
		var err error
		if certPEM, err = os.ReadFile(s.CertificateFile); err != nil {
			return c, fmt.Errorf("certificate_file: %w", err)
		}
		if keyPEM, err = os.ReadFile(s.KeyFile); err != nil {
			return c, fmt.Errorf("key_file: %w", err)
		}
	} else {
		both, err := gateway.SealedSecret(ctx, cfg, st, "saml_sp_"+pc.ID, func() ([]byte, error) {
			return newSPKeyPair(c.EntityID)
		})
		if err != nil {
			return c, err
		}
		keyPEM, certPEM = both, both
	}
	key, cert, err := parseKeyPair(keyPEM, certPEM)
	if err != nil {
		return c, err
	}
	c.Key, c.Certificate = key, cert
	return c, nil
}

// newSPKeyPair makes an RSA-2048 key and a ten-year self-signed
// certificate (SAML SPs publish their certificate in metadata; no CA is
// involved), as one PEM bundle.
func newSPKeyPair(entityID string) ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: truncateCN(entityID), Organization: []string{"ssogate SAML SP"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...), nil
}

func truncateCN(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// parseKeyPair finds the private key in keyPEM and the certificate in
// certPEM (they may be the same bundle).
func parseKeyPair(keyPEM, certPEM []byte) (crypto.Signer, *x509.Certificate, error) {
	var signer crypto.Signer
	for rest := keyPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		var k any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("saml key: %w", err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, nil, errors.New("saml key: not a signing key")
		}
		signer = s
		break
	}
	if signer == nil {
		return nil, nil, errors.New("saml key: no private key in the PEM")
	}
	for rest := certPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("saml certificate: %w", err)
			}
			return signer, cert, nil
		}
	}
	return nil, nil, errors.New("saml certificate: no certificate in the PEM")
}
