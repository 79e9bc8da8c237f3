package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// apply runs Apply and fails the test on an error.
func apply(t *testing.T, s store.Store, b *store.Batch) *store.Ticket {
	t.Helper()
	tk, err := s.Apply(t.Context(), b)
	noErr(t, "Apply", err)
	return tk
}

// failures returns the count of (userID, device).
func failures(t *testing.T, s store.Store, userID, device string) int {
	t.Helper()
	n, err := s.Failures(t.Context(), userID, device)
	noErr(t, "Failures", err)
	return n
}

// ticketLeft reports whether the ticket (purpose, id) is still stored and
// live at now, leaving it in place.
func ticketLeft(t *testing.T, s store.Store, purpose, id string, now time.Time) bool {
	t.Helper()
	tk, err := s.ConsumeTicket(t.Context(), purpose, id, now)
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	noErr(t, "ConsumeTicket "+id, err)
	createTicket(t, s, tk)
	return true
}

// accountTicket is a ticket of an account flow for userID.
func accountTicket(id, purpose, userID string, created time.Time) *store.Ticket {
	tk := ticket(id, purpose, created)
	tk.UserID = userID
	tk.ExpiresAt = created.Add(14 * 24 * time.Hour)
	return tk
}

var accountTests = []test{
	{"ApplyPasswordReset", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := fullUser()
		u.Status = store.StatusLocked
		noErr(t, "CreateUser", s.CreateUser(ctx, u))
		other := createUser(t, s, "other@example.com")
		noErr(t, "SetPasswordHash", s.SetPasswordHash(ctx, u.ID, "$argon2id$old"))
		for _, id := range []string{"s1", "s2", "s3"} {
			createSession(t, s, session(id, u.ID, base))
		}
		createSession(t, s, session("o1", other.ID, base))
		used := accountTicket("r1", store.PurposePasswordReset, u.ID, base)
		for _, tk := range []*store.Ticket{
			used,
			accountTicket("r2", store.PurposePasswordReset, u.ID, base),
			accountTicket("u1", store.PurposeUnlock, u.ID, base),
			accountTicket("e1", store.PurposeEmailChange, u.ID, base),
			accountTicket("o-r", store.PurposePasswordReset, other.ID, base),
		} {
			createTicket(t, s, tk)
		}
		for _, dev := range []string{"", "d1"} {
			_, err := s.CountFailure(ctx, u.ID, dev, base)
			noErr(t, "CountFailure", err)
		}
		_, err := s.CountFailure(ctx, other.ID, "", base)
		noErr(t, "CountFailure other", err)

		now := base.Add(time.Hour)
		edited := *u
		edited.Status, edited.MustChangePassword, edited.Email = store.StatusActive, false, "Taro.Yamada@Example.co.jp"
		fresh := accountTicket("r3", store.PurposePasswordReset, u.ID, now)
		msg := &store.Message{Channel: store.ChannelMail, Template: "password_changed", To: u.Email, Language: "ja",
			UserID: u.ID, Data: []byte{0x00, 0xff, 1, 2}}
		ev := &store.AuditEvent{Time: now, Action: "password_reset", UserID: u.ID, Actor: u.Email, Outcome: store.OutcomeSuccess}
		before := time.Now()
		got := apply(t, s, &store.Batch{
			Consume:       &store.TicketUse{Purpose: store.PurposePasswordReset, ID: "r1", Now: now},
			User:          &edited,
			Password:      &store.PasswordWrite{UserID: u.ID, Encoded: "$argon2id$new"},
			EndSessions:   &store.SessionsEnd{UserID: u.ID, Keep: "s2"},
			DropTickets:   &store.TicketsDrop{UserID: u.ID, Purposes: []string{store.PurposePasswordReset, store.PurposeUnlock}},
			ClearFailures: u.ID,
			Tickets:       []*store.Ticket{fresh},
			Messages:      []*store.Message{msg},
			Audit:         []*store.AuditEvent{ev},
		})
		after := time.Now()
		if got == nil {
			t.Fatal("Apply returned no ticket for a Consume")
		}
		checkTicket(t, got, used)

		stored := getUser(t, s, u.ID)
		if stored.Status != store.StatusActive || stored.MustChangePassword || stored.Email != "taro.yamada@example.co.jp" {
			t.Errorf("user after Apply: status %q, must change %v, email %q", stored.Status, stored.MustChangePassword, stored.Email)
		}
		within(t, "stored UpdatedAt", stored.UpdatedAt, before, after)
		sameTime(t, "edited.UpdatedAt", edited.UpdatedAt, stored.UpdatedAt)
		if edited.Email != stored.Email {
			t.Errorf("Batch.User.Email = %q after Apply, want the stored %q", edited.Email, stored.Email)
		}
		if h, err := s.PasswordHash(ctx, u.ID); err != nil || h != "$argon2id$new" {
			t.Errorf("PasswordHash = %q, %v; want the new hash", h, err)
		}
		list, err := s.ListUserSessions(ctx, u.ID)
		noErr(t, "ListUserSessions", err)
		if got := sessionIDs(list); !equalStrings(got, []string{"s2"}) {
			t.Errorf("sessions after Apply = %q, want [s2] (the kept one)", got)
		}
		getSession(t, s, "o1")

		for _, tc := range []struct {
			purpose, id string
			left        bool
		}{
			{store.PurposePasswordReset, "r1", false},
			{store.PurposePasswordReset, "r2", false},
			{store.PurposeUnlock, "u1", false},
			{store.PurposeEmailChange, "e1", true},
			{store.PurposePasswordReset, "o-r", true},
			{store.PurposePasswordReset, "r3", true},
		} {
			if got := ticketLeft(t, s, tc.purpose, tc.id, now); got != tc.left {
				t.Errorf("ticket %s stored = %v after Apply, want %v", tc.id, got, tc.left)
			}
		}
		for _, dev := range []string{"", "d1"} {
			if n := failures(t, s, u.ID, dev); n != 0 {
				t.Errorf("Failures(%q) = %d after ClearFailures, want 0", dev, n)
			}
		}
		if n := failures(t, s, other.ID, ""); n != 1 {
			t.Errorf("other user's Failures = %d, want 1", n)
		}

		if msg.ID == "" {
			t.Error("Apply left Message.ID empty")
		}
		within(t, "Message.CreatedAt", msg.CreatedAt, before, after)
		sameTime(t, "Message.NextAttemptAt", msg.NextAttemptAt, msg.CreatedAt)
		msgs := listMessages(t, s, store.MessageFilter{})
		if len(msgs) != 1 || msgs[0].ID != msg.ID {
			t.Fatalf("messages after Apply = %q, want [%s]", messageIDs(msgs), msg.ID)
		}
		checkMessage(t, msgs[0], msg)
		if ev.ID == 0 {
			t.Error("Apply left AuditEvent.ID zero")
		}
		events, err := s.ListAudit(ctx, store.AuditFilter{})
		noErr(t, "ListAudit", err)
		if len(events) != 1 || events[0].ID != ev.ID || events[0].Action != "password_reset" {
			t.Errorf("audit after Apply = %+v, want the one event", events)
		}
	}},
	{"ApplyWritesNothingOnConflict", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		createUser(t, s, "a@example.com")
		b := createUser(t, s, "b@example.com")
		createTicket(t, s, accountTicket("c1", store.PurposeEmailChange, b.ID, base))
		createSession(t, s, session("s1", b.ID, base))
		noErr(t, "SetPasswordHash", s.SetPasswordHash(ctx, b.ID, "$argon2id$old"))
		_, err := s.CountFailure(ctx, b.ID, "", base)
		noErr(t, "CountFailure", err)

		edited := *b
		edited.Email = "A@Example.com" // taken
		edited.DisplayName = "must not be saved"
		msg := &store.Message{Channel: store.ChannelMail, Template: "email_changed", To: "b@example.com"}
		ev := &store.AuditEvent{Time: base, Action: "email_change", UserID: b.ID, Outcome: store.OutcomeSuccess}
		now := base.Add(time.Minute)
		got, err := s.Apply(ctx, &store.Batch{
			Consume:       &store.TicketUse{Purpose: store.PurposeEmailChange, ID: "c1", Now: now},
			Password:      &store.PasswordWrite{UserID: b.ID, Encoded: "$argon2id$new"},
			User:          &edited,
			EndSessions:   &store.SessionsEnd{UserID: b.ID},
			ClearFailures: b.ID,
			Tickets:       []*store.Ticket{accountTicket("n1", store.PurposeUnlock, b.ID, base)},
			Messages:      []*store.Message{msg},
			Audit:         []*store.AuditEvent{ev},
		})
		wantErr(t, "Apply with a taken email", err, store.ErrConflict)
		if got != nil {
			t.Errorf("Apply that failed returned ticket %+v", got)
		}
		if msg.ID != "" || ev.ID != 0 || edited.Email != "A@Example.com" || !edited.UpdatedAt.Equal(b.UpdatedAt) {
			t.Errorf("failed Apply changed the batch: message id %q, audit id %d, email %q", msg.ID, ev.ID, edited.Email)
		}
		if u := getUser(t, s, b.ID); u.Email != "b@example.com" || u.DisplayName != "" {
			t.Errorf("user after a failed Apply = %q %q, want it unchanged", u.Email, u.DisplayName)
		}
		if h, _ := s.PasswordHash(ctx, b.ID); h != "$argon2id$old" {
			t.Errorf("PasswordHash after a failed Apply = %q, want the old one", h)
		}
		getSession(t, s, "s1")
		if n := failures(t, s, b.ID, ""); n != 1 {
			t.Errorf("Failures after a failed Apply = %d, want 1", n)
		}
		if ticketLeft(t, s, store.PurposeUnlock, "n1", now) {
			t.Error("failed Apply created its ticket")
		}
		if msgs := listMessages(t, s, store.MessageFilter{}); len(msgs) != 0 {
			t.Errorf("failed Apply enqueued %q", messageIDs(msgs))
		}
		if events, _ := s.ListAudit(ctx, store.AuditFilter{}); len(events) != 0 {
			t.Errorf("failed Apply appended %d audit events", len(events))
		}
		// The ticket it consumed is still there, for another try.
		consumeTicket(t, s, store.PurposeEmailChange, "c1", now)
	}},
	{"ApplyConsumeNotFound", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		createTicket(t, s, accountTicket("t1", store.PurposeUnlock, u.ID, base))
		expires := base.Add(14 * 24 * time.Hour)
		for _, tc := range []struct {
			name string
			use  store.TicketUse
		}{
			{"missing", store.TicketUse{Purpose: store.PurposeUnlock, ID: "missing", Now: base}},
			{"wrong purpose", store.TicketUse{Purpose: store.PurposePasswordReset, ID: "t1", Now: base}},
			{"expired", store.TicketUse{Purpose: store.PurposeUnlock, ID: "t1", Now: expires}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				use := tc.use
				got, err := s.Apply(ctx, &store.Batch{
					Consume:  &use,
					Messages: []*store.Message{{Channel: store.ChannelMail, Template: "unlocked", To: u.Email}},
					Audit:    []*store.AuditEvent{{Time: base, Action: "unlock"}},
				})
				wantErr(t, "Apply", err, store.ErrNotFound)
				if got != nil {
					t.Errorf("Apply returned ticket %+v", got)
				}
			})
		}
		if msgs := listMessages(t, s, store.MessageFilter{}); len(msgs) != 0 {
			t.Errorf("Applies that consumed nothing enqueued %q", messageIDs(msgs))
		}
		if events, _ := s.ListAudit(ctx, store.AuditFilter{}); len(events) != 0 {
			t.Errorf("Applies that consumed nothing appended %d audit events", len(events))
		}
		consumeTicket(t, s, store.PurposeUnlock, "t1", expires.Add(-time.Millisecond))
	}},
	{"ApplyConsumeOnce", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		want := accountTicket("t1", store.PurposeUnlock, u.ID, base)
		createTicket(t, s, want)
		const n = 16
		wins := onceOfMany(t, n, want, func(i int) (*store.Ticket, error) {
			return s.Apply(t.Context(), &store.Batch{
				Consume:  &store.TicketUse{Purpose: store.PurposeUnlock, ID: "t1", Now: base},
				Messages: []*store.Message{{Channel: store.ChannelMail, Template: "unlocked", To: u.Email, Language: fmt.Sprint(i)}},
				Audit:    []*store.AuditEvent{{Time: base, Action: "unlock", UserID: u.ID, Detail: fmt.Sprint(i)}},
			})
		})
		if wins != 1 {
			t.Errorf("%d of %d concurrent Applies consumed the ticket, want exactly 1", wins, n)
		}
		msgs := listMessages(t, s, store.MessageFilter{})
		events, err := s.ListAudit(t.Context(), store.AuditFilter{})
		noErr(t, "ListAudit", err)
		if len(msgs) != 1 || len(events) != 1 || msgs[0].Language != events[0].Detail {
			t.Errorf("after the race: %d messages, %d audit events, want one of each from the same Apply", len(msgs), len(events))
		}
	}},
	{"ApplyNotFound", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		for _, tc := range []struct {
			name string
			b    store.Batch
		}{
			{"user", store.Batch{User: &store.User{ID: "missing", Email: "m@example.com"}}},
			{"password", store.Batch{Password: &store.PasswordWrite{UserID: "missing", Encoded: "$argon2id$x"}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := tc.b
				b.Audit = []*store.AuditEvent{{Time: base, Action: tc.name}}
				_, err := s.Apply(ctx, &b)
				wantErr(t, "Apply", err, store.ErrNotFound)
			})
		}
		if events, _ := s.ListAudit(ctx, store.AuditFilter{}); len(events) != 0 {
			t.Errorf("failed Applies appended %d audit events", len(events))
		}
	}},
	{"ApplyEmptyAndPartial", func(t *testing.T, s store.Store) {
		if got := apply(t, s, &store.Batch{}); got != nil {
			t.Errorf("empty Apply returned ticket %+v", got)
		}
		u := createUser(t, s, "a@example.com")
		createSession(t, s, session("s1", u.ID, base))
		createSession(t, s, session("s2", u.ID, base))
		createTicket(t, s, accountTicket("t1", store.PurposeUnlock, u.ID, base))
		// EndSessions without Keep ends them all; DropTickets without
		// purposes drops nothing.
		if got := apply(t, s, &store.Batch{
			EndSessions: &store.SessionsEnd{UserID: u.ID},
			DropTickets: &store.TicketsDrop{UserID: u.ID},
		}); got != nil {
			t.Errorf("Apply without Consume returned ticket %+v", got)
		}
		list, err := s.ListUserSessions(t.Context(), u.ID)
		noErr(t, "ListUserSessions", err)
		if len(list) != 0 {
			t.Errorf("sessions after EndSessions without Keep = %q, want none", sessionIDs(list))
		}
		if !ticketLeft(t, s, store.PurposeUnlock, "t1", base) {
			t.Error("DropTickets without purposes dropped a ticket")
		}
	}},
	{"ApplyTicketConflict", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		noErr(t, "SetPasswordHash", s.SetPasswordHash(ctx, u.ID, "$argon2id$old"))
		createSession(t, s, session("s1", u.ID, base))
		createTicket(t, s, accountTicket("t1", store.PurposeUnlock, u.ID, base))
		createTicket(t, s, accountTicket("r1", store.PurposePasswordReset, u.ID, base))
		_, err := s.CountFailure(ctx, u.ID, "", base)
		noErr(t, "CountFailure", err)
		// Every write before the failing ticket is undone.
		_, err = s.Apply(ctx, &store.Batch{
			Consume:       &store.TicketUse{Purpose: store.PurposePasswordReset, ID: "r1", Now: base},
			Password:      &store.PasswordWrite{UserID: u.ID, Encoded: "$argon2id$new"},
			EndSessions:   &store.SessionsEnd{UserID: u.ID},
			DropTickets:   &store.TicketsDrop{UserID: u.ID, Purposes: []string{store.PurposeEmailChange}},
			ClearFailures: u.ID,
			Tickets:       []*store.Ticket{accountTicket("t1", store.PurposeUnlock, u.ID, base)},
			Messages:      []*store.Message{{Channel: store.ChannelMail, Template: "account_locked", To: u.Email}},
		})
		wantErr(t, "Apply with a live ticket's id", err, store.ErrConflict)
		if h, _ := s.PasswordHash(ctx, u.ID); h != "$argon2id$old" {
			t.Errorf("PasswordHash after a failed Apply = %q, want the old one", h)
		}
		getSession(t, s, "s1")
		if n := failures(t, s, u.ID, ""); n != 1 {
			t.Errorf("Failures after a failed Apply = %d, want 1", n)
		}
		if msgs := listMessages(t, s, store.MessageFilter{}); len(msgs) != 0 {
			t.Errorf("failed Apply enqueued %q", messageIDs(msgs))
		}
		consumeTicket(t, s, store.PurposePasswordReset, "r1", base)
	}},
	{"CancelledContext", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		m := &store.Message{Channel: store.ChannelMail, Template: "t", To: u.Email}
		noErr(t, "EnqueueMessage", s.EnqueueMessage(t.Context(), m))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"Apply", func() error {
				_, err := s.Apply(ctx, &store.Batch{Audit: []*store.AuditEvent{{Action: "x"}}})
				return err
			}},
			{"CountFailure", func() error { _, err := s.CountFailure(ctx, u.ID, "", base); return err }},
			{"Failures", func() error { _, err := s.Failures(ctx, u.ID, ""); return err }},
			{"ClearFailure", func() error { return s.ClearFailure(ctx, u.ID, "") }},
			{"Hit", func() error { _, _, err := s.Hit(ctx, "k", base, time.Minute); return err }},
			{"HitCount", func() error { _, _, err := s.HitCount(ctx, "k", base); return err }},
			{"DeleteExpiredHits", func() error { _, err := s.DeleteExpiredHits(ctx, base); return err }},
			{"EnqueueMessage", func() error { return s.EnqueueMessage(ctx, &store.Message{Template: "t"}) }},
			{"ClaimMessages", func() error { _, err := s.ClaimMessages(ctx, "w", time.Now(), time.Minute, 10); return err }},
			{"MessageSent", func() error { return s.MessageSent(ctx, m.ID, "w", base) }},
			{"MessageFailed", func() error { return s.MessageFailed(ctx, m.ID, "w", "x", base, base, false) }},
			{"ListMessages", func() error { _, err := s.ListMessages(ctx, store.MessageFilter{}); return err }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, tc.name, tc.call(), context.Canceled)
			})
		}
		if msgs := listMessages(t, s, store.MessageFilter{}); len(msgs) != 1 || msgs[0].Attempts != 0 {
			t.Errorf("messages after cancelled calls = %+v, want the one, untried", msgs)
		}
		if n := failures(t, s, u.ID, ""); n != 0 {
			t.Errorf("Failures after a cancelled CountFailure = %d, want 0", n)
		}
	}},
}

var failureTests = []test{
	{"CountAndClear", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		u := createUser(t, s, "a@example.com")
		other := createUser(t, s, "b@example.com")
		if n := failures(t, s, u.ID, ""); n != 0 {
			t.Errorf("Failures before any = %d, want 0", n)
		}
		for i := 1; i <= 3; i++ {
			n, err := s.CountFailure(ctx, u.ID, "", base.Add(time.Duration(i)*time.Second))
			noErr(t, "CountFailure", err)
			if n != i {
				t.Errorf("CountFailure #%d = %d, want %d", i, n, i)
			}
		}
		// Each device cookie keeps its own budget.
		n, err := s.CountFailure(ctx, u.ID, "device-1", base)
		noErr(t, "CountFailure device", err)
		if n != 1 {
			t.Errorf("CountFailure from a device = %d, want 1", n)
		}
		n, err = s.CountFailure(ctx, other.ID, "", base)
		noErr(t, "CountFailure other user", err)
		if n != 1 {
			t.Errorf("CountFailure of another user = %d, want 1", n)
		}
		if n := failures(t, s, u.ID, ""); n != 3 {
			t.Errorf("Failures = %d, want 3", n)
		}

		noErr(t, "ClearFailure", s.ClearFailure(ctx, u.ID, "device-1"))
		if n := failures(t, s, u.ID, "device-1"); n != 0 {
			t.Errorf("Failures after ClearFailure = %d, want 0", n)
		}
		if n := failures(t, s, u.ID, ""); n != 3 {
			t.Errorf("Failures without a device after clearing a device = %d, want 3", n)
		}
		noErr(t, "ClearFailure of nothing", s.ClearFailure(ctx, u.ID, "never"))
		noErr(t, "ClearFailure", s.ClearFailure(ctx, u.ID, ""))
		n, err = s.CountFailure(ctx, u.ID, "", base)
		noErr(t, "CountFailure after clear", err)
		if n != 1 {
			t.Errorf("CountFailure after ClearFailure = %d, want 1 (counting afresh)", n)
		}
	}},
	{"Concurrent", func(t *testing.T, s store.Store) {
		u := createUser(t, s, "a@example.com")
		const n = 16
		got := make([]int, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				c, err := s.CountFailure(t.Context(), u.ID, "", base)
				if err != nil {
					t.Errorf("CountFailure: %v", err)
				}
				got[i] = c
			})
		}
		close(start)
		wg.Wait()
		slices.Sort(got)
		for i, c := range got {
			if c != i+1 {
				t.Fatalf("concurrent counts = %v, want 1..%d each once", got, n)
			}
		}
		if c := failures(t, s, u.ID, ""); c != n {
			t.Errorf("Failures = %d, want %d", c, n)
		}
	}},
	{"UnknownUser", func(t *testing.T, s store.Store) {
		_, err := s.CountFailure(t.Context(), "missing", "", base)
		wantErr(t, "CountFailure of a missing user", err, store.ErrNotFound)
		if n := failures(t, s, "missing", ""); n != 0 {
			t.Errorf("Failures of a missing user = %d, want 0", n)
		}
	}},
}

// hit runs Hit and checks its answer.
func hit(t *testing.T, s store.Store, key string, at time.Time, window time.Duration, want int, wantEnd time.Time) {
	t.Helper()
	n, end, err := s.Hit(t.Context(), key, at, window)
	noErr(t, "Hit "+key, err)
	if n != want {
		t.Errorf("Hit %s at %v = %d, want %d", key, at, n, want)
	}
	sameTime(t, "Hit "+key+" resetAt", end, wantEnd)
}

// hitCount runs HitCount and checks its answer.
func hitCount(t *testing.T, s store.Store, key string, at time.Time, want int, wantEnd time.Time) {
	t.Helper()
	n, end, err := s.HitCount(t.Context(), key, at)
	noErr(t, "HitCount "+key, err)
	if n != want {
		t.Errorf("HitCount %s at %v = %d, want %d", key, at, n, want)
	}
	sameTime(t, "HitCount "+key+" resetAt", end, wantEnd)
}

var hitTests = []test{
	{"Window", func(t *testing.T, s store.Store) {
		const w = 10 * time.Minute
		k := "login_ip:203.0.113.9"
		hitCount(t, s, k, base, 0, time.Time{})
		hit(t, s, k, base, w, 1, base.Add(w))
		hit(t, s, k, base.Add(time.Minute), w, 2, base.Add(w))
		hit(t, s, k, base.Add(w-time.Millisecond), w, 3, base.Add(w))
		hitCount(t, s, k, base.Add(5*time.Minute), 3, base.Add(w))
		hitCount(t, s, k, base.Add(w), 0, time.Time{})
		// The window has ended: the next hit starts one afresh at its time.
		later := base.Add(w + 3*time.Minute)
		hit(t, s, k, later, w, 1, later.Add(w))
		hitCount(t, s, k, later.Add(time.Minute), 1, later.Add(w))
		// A window ending exactly at the hit has ended.
		hit(t, s, k, later.Add(w), time.Hour, 1, later.Add(w+time.Hour))
	}},
	{"KeysApart", func(t *testing.T, s store.Store) {
		hit(t, s, "a", base, time.Minute, 1, base.Add(time.Minute))
		hit(t, s, "a", base, time.Minute, 2, base.Add(time.Minute))
		hit(t, s, "b", base.Add(time.Second), time.Hour, 1, base.Add(time.Second+time.Hour))
		hitCount(t, s, "a", base, 2, base.Add(time.Minute))
		hitCount(t, s, "b", base.Add(time.Second), 1, base.Add(time.Second+time.Hour))
	}},
	{"HitCountDoesNotCount", func(t *testing.T, s store.Store) {
		hit(t, s, "k", base, time.Minute, 1, base.Add(time.Minute))
		for range 3 {
			hitCount(t, s, "k", base, 1, base.Add(time.Minute))
		}
		hit(t, s, "k", base, time.Minute, 2, base.Add(time.Minute))
	}},
	{"Concurrent", func(t *testing.T, s store.Store) {
		const n = 16
		got := make([]int, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				c, _, err := s.Hit(t.Context(), "k", base, time.Hour)
				if err != nil {
					t.Errorf("Hit: %v", err)
				}
				got[i] = c
			})
		}
		close(start)
		wg.Wait()
		slices.Sort(got)
		for i, c := range got {
			if c != i+1 {
				t.Fatalf("concurrent hits = %v, want 1..%d each once", got, n)
			}
		}
	}},
	{"DeleteExpired", func(t *testing.T, s store.Store) {
		hit(t, s, "short", base, time.Minute, 1, base.Add(time.Minute))
		hit(t, s, "edge", base, 2*time.Minute, 1, base.Add(2*time.Minute))
		hit(t, s, "long", base, time.Hour, 1, base.Add(time.Hour))
		n, err := s.DeleteExpiredHits(t.Context(), base.Add(2*time.Minute))
		noErr(t, "DeleteExpiredHits", err)
		if n != 2 {
			t.Errorf("DeleteExpiredHits = %d, want 2 (a window ending at now has ended)", n)
		}
		hitCount(t, s, "long", base.Add(2*time.Minute), 1, base.Add(time.Hour))
		n, err = s.DeleteExpiredHits(t.Context(), base.Add(2*time.Minute))
		noErr(t, "DeleteExpiredHits again", err)
		if n != 0 {
			t.Errorf("DeleteExpiredHits again = %d, want 0", n)
		}
	}},
}
