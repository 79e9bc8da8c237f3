package account

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// Client is where a sign-in comes from, as the throttle counts it.
type Client struct {
	// IP is the client address after server.trusted_proxies.
	IP netip.Addr
	// Line is true when IP is on a registered line (an office's network),
	// whose many people share one address behind NAT.
	Line bool
}

// throttleKey is the Hit key of c: the address itself for IPv4, its /64
// for IPv6, since one subscriber is handed a whole /64 and could otherwise
// move to a fresh address at every try.
func throttleKey(c Client) string {
	a := c.IP.Unmap()
	if a.Is6() {
		p, err := a.Prefix(64)
		if err == nil {
			return "login_ip:" + p.String()
		}
	}
	return "login_ip:" + a.String()
}

// limit is the number of failures c may make within a window.
func (s *Service) limit(c Client) int {
	if c.Line && s.pol.ThrottleLineMaxFailures > 0 {
		return s.pol.ThrottleLineMaxFailures
	}
	return s.pol.ThrottleMaxFailures
}

// Throttled reports how long c must wait before a password is checked for
// it again: zero when it may sign in now. It counts nothing.
func (s *Service) Throttled(ctx context.Context, c Client) (time.Duration, error) {
	if !c.IP.IsValid() || s.pol.ThrottleMaxFailures <= 0 {
		return 0, nil
	}
	now := s.now()
	n, resetAt, err := s.st.HitCount(ctx, throttleKey(c), now)
	if err != nil {
		return 0, fmt.Errorf("account: throttle: %w", err)
	}
	if n < s.limit(c) || !resetAt.After(now) {
		return 0, nil
	}
	return resetAt.Sub(now), nil
}

// CountClientFailure counts one failed sign-in from c against the
// throttle. Sign-ins to local accounts count through PasswordAttempt; the
// gateway calls this for a directory's wrong passwords, which the
// directory itself counts against the account.
func (s *Service) CountClientFailure(ctx context.Context, c Client) error {
	if !c.IP.IsValid() || s.pol.ThrottleMaxFailures <= 0 {
		return nil
	}
	if _, _, err := s.st.Hit(ctx, throttleKey(c), s.now(), s.pol.ThrottleWindow); err != nil {
		return fmt.Errorf("account: throttle: %w", err)
	}
	return nil
}
