package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testclock"
	"github.com/ssogate/ssogate/internal/testpeers"
	"github.com/ssogate/ssogate/store"
	"github.com/ssogate/ssogate/store/postgres"
	"github.com/ssogate/ssogate/store/sqlite"
)

// syncBuffer is a log sink several goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func openStore(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func testComposer(t testing.TB) *Composer {
	t.Helper()
	aead, err := Sealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return NewComposer(aead)
}

// enqueue writes a sealed password-reset mail to to, created at `at`.
func enqueue(t testing.TB, st store.Outbox, c *Composer, to, lang string, at time.Time) *store.Message {
	t.Helper()
	m, err := c.Mail(to, lang, TemplatePasswordReset, "user-1", Data{Name: "山田 太郎", Email: to, Link: testLink, Expires: "2026年12月20日 09:00"})
	if err != nil {
		t.Fatal(err)
	}
	m.CreatedAt = at
	if err := st.EnqueueMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

func smtpSender(t testing.TB, peer *testpeers.SMTPPeer) *SMTP {
	t.Helper()
	s, err := NewSMTP(SMTPConfig{URL: "smtp://" + peer.Addr, From: testFrom, RootCAs: peer.RootCAs, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func message(t *testing.T, st store.Outbox, id string) *store.Message {
	t.Helper()
	ms, err := st.ListMessages(context.Background(), store.MessageFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("message %s not in the outbox", id)
	return nil
}

func auditActions(t *testing.T, st *sqlite.Store, action string) []*store.AuditEvent {
	t.Helper()
	es, err := st.ListAudit(context.Background(), store.AuditFilter{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestWorkerRetriesAndGivesUp: a mail the server cannot take (it is down)
// is tried again after 30s, then 1m (the jitter fixed at its middle), is
// not claimed before it is due, and is given up three days after it was
// enqueued with a mail_given_up audit event; no link reaches the log or
// the outbox row.
func TestWorkerRetriesAndGivesUp(t *testing.T) {
	peer := testpeers.StartSMTP(t, testpeers.SMTPOptions{})
	peer.Stop()
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	clk := testclock.New(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))
	comp := testComposer(t)
	var logs syncBuffer
	w := NewWorker(WorkerOptions{Store: st, Composer: comp, Now: clk.Now, Jitter: func() float64 { return 0.5 },
		Log: slogTo(&logs), Setup: Setup{Senders: []Sender{smtpSender(t, peer)}, Renderer: NewRenderer(testTitle, "ja")}})
	ctx := context.Background()
	m := enqueue(t, st, comp, "taro@example.co.jp", "ja", clk.Now())

	wantNext := clk.Now()
	for i, wait := range []time.Duration{22500 * time.Millisecond, 45 * time.Second} { // 30s and 1m, jitter 0.5
		if n, err := w.RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("try %d: claimed %d, %v", i+1, n, err)
		}
		got := message(t, st, m.ID)
		wantNext = clk.Now().Add(wait)
		if got.Attempts != i+1 || !got.NextAttemptAt.Equal(wantNext) || got.LastError == "" || len(got.LastError) > maxReason+3 {
			t.Fatalf("after try %d: attempts %d next %v (want %v) last error %q", i+1, got.Attempts, got.NextAttemptAt, wantNext, got.LastError)
		}
		if n, _ := w.RunOnce(ctx); n != 0 {
			t.Fatalf("claimed %d before it was due", n)
		}
		clk.Advance(wait)
	}
	if got := len(auditActions(t, st, AuditMailFailed)); got != 2 {
		t.Errorf("%d mail_failed events, want 2", got)
	}
	// Three days on, the next try is the last.
	clk.Advance(3 * 24 * time.Hour)
	if n, _ := w.RunOnce(ctx); n != 1 {
		t.Fatalf("the last try claimed %d", n)
	}
	got := message(t, st, m.ID)
	if got.GaveUpAt.IsZero() || len(got.Data) != 0 {
		t.Errorf("not given up: %+v", got)
	}
	gu := auditActions(t, st, AuditMailGivenUp)
	if len(gu) != 1 || gu[0].Actor != "taro@example.co.jp" || gu[0].UserID != "user-1" || gu[0].Outcome != store.OutcomeFailure {
		t.Errorf("mail_given_up events %+v", gu)
	}
	clk.Advance(time.Hour)
	if n, _ := w.RunOnce(ctx); n != 0 {
		t.Errorf("a given-up message was claimed again")
	}
	for _, secret := range []string{testLink, "Ab-_9zQ=x"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs.String())
		}
	}
}

// TestWorkerDeliversWhenServerComesUp: enqueued while the server is down,
// the mail arrives once it is up again, exactly once, with a mail_sent
// event.
func TestWorkerDeliversWhenServerComesUp(t *testing.T) {
	peer := testpeers.StartSMTP(t, testpeers.SMTPOptions{})
	peer.Stop()
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	clk := testclock.New(time.Now())
	comp := testComposer(t)
	w := NewWorker(WorkerOptions{Store: st, Composer: comp, Now: clk.Now,
		Setup: Setup{Senders: []Sender{smtpSender(t, peer)}, Renderer: NewRenderer(testTitle, "ja")}})
	m := enqueue(t, st, comp, "taro@example.co.jp", "en", clk.Now())
	if n, _ := w.RunOnce(context.Background()); n != 1 {
		t.Fatal("not claimed")
	}
	peer.Start(t)
	clk.Advance(time.Minute)
	if n, _ := w.RunOnce(context.Background()); n != 1 {
		t.Fatal("not claimed again")
	}
	mails := peer.WaitMails(t, 1, 5*time.Second)
	got := testpeers.ParseMail(t, mails[0].Raw)
	if got.Subject != "[Sample Co. Portal] Password reset" || got.MessageID != "<"+m.ID+"@example.co.jp>" {
		t.Errorf("mail %q %q", got.Subject, got.MessageID)
	}
	if s := message(t, st, m.ID); s.SentAt.IsZero() || s.Attempts != 1 {
		t.Errorf("outbox row %+v", s)
	}
	if ev := auditActions(t, st, AuditMailSent); len(ev) != 1 || ev[0].Actor != "taro@example.co.jp" {
		t.Errorf("mail_sent events %+v", ev)
	}
}

// TestWorkerGivesUpOnRefusal: a permanent 5xx for the recipient gives up
// at once; a message sealed under another key too.
func TestWorkerGivesUpOnRefusal(t *testing.T) {
	peer := testpeers.StartSMTP(t, testpeers.SMTPOptions{})
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	comp := testComposer(t)
	w := NewWorker(WorkerOptions{Store: st, Composer: comp,
		Setup: Setup{Senders: []Sender{smtpSender(t, peer)}, Renderer: NewRenderer(testTitle, "ja")}})
	refused := enqueue(t, st, comp, "reject@example.co.jp", "ja", time.Now())
	other, err := Sealer(bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed := enqueue(t, st, NewComposer(other), "taro@example.co.jp", "ja", time.Now())
	if n, _ := w.RunOnce(context.Background()); n != 2 {
		t.Fatalf("claimed %d", n)
	}
	for _, id := range []string{refused.ID, sealed.ID} {
		if m := message(t, st, id); m.GaveUpAt.IsZero() || m.Attempts != 1 {
			t.Errorf("%s not given up at once: %+v", id, m)
		}
	}
	if m := message(t, st, refused.ID); !strings.Contains(m.LastError, "550") {
		t.Errorf("last error %q", m.LastError)
	}
	if got := len(auditActions(t, st, AuditMailGivenUp)); got != 2 {
		t.Errorf("%d mail_given_up events, want 2", got)
	}
}

// TestWorkersSendEachOnce: two workers on two handles of one store (an
// SQLite file; a PostgreSQL database) send N messages enqueued through
// each handle, every one exactly once.
func TestWorkersSendEachOnce(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "s.db")
		workersSendEachOnce(t, func() store.Store { return openStore(t, path) })
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testpeers.Postgres(t).Database(t)
		workersSendEachOnce(t, func() store.Store {
			st, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
}

func workersSendEachOnce(t *testing.T, open func() store.Store) {
	const n = 40
	peer := testpeers.StartSMTP(t, testpeers.SMTPOptions{})
	comp := testComposer(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var handles []store.Store
	for range 2 {
		st := open()
		handles = append(handles, st)
		w := NewWorker(WorkerOptions{Store: st, Composer: comp, Batch: 5, Poll: 50 * time.Millisecond,
			Setup: Setup{Senders: []Sender{smtpSender(t, peer)}, Renderer: NewRenderer(testTitle, "ja")}})
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(ctx) }()
	}
	want := map[string]bool{}
	for i := range n {
		for h, st := range handles {
			m := enqueue(t, st, comp, fmt.Sprintf("user%d-%d@example.co.jp", h, i), "ja", time.Now())
			want["<"+m.ID+"@example.co.jp>"] = true
		}
	}
	peer.WaitMails(t, 2*n, 60*time.Second)
	time.Sleep(500 * time.Millisecond) // a duplicate would arrive within this
	cancel()
	wg.Wait()
	mails, err := peer.Mails()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range mails {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
		if err != nil {
			t.Fatal(err)
		}
		seen[msg.Header.Get("Message-Id")]++
	}
	if len(mails) != 2*n || len(seen) != 2*n {
		t.Errorf("%d mails, %d distinct; want %d", len(mails), len(seen), 2*n)
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("%s arrived %d times", id, seen[id])
		}
	}
}

// TestWorkerKickAndStop: Kick wakes a worker whose poll is a minute away,
// and Run returns when its context ends.
func TestWorkerKickAndStop(t *testing.T) {
	peer := testpeers.StartSMTP(t, testpeers.SMTPOptions{})
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	comp := testComposer(t)
	w := NewWorker(WorkerOptions{Store: st, Composer: comp, Poll: time.Minute,
		Setup: Setup{Senders: []Sender{smtpSender(t, peer)}, Renderer: NewRenderer(testTitle, "ja")}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	time.Sleep(200 * time.Millisecond) // the first round found nothing; now it sleeps
	enqueue(t, st, comp, "taro@example.co.jp", "ja", time.Now())
	w.Kick()
	peer.WaitMails(t, 1, 5*time.Second)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// TestWorkerUpdate: after Update (a configuration reload) the worker
// sends with the new setup.
func TestWorkerUpdate(t *testing.T) {
	peer := testpeers.StartSMTP(t, testpeers.SMTPOptions{})
	st := openStore(t, filepath.Join(t.TempDir(), "s.db"))
	clk := testclock.New(time.Now())
	comp := testComposer(t)
	w := NewWorker(WorkerOptions{Store: st, Composer: comp, Now: clk.Now, Setup: Setup{Renderer: NewRenderer(testTitle, "ja")}})
	m := enqueue(t, st, comp, "taro@example.co.jp", "ja", clk.Now())
	w.RunOnce(context.Background())
	if got := message(t, st, m.ID); got.Attempts != 1 || !strings.Contains(got.LastError, "no transport") {
		t.Fatalf("without a sender: %+v", got)
	}
	w.Update(Setup{Senders: []Sender{smtpSender(t, peer)}, Renderer: NewRenderer(testTitle, "ja")})
	clk.Advance(time.Minute)
	if n, _ := w.RunOnce(context.Background()); n != 1 {
		t.Fatalf("claimed %d", n)
	}
	peer.WaitMails(t, 1, 5*time.Second)
}

// TestSafeReason: the link, its ticket and any URL are taken out of an
// error's text, which is bounded.
func TestSafeReason(t *testing.T) {
	d := Data{Link: testLink}
	err := errors.New("550 rejected " + testLink + " ticket Ab-_9zQ=x see https://help.example.com/x\r\nnext")
	got := safeReason(err, d)
	for _, bad := range []string{testLink, "Ab-_9zQ=x", "help.example.com", "\r", "\n"} {
		if strings.Contains(got, bad) {
			t.Errorf("safeReason kept %q: %q", bad, got)
		}
	}
	if got := safeReason(errors.New(strings.Repeat("あ", 500)), Data{}); len(got) > maxReason+len("…") {
		t.Errorf("%d bytes", len(got))
	}
}

// TestBackoff: 30s doubling to 1h, the jitter spreading its second half.
func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		attempts int
		jitter   float64
		want     time.Duration
	}{
		{1, 0, 15 * time.Second}, {1, 0.999999, 30 * time.Second}, {2, 0.5, 45 * time.Second},
		{8, 0, 30 * time.Minute}, {9, 0, 30 * time.Minute}, {100, 0.5, 45 * time.Minute},
	} {
		if got := Backoff(tt.attempts, tt.jitter).Round(time.Second); got != tt.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tt.attempts, tt.jitter, got, tt.want)
		}
	}
}

// TestWorkerAfterCrash: a process that claimed a message and died before
// marking it (kill -9 mid-send) leaves it leased; another process sends
// it once the lease has run out, not before.
func TestWorkerAfterCrash(t *testing.T) {
	peer := testpeers.StartSMTP(t, testpeers.SMTPOptions{})
	path := filepath.Join(t.TempDir(), "s.db")
	dead, st := openStore(t, path), openStore(t, path)
	clk := testclock.New(time.Now())
	comp := testComposer(t)
	m := enqueue(t, st, comp, "taro@example.co.jp", "ja", clk.Now())
	if got, err := dead.ClaimMessages(context.Background(), "dead-process", clk.Now(), DefaultLease, 10); err != nil || len(got) != 1 {
		t.Fatalf("claim by the process that dies: %v %v", got, err)
	}
	dead.Close()
	w := NewWorker(WorkerOptions{Store: st, Composer: comp, Now: clk.Now,
		Setup: Setup{Senders: []Sender{smtpSender(t, peer)}, Renderer: NewRenderer(testTitle, "ja")}})
	if n, _ := w.RunOnce(context.Background()); n != 0 {
		t.Fatalf("claimed %d while the dead process's lease holds", n)
	}
	clk.Advance(DefaultLease + time.Second)
	if n, _ := w.RunOnce(context.Background()); n != 1 {
		t.Fatalf("claimed %d after the lease ran out", n)
	}
	mails := peer.WaitMails(t, 1, 5*time.Second)
	if got := testpeers.ParseMail(t, mails[0].Raw); got.MessageID != "<"+m.ID+"@example.co.jp>" {
		t.Errorf("Message-ID %q", got.MessageID)
	}
}
