package ldap

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssogate/ssogate/providers"
)

// adData finds the reason code in an Active Directory (or Samba) bind
// diagnostic: "80090308: LdapErr: DSID-0C09041C, comment:
// AcceptSecurityContext error, data 52e, v4563".
var adData = regexp.MustCompile(`\bdata ([0-9a-fA-F]{3,8})\b`)

// adReasons maps AD's bind reason codes for a right password that may
// not sign in. 52e (wrong password), 525 (no such user) and any other
// code are plain invalid credentials.
var adReasons = map[string]string{
	"775": providers.ReasonLocked, // AD answers 775 whatever the password
	"533": providers.ReasonDisabled,
	"701": providers.ReasonExpired,
	"532": providers.ReasonPasswordExpired,
	"773": providers.ReasonMustChangePassword,
	// Logon hours and workstation restrictions: the account may not sign
	// in here, now.
	"530": providers.ReasonDisabled,
	"531": providers.ReasonDisabled,
}

// bindRefused turns a bind's invalidCredentials (49) result into the
// error Authenticate returns.
func bindRefused(dn string, le *goldap.Error) error {
	diag := ""
	if le.Err != nil {
		diag = le.Err.Error()
	}
	if m := adData.FindStringSubmatch(diag); m != nil {
		if reason, ok := adReasons[strings.ToLower(m[1])]; ok {
			return fmt.Errorf("ldap: bind as %q: %w", dn,
				&providers.AccountError{Reason: reason, Detail: "AD " + strings.ToLower(m[1]) + ": " + diag})
		}
	}
	// The same error as for an unknown login, detail and all.
	return errInvalid
}

// uacDisabled reports whether AD's userAccountControl on entry has
// ACCOUNTDISABLE (0x2). AD refuses such a bind itself (533); this holds
// for a directory that does not.
func uacDisabled(entry *goldap.Entry) bool {
	v := entry.GetEqualFoldAttributeValue("userAccountControl")
	if v == "" {
		return false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return err == nil && n&0x2 != 0
}

// attrValues returns the values of attribute name on entry as strings:
// objectGUID and objectSid in their usual text forms, other values that
// are not UTF-8 in standard base64 (Claims cross gRPC, whose strings
// must be UTF-8).
func attrValues(entry *goldap.Entry, name string) []string {
	raw := entry.GetEqualFoldRawAttributeValues(name)
	if len(raw) == 0 {
		return nil
	}
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		switch {
		case strings.EqualFold(name, "objectGUID") && len(v) == 16:
			out = append(out, formatGUID(v))
		case strings.EqualFold(name, "objectSid") && validSID(v):
			out = append(out, formatSID(v))
		case utf8.Valid(v):
			out = append(out, string(v))
		default:
			out = append(out, base64.StdEncoding.EncodeToString(v))
		}
	}
	return out
}

// formatGUID formats a 16-byte Microsoft GUID as text: the first three
// fields are stored little-endian, the last two as bytes.
func formatGUID(b []byte) string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16])
}

// validSID reports whether b has the length its sub-authority count says.
func validSID(b []byte) bool {
	return len(b) >= 8 && b[0] == 1 && len(b) == 8+4*int(b[1])
}

// formatSID formats a binary security identifier as S-1-5-21-….
func formatSID(b []byte) string {
	var authority uint64
	for _, x := range b[2:8] {
		authority = authority<<8 | uint64(x)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "S-%d-%d", b[0], authority)
	for i := 0; i < int(b[1]); i++ {
		fmt.Fprintf(&s, "-%d", binary.LittleEndian.Uint32(b[8+4*i:]))
	}
	return s.String()
}

// groupNames returns each group's DN followed by its name, without
// duplicates: the name is cns[dn] when set, else the DN's leading CN.
func groupNames(dns []string, cns map[string]string) []string {
	out := make([]string, 0, 2*len(dns))
	seen := make(map[string]bool, 2*len(dns))
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, dn := range dns {
		add(dn)
		cn := cns[dn]
		if cn == "" {
			cn = leadingCN(dn)
		}
		add(cn)
	}
	return out
}

// leadingCN returns the value of dn's first RDN when it is a CN.
func leadingCN(dn string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 {
		return ""
	}
	for _, a := range d.RDNs[0].Attributes {
		if strings.EqualFold(a.Type, "cn") {
			return a.Value
		}
	}
	return ""
}
