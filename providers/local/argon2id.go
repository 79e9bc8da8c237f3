package local

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Sizes of new hashes. Decoding accepts other sizes within the bounds below,
// so hashes imported from other systems still verify.
const (
	saltLen = 16
	keyLen  = 32
)

// Bounds on what a stored hash may ask for. A hash is data from the store;
// without these a single poisoned row could make every sign-in for that
// account allocate gigabytes or run for minutes.
const (
	maxMemoryKiB  = 1 << 20 // 1 GiB
	maxIterations = 100
	minSaltLen    = 8
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 64
	maxEncodedLen = 256
)

// MaxPasswordBytes is the longest password Authenticate and Hash accept.
// Longer input is refused before any hashing, so it cannot be used to make
// the server hash megabytes.
const MaxPasswordBytes = 1024

// b64 is the PHC string format's base64: standard alphabet, no padding,
// and no stray bits, so each hash has exactly one spelling.
var b64 = base64.RawStdEncoding.Strict()

// params are argon2id cost parameters, as stored in each hash.
type params struct {
	memory      uint32 // KiB
	iterations  uint32
	parallelism uint8
}

// phcHash is a decoded argon2id PHC string.
type phcHash struct {
	params
	salt []byte
	key  []byte
}

// errMalformed is wrapped by every decoding error.
var errMalformed = errors.New("local: malformed argon2id hash")

// newHash derives a hash of password with fresh random salt.
func newHash(password string, p params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("local: read salt: %w", err)
	}
	h := phcHash{params: p, salt: salt}
	h.key = h.derive(password, keyLen)
	return h.encode(), nil
}

// derive runs argon2id with h's parameters and salt for a key of n bytes.
// This is the expensive call: it allocates h.memory KiB.
func (h *phcHash) derive(password string, n int) []byte {
	return argon2.IDKey([]byte(password), h.salt, h.iterations, h.memory, h.parallelism, uint32(n))
}

// matches reports, in constant time, whether password derives h's key.
func (h *phcHash) matches(password string) bool {
	return subtle.ConstantTimeCompare(h.derive(password, len(h.key)), h.key) == 1
}

// encode returns h in PHC string format:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>.
func (h *phcHash) encode() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.memory, h.iterations, h.parallelism,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// decodeHash parses an argon2id PHC string and checks its parameters
// against the bounds above. The error wraps errMalformed and never quotes
// the input, which is secret material.
func decodeHash(encoded string) (*phcHash, error) {
	if len(encoded) > maxEncodedLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", errMalformed, maxEncodedLen)
	}
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" {
		return nil, fmt.Errorf("%w: want $argon2id$v=19$m=..,t=..,p=..$salt$key", errMalformed)
	}
	if parts[1] != "argon2id" {
		return nil, fmt.Errorf("%w: algorithm is not argon2id", errMalformed)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, fmt.Errorf("%w: version is not %d", errMalformed, argon2.Version)
	}

	var h phcHash
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return nil, fmt.Errorf("%w: want parameters m, t and p", errMalformed)
	}
	m, err := decodeParam(kv[0], "m", 32)
	if err != nil {
		return nil, err
	}
	t, err := decodeParam(kv[1], "t", 32)
	if err != nil {
		return nil, err
	}
	p, err := decodeParam(kv[2], "p", 8)
	if err != nil {
		return nil, err
	}
	h.memory, h.iterations, h.parallelism = uint32(m), uint32(t), uint8(p)
	if err := h.params.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}

	if h.salt, err = b64.DecodeString(parts[4]); err != nil {
		return nil, fmt.Errorf("%w: salt is not base64", errMalformed)
	}
	if n := len(h.salt); n < minSaltLen || n > maxSaltLen {
		return nil, fmt.Errorf("%w: salt is %d bytes, want %d to %d", errMalformed, n, minSaltLen, maxSaltLen)
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil {
		return nil, fmt.Errorf("%w: key is not base64", errMalformed)
	}
	if n := len(h.key); n < minKeyLen || n > maxKeyLen {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d to %d", errMalformed, n, minKeyLen, maxKeyLen)
	}
	return &h, nil
}

// decodeParam parses "name=value" as a canonical unsigned decimal (no sign,
// no leading zeros) that fits in bits.
func decodeParam(s, name string, bits int) (uint64, error) {
	v, ok := strings.CutPrefix(s, name+"=")
	if !ok {
		return 0, fmt.Errorf("%w: want parameter %s", errMalformed, name)
	}
	if len(v) > 1 && v[0] == '0' {
		return 0, fmt.Errorf("%w: parameter %s has a leading zero", errMalformed, name)
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%w: parameter %s is not a %d-bit number", errMalformed, name, bits)
	}
	return n, nil
}

// check reports whether p is within the bounds a stored hash may ask for.
func (p params) check() error {
	switch {
	case p.parallelism == 0:
		return errors.New("parallelism must be at least 1")
	case p.iterations == 0 || p.iterations > maxIterations:
		return fmt.Errorf("iterations %d out of range 1 to %d", p.iterations, maxIterations)
	case p.memory > maxMemoryKiB:
		return fmt.Errorf("memory %d KiB exceeds %d KiB", p.memory, maxMemoryKiB)
	case p.memory < 8*uint32(p.parallelism):
		// argon2 would silently raise it; a hash that says otherwise
		// was not made by a correct implementation.
		return fmt.Errorf("memory %d KiB is less than 8 KiB per lane (%d lanes)", p.memory, p.parallelism)
	}
	return nil
}

// Verify reports whether password matches encoded, an argon2id hash in PHC
// string format ($argon2id$v=19$m=65536,t=3,p=2$salt$key). The parameters
// stored in encoded are used, so hashes made before a cost change still
// verify. An encoding that is malformed or asks for absurd parameters
// (memory above 1 GiB, iterations above 100, parallelism 0) is an error,
// not a mismatch.
//
// Verify does not bound how many hashes run at once; the gateway signs
// people in through Provider.Authenticate, which does.
func Verify(encoded, password string) (bool, error) {
	if len(password) > MaxPasswordBytes {
		return false, nil
	}
	h, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	return h.matches(password), nil
}
