package config

import (
	"strings"
	"testing"
	"time"
)

// TestValidateLockout: policy.lockout and policy.throttle out of range are
// refused with the file, line and key, and what would be valid.
func TestValidateLockout(t *testing.T) {
	const head = "providers:\n  - id: local\n    type: local\npolicy:\n"
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"zero failures", "  lockout:\n    max_failures: 0\n", `x.yaml:6: policy.lockout.max_failures: 0 is out of range; use 1 to 1000`},
		{"too many failures", "  lockout:\n    max_failures: 1001\n", `x.yaml:6: policy.lockout.max_failures: 1001 is out of range`},
		{"zero unlock ttl", "  lockout:\n    unlock_link_ttl: 0s\n", `x.yaml:6: policy.lockout.unlock_link_ttl: must be greater than 0`},
		{"negative throttle", "  throttle:\n    max_failures: -1\n", `x.yaml:6: policy.throttle.max_failures: -1 is out of range; use 1 to 1000000`},
		{"line below internet", "  throttle:\n    max_failures: 100\n    line_max_failures: 20\n", `x.yaml:7: policy.throttle.line_max_failures: 20 is below policy.throttle.max_failures (100)`},
		{"zero window", "  throttle:\n    window: 0s\n", `x.yaml:6: policy.throttle.window: 0s is out of range`},
		{"day-long window", "  throttle:\n    window: 25h\n", `x.yaml:6: policy.throttle.window: 25h is out of range; use more than 0s up to 1d`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseErr(t, head+tt.yaml); !strings.Contains(got, tt.want) {
				t.Errorf("error:\n  %s\nwant it to contain\n  %s", got, tt.want)
			}
		})
	}

	c := mustParse(t, head+"  lockout:\n    max_failures: 5\n    unlock_link_ttl: 7d\n  throttle:\n    max_failures: 20\n    line_max_failures: 200\n    window: 10m\n")
	want := Policy{AccessRoute: "line_and_internet",
		Lockout:       Lockout{MaxFailures: 5, UnlockLinkTTL: Duration(7 * 24 * time.Hour)},
		Throttle:      Throttle{MaxFailures: 20, LineMaxFailures: 200, Window: Duration(10 * time.Minute)},
		PasswordReset: LinkPolicy{LinkTTL: Duration(14 * 24 * time.Hour)},
		EmailChange:   LinkPolicy{LinkTTL: Duration(24 * time.Hour)}}
	if c.Policy.Lockout != want.Lockout || c.Policy.Throttle != want.Throttle {
		t.Errorf("policy = %+v, want %+v", c.Policy, want)
	}
}
