// Package recovery makes and checks recovery codes: the one-use codes a
// person keeps on paper for the day the phone with the authenticator app
// is lost. A code is shown once ("k7m2p-x9hqa"); the store keeps only its
// hash, and a code typed or pasted in any reasonable way (spaces, dashes,
// upper case, full-width characters) hashes the same.
//
// It imports only the mfa contract (for the one way typed codes are
// normalised); the account flows use it beside the factors.
package recovery

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/ssogate/ssogate/mfa"
)

// Count is how many codes a set has.
const Count = 10

// Length is how many characters a code has, without the dash it is
// shown with.
const Length = 10

// Alphabet is the characters codes are made of: lower-case letters and
// digits without those read or written alike (0 and o, 1 and l and i),
// 31 in all, so each code carries 10 × log2(31) ≈ 49.5 bits.
const Alphabet = "23456789abcdefghjkmnpqrstuvwxyz"

// Generate returns n fresh codes, shown as "xxxxx-xxxxx", and their
// hashes (Hash) in the same order, for the store. The codes of a set are
// all different.
func Generate(n int) (codes, hashes []string, err error) {
	if n <= 0 {
		return nil, nil, fmt.Errorf("recovery: generate %d codes: want at least one", n)
	}
	seen := make(map[string]bool, n)
	for len(codes) < n {
		c, err := code()
		if err != nil {
			return nil, nil, fmt.Errorf("recovery: generate: %w", err)
		}
		// A repeat is about as likely as guessing a code, but the set must
		// still be n codes that each work once.
		if seen[c] {
			continue
		}
		seen[c] = true
		codes = append(codes, c[:Length/2]+"-"+c[Length/2:])
		hashes = append(hashes, Hash(c))
	}
	return codes, hashes, nil
}

// code returns Length characters of Alphabet, each uniform from
// crypto/rand: a byte is used only below the largest multiple of the
// alphabet's size, so no character is more likely than another.
func code() (string, error) {
	const limit = 256 - 256%len(Alphabet)
	out := make([]byte, 0, Length)
	buf := make([]byte, 2*Length)
	for len(out) < Length {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < Length {
				out = append(out, Alphabet[int(b)%len(Alphabet)])
			}
		}
	}
	return string(out), nil
}

// Normalize returns a code as it was shown, from what a person typed or
// pasted: full-width characters become ASCII, letters lower case, and
// spaces and dashes go (mfa.NormalizeCode). Other characters stay (the
// code will not match).
func Normalize(input string) string {
	return strings.ToLower(mfa.NormalizeCode(input))
}

// Hash returns the hex SHA-256 of the normalised code: what the store
// keeps and looks a typed code up by.
//
// A fast, unsalted hash is right here, unlike for a password: each code
// is about 50 bits from crypto/rand, so there is no dictionary to try
// first and no two people share a code, and a typed code is found among
// the stored hashes by equality. A slow hash would make every attempt ten
// slow comparisons (one per stored code) for little: searching a stolen
// table still takes about 2^45 hashes per code found, and a code found is
// only a second factor, worthless without the person's password (which
// is stored with a slow hash).
func Hash(code string) string {
	sum := sha256.Sum256([]byte(Normalize(code)))
	return hex.EncodeToString(sum[:])
}

// ErrMalformed is returned by Check for input that cannot be a code.
var ErrMalformed = errors.New("recovery: not a recovery code")

// Check returns the Hash of input when, normalised, it has the shape of a
// code (Length characters of Alphabet), and ErrMalformed otherwise, so a
// flow can tell "that is not a recovery code" from "that code is not
// yours" without a store lookup.
func Check(input string) (string, error) {
	c := Normalize(input)
	if len(c) != Length || strings.Trim(c, Alphabet) != "" {
		return "", ErrMalformed
	}
	return Hash(c), nil
}
