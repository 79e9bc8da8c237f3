package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/ssogate/ssogate/store"
)

// outbox returns s's store.Outbox.
func outbox(t *testing.T, s store.Store) store.Outbox {
	t.Helper()
	o, ok := s.(store.Outbox)
	if !ok {
		t.Fatalf("%T does not implement store.Outbox", s)
	}
	return o
}

// message returns a mail message for userID created (and due) at created,
// with binary Data.
func message(id, userID string, created time.Time) *store.Message {
	return &store.Message{
		ID:            id,
		Channel:       store.ChannelMail,
		Template:      "password_reset",
		To:            "taro.yamada@example.co.jp",
		Language:      "ja",
		UserID:        userID,
		Data:          append([]byte{0x00, 0xff, 0x7f, 0x80}, id...),
		CreatedAt:     created,
		NextAttemptAt: created,
	}
}

// checkMessage compares got with want: times with sameTime, the rest
// exactly.
func checkMessage(t *testing.T, got, want *store.Message) {
	t.Helper()
	if got.ID != want.ID || got.Channel != want.Channel || got.Template != want.Template || got.To != want.To ||
		got.Language != want.Language || got.UserID != want.UserID || got.Attempts != want.Attempts || got.LastError != want.LastError {
		t.Errorf("message = %+v\nwant      %+v", got, want)
	}
	if !bytes.Equal(got.Data, want.Data) || (got.Data == nil) != (want.Data == nil) {
		t.Errorf("message %s Data = %x, want %x", want.ID, got.Data, want.Data)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "NextAttemptAt", got.NextAttemptAt, want.NextAttemptAt)
	sameTime(t, "SentAt", got.SentAt, want.SentAt)
	sameTime(t, "GaveUpAt", got.GaveUpAt, want.GaveUpAt)
}

func enqueue(t *testing.T, s store.Store, m *store.Message) {
	t.Helper()
	noErr(t, "EnqueueMessage "+m.ID, outbox(t, s).EnqueueMessage(t.Context(), m))
}

func claim(t *testing.T, s store.Store, owner string, now time.Time, lease time.Duration, limit int) []string {
	t.Helper()
	list, err := outbox(t, s).ClaimMessages(t.Context(), owner, now, lease, limit)
	noErr(t, "ClaimMessages "+owner, err)
	return messageIDs(list)
}

func listMessages(t *testing.T, s store.Store, f store.MessageFilter) []*store.Message {
	t.Helper()
	list, err := outbox(t, s).ListMessages(t.Context(), f)
	noErr(t, "ListMessages", err)
	return list
}

// getMessage returns message id through ListMessages.
func getMessage(t *testing.T, s store.Store, id string) *store.Message {
	t.Helper()
	for _, m := range listMessages(t, s, store.MessageFilter{Limit: 1000}) {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("message %s not listed", id)
	return nil
}

func messageIDs(list []*store.Message) []string {
	return ids(list, func(m *store.Message) string { return m.ID })
}

var outboxTests = []test{
	{"EnqueueAssigns", func(t *testing.T, s store.Store) {
		before := time.Now()
		m := &store.Message{Channel: store.ChannelMail, Template: "mail_test", To: "ops@example.com", Language: "en"}
		enqueue(t, s, m)
		after := time.Now()
		if m.ID == "" {
			t.Fatal("EnqueueMessage left ID empty")
		}
		within(t, "CreatedAt", m.CreatedAt, before, after)
		sameTime(t, "NextAttemptAt", m.NextAttemptAt, m.CreatedAt)
		checkMessage(t, getMessage(t, s, m.ID), m)

		other := &store.Message{Channel: store.ChannelMail, Template: "mail_test", To: "ops@example.com"}
		enqueue(t, s, other)
		if other.ID == m.ID {
			t.Errorf("two messages got the same ID %q", m.ID)
		}
		dup := message(m.ID, "", base)
		wantErr(t, "EnqueueMessage with a taken id", outbox(t, s).EnqueueMessage(t.Context(), dup), store.ErrConflict)
	}},
	{"RoundTrip", func(t *testing.T, s store.Store) {
		data := make([]byte, 512)
		for i := range data {
			data[i] = byte(i * 7)
		}
		want := message("m1", "u1", base)
		want.Data = data
		want.NextAttemptAt = base.Add(time.Minute)
		enqueue(t, s, want)
		want.Data = bytes.Clone(data)
		data[0] = ^data[0] // the store keeps its own copy
		checkMessage(t, getMessage(t, s, "m1"), want)
		got, err := outbox(t, s).ClaimMessages(t.Context(), "w1", base.Add(time.Minute), time.Minute, 10)
		noErr(t, "ClaimMessages", err)
		if len(got) != 1 {
			t.Fatalf("ClaimMessages = %q, want [m1]", messageIDs(got))
		}
		checkMessage(t, got[0], want)
	}},
	{"ClaimDueOldestFirst", func(t *testing.T, s store.Store) {
		for _, m := range []*store.Message{
			message("late", "", base.Add(10*time.Minute)),
			message("second", "", base.Add(time.Second)),
			message("first", "", base),
			message("third", "", base.Add(2*time.Second)),
		} {
			enqueue(t, s, m)
		}
		now := base.Add(time.Minute)
		if got := claim(t, s, "w1", now, time.Minute, 2); !equalStrings(got, []string{"first", "second"}) {
			t.Errorf("first claim = %q, want [first second]", got)
		}
		if got := claim(t, s, "w2", now, time.Minute, 10); !equalStrings(got, []string{"third"}) {
			t.Errorf("second claim = %q, want [third] (the others are leased or not due)", got)
		}
		if got := claim(t, s, "w3", now, time.Minute, 10); len(got) != 0 {
			t.Errorf("third claim = %q, want none", got)
		}
	}},
	{"LeaseExpiry", func(t *testing.T, s store.Store) {
		o := outbox(t, s)
		ctx := t.Context()
		enqueue(t, s, message("m1", "", base))
		if got := claim(t, s, "w1", base, time.Minute, 10); !equalStrings(got, []string{"m1"}) {
			t.Fatalf("claim = %q, want [m1]", got)
		}
		if got := claim(t, s, "w2", base.Add(59*time.Second), time.Minute, 10); len(got) != 0 {
			t.Errorf("claim within the lease = %q, want none", got)
		}
		// The lease has run out (it ends at base+1m): another owner may claim.
		if got := claim(t, s, "w2", base.Add(time.Minute), time.Minute, 10); !equalStrings(got, []string{"m1"}) {
			t.Fatalf("claim after the lease ran out = %q, want [m1]", got)
		}
		wantErr(t, "MessageSent by the owner whose lease ran out", o.MessageSent(ctx, "m1", "w1", base.Add(time.Minute)), store.ErrNotFound)
		wantErr(t, "MessageFailed by the owner whose lease ran out",
			o.MessageFailed(ctx, "m1", "w1", "timeout", base, base, false), store.ErrNotFound)
		sent := base.Add(61 * time.Second)
		noErr(t, "MessageSent", o.MessageSent(ctx, "m1", "w2", sent))
		got := getMessage(t, s, "m1")
		sameTime(t, "SentAt", got.SentAt, sent)
		if got.Data != nil || got.Attempts != 0 {
			t.Errorf("sent message Data, Attempts = %x, %d; want nil, 0", got.Data, got.Attempts)
		}
		if got := claim(t, s, "w3", base.Add(time.Hour), time.Minute, 10); len(got) != 0 {
			t.Errorf("claim after sending = %q, want none", got)
		}
		wantErr(t, "MessageSent twice", o.MessageSent(ctx, "m1", "w2", sent), store.ErrNotFound)
	}},
	{"SentAfterLeaseUnclaimed", func(t *testing.T, s store.Store) {
		// A lease that ran out without another owner claiming the message
		// is still its owner's: nobody else can have sent it.
		enqueue(t, s, message("m1", "", base))
		claim(t, s, "w1", base, time.Minute, 10)
		noErr(t, "MessageSent after the lease", outbox(t, s).MessageSent(t.Context(), "m1", "w1", base.Add(time.Hour)))
		sameTime(t, "SentAt", getMessage(t, s, "m1").SentAt, base.Add(time.Hour))
	}},
	{"WrongOwner", func(t *testing.T, s store.Store) {
		o := outbox(t, s)
		ctx := t.Context()
		enqueue(t, s, message("m1", "", base))
		enqueue(t, s, message("m2", "", base))
		wantErr(t, "MessageSent of an unclaimed message", o.MessageSent(ctx, "m2", "w1", base), store.ErrNotFound)
		claim(t, s, "w1", base, time.Minute, 10)
		wantErr(t, "MessageSent by a wrong owner", o.MessageSent(ctx, "m1", "w2", base), store.ErrNotFound)
		wantErr(t, "MessageFailed by a wrong owner", o.MessageFailed(ctx, "m1", "w2", "x", base, base, true), store.ErrNotFound)
		wantErr(t, "MessageSent of a missing message", o.MessageSent(ctx, "missing", "w1", base), store.ErrNotFound)
		got := getMessage(t, s, "m1")
		if !got.SentAt.IsZero() || !got.GaveUpAt.IsZero() || got.Attempts != 0 || got.Data == nil {
			t.Errorf("message after a wrong owner's calls = %+v, want it untouched", got)
		}
		noErr(t, "MessageSent by the owner", o.MessageSent(ctx, "m1", "w1", base))
	}},
	{"FailAndRetry", func(t *testing.T, s store.Store) {
		o := outbox(t, s)
		ctx := t.Context()
		want := message("m1", "u1", base)
		enqueue(t, s, want)
		claim(t, s, "w1", base, time.Minute, 10)
		at, next := base.Add(time.Second), base.Add(5*time.Minute)
		noErr(t, "MessageFailed", o.MessageFailed(ctx, "m1", "w1", "451 4.3.0 try again later", at, next, false))
		want.Attempts, want.LastError, want.NextAttemptAt = 1, "451 4.3.0 try again later", next
		checkMessage(t, getMessage(t, s, "m1"), want)
		// Released, but not due before next.
		if got := claim(t, s, "w2", next.Add(-time.Millisecond), time.Minute, 10); len(got) != 0 {
			t.Errorf("claim before the retry is due = %q, want none", got)
		}
		if got := claim(t, s, "w2", next, time.Minute, 10); !equalStrings(got, []string{"m1"}) {
			t.Fatalf("claim when the retry is due = %q, want [m1]", got)
		}
		wantErr(t, "MessageFailed by the previous owner", o.MessageFailed(ctx, "m1", "w1", "x", at, next, false), store.ErrNotFound)
		noErr(t, "MessageFailed again", o.MessageFailed(ctx, "m1", "w2", "connection refused", next, next.Add(time.Hour), false))
		got := getMessage(t, s, "m1")
		if got.Attempts != 2 || got.LastError != "connection refused" {
			t.Errorf("after two failures Attempts, LastError = %d, %q", got.Attempts, got.LastError)
		}
	}},
	{"GiveUp", func(t *testing.T, s store.Store) {
		o := outbox(t, s)
		ctx := t.Context()
		want := message("m1", "u1", base)
		enqueue(t, s, want)
		claim(t, s, "w1", base, time.Minute, 10)
		at := base.Add(72 * time.Hour)
		noErr(t, "MessageFailed giving up", o.MessageFailed(ctx, "m1", "w1", "550 5.1.1 no such user", at, at.Add(time.Hour), true))
		want.Attempts, want.LastError, want.GaveUpAt, want.Data = 1, "550 5.1.1 no such user", at, nil
		checkMessage(t, getMessage(t, s, "m1"), want)
		if got := claim(t, s, "w2", at.Add(24*time.Hour), time.Minute, 10); len(got) != 0 {
			t.Errorf("claim after giving up = %q, want none", got)
		}
		wantErr(t, "MessageSent after giving up", o.MessageSent(ctx, "m1", "w1", at), store.ErrNotFound)
		wantErr(t, "MessageFailed after giving up", o.MessageFailed(ctx, "m1", "w1", "x", at, at, true), store.ErrNotFound)
	}},
	{"ListFilters", func(t *testing.T, s store.Store) {
		o := outbox(t, s)
		for i, m := range []struct{ id, user, template string }{
			{"m1", "u1", "password_reset"},
			{"m2", "u2", "password_reset"},
			{"m3", "u1", "account_locked"},
			{"m4", "u1", "password_reset"},
			{"m5", "", "mail_test"},
		} {
			msg := message(m.id, m.user, base.Add(time.Duration(i)*time.Minute))
			msg.Template = m.template
			enqueue(t, s, msg)
		}
		claim(t, s, "w1", base.Add(time.Hour), time.Minute, 2) // m1, m2
		noErr(t, "MessageSent", o.MessageSent(t.Context(), "m1", "w1", base.Add(time.Hour)))
		noErr(t, "MessageFailed", o.MessageFailed(t.Context(), "m2", "w1", "x", base.Add(time.Hour), base.Add(time.Hour), true))
		for _, tc := range []struct {
			name   string
			filter store.MessageFilter
			want   []string
		}{
			{"all", store.MessageFilter{}, []string{"m5", "m4", "m3", "m2", "m1"}},
			{"user", store.MessageFilter{UserID: "u1"}, []string{"m4", "m3", "m1"}},
			{"template", store.MessageFilter{Template: "password_reset"}, []string{"m4", "m2", "m1"}},
			{"pending", store.MessageFilter{Pending: true}, []string{"m5", "m4", "m3"}},
			{"user template pending", store.MessageFilter{UserID: "u1", Template: "password_reset", Pending: true}, []string{"m4"}},
			{"limit", store.MessageFilter{Limit: 2}, []string{"m5", "m4"}},
			{"none", store.MessageFilter{UserID: "u9"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := messageIDs(listMessages(t, s, tc.filter)); !equalStrings(got, tc.want) {
					t.Errorf("ListMessages(%+v) = %q, want %q", tc.filter, got, tc.want)
				}
			})
		}
	}},
	{"ListDefaultLimit", func(t *testing.T, s store.Store) {
		for i := range 101 {
			enqueue(t, s, message(fmt.Sprintf("m%03d", i), "", base.Add(time.Duration(i)*time.Second)))
		}
		list := listMessages(t, s, store.MessageFilter{})
		if len(list) != 100 || list[0].ID != "m100" {
			t.Errorf("ListMessages without a limit = %d messages from %q, want 100 from m100", len(list), list[0].ID)
		}
	}},
}
