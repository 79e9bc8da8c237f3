package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/ssogate/ssogate/config"
	"github.com/ssogate/ssogate/store"
)

func TestEffectiveSettings(t *testing.T) {
	at := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	set := func(k, v string) *store.Setting {
		return &store.Setting{Key: k, Value: v, UpdatedBy: "admin", UpdatedAt: at}
	}
	yaml := &config.Config{}
	yaml.Policy.TwoFactor.Required = true
	yaml.Policy.DeviceApproval = true
	withLine := &config.Config{Providers: []config.Provider{{ID: "office", Type: "network"}}}

	for _, tt := range []struct {
		name   string
		cfg    *config.Config
		stored []*store.Setting
		want   OrgSettings
		source []bool // Stored set, per key in console order
		ignore []bool // Ignored set
	}{
		{"YAML only (AccessRoute empty in a Config built in code)", yaml, nil,
			OrgSettings{TwoFactorRequired: true, AccessRoute: config.AccessLineAndInternet, DeviceApproval: true},
			[]bool{false, false, false}, []bool{false, false, false}},
		{"stored over YAML", yaml, []*store.Setting{set(store.SettingTwoFactorRequired, "false"), set(store.SettingDeviceApproval, "false")},
			OrgSettings{AccessRoute: config.AccessLineAndInternet},
			[]bool{true, false, true}, []bool{false, false, false}},
		{"line_only with a line", withLine, []*store.Setting{set(store.SettingAccessRoute, config.AccessLineOnly)},
			OrgSettings{AccessRoute: config.AccessLineOnly},
			[]bool{false, true, false}, []bool{false, false, false}},
		{"line_only without a line is ignored", yaml, []*store.Setting{set(store.SettingAccessRoute, config.AccessLineOnly)},
			OrgSettings{TwoFactorRequired: true, AccessRoute: config.AccessLineAndInternet, DeviceApproval: true},
			[]bool{false, false, false}, []bool{false, true, false}},
		{"bad stored values are ignored", yaml, []*store.Setting{set(store.SettingTwoFactorRequired, "yes"), set(store.SettingAccessRoute, "anywhere"), set("unknown", "x")},
			OrgSettings{TwoFactorRequired: true, AccessRoute: config.AccessLineAndInternet, DeviceApproval: true},
			[]bool{false, false, false}, []bool{true, true, false}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vs := EffectiveSettings(tt.cfg, tt.stored)
			if got := orgSettingsOf(vs); got != tt.want {
				t.Errorf("settings = %+v, want %+v", got, tt.want)
			}
			if len(vs) != 3 {
				t.Fatalf("%d values", len(vs))
			}
			for i, v := range vs {
				if v.Key != orgSettingKeys[i] || (v.Stored != nil) != tt.source[i] || (v.Ignored != "") != tt.ignore[i] {
					t.Errorf("%s: stored %v ignored %q; want stored %v ignored %v", v.Key, v.Stored, v.Ignored, tt.source[i], tt.ignore[i])
				}
			}
		})
	}
}

// TestOrgSettingsSweepFallback: without a change feed (or when it missed
// a notice), the sweeper's tick rereads the settings.
func TestOrgSettingsSweepFallback(t *testing.T) {
	g, _ := newTestGateway(t, "5s", func(st store.Store) store.Store { return struct{ store.Store }{st} })
	if _, ok := g.store.(store.ChangeFeed); ok {
		t.Fatal("the wrapped store still has a change feed")
	}
	if err := g.store.SetSetting(context.Background(), &store.Setting{Key: store.SettingDeviceApproval, Value: "true"}); err != nil {
		t.Fatal(err)
	}
	if g.OrgSettings().DeviceApproval {
		t.Fatal("applied before any reread: the test shows nothing")
	}
	g.shared.sweepOnce()
	if !g.OrgSettings().DeviceApproval {
		t.Fatal("the sweep did not reread the settings")
	}
}
