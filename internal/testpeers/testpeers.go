// Package testpeers gives tests the real directory servers that
// scripts/ldap-peers starts: OpenLDAP (slapd) and a Samba Active
// Directory domain controller, with the people, groups and account states
// the scripts put in them. It is a normal package so that every test
// binary of the module can use it; nothing outside tests imports it.
//
// A test asks for a directory with Slapd or Samba, which start it the
// first time any test of the binary asks, and the package's TestMain
// calls Main, which releases it when the tests are done:
//
//	func TestMain(m *testing.M) { testpeers.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		d := testpeers.Samba(t)
//		// dial d.LDAPSURL trusting d.CAFile, sign in as d.Users["alice"] …
//	}
//
// # One instance per machine, shared
//
// The servers listen on fixed ports (Samba has no port option), so each
// runs at most once per machine, and every test binary that needs it —
// `go test ./...` runs several at once — uses that one instance. Two
// lock files per server, under /tmp/ssogate-ldap-peers, arrange it:
//
//   - <name>.lock is a mutex, held only while a binary joins or leaves
//     (and so while the server starts or stops);
//   - <name>.users is held shared by every binary using the server, from
//     joining until it leaves or dies: the kernel drops the lock of a
//     process that dies, so a killed run leaves no stale count behind.
//
// A binary joining takes the mutex and tries to lock <name>.users
// exclusively: when that succeeds nobody uses the server, so it stops
// whatever a killed run left in <name>/ and starts the server afresh;
// when it fails the server is in use, and it joins after checking the
// server answers. Either way it then holds <name>.users shared. A binary
// leaving takes the mutex and tries the exclusive lock again: the last
// one gets it and stops the server. A binary that did not use a server
// stops it when it can take both locks at once (a killed run left it
// running), so that leftovers do not keep the ports until a test next
// needs them. The servers' data is never changed
// by the tests (a wrong password counts towards a lockout, so each
// package's wrong-password tests use an account of their own), so
// sharing one instance changes no test's outcome, and Samba's start
// (about 12 s) is paid once for all binaries that overlap.
//
// Without the software (or, for Samba, without root) the tests that ask
// are skipped — unless SSOGATE_REQUIRE_BROWSER is set, as `make test` does
// after installing every peer (the name is historical), so that CI can
// never pass by skipping. With -short they are always skipped.
package testpeers

import (
	"crypto/x509"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
)

// Directory is a running directory server and what the scripts put in
// it. A test must not change anything in it: other test binaries share it.
type Directory struct {
	// Name is "openldap" or "samba-ad".
	Name string
	// LDAPURL is ldap://127.0.0.1:<port>; the server offers StartTLS on
	// it and also answers in clear (the explicitly insecure
	// configuration).
	LDAPURL string
	// LDAPSURL is ldaps://127.0.0.1:<port>.
	LDAPSURL string
	// CAFile is the PEM certificate (self-signed, for 127.0.0.1 and
	// localhost) the server presents; RootCAs trusts it.
	CAFile  string
	RootCAs *x509.CertPool
	// BaseDN is the directory's naming context.
	BaseDN string
	// BindDN and BindPassword are the service account that searches.
	BindDN       string
	BindPassword string
	// AdminDN and AdminPassword are the directory's administrator.
	AdminDN       string
	AdminPassword string
	// Users are the people, by Login.
	Users map[string]User
	// Groups are the groups' DNs by name (cn). Nesting is described on
	// Slapd and Samba.
	Groups map[string]string
}

// User is one person in a Directory.
type User struct {
	// Login is the uid (OpenLDAP) or sAMAccountName (AD).
	Login string
	// Password is the user's password; empty for an entry without one,
	// whose every bind fails.
	Password string
	DN       string
	// UPN is the userPrincipalName (AD only).
	UPN          string
	Email        string
	DisplayName  string
	Phone        string
	Mobile       string
	Organization string
	Department   string
	// Groups are the DNs of the groups the user is a direct member of.
	Groups []string
	// State is empty for an account that may sign in, else the reason AD
	// refuses its right password, spelt as the providers package's
	// Reason constants: "disabled", "locked", "must_change_password",
	// "expired".
	State string
}

// mainCalled records that the binary's TestMain calls Main, without which
// a started server would never be released.
var mainCalled atomic.Bool

// Main runs the tests of m, releases the servers they used (stopping each
// one no other test binary still uses) and exits with the result. Call it
// from TestMain in every package whose tests call Slapd or Samba.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main for a TestMain with cleanup of its own: it runs the tests,
// releases the servers and returns the exit code instead of exiting.
func Run(m *testing.M) int {
	mainCalled.Store(true)
	code := m.Run()
	for _, p := range peers {
		if err := p.release(code); err != nil {
			fmt.Fprintf(os.Stderr, "testpeers: %s: %v\n", p.name, err)
			code = 1
		}
	}
	if err := pgShared.release(code); err != nil {
		fmt.Fprintf(os.Stderr, "testpeers: postgres: %v\n", err)
		code = 1
	}
	return code
}

// Slapd returns the OpenLDAP directory, starting it if no test process on
// the machine runs it yet, or skips or fails tb when it cannot (see the
// package doc).
//
// Base dc=example,dc=org; ports 3389 (ldap, StartTLS) and 3636 (ldaps).
// People under ou=people, password <Login with a capital>!Pass123: alice,
// yamada (山田 太郎, 株式会社サンプル / 開発部), sato(qa) (a uid that needs
// escaping), dup1..dup3 (all mail dup@example.org, an ambiguous login),
// nopw (no password). Groups under ou=groups (groupOfNames): sso-eng
// (alice, sato(qa)) ⊂ sso-staff (with yamada), sso-admins (alice),
// 開発チーム (yamada). memberOf holds direct memberships.
func Slapd(tb testing.TB) *Directory { return slapd.require(tb) }

// Samba returns the Samba AD domain controller, starting it if no test
// process on the machine runs it yet, or skips or fails tb when it
// cannot (see the package doc). Starting it takes about 12 s.
//
// Realm EXAMPLE.TEST, base DC=example,DC=test; ports 389 (ldap, StartTLS)
// and 636 (ldaps). People under CN=Users, UPN <login>@example.test,
// password <Login with a capital>!Pass123: alice (mail
// alice.example@example.test, not her UPN), bob, yamada (displayName
// 山田 太郎), disabled, locked, mustchange, expired (their State says
// why AD refuses them), dup1..dup3 (all mail dup@example.test). Groups
// under CN=Users: sso-eng (alice) ⊂ sso-staff, sso-admins (alice),
// 開発チーム (yamada). The lockout threshold is 3 wrong passwords.
func Samba(tb testing.TB) *Directory { return samba.require(tb) }
