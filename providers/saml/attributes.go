package saml

import (
	"fmt"
	"net/mail"
	"strings"

	crewjam "github.com/crewjam/saml"

	"github.com/ssogate/ssogate/providers"
)

// attributeNames lists, for each Identity field, the attribute names
// tried in order. Groups takes the union of all its names.
type attributeNames struct {
	// subject is tried before email when the NameID is not persistent.
	subject      []string
	email        []string
	name         []string
	givenName    []string
	surname      []string
	phone        []string
	mobile       []string
	organization []string
	department   []string
	groups       []string
}

// Claim-type URIs of AD FS and Entra ID.
const (
	claimUPN         = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
	claimEmail       = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
	claimName        = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	claimGivenName   = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
	claimSurname     = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"
	claimOtherPhone  = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/otherphone"
	claimMobilePhone = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/mobilephone"
	claimCommonName  = "http://schemas.xmlsoap.org/claims/CommonName"
	claimADFSGroup   = "http://schemas.xmlsoap.org/claims/Group"
	claimGroups      = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
	claimRole        = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
	claimDisplayName = "http://schemas.microsoft.com/identity/claims/displayname"
	claimObjectID    = "http://schemas.microsoft.com/identity/claims/objectidentifier"
)

// presets maps Config.Attributes to its names. Plain lists each LDAP
// name with its OID, since IdPs using the URI name format send the OID
// and may omit the FriendlyName.
var presets = map[string]attributeNames{
	AttributesPlain: {
		subject:      []string{"urn:oasis:names:tc:SAML:attribute:subject-id"},
		email:        []string{"mail", "urn:oid:0.9.2342.19200300.100.1.3", "email"},
		name:         []string{"displayName", "urn:oid:2.16.840.1.113730.3.1.241", "cn", "urn:oid:2.5.4.3"},
		givenName:    []string{"givenName", "urn:oid:2.5.4.42"},
		surname:      []string{"sn", "urn:oid:2.5.4.4", "surname"},
		phone:        []string{"telephoneNumber", "urn:oid:2.5.4.20"},
		mobile:       []string{"mobile", "urn:oid:0.9.2342.19200300.100.1.41"},
		organization: []string{"o", "urn:oid:2.5.4.10"},
		department:   []string{"ou", "urn:oid:2.5.4.11"},
		groups: []string{
			"eduPersonAffiliation", "urn:oid:1.3.6.1.4.1.5923.1.1.1.1",
			"memberOf", "urn:oid:1.2.840.113556.1.2.102",
			"isMemberOf", "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
		},
	},
	AttributesADFS: {
		subject:      []string{claimUPN},
		email:        []string{claimEmail},
		name:         []string{claimName, claimCommonName, claimDisplayName},
		givenName:    []string{claimGivenName},
		surname:      []string{claimSurname},
		phone:        []string{claimOtherPhone, "telephoneNumber"},
		mobile:       []string{claimMobilePhone, "mobile"},
		organization: []string{"company"},
		department:   []string{"department"},
		// "Send Group Membership as a Claim" emits Role by default.
		groups: []string{claimADFSGroup, claimGroups, claimRole},
	},
	AttributesEntra: {
		// Entra ID's name claim carries the UPN; the object id survives
		// a rename (a change of surname on marriage changes the UPN).
		subject:      []string{claimObjectID, claimUPN, claimName},
		email:        []string{claimEmail},
		name:         []string{claimDisplayName},
		givenName:    []string{claimGivenName},
		surname:      []string{claimSurname},
		phone:        []string{claimOtherPhone, "telephonenumber"},
		mobile:       []string{claimMobilePhone, "mobilephone"},
		organization: []string{"companyname"},
		department:   []string{"department"},
		groups:       []string{claimGroups, claimRole},
	},
}

// override replaces the lists whose name o sets.
func (n attributeNames) override(o AttributeNames) attributeNames {
	set := func(list *[]string, name string) {
		if name = strings.TrimSpace(name); name != "" {
			*list = []string{name}
		}
	}
	set(&n.subject, o.Subject)
	set(&n.email, o.Email)
	set(&n.name, o.Name)
	set(&n.givenName, o.GivenName)
	set(&n.surname, o.Surname)
	set(&n.phone, o.Phone)
	set(&n.mobile, o.Mobile)
	set(&n.organization, o.Organization)
	set(&n.department, o.Department)
	set(&n.groups, o.Groups)
	return n
}

// NameID formats the subject choice looks at.
const (
	nameIDPersistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	nameIDTransient  = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
)

// attribute is one SAML attribute with its values.
type attribute struct {
	name, friendly string
	values         []string
}

// attributes collects the attributes of every AttributeStatement; an
// attribute sent twice keeps all its values.
func attributes(a *crewjam.Assertion) []attribute {
	var out []attribute
	index := map[string]int{}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			var values []string
			for _, v := range at.Values {
				s := v.Value
				if s == "" && v.NameID != nil {
					s = v.NameID.Value
				}
				if s = strings.TrimSpace(s); s != "" {
					values = append(values, s)
				}
			}
			if i, ok := index[at.Name]; ok {
				out[i].values = append(out[i].values, values...)
				continue
			}
			index[at.Name] = len(out)
			out = append(out, attribute{name: at.Name, friendly: at.FriendlyName, values: values})
		}
	}
	return out
}

// lookup returns the values of the first name in names that an attribute
// has, by Name or FriendlyName, ignoring case.
func lookup(attrs []attribute, names []string) []string {
	for _, n := range names {
		for _, a := range attrs {
			if len(a.values) > 0 && (strings.EqualFold(a.name, n) || (a.friendly != "" && strings.EqualFold(a.friendly, n))) {
				return a.values
			}
		}
	}
	return nil
}

func first(attrs []attribute, names []string) string {
	if v := lookup(attrs, names); len(v) > 0 {
		return v[0]
	}
	return ""
}

// identity maps a verified assertion to an Identity; see the package
// doc for the choices.
func (p *Provider) identity(a *crewjam.Assertion) (*providers.Identity, error) {
	n := p.s.names
	attrs := attributes(a)

	subject, err := p.subject(a, attrs)
	if err != nil {
		return nil, err
	}
	id := &providers.Identity{
		ProviderID:   p.id,
		Subject:      subject,
		Phone:        first(attrs, n.phone),
		Mobile:       first(attrs, n.mobile),
		Organization: first(attrs, n.organization),
		Department:   first(attrs, n.department),
		Claims:       map[string][]string{},
		AMR:          []string{"fed"},
	}
	if email := normalizeEmail(first(attrs, n.email)); email != "" {
		id.Email = email
		id.EmailVerified = true
	}
	id.DisplayName = displayName(first(attrs, n.name), first(attrs, n.givenName), first(attrs, n.surname))

	seen := map[string]bool{}
	for _, name := range n.groups {
		for _, g := range lookup(attrs, []string{name}) {
			if !seen[g] {
				seen[g] = true
				id.Groups = append(id.Groups, g)
			}
		}
	}
	for _, at := range attrs {
		if at.name != "" {
			id.Claims[at.name] = append(id.Claims[at.name], at.values...)
		}
	}
	return id, nil
}

// subject picks the stable identifier: a persistent NameID, else the
// first subject or email attribute, else a NameID that is not transient.
func (p *Provider) subject(a *crewjam.Assertion, attrs []attribute) (string, error) {
	var nameID, format string
	if a.Subject != nil && a.Subject.NameID != nil {
		nameID, format = strings.TrimSpace(a.Subject.NameID.Value), a.Subject.NameID.Format
	}
	if nameID != "" && format == nameIDPersistent {
		return nameID, nil
	}
	names := append(append([]string(nil), p.s.names.subject...), p.s.names.email...)
	if v := first(attrs, names); v != "" {
		return foldAddress(v), nil
	}
	if nameID != "" && format != nameIDTransient {
		return foldAddress(nameID), nil
	}
	return "", p.invalid("no stable subject: the NameID is %s and the assertion has none of the attributes %s",
		describeFormat(format), strings.Join(names, ", "))
}

// foldAddress lower-cases an email or UPN, which AD and mail systems
// compare without case, so that one person keeps one subject whatever
// case an admin typed; other identifiers are kept as sent.
func foldAddress(s string) string {
	if strings.Contains(s, "@") {
		return strings.ToLower(s)
	}
	return s
}

func describeFormat(format string) string {
	switch format {
	case "":
		return "missing or of no format"
	case nameIDTransient:
		return "transient"
	}
	return fmt.Sprintf("of format %s", format)
}

// normalizeEmail returns s trimmed and lower-cased (as the local
// provider keeps logins) when it is one plain address, else "".
func normalizeEmail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return ""
	}
	return strings.ToLower(s)
}

// displayName is name when the IdP sends one; else surname and given
// name in Japanese order, "山田 太郎", separated by a space.
func displayName(name, given, surname string) string {
	switch {
	case name != "":
		return name
	case surname != "" && given != "":
		return surname + " " + given
	case surname != "":
		return surname
	}
	return given
}
