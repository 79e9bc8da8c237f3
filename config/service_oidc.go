package config

// ServiceOIDC registers a service as a client of the gateway's OpenID
// Provider.
type ServiceOIDC struct{}

// serviceOIDC checks a service's oidc block.
func (v *validator) serviceOIDC(path string, s *Service) {}
