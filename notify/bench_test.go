package notify

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ssogate/ssogate/internal/testpeers"
)

// BenchmarkOutboxToSMTP measures mails per second from the outbox to a
// real SMTP server (aiosmtpd on 127.0.0.1, STARTTLS): each op enqueues
// 1000 mails, wakes one worker and waits until the server has them all.
func BenchmarkOutboxToSMTP(b *testing.B) {
	const n = 1000
	comp := testComposer(b)
	for b.Loop() {
		b.StopTimer()
		peer := testpeers.StartSMTP(b, testpeers.SMTPOptions{})
		st := openStore(b, filepath.Join(b.TempDir(), "s.db"))
		for range n {
			enqueue(b, st, comp, "taro@example.co.jp", "ja", time.Now())
		}
		w := NewWorker(WorkerOptions{Store: st, Composer: comp, Log: slogTo(discard{}),
			Setup: Setup{Senders: []Sender{smtpSender(b, peer)}, Renderer: NewRenderer(testTitle, "ja")}})
		ctx, cancel := context.WithCancel(context.Background())
		b.StartTimer()
		start := time.Now()
		go w.Run(ctx)
		peer.WaitMails(b, n, 5*time.Minute)
		elapsed := time.Since(start)
		b.StopTimer()
		cancel()
		b.ReportMetric(float64(n)/elapsed.Seconds(), "mails/s")
		b.StartTimer()
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
