package samlidp

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"

	"github.com/ssogate/ssogate/config"
)

// maxMetadataBytes bounds an SP's metadata document.
const maxMetadataBytes = 1 << 20

// refetchAfterTrouble bounds how often a signature that does not verify
// makes the registry read an SP's metadata again.
const refetchAfterTrouble = 10 * time.Second

// fetchTimeout bounds one fetch of an SP's metadata.
const fetchTimeout = 10 * time.Second

// reachTimeout bounds Reachable.
const reachTimeout = 2 * time.Second

// Reachable reports whether the server of rawURL (an SP's endpoint)
// answers at all — any HTTP status will do — within a couple of seconds.
// A single-logout round asks before sending the browser there, so that
// an SP that is down is passed over instead of leaving the person on a
// browser error page.
func (r *Registry) Reachable(ctx context.Context, rawURL string) bool {
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, rawURL, nil)
	if err != nil {
		return false
	}
	c := *r.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		r.log.Warn("saml idp: sp endpoint does not answer", "url", rawURL, "err", err)
		return false
	}
	resp.Body.Close()
	return true
}

// SP is a configured service provider and its metadata as last read.
type SP struct {
	// ServiceID is the gateway service the SP is.
	ServiceID string
	Config    *config.ServiceSAML

	mu       sync.Mutex
	meta     *saml.EntityDescriptor
	loadedAt time.Time
	tried    time.Time // the last read, good or not
	lastErr  error     // the last read's error
	loading  bool
}

// Registry holds the service providers and keeps their metadata fresh:
// read at first use, again when older than the SP's metadata_refresh (in
// the background, serving the copy held meanwhile) and when a signature
// does not verify with it; a read that fails keeps the last good copy.
type Registry struct {
	sps    []*SP
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
}

// NewRegistry returns the registry of the services with a saml block.
// client fetches metadata URLs (nil: a client with a timeout).
func NewRegistry(services []config.Service, client *http.Client, now func() time.Time, log *slog.Logger) *Registry {
	if client == nil {
		client = &http.Client{Timeout: fetchTimeout}
	}
	r := &Registry{client: client, now: now, log: log}
	for i := range services {
		if services[i].SAML != nil {
			r.sps = append(r.sps, &SP{ServiceID: services[i].ID, Config: services[i].SAML})
		}
	}
	return r
}

// Get returns the SP of service id, or nil.
func (r *Registry) Get(id string) *SP {
	for _, sp := range r.sps {
		if sp.ServiceID == id {
			return sp
		}
	}
	return nil
}

// All returns every SP.
func (r *Registry) All() []*SP { return r.sps }

// ByEntityID returns the SP whose entity id is entityID and its metadata.
// An SP whose metadata was never read is read now.
func (r *Registry) ByEntityID(ctx context.Context, entityID string) (*SP, *saml.EntityDescriptor, error) {
	for _, sp := range r.sps {
		if sp.Config.EntityID != "" && sp.Config.EntityID != entityID {
			continue
		}
		md, err := r.Metadata(ctx, sp)
		if err != nil {
			if sp.Config.EntityID == entityID {
				return nil, nil, err
			}
			continue
		}
		if md.EntityID == entityID {
			return sp, md, nil
		}
	}
	return nil, nil, fmt.Errorf("%w: %q", ErrUnknownSP, entityID)
}

// Metadata returns the SP's metadata (its EntityID is the configured
// entity_id when there is one), reading it when none is held and starting
// a background refresh when the copy is older than metadata_refresh.
func (r *Registry) Metadata(ctx context.Context, sp *SP) (*saml.EntityDescriptor, error) {
	sp.mu.Lock()
	md, loadedAt, loading := sp.meta, sp.loadedAt, sp.loading
	stale := md != nil && r.now().Sub(loadedAt) >= sp.Config.Refresh() && !loading
	if stale {
		sp.loading = true
	}
	sp.mu.Unlock()
	if md == nil {
		// An SP whose metadata cannot be read is not asked again at
		// every request (a message naming it, or any unknown issuer,
		// would otherwise cost a fetch each).
		sp.mu.Lock()
		recent, lastErr := !sp.tried.IsZero() && r.now().Sub(sp.tried) < refetchAfterTrouble, sp.lastErr
		sp.mu.Unlock()
		if recent && lastErr != nil {
			return nil, lastErr
		}
		return r.load(ctx, sp)
	}
	if stale {
		go func() {
			// Detached from the request: the refresh outlives it.
			if _, err := r.load(context.Background(), sp); err != nil {
				r.log.Warn("saml idp: sp metadata refresh failed; keeping the last good copy", "service", sp.ServiceID, "err", err)
			}
		}()
	}
	return md, nil
}

// Refetch reads the SP's metadata again at once, unless it was read in
// the last few seconds, e.g. after a signature did not verify with the
// copy held. It reports whether a new copy was read.
func (r *Registry) Refetch(ctx context.Context, sp *SP) bool {
	sp.mu.Lock()
	recent := r.now().Sub(sp.tried) < refetchAfterTrouble
	sp.mu.Unlock()
	if recent {
		return false
	}
	if _, err := r.load(ctx, sp); err != nil {
		r.log.Warn("saml idp: sp metadata refetch failed; keeping the last good copy", "service", sp.ServiceID, "err", err)
		return false
	}
	return true
}

// load reads the metadata and keeps it when it parses.
func (r *Registry) load(ctx context.Context, sp *SP) (*saml.EntityDescriptor, error) {
	md, err := r.read(ctx, sp)
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.loading = false
	sp.tried, sp.lastErr = r.now(), err
	if err != nil {
		if sp.meta != nil {
			return sp.meta, err
		}
		return nil, err
	}
	if sp.Config.EntityID != "" {
		md.EntityID = sp.Config.EntityID
	}
	sp.meta, sp.loadedAt = md, r.now()
	return md, nil
}

func (r *Registry) read(ctx context.Context, sp *SP) (*saml.EntityDescriptor, error) {
	var raw []byte
	if f := sp.Config.MetadataFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("samlidp: sp %s: read metadata: %w", sp.ServiceID, err)
		}
		raw = b
	} else {
		ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, sp.Config.MetadataURL, nil)
		if err != nil {
			return nil, fmt.Errorf("samlidp: sp %s: metadata request: %w", sp.ServiceID, err)
		}
		resp, err := r.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("samlidp: sp %s: fetch metadata: %w", sp.ServiceID, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("samlidp: sp %s: fetch metadata: status %d", sp.ServiceID, resp.StatusCode)
		}
		if raw, err = io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1)); err != nil {
			return nil, fmt.Errorf("samlidp: sp %s: fetch metadata: %w", sp.ServiceID, err)
		}
		if len(raw) > maxMetadataBytes {
			return nil, fmt.Errorf("samlidp: sp %s: metadata larger than %d bytes", sp.ServiceID, maxMetadataBytes)
		}
	}
	md, err := parseSPMetadata(raw)
	if err != nil {
		return nil, fmt.Errorf("samlidp: sp %s: %w", sp.ServiceID, err)
	}
	return md, nil
}

// parseSPMetadata parses an EntityDescriptor (or the first of an
// EntitiesDescriptor) that has an SPSSODescriptor.
func parseSPMetadata(raw []byte) (*saml.EntityDescriptor, error) {
	var md saml.EntityDescriptor
	if err := xml.Unmarshal(raw, &md); err != nil {
		var all saml.EntitiesDescriptor
		if err2 := xml.Unmarshal(raw, &all); err2 != nil || len(all.EntityDescriptors) == 0 {
			return nil, fmt.Errorf("metadata is no EntityDescriptor: %w", err)
		}
		md = all.EntityDescriptors[0]
	}
	if len(md.SPSSODescriptors) == 0 {
		return nil, fmt.Errorf("metadata of %q has no SPSSODescriptor", md.EntityID)
	}
	if md.EntityID == "" {
		return nil, fmt.Errorf("metadata has no entityID")
	}
	return &md, nil
}

// SigningCerts returns the SP's signing certificates (use "signing" or
// no use).
func SigningCerts(md *saml.EntityDescriptor) []*x509.Certificate {
	var out []*x509.Certificate
	for _, d := range md.SPSSODescriptors {
		for _, k := range d.KeyDescriptors {
			if k.Use != "" && k.Use != "signing" {
				continue
			}
			for _, c := range k.KeyInfo.X509Data.X509Certificates {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
				if err != nil {
					continue
				}
				if cert, err := x509.ParseCertificate(der); err == nil {
					out = append(out, cert)
				}
			}
		}
	}
	return out
}

// WantsSignedRequests reports whether the SP's AuthnRequests must carry a
// valid signature: its metadata says AuthnRequestsSigned, or the service
// says require_signed_requests.
func (sp *SP) WantsSignedRequests(md *saml.EntityDescriptor) bool {
	if sp.Config.RequireSignedRequests {
		return true
	}
	for _, d := range md.SPSSODescriptors {
		if d.AuthnRequestsSigned != nil && *d.AuthnRequestsSigned {
			return true
		}
	}
	return false
}

// ACS returns the SP's assertion consumer service (HTTP-POST binding) at
// location, or by index, or the default one when both are empty.
func ACS(md *saml.EntityDescriptor, location, index string) (*saml.IndexedEndpoint, error) {
	var first, def *saml.IndexedEndpoint
	for _, d := range md.SPSSODescriptors {
		for i := range d.AssertionConsumerServices {
			e := &d.AssertionConsumerServices[i]
			if e.Binding != saml.HTTPPostBinding {
				continue
			}
			switch {
			case location != "" && e.Location == location:
				return e, nil
			case index != "" && fmt.Sprint(e.Index) == index:
				return e, nil
			}
			if first == nil {
				first = e
			}
			if def == nil && e.IsDefault != nil && *e.IsDefault {
				def = e
			}
		}
	}
	if location != "" || index != "" {
		return nil, fmt.Errorf("samlidp: %s has no HTTP-POST assertion consumer service %q", md.EntityID, location+index)
	}
	if def != nil {
		return def, nil
	}
	if first != nil {
		return first, nil
	}
	return nil, fmt.Errorf("samlidp: %s has no HTTP-POST assertion consumer service", md.EntityID)
}

// SLOEndpoint returns the SP's single-logout service, HTTP-Redirect
// preferred, or nil when it has none.
func SLOEndpoint(md *saml.EntityDescriptor) *saml.Endpoint {
	var post *saml.Endpoint
	for _, d := range md.SPSSODescriptors {
		for i := range d.SingleLogoutServices {
			e := &d.SingleLogoutServices[i]
			switch e.Binding {
			case saml.HTTPRedirectBinding:
				return e
			case saml.HTTPPostBinding:
				if post == nil {
					post = e
				}
			}
		}
	}
	return post
}
