package config

// ServiceSAML registers a service as a service provider of the gateway's
// SAML IdP.
type ServiceSAML struct{}

// serviceSAML checks a service's saml block.
func (v *validator) serviceSAML(path string, s *Service) {}
