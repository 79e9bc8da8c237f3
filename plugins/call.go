package plugins

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ssogate/ssogate/plugins/internal/wire"
	pb "github.com/ssogate/ssogate/plugins/proto"
	"github.com/ssogate/ssogate/providers"
)

// invoke runs one call on the serving process with a deadline. The
// provider's own errors come back rebuilt as the providers errors they
// were; a call the plugin could not answer returns an unavailableError.
func (p *Plugin) invoke(ctx context.Context, op string, timeout time.Duration, fn func(context.Context, pb.ProviderPluginClient) error) error {
	inst := p.current()
	if inst == nil {
		return p.downError(op)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := fn(cctx, inst.rpc)
	if err == nil {
		return nil
	}
	if perr, ok := wire.ErrorFromStatus(err); ok && !(wire.IsContextKind(perr) && cctx.Err() != nil) {
		return perr
	}
	if cctx.Err() != nil {
		// A plugin that ignores its context is stuck; look again once it
		// has had time to give up.
		time.AfterFunc(p.t.stuckAfter+p.t.stuckAfter/4, p.poke)
		if ctx.Err() != nil { // the caller gave up, not the plugin
			return fmt.Errorf("plugins: %s: %s: %w", p.spec.ID, op, ctx.Err())
		}
		return &unavailableError{id: p.spec.ID, op: op, msg: fmt.Sprintf("no answer within %s", timeout), deadline: true}
	}
	p.poke()
	code := status.Code(err)
	shutdown := code == codes.Unavailable || code == codes.Canceled || p.current() != inst
	msg := "plugin error: " + status.Convert(err).Message()
	if shutdown {
		msg = "plugin shut down: " + status.Convert(err).Message()
	}
	return &unavailableError{id: p.spec.ID, op: op, msg: msg, shutdown: shutdown}
}

// downError is the error of a call made while no process serves.
func (p *Plugin) downError(op string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := "plugin is restarting"
	if p.closed {
		msg = "plugin closed"
	} else if p.status.LastError != "" {
		msg += " after: " + p.status.LastError
	}
	return &unavailableError{id: p.spec.ID, op: op, msg: msg, shutdown: true}
}

// unavailableError is a call the plugin could not answer. It wraps
// providers.ErrUnavailable, and also ErrPluginShutdown when the process is
// gone, context.DeadlineExceeded when the call ran out of time.
type unavailableError struct {
	id, op, msg string
	shutdown    bool
	deadline    bool
}

func (e *unavailableError) Error() string {
	if e.op == "" {
		return "plugins: " + e.id + ": " + e.msg
	}
	return "plugins: " + e.id + ": " + e.op + ": " + e.msg
}

func (e *unavailableError) Unwrap() []error {
	errs := []error{providers.ErrUnavailable}
	if e.shutdown {
		errs = append(errs, ErrPluginShutdown)
	}
	if e.deadline {
		errs = append(errs, context.DeadlineExceeded)
	}
	return errs
}

// errNoIdentity is a plugin breaking the contract: success without an
// identity.
var errNoIdentity = errors.New("plugin returned no identity")
