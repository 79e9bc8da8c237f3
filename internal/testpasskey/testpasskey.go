// Package testpasskey is a software authenticator for tests: it answers
// WebAuthn creation and request options the way a browser with a passkey
// would (ECDSA P-256 keys, "none" attestation), building clientDataJSON,
// authenticator data, the attestation object and signatures by the
// WebAuthn Level 3 spec, with nothing from the library under test. It is
// test-only code.
package testpasskey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

// Authenticator holds passkeys for one origin.
type Authenticator struct {
	// Origin is what clientDataJSON names (scheme://host[:port]).
	Origin string
	// UV sets the user-verified flag in every response.
	UV bool
	// NoCounter makes the authenticator report a signature count of 0
	// every time, as many passkey providers do.
	NoCounter bool
	// AAGUID is the authenticator model's id.
	AAGUID [16]byte

	creds []*Credential
}

// Credential is one passkey the authenticator holds.
type Credential struct {
	ID         []byte
	RPID       string
	UserHandle []byte
	Key        *ecdsa.PrivateKey
	// Count is the signature count last reported.
	Count uint32
}

// New returns an authenticator for origin that verifies the user.
func New(origin string) *Authenticator {
	return &Authenticator{Origin: origin, UV: true, AAGUID: [16]byte{0x5e, 0x55, 0x0f, 0x7a}}
}

// Credentials returns the passkeys held, oldest first.
func (a *Authenticator) Credentials() []*Credential { return a.creds }

type creationOptions struct {
	Challenge string `json:"challenge"`
	RP        struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	PubKeyCredParams []struct {
		Alg int `json:"alg"`
	} `json:"pubKeyCredParams"`
	ExcludeCredentials []struct {
		ID string `json:"id"`
	} `json:"excludeCredentials"`
}

// ErrExcluded is Create's answer when the options exclude a passkey the
// authenticator holds (a browser's InvalidStateError).
var ErrExcluded = errors.New("testpasskey: a passkey of these options' exclude list is held")

type requestOptions struct {
	Challenge        string `json:"challenge"`
	RPID             string `json:"rpId"`
	AllowCredentials []struct {
		ID string `json:"id"`
	} `json:"allowCredentials"`
}

// Create answers creation options (the JSON of
// PublicKeyCredentialCreationOptions) with a new passkey: it returns the
// PublicKeyCredential as JSON, binary fields base64url, as the page
// script posts it.
func (a *Authenticator) Create(options []byte) (string, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return "", fmt.Errorf("testpasskey: creation options: %w", err)
	}
	es256 := false
	for _, p := range o.PubKeyCredParams {
		es256 = es256 || p.Alg == -7
	}
	if !es256 || o.RP.ID == "" || o.Challenge == "" {
		return "", errors.New("testpasskey: creation options without ES256, rp.id or challenge")
	}
	for _, ex := range o.ExcludeCredentials {
		for _, c := range a.creds {
			if enc(c.ID) == ex.ID {
				return "", ErrExcluded
			}
		}
	}
	userHandle, err := b64(o.User.ID)
	if err != nil {
		return "", fmt.Errorf("testpasskey: user.id: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	c := &Credential{ID: id, RPID: o.RP.ID, UserHandle: userHandle, Key: key}
	a.creds = append(a.creds, c)

	clientData := a.clientData("webauthn.create", o.Challenge)
	authData := a.authData(c, flagAT, c.attested(a.AAGUID))
	attObj := cborMap(
		cborText("fmt"), cborText("none"),
		cborText("attStmt"), cborMap(),
		cborText("authData"), cborBytes(authData),
	)
	return marshal(map[string]any{
		"id": enc(c.ID), "rawId": enc(c.ID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    enc(clientData),
			"attestationObject": enc(attObj),
			"transports":        []string{"internal"},
		},
	})
}

// Get answers request options (the JSON of
// PublicKeyCredentialRequestOptions) with an assertion by the newest
// passkey it allows (any for the RP ID when the options name none).
func (a *Authenticator) Get(options []byte) (string, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return "", fmt.Errorf("testpasskey: request options: %w", err)
	}
	for i := len(a.creds) - 1; i >= 0; i-- {
		c := a.creds[i]
		if c.RPID != o.RPID {
			continue
		}
		if len(o.AllowCredentials) == 0 {
			return a.Assert(c, options)
		}
		for _, ac := range o.AllowCredentials {
			if ac.ID == enc(c.ID) {
				return a.Assert(c, options)
			}
		}
	}
	return "", errors.New("testpasskey: no passkey for these options")
}

// Assert answers request options with an assertion by c, whether or not
// the options allow it.
func (a *Authenticator) Assert(c *Credential, options []byte) (string, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return "", fmt.Errorf("testpasskey: request options: %w", err)
	}
	if !a.NoCounter {
		c.Count++
	}
	clientData := a.clientData("webauthn.get", o.Challenge)
	authData := a.authData(c, 0, nil)
	digest := sha256.Sum256(clientData)
	signed := sha256.Sum256(append(slicesClone(authData), digest[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, signed[:])
	if err != nil {
		return "", err
	}
	return marshal(map[string]any{
		"id": enc(c.ID), "rawId": enc(c.ID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    enc(clientData),
			"authenticatorData": enc(authData),
			"signature":         enc(sig),
			"userHandle":        enc(c.UserHandle),
		},
	})
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, challenge, a.Origin, false})
	return b
}

// authData is rpIdHash | flags | signCount | attested credential data.
func (a *Authenticator) authData(c *Credential, flags byte, attested []byte) []byte {
	rp := sha256.Sum256([]byte(c.RPID))
	flags |= flagUP
	if a.UV {
		flags |= flagUV
	}
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, c.Count)
	return append(out, attested...)
}

// attested is aaguid | credentialIdLength | credentialId | COSE key.
func (c *Credential) attested(aaguid [16]byte) []byte {
	out := append([]byte{}, aaguid[:]...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(c.ID)))
	out = append(out, c.ID...)
	pub, _ := c.Key.PublicKey.Bytes() // 0x04 | X | Y
	cose := cborMap(
		cborInt(1), cborInt(2), // kty: EC2
		cborInt(3), cborInt(-7), // alg: ES256
		cborInt(-1), cborInt(1), // crv: P-256
		cborInt(-2), cborBytes(pub[1:33]),
		cborInt(-3), cborBytes(pub[33:65]),
	)
	return append(out, cose...)
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func slicesClone(b []byte) []byte { return append([]byte(nil), b...) }

// A minimal CBOR encoder (RFC 8949) for what authenticators send.

func cborHead(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 1<<8:
		return []byte{major<<5 | 24, byte(n)}
	case n < 1<<16:
		return binary.BigEndian.AppendUint16([]byte{major<<5 | 25}, uint16(n))
	default:
		return binary.BigEndian.AppendUint32([]byte{major<<5 | 26}, uint32(n))
	}
}

func cborInt(v int64) []byte {
	if v >= 0 {
		return cborHead(0, uint64(v))
	}
	return cborHead(1, new(big.Int).SetInt64(-1-v).Uint64())
}

func cborBytes(b []byte) []byte { return append(cborHead(2, uint64(len(b))), b...) }

func cborText(s string) []byte { return append(cborHead(3, uint64(len(s))), s...) }

// cborMap encodes key, value, key, value… in the order given.
func cborMap(kv ...[]byte) []byte {
	out := cborHead(5, uint64(len(kv)/2))
	for _, b := range kv {
		out = append(out, b...)
	}
	return out
}
