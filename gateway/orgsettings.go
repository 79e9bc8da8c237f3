package gateway

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/store"
)

// OrgSettings are the organisation settings in effect: the YAML's policy
// with the values administrators set in the console over it.
type OrgSettings struct {
	// TwoFactorRequired is policy.two_factor.required.
	TwoFactorRequired bool
	// AccessRoute is policy.access_route: config.AccessLineAndInternet
	// or config.AccessLineOnly.
	AccessRoute string
	// DeviceApproval is policy.device_approval.
	DeviceApproval bool
}

// LineOnly reports whether only requests from registered lines are served.
func (o OrgSettings) LineOnly() bool { return o.AccessRoute == config.AccessLineOnly }

// SettingValue is one organisation setting in effect and where it came
// from.
type SettingValue struct {
	// Key is a store.Setting* key.
	Key string
	// Value is the value in effect ("true", "false", "line_only", …).
	Value string
	// Stored is the administrator's setting in effect, or nil when the
	// YAML's default applies.
	Stored *store.Setting
	// Ignored says why a stored setting does not apply (a value not
	// valid with this configuration), "" when none; IgnoredValue is that
	// stored value.
	Ignored, IgnoredValue string
}

// orgSettingKeys are the organisation settings, in the order pages list
// them.
var orgSettingKeys = []string{store.SettingTwoFactorRequired, store.SettingAccessRoute, store.SettingDeviceApproval}

// EffectiveSettings merges the stored organisation settings over cfg's
// policy, in the order the console lists them. A stored value that is
// not valid here (line_only with no network provider configured, which
// would refuse every request) is ignored, and said so.
func EffectiveSettings(cfg *config.Config, stored []*store.Setting) []SettingValue {
	byKey := make(map[string]*store.Setting, len(stored))
	for _, s := range stored {
		byKey[s.Key] = s
	}
	route := cfg.Policy.AccessRoute
	if route == "" {
		route = config.AccessLineAndInternet
	}
	defaults := map[string]string{
		store.SettingTwoFactorRequired: strconv.FormatBool(cfg.Policy.TwoFactor.Required),
		store.SettingAccessRoute:       route,
		store.SettingDeviceApproval:    strconv.FormatBool(cfg.Policy.DeviceApproval),
	}
	out := make([]SettingValue, 0, len(orgSettingKeys))
	for _, k := range orgSettingKeys {
		v := SettingValue{Key: k, Value: defaults[k]}
		if s := byKey[k]; s != nil {
			if why := settingInvalid(cfg, k, s.Value); why != "" {
				v.Ignored, v.IgnoredValue = why, s.Value
			} else {
				v.Value, v.Stored = s.Value, s
			}
		}
		out = append(out, v)
	}
	return out
}

// settingInvalid says why value cannot be key's value under cfg, or "".
func settingInvalid(cfg *config.Config, key, value string) string {
	switch key {
	case store.SettingTwoFactorRequired, store.SettingDeviceApproval:
		if value != "true" && value != "false" {
			return fmt.Sprintf("%q is not true or false", value)
		}
	case store.SettingAccessRoute:
		switch value {
		case config.AccessLineAndInternet:
		case config.AccessLineOnly:
			if !hasNetworkProvider(cfg) {
				return "line_only needs a network provider (a registered line), and none is configured"
			}
		default:
			return fmt.Sprintf("%q is not line_and_internet or line_only", value)
		}
	default:
		return "unknown setting"
	}
	return ""
}

// hasNetworkProvider reports whether cfg registers a line.
func hasNetworkProvider(cfg *config.Config) bool {
	for _, p := range cfg.Providers {
		if p.Type == "network" {
			return true
		}
	}
	return false
}

// orgSettingsOf turns EffectiveSettings' list into OrgSettings.
func orgSettingsOf(vs []SettingValue) OrgSettings {
	var o OrgSettings
	for _, v := range vs {
		switch v.Key {
		case store.SettingTwoFactorRequired:
			o.TwoFactorRequired = v.Value == "true"
		case store.SettingAccessRoute:
			o.AccessRoute = v.Value
		case store.SettingDeviceApproval:
			o.DeviceApproval = v.Value == "true"
		}
	}
	return o
}

// orgStored is a snapshot of the stored organisation settings, replaced
// whole (never changed) when they are read again.
type orgStored struct {
	settings []*store.Setting
}

// orgView is the settings in effect computed from one snapshot, cached
// by the Gateway (whose configuration gives the defaults).
type orgView struct {
	stored *orgStored
	values []SettingValue
	eff    OrgSettings
}

// loadOrg reads the stored organisation settings again. A failure keeps
// the previous snapshot (logged): a store that cannot be read now should
// not switch policies back to the YAML's.
func (sh *Shared) loadOrg(ctx context.Context) error {
	ss, err := sh.store.Settings(ctx)
	if err != nil {
		return fmt.Errorf("gateway: organisation settings: %w", err)
	}
	sh.org.Store(&orgStored{settings: ss})
	return nil
}

// orgSettingsChanged rereads the organisation settings after a change
// notice or on the sweeper's tick.
func (sh *Shared) orgSettingsChanged(ctx context.Context) {
	if err := sh.loadOrg(ctx); err != nil {
		sh.log.Error("organisation settings reload failed", "err", err)
	}
}

// feedLive is the change feed's live callback: besides the session
// cache's trust, a feed that (re)starts may have missed a settings
// notice before its starting point, so the settings are read again.
func (sh *Shared) feedLive(up bool) {
	sh.sessions.setLive(up)
	if up {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		sh.orgSettingsChanged(ctx)
	}
}

// orgNow returns the settings in effect now: the latest stored snapshot
// over this Gateway's configuration. Computed once per snapshot, so the
// hot path (the access route of every request) pays two atomic loads.
func (g *Gateway) orgNow() *orgView {
	st := g.shared.org.Load()
	if v := g.org.Load(); v != nil && v.stored == st {
		return v
	}
	var ss []*store.Setting
	if st != nil {
		ss = st.settings
	}
	vs := EffectiveSettings(g.cfg, ss)
	v := &orgView{stored: st, values: vs, eff: orgSettingsOf(vs)}
	g.org.Store(v)
	return v
}

// orgSettings returns the organisation settings in effect now (2-step
// required, access route, device approval), for the flows that apply
// them.
func (g *Gateway) orgSettings() OrgSettings { return g.orgNow().eff }

// OrgSettings returns the organisation settings in effect now (for
// cmd/ssogate and tests).
func (g *Gateway) OrgSettings() OrgSettings { return g.orgSettings() }
