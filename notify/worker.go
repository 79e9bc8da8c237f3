package notify

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ssogate/ssogate/store"
)

// Store is what the Worker needs of the store: the outbox, and the audit
// log for what became of each message.
type Store interface {
	store.Outbox
	AppendAudit(ctx context.Context, e *store.AuditEvent) error
}

// Audit actions the Worker appends.
const (
	AuditMailSent    = "mail_sent"
	AuditMailFailed  = "mail_failed"
	AuditMailGivenUp = "mail_given_up"
	// The same for SMS and voice messages (codes of 2-step verification).
	AuditSMSSent      = "sms_sent"
	AuditSMSFailed    = "sms_failed"
	AuditSMSGivenUp   = "sms_given_up"
	AuditVoiceSent    = "voice_sent"
	AuditVoiceFailed  = "voice_failed"
	AuditVoiceGivenUp = "voice_given_up"
)

// auditAction is the audit action of outcome ("sent", "failed",
// "given_up") of a message on ch.
func auditAction(ch store.Channel, outcome string) string {
	if ch == store.ChannelSMS || ch == store.ChannelVoice {
		return string(ch) + "_" + outcome
	}
	return "mail_" + outcome
}

// logKind names a message on ch in the log: "mail", "sms", "voice".
func logKind(ch store.Channel) string {
	if ch == store.ChannelSMS || ch == store.ChannelVoice {
		return string(ch)
	}
	return "mail"
}

// Worker defaults.
const (
	DefaultGiveUpAfter = 3 * 24 * time.Hour
	DefaultLease       = 2 * time.Minute
	DefaultBatch       = 20
	DefaultPoll        = 2 * time.Second
	// DefaultConcurrency is how many messages of a batch are sent at once:
	// each SMTP delivery is a connection with its TLS handshake and
	// sign-in, mostly waiting on the network.
	DefaultConcurrency = 4
	// firstRetry is the wait after a first failure; it doubles with each
	// further one up to maxRetry.
	firstRetry = 30 * time.Second
	maxRetry   = time.Hour
	// maxReason bounds the error text kept in the outbox and the audit
	// log: a server's answer can be long.
	maxReason = 300
)

// Setup is what the Worker sends with, replaced as a whole by Update when
// the configuration is reloaded.
type Setup struct {
	// Senders deliver, one per channel; a message whose channel has none
	// waits (and is given up after GiveUpAfter).
	Senders []Sender
	// Renderer renders the messages.
	Renderer *Renderer
	// GiveUpAfter is how long after it was enqueued a message that could
	// not be sent is given up; 0 means DefaultGiveUpAfter.
	GiveUpAfter time.Duration
	// ChannelGiveUpAfter overrides GiveUpAfter for a channel whose
	// messages are worthless sooner: an SMS or call carrying a code that
	// expires after policy.two_factor.code_ttl. A message on such a
	// channel is also given up unsent when it is claimed after that time.
	ChannelGiveUpAfter map[store.Channel]time.Duration
}

// giveUpAfter is how long a message on ch is tried.
func (s *Setup) giveUpAfter(ch store.Channel) time.Duration {
	if d, ok := s.ChannelGiveUpAfter[ch]; ok && d > 0 {
		return d
	}
	return s.GiveUpAfter
}

func (s *Setup) sender(ch store.Channel) Sender {
	for _, snd := range s.Senders {
		if snd.Channel() == ch {
			return snd
		}
	}
	return nil
}

// WorkerOptions configure a Worker. Store, Composer and Setup.Renderer
// are required.
type WorkerOptions struct {
	Store    Store
	Composer *Composer
	Setup    Setup
	Log      *slog.Logger
	// Now is the clock of leases, retries and giving up; nil means
	// time.Now.
	Now func() time.Time
	// Lease is how long a claimed batch is the Worker's alone; default
	// DefaultLease. A batch is not worked on past half of it.
	Lease time.Duration
	// Batch is how many messages one claim takes; default DefaultBatch.
	Batch int
	// Poll is how often the outbox is looked at without a Kick (for
	// messages enqueued by other processes, and retries); default
	// DefaultPoll.
	Poll time.Duration
	// Jitter returns a number in [0, 1) that spreads retries; nil means
	// math/rand/v2.Float64.
	Jitter func() float64
	// Concurrency is how many messages are sent at once; default
	// DefaultConcurrency.
	Concurrency int
}

// Worker sends the outbox: it claims due messages under a lease, so that
// several processes on one store never send one message twice, opens and
// renders each, sends it, and records the outcome. A failed message is
// tried again after a growing wait (30s doubling to 1h, with jitter) until
// GiveUpAfter has passed since it was enqueued; a permanent refusal gives
// it up at once. Each outcome is an audit event (mail_sent, mail_failed,
// mail_given_up; sms_… and voice_… for those channels) naming the
// recipient, never the link or the code.
type Worker struct {
	st      Store
	compose *Composer
	log     *slog.Logger
	now     func() time.Time
	jitter  func() float64
	lease   time.Duration
	batch   int
	poll    time.Duration
	conc    int
	owner   string
	setup   atomic.Pointer[Setup]
	kick    chan struct{}
}

// NewWorker returns a Worker; Run starts it.
func NewWorker(o WorkerOptions) *Worker {
	w := &Worker{st: o.Store, compose: o.Composer, log: o.Log, now: o.Now, jitter: o.Jitter,
		lease: o.Lease, batch: o.Batch, poll: o.Poll, conc: o.Concurrency, kick: make(chan struct{}, 1)}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.jitter == nil {
		w.jitter = rand.Float64
	}
	if w.lease <= 0 {
		w.lease = DefaultLease
	}
	if w.batch <= 0 {
		w.batch = DefaultBatch
	}
	if w.poll <= 0 {
		w.poll = DefaultPoll
	}
	if w.conc <= 0 {
		w.conc = DefaultConcurrency
	}
	// One owner per process: a lease names who may mark its messages.
	b := make([]byte, 12)
	_, _ = crand.Read(b) // never fails on supported systems
	w.owner = "worker-" + hex.EncodeToString(b)
	w.Update(o.Setup)
	return w
}

// Owner is the id the Worker claims messages under.
func (w *Worker) Owner() string { return w.owner }

// Update replaces what the Worker sends with; messages being sent finish
// with the old setup.
func (w *Worker) Update(s Setup) {
	if s.GiveUpAfter <= 0 {
		s.GiveUpAfter = DefaultGiveUpAfter
	}
	w.setup.Store(&s)
}

// Kick makes a running Worker look at the outbox now rather than at its
// next poll; the gateway calls it after a flow enqueued a message. It
// never blocks.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run sends until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	for {
		n, err := w.RunOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			w.log.Warn("outbox: cannot claim messages; trying again", "err", err)
		}
		if err == nil && n == w.batch {
			continue // a full batch: more may be due
		}
		t := time.NewTimer(w.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// RunOnce claims one batch of due messages and works on it, and returns
// how many it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	claimed := w.now()
	msgs, err := w.st.ClaimMessages(ctx, w.owner, claimed, w.lease, w.batch)
	if err != nil {
		return 0, fmt.Errorf("notify: claim: %w", err)
	}
	sem := make(chan struct{}, w.conc)
	var wg sync.WaitGroup
	for i, m := range msgs {
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			break
		}
		// Past half the lease the rest of the batch may soon be claimed
		// by another process; it is left to whoever claims it next.
		if w.now().Sub(claimed) > w.lease/2 {
			w.log.Warn("outbox: batch took more than half its lease; leaving the rest for the next claim",
				"left", len(msgs)-i)
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			w.process(ctx, m)
		}()
	}
	wg.Wait()
	return len(msgs), nil
}

// errNoSender is why a message whose channel has no sender waits.
var errNoSender = errors.New("no transport configured for this channel (notify.mail.smtp or notify.mail.dir)")

// errNoPhoneSender is errNoSender for SMS and voice.
var errNoPhoneSender = errors.New("no sender configured for this channel (notify.sms or notify.voice)")

// errExpired is why a message whose code had expired was not sent.
var errExpired = errors.New("expired before it could be sent (its code no longer works)")

// process sends one claimed message and records the outcome.
func (w *Worker) process(ctx context.Context, m *store.Message) {
	setup := w.setup.Load()
	d, err := w.compose.Open(m)
	if err != nil {
		// Sealed under another master secret, or damaged: no retry opens it.
		w.failed(ctx, m, setup, err, true, Data{})
		return
	}
	if _, short := setup.ChannelGiveUpAfter[m.Channel]; short && !w.now().Before(m.CreatedAt.Add(setup.giveUpAfter(m.Channel))) {
		w.failed(ctx, m, setup, errExpired, true, d)
		return
	}
	snd := setup.sender(m.Channel)
	if snd == nil {
		if m.Channel == store.ChannelSMS || m.Channel == store.ChannelVoice {
			err = errNoPhoneSender
		} else {
			err = errNoSender
		}
		w.failed(ctx, m, setup, err, false, d)
		return
	}
	c, err := setup.Renderer.Render(m, d)
	if err != nil {
		w.failed(ctx, m, setup, err, true, d)
		return
	}
	err = snd.Send(ctx, &Outgoing{ID: m.ID, To: m.To, Content: c, Date: w.now()})
	// What was sent must be recorded even when shutdown has begun, or the
	// next process would send it again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err != nil {
		var perm *PermanentError
		w.failed(rctx, m, setup, err, errors.As(err, &perm), d)
		return
	}
	now := w.now()
	if err := w.st.MessageSent(rctx, m.ID, w.owner, now); err != nil {
		// The lease ran out during the send: another process may send it
		// again, with the same Message-ID.
		w.log.Warn("outbox: message sent but its lease had run out; it may be sent twice",
			"message_id", m.ID, "template", m.Template, "err", err)
	}
	w.audit(rctx, m, auditAction(m.Channel, "sent"), store.OutcomeSuccess, m.Template)
	w.log.Info(logKind(m.Channel)+" sent", "message_id", m.ID, "template", m.Template, "attempts", m.Attempts+1)
}

// failed records a failed try: due again after a backoff, or given up
// when permanent or when the message is older than GiveUpAfter.
func (w *Worker) failed(ctx context.Context, m *store.Message, setup *Setup, cause error, permanent bool, d Data) {
	now := w.now()
	reason := safeReason(cause, d)
	deadline := m.CreatedAt.Add(setup.giveUpAfter(m.Channel))
	giveUp := permanent || !now.Before(deadline)
	next := now.Add(Backoff(m.Attempts+1, w.jitter()))
	if next.After(deadline) {
		next = deadline // one last try when the time is up
	}
	if err := w.st.MessageFailed(ctx, m.ID, w.owner, reason, now, next, giveUp); err != nil {
		w.log.Warn("outbox: cannot record a failed try", "message_id", m.ID, "err", err)
	}
	w.audit(ctx, m, auditAction(m.Channel, "failed"), store.OutcomeFailure, m.Template+": "+reason)
	if giveUp {
		w.audit(ctx, m, auditAction(m.Channel, "given_up"), store.OutcomeFailure, m.Template+": "+reason)
		w.log.Error(logKind(m.Channel)+" given up", "message_id", m.ID, "template", m.Template, "to", m.To,
			"attempts", m.Attempts+1, "permanent", permanent, "reason", reason)
		return
	}
	w.log.Warn(logKind(m.Channel)+" not sent; will try again", "message_id", m.ID, "template", m.Template,
		"attempts", m.Attempts+1, "next_attempt", next, "reason", reason)
}

func (w *Worker) audit(ctx context.Context, m *store.Message, action string, outcome store.Outcome, detail string) {
	e := &store.AuditEvent{Time: w.now(), Action: action, UserID: m.UserID, Actor: m.To, Outcome: outcome, Detail: detail}
	if err := w.st.AppendAudit(ctx, e); err != nil {
		w.log.Warn("outbox: cannot append audit event", "action", action, "message_id", m.ID, "err", err)
	}
}

// Backoff is the wait after the attempts-th failed try: 30s doubling with
// each try, at most 1h, of which the second half is spread by jitter (in
// [0, 1)) so that messages that failed together do not retry together.
func Backoff(attempts int, jitter float64) time.Duration {
	d := maxRetry
	if attempts < 12 {
		d = min(firstRetry<<max(attempts-1, 0), maxRetry)
	}
	return d/2 + time.Duration(jitter*float64(d/2))
}

// safeReason is err's text fit for the outbox row, the audit log and the
// log: the message's link and its ticket replaced (a server may quote what
// it refused), its code too, any other URL too, control characters
// dropped, at most maxReason bytes.
func safeReason(err error, d Data) string {
	s := err.Error()
	if d.Link != "" {
		s = strings.ReplaceAll(s, d.Link, "[link]")
		if u, perr := url.Parse(d.Link); perr == nil {
			for _, vs := range u.Query() {
				for _, v := range vs {
					if len(v) >= 8 {
						s = strings.ReplaceAll(s, v, "[secret]")
					}
				}
			}
		}
	}
	if d.Code != "" {
		s = strings.ReplaceAll(s, d.Code, "[code]")
	}
	s = linkPattern.ReplaceAllString(s, "[url]")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
