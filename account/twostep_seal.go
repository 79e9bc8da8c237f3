package account

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// errSealed means sealed data did not open: altered, or sealed under
// another key (a master secret changed since).
var errSealed = errors.New("account: sealed data does not open")

// sealer encrypts and authenticates the 2-step state kept in the store
// (a pending sign-in's data, a factor's secret) with AES-256-GCM under a
// key of its own, derived by the gateway from the master secret. The
// additional data binds a value to its place: a sealed TOTP key copied to
// another user's row, or a pending sign-in's data to another purpose,
// does not open.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("account: 2-step key: want 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("account: 2-step key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("account: 2-step key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// seal returns nonce | ciphertext | tag of plain bound to ad.
func (s *sealer) seal(plain, ad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, ns, ns+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("account: seal: %w", err)
	}
	return s.aead.Seal(out, out[:ns], plain, ad), nil
}

// open reverses seal; errSealed when sealed is not a value sealed with
// this key and ad.
func (s *sealer) open(sealed, ad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < ns+s.aead.Overhead() {
		return nil, errSealed
	}
	plain, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], ad)
	if err != nil {
		return nil, errSealed
	}
	return plain, nil
}
