package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

func appendAudit(t *testing.T, s store.Store, e *store.AuditEvent) {
	t.Helper()
	noErr(t, "AppendAudit", s.AppendAudit(t.Context(), e))
}

var auditTests = []test{
	{"AppendAssignsIncreasingIDs", func(t *testing.T, s store.Store) {
		var last int64
		for i := range 3 {
			// Times run backwards: IDs follow appends, not times.
			e := &store.AuditEvent{Time: base.Add(-time.Duration(i) * time.Minute), Action: "login", Outcome: store.OutcomeSuccess}
			appendAudit(t, s, e)
			if e.ID <= last {
				t.Errorf("event %d got ID %d after %d, want increasing", i, e.ID, last)
			}
			last = e.ID
		}
	}},
	{"RoundTrip", func(t *testing.T, s store.Store) {
		want := &store.AuditEvent{
			Time:      base,
			Action:    "login",
			UserID:    "0123456789abcdef0123456789abcdef",
			Actor:     "山田 太郎 <taro@example.co.jp>",
			ClientIP:  "203.0.113.7",
			Outcome:   store.OutcomeFailure,
			Detail:    "invalid_credentials",
			RequestID: "req-42",
		}
		appendAudit(t, s, want)
		list, err := s.ListAudit(t.Context(), store.AuditFilter{})
		noErr(t, "ListAudit", err)
		if len(list) != 1 {
			t.Fatalf("ListAudit returned %d events, want 1", len(list))
		}
		got := list[0]
		sameTime(t, "Time", got.Time, want.Time)
		g, w := *got, *want
		g.Time, w.Time = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("event = %+v\nwant    %+v", g, w)
		}
	}},
	{"AppendAssignsZeroTime", func(t *testing.T, s store.Store) {
		before := time.Now()
		e := &store.AuditEvent{Action: "logout", Outcome: store.OutcomeSuccess}
		appendAudit(t, s, e)
		after := time.Now()
		list, err := s.ListAudit(t.Context(), store.AuditFilter{})
		noErr(t, "ListAudit", err)
		if len(list) != 1 {
			t.Fatalf("ListAudit returned %d events, want 1", len(list))
		}
		within(t, "stored Time", list[0].Time, before, after)
	}},
	{"ListFilters", func(t *testing.T, s store.Store) {
		// Appended out of time order; names say what each one is.
		events := []struct {
			detail string
			at     time.Duration
			action string
			user   string
		}{
			{"t2-logout-u1", 2 * time.Minute, "logout", "u1"},
			{"t0-login-u1", 0, "login", "u1"},
			{"t1-login-u2", time.Minute, "login", "u2"},
			{"t4-profile-u1", 4 * time.Minute, "profile_update", "u1"},
			{"t3-login-unknown", 3 * time.Minute, "login", ""},
		}
		for _, e := range events {
			appendAudit(t, s, &store.AuditEvent{
				Time: base.Add(e.at), Action: e.action, UserID: e.user,
				Outcome: store.OutcomeSuccess, Detail: e.detail,
			})
		}
		for _, tc := range []struct {
			name   string
			filter store.AuditFilter
			want   []string
		}{
			{"all", store.AuditFilter{},
				[]string{"t4-profile-u1", "t3-login-unknown", "t2-logout-u1", "t1-login-u2", "t0-login-u1"}},
			{"user", store.AuditFilter{UserID: "u1"},
				[]string{"t4-profile-u1", "t2-logout-u1", "t0-login-u1"}},
			{"action", store.AuditFilter{Action: "login"},
				[]string{"t3-login-unknown", "t1-login-u2", "t0-login-u1"}},
			{"user and action", store.AuditFilter{UserID: "u1", Action: "login"},
				[]string{"t0-login-u1"}},
			{"since is inclusive", store.AuditFilter{Since: base.Add(2 * time.Minute)},
				[]string{"t4-profile-u1", "t3-login-unknown", "t2-logout-u1"}},
			{"since in another zone", store.AuditFilter{Since: base.Add(3 * time.Minute).UTC()},
				[]string{"t4-profile-u1", "t3-login-unknown"}},
			{"limit", store.AuditFilter{Limit: 2},
				[]string{"t4-profile-u1", "t3-login-unknown"}},
			{"action since limit", store.AuditFilter{Action: "login", Since: base.Add(time.Minute), Limit: 1},
				[]string{"t3-login-unknown"}},
			{"no match", store.AuditFilter{UserID: "u3"}, nil},
			{"since after all", store.AuditFilter{Since: base.Add(time.Hour)}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				list, err := s.ListAudit(t.Context(), tc.filter)
				noErr(t, "ListAudit", err)
				if got := auditDetails(list); !equalStrings(got, tc.want) {
					t.Errorf("ListAudit(%+v) = %q, want %q", tc.filter, got, tc.want)
				}
			})
		}
	}},
	{"DefaultLimit", func(t *testing.T, s store.Store) {
		const n = 105
		for i := range n {
			appendAudit(t, s, &store.AuditEvent{
				Time: base.Add(time.Duration(i) * time.Second), Action: "login",
				Outcome: store.OutcomeSuccess, Detail: fmt.Sprint(i),
			})
		}
		list, err := s.ListAudit(t.Context(), store.AuditFilter{})
		noErr(t, "ListAudit", err)
		if len(list) != 100 {
			t.Fatalf("ListAudit with Limit 0 returned %d events, want 100", len(list))
		}
		if first, last := list[0].Detail, list[99].Detail; first != "104" || last != "5" {
			t.Errorf("ListAudit returned events %s … %s, want the newest 104 … 5", first, last)
		}
		list, err = s.ListAudit(t.Context(), store.AuditFilter{Limit: n + 10})
		noErr(t, "ListAudit with a larger limit", err)
		if len(list) != n {
			t.Errorf("ListAudit with Limit %d returned %d events, want %d", n+10, len(list), n)
		}
	}},
}
