package local

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Reference vectors from the Argon2 reference implementation
// (P-H-C/phc-winner-argon2, src/test.c): password "password", salt "somesalt".
func TestVerifyReferenceVectors(t *testing.T) {
	tests := []string{
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
	}
	for _, encoded := range tests {
		t.Run(encoded[:strings.LastIndexByte(encoded, '$')], func(t *testing.T) {
			if ok, err := Verify(encoded, "password"); !ok || err != nil {
				t.Errorf("Verify(right) = %v, %v; want true, nil", ok, err)
			}
			if ok, err := Verify(encoded, "passwore"); ok || err != nil {
				t.Errorf("Verify(wrong) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=8192,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashRoundTrip(t *testing.T) {
	p := openTest(t, Config{}, memAccounts{})
	ctx := context.Background()
	for _, password := range []string{"Passw0rd", "パスワード2024!", " spaces  ", "\x00nul", strings.Repeat("x", MaxPasswordBytes)} {
		t.Run(password[:min(len(password), 12)], func(t *testing.T) {
			h1, err := p.Hash(ctx, password)
			if err != nil {
				t.Fatal(err)
			}
			if !phcPattern.MatchString(h1) {
				t.Errorf("Hash = %q, want PHC format with 16-byte salt and 32-byte key", h1)
			}
			h2, err := p.Hash(ctx, password)
			if err != nil {
				t.Fatal(err)
			}
			if h1 == h2 {
				t.Error("two hashes of the same password are equal; salt is not random")
			}
			if ok, err := Verify(h1, password); !ok || err != nil {
				t.Errorf("Verify(right) = %v, %v; want true, nil", ok, err)
			}
			if ok, err := Verify(h1, password+"x"); ok || err != nil {
				t.Errorf("Verify(wrong) = %v, %v; want false, nil", ok, err)
			}
			if p.NeedsRehash(h1) {
				t.Error("NeedsRehash(fresh hash) = true")
			}
		})
	}
}

func TestHashRefuses(t *testing.T) {
	p := openTest(t, Config{}, memAccounts{})
	for _, password := range []string{"", strings.Repeat("x", MaxPasswordBytes+1)} {
		if h, err := p.Hash(context.Background(), password); err == nil {
			t.Errorf("Hash(%d bytes) = %q, want an error", len(password), h)
		}
	}
}

// A hash keeps its parameters: after a cost change, old hashes still verify
// and are reported for rehashing.
func TestVerifyOtherParams(t *testing.T) {
	ctx := context.Background()
	old := openTest(t, Config{Memory: 8192, Iterations: 1, Parallelism: 1}, memAccounts{})
	encoded, err := old.Hash(ctx, "Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	accounts := memAccounts{"a@example.com": {"u1", encoded}}
	tests := []struct {
		name string
		cfg  Config
		want bool // NeedsRehash
	}{
		{"same", Config{Memory: 8192, Iterations: 1, Parallelism: 1}, false},
		{"more memory", Config{Memory: 16384, Iterations: 1, Parallelism: 1}, true},
		{"more iterations", Config{Memory: 8192, Iterations: 2, Parallelism: 1}, true},
		{"more lanes", Config{Memory: 8192, Iterations: 1, Parallelism: 4}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.MaxInFlight = 2
			p, err := Open("local", tt.cfg, accounts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Authenticate(ctx, "a@example.com", "Passw0rd"); err != nil {
				t.Errorf("Authenticate with an old hash: %v", err)
			}
			if got := p.NeedsRehash(encoded); got != tt.want {
				t.Errorf("NeedsRehash = %v, want %v", got, tt.want)
			}
		})
	}

	p := openTest(t, Config{}, accounts)
	for _, encoded := range []string{
		"$argon2id$v=19$m=8192,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", // 8-byte salt
		"$argon2id$v=19$m=8192,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8", // 24-byte key
		"not a hash",
	} {
		if !p.NeedsRehash(encoded) {
			t.Errorf("NeedsRehash(%q) = false, want true", encoded)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	const (
		salt = "c29tZXNhbHRzb21lc2FsdA"                      // 16 bytes
		key  = "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc" // 32 bytes
	)
	ok := "$argon2id$v=19$m=65536,t=3,p=2$" + salt + "$" + key
	if _, err := decodeHash(ok); err != nil {
		t.Fatalf("decodeHash(well-formed) = %v", err)
	}
	tests := []struct{ name, encoded string }{
		{"empty", ""},
		{"plain text", "Passw0rd"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=65536,t=3,p=2$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=65536,t=3,p=2$" + salt + "$" + key},
		{"version 16", "$argon2id$v=16$m=65536,t=3,p=2$" + salt + "$" + key},
		{"no version", "$argon2id$m=65536,t=3,p=2$" + salt + "$" + key},
		{"no leading dollar", "argon2id$v=19$m=65536,t=3,p=2$" + salt + "$" + key},
		{"trailing dollar", ok + "$"},
		{"trailing space", ok + " "},
		{"params out of order", "$argon2id$v=19$t=3,m=65536,p=2$" + salt + "$" + key},
		{"missing param", "$argon2id$v=19$m=65536,t=3$" + salt + "$" + key},
		{"extra param", "$argon2id$v=19$m=65536,t=3,p=2,keyid=x$" + salt + "$" + key},
		{"memory over 1 GiB", "$argon2id$v=19$m=1048577,t=3,p=2$" + salt + "$" + key},
		{"memory max uint32", "$argon2id$v=19$m=4294967295,t=3,p=2$" + salt + "$" + key},
		{"memory overflows uint32", "$argon2id$v=19$m=4294967296,t=3,p=2$" + salt + "$" + key},
		{"memory below 8 KiB a lane", "$argon2id$v=19$m=15,t=3,p=2$" + salt + "$" + key},
		{"memory zero", "$argon2id$v=19$m=0,t=3,p=2$" + salt + "$" + key},
		{"memory negative", "$argon2id$v=19$m=-1,t=3,p=2$" + salt + "$" + key},
		{"memory with plus", "$argon2id$v=19$m=+65536,t=3,p=2$" + salt + "$" + key},
		{"memory leading zero", "$argon2id$v=19$m=065536,t=3,p=2$" + salt + "$" + key},
		{"memory hex", "$argon2id$v=19$m=0x10000,t=3,p=2$" + salt + "$" + key},
		{"iterations zero", "$argon2id$v=19$m=65536,t=0,p=2$" + salt + "$" + key},
		{"iterations over 100", "$argon2id$v=19$m=65536,t=101,p=2$" + salt + "$" + key},
		{"iterations max uint32", "$argon2id$v=19$m=65536,t=4294967295,p=2$" + salt + "$" + key},
		{"parallelism zero", "$argon2id$v=19$m=65536,t=3,p=0$" + salt + "$" + key},
		{"parallelism over 255", "$argon2id$v=19$m=65536,t=3,p=256$" + salt + "$" + key},
		{"salt padded", "$argon2id$v=19$m=65536,t=3,p=2$" + salt + "==$" + key},
		{"salt not base64", "$argon2id$v=19$m=65536,t=3,p=2$!!!!!!!!!!!!!!!!!!!!!!$" + key},
		{"salt url alphabet", "$argon2id$v=19$m=65536,t=3,p=2$c29tZXNhbHRzb21lc2FsdA-_$" + key},
		{"salt stray bits", "$argon2id$v=19$m=65536,t=3,p=2$c29tZXNhbHRzb21lc2FsdB$" + key},
		{"salt too short", "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$" + key},
		{"salt empty", "$argon2id$v=19$m=65536,t=3,p=2$$" + key},
		{"key too short", "$argon2id$v=19$m=65536,t=3,p=2$" + salt + "$c29tZXNhbHQ"},
		{"key too long", "$argon2id$v=19$m=65536,t=3,p=2$" + salt + "$" + key + key + key},
		{"key empty", "$argon2id$v=19$m=65536,t=3,p=2$" + salt + "$"},
		{"too long", "$argon2id$v=19$m=65536,t=3,p=2$" + salt + "$" + key + strings.Repeat("A", 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			ok, err := Verify(tt.encoded, "Passw0rd")
			if ok || !errors.Is(err, errMalformed) {
				t.Fatalf("Verify = %v, %v; want false and an error wrapping errMalformed", ok, err)
			}
			// A rejected hash must not have been run.
			if d := time.Since(start); d > 50*time.Millisecond {
				t.Errorf("Verify took %v; a rejected hash must not cost a derivation", d)
			}
			if strings.Contains(err.Error(), salt) || strings.Contains(err.Error(), key) {
				t.Errorf("error %q quotes the hash", err)
			}
		})
	}
}
