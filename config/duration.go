package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

const durationHint = "write a number with a unit: s, m, h or d, e.g. 30s, 15m, 12h, 14d, 1h30m"

// UnmarshalYAML accepts a Go duration ("30s", "15m", "1h30m") optionally
// preceded by whole days ("14d", "1d12h"). Negative durations are refused.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("must be a duration; " + durationHint)
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes d as String does, which UnmarshalYAML reads back.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String formats d the way it is written in the file: whole days as "14d",
// otherwise as time.Duration does without trailing zero units ("30m", "1h30m").
func (d Duration) String() string {
	const day = 24 * time.Hour
	t := time.Duration(d)
	if t > 0 && t%day == 0 {
		return strconv.FormatInt(int64(t/day), 10) + "d"
	}
	s := t.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func parseDuration(s string) (time.Duration, error) {
	text := strings.TrimSpace(s)
	if strings.HasPrefix(text, "-") {
		return 0, fmt.Errorf("duration %q is negative; use 0 or more", s)
	}
	var days time.Duration
	if i := strings.IndexByte(text, 'd'); i >= 0 {
		n, err := strconv.ParseUint(text[:i], 10, 64)
		if err != nil || n > uint64(math.MaxInt64/(24*time.Hour)) {
			return 0, fmt.Errorf("invalid duration %q; days must be a whole number before the d; %s", s, durationHint)
		}
		days = time.Duration(n) * 24 * time.Hour
		text = text[i+1:]
		if text == "" {
			return days, nil
		}
		if text[0] == '+' || text[0] == '-' {
			return 0, fmt.Errorf("invalid duration %q; %s", s, durationHint)
		}
	}
	rest, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q; %s", s, durationHint)
	}
	if rest < 0 {
		return 0, fmt.Errorf("duration %q is negative; use 0 or more", s)
	}
	if days > math.MaxInt64-rest {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	return days + rest, nil
}
