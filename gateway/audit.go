package gateway

import (
	"context"
	"log/slog"

	"github.com/ssogate/ssogate/store"
)

func (g *Gateway) auditSuccess(ctx context.Context, ev store.AuditEvent) {
	g.observeSignIn(ev, "")
	ev.Outcome = store.OutcomeSuccess
	g.audit(ctx, ev)
}

func (g *Gateway) auditFailure(ctx context.Context, ev store.AuditEvent, reason string) {
	g.observeSignIn(ev, reason)
	ev.Outcome = store.OutcomeFailure
	if ev.Detail != "" {
		reason = reason + " " + ev.Detail
	}
	ev.Detail = reason
	g.audit(ctx, ev)
}

// audit records ev in the store and as one structured log line. A failed
// sign-in is a result, not an error: it is logged at INFO.
func (g *Gateway) audit(ctx context.Context, ev store.AuditEvent) {
	ev.Time = g.now()
	ev.RequestID = requestID(ctx)
	if ip := clientIP(ctx); ip.IsValid() {
		ev.ClientIP = ip.String()
	}
	if err := g.store.AppendAudit(ctx, &ev); err != nil {
		g.log.Error("audit write failed", "request_id", ev.RequestID, "action", ev.Action, "err", err)
	}
	g.log.LogAttrs(ctx, slog.LevelInfo, "audit",
		slog.String("request_id", ev.RequestID),
		slog.String("action", ev.Action),
		slog.String("outcome", string(ev.Outcome)),
		slog.String("user_id", ev.UserID),
		slog.String("actor", ev.Actor),
		slog.String("client_ip", ev.ClientIP),
		slog.String("detail", ev.Detail),
	)
}
