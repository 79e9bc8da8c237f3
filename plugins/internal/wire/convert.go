package wire

import (
	"net/url"
	"slices"

	pb "github.com/ssogate/ssogate/plugins/proto"
	"github.com/ssogate/ssogate/providers"
)

// IdentityToProto converts id for the wire; nil stays nil.
func IdentityToProto(id *providers.Identity) *pb.Identity {
	if id == nil {
		return nil
	}
	return &pb.Identity{
		ProviderId:    id.ProviderID,
		Subject:       id.Subject,
		Email:         id.Email,
		EmailVerified: id.EmailVerified,
		DisplayName:   id.DisplayName,
		Phone:         id.Phone,
		Mobile:        id.Mobile,
		Organization:  id.Organization,
		Department:    id.Department,
		Groups:        id.Groups,
		Claims:        ValuesToProto(id.Claims),
		Amr:           id.AMR,
	}
}

// IdentityFromProto converts an identity from the wire; empty lists and
// maps come back nil.
func IdentityFromProto(p *pb.Identity) *providers.Identity {
	if p == nil {
		return nil
	}
	id := &providers.Identity{
		ProviderID:    p.GetProviderId(),
		Subject:       p.GetSubject(),
		Email:         p.GetEmail(),
		EmailVerified: p.GetEmailVerified(),
		DisplayName:   p.GetDisplayName(),
		Phone:         p.GetPhone(),
		Mobile:        p.GetMobile(),
		Organization:  p.GetOrganization(),
		Department:    p.GetDepartment(),
		Groups:        nilIfEmpty(p.GetGroups()),
		AMR:           nilIfEmpty(p.GetAmr()),
	}
	if c := ValuesFromProto(p.GetClaims()); c != nil {
		id.Claims = map[string][]string(c)
	}
	return id
}

// ValuesToProto converts a url.Values or a claims map, keys sorted so that
// the same values always make the same bytes.
func ValuesToProto(v map[string][]string) []*pb.Values {
	if len(v) == 0 {
		return nil
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]*pb.Values, 0, len(keys))
	for _, k := range keys {
		out = append(out, &pb.Values{Key: k, Values: v[k]})
	}
	return out
}

// ValuesFromProto converts values from the wire; none gives nil, a key
// sent twice gets both lists.
func ValuesFromProto(vs []*pb.Values) url.Values {
	if len(vs) == 0 {
		return nil
	}
	out := make(url.Values, len(vs))
	for _, v := range vs {
		out[v.GetKey()] = append(out[v.GetKey()], v.GetValues()...)
	}
	return out
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
