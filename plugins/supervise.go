package plugins

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/connectivity"

	pb "github.com/ssogate/ssogate/plugins/proto"
)

// supervise watches the serving process and replaces it when it fails,
// until Close.
func (p *Plugin) supervise(inst *instance) {
	defer close(p.done)
	attempt := 0
	for {
		reason := p.watch(inst)
		if reason == nil { // Close
			p.down(inst, "plugin closed")
			if inst.client != nil {
				inst.client.Kill() // graceful first: the plugin may clean up
			}
			p.log.Info("plugin stopped")
			return
		}
		lived := time.Since(inst.started)
		p.down(inst, reason.Error())
		p.log.Error("plugin failed; restarting it", "error", reason, "plugin_pid", inst.pid, "uptime", lived.Round(time.Millisecond))
		inst.kill()
		if lived >= p.t.stable {
			attempt = 0
		}
		if inst = p.restart(&attempt); inst == nil {
			p.log.Info("plugin stopped")
			return
		}
	}
}

// watch returns why inst failed, or nil on Close.
func (p *Plugin) watch(inst *instance) error {
	ctx, cancel := context.WithCancel(p.ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.watchConn(ctx, inst)
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()

	tick := time.NewTicker(p.t.health)
	defer tick.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return nil
		case <-tick.C:
		case <-p.kick:
		}
		if err := p.check(inst); err != nil {
			if p.ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// watchConn pokes the supervisor as soon as the connection leaves READY:
// a process that died is noticed without waiting for the next tick.
func (p *Plugin) watchConn(ctx context.Context, inst *instance) {
	for {
		s := inst.conn.GetState()
		if s != connectivity.Ready && s != connectivity.Connecting {
			p.poke()
		}
		if !inst.conn.WaitForStateChange(ctx, s) {
			return
		}
	}
}

// check is one health check: the process lives, answers Ping in time and
// has no call stuck past its deadline.
func (p *Plugin) check(inst *instance) error {
	if inst.client != nil && inst.client.Exited() {
		return errors.New("plugin process exited")
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.t.ping)
	defer cancel()
	resp, err := inst.rpc.Ping(ctx, &pb.PingRequest{StuckAfterMs: p.t.stuckAfter.Milliseconds()})
	if err != nil {
		if p.exited(inst, 250*time.Millisecond) {
			return errors.New("plugin process exited")
		}
		return fmt.Errorf("health check: %w", err)
	}
	if n := resp.GetStuckCalls(); n > 0 {
		return fmt.Errorf("plugin hung: %d call(s) still running %s after their deadline", n, p.t.stuckAfter)
	}
	return nil
}

// exited reports whether inst's process has exited, waiting up to d for
// go-plugin to notice: a failed ping is most often a process just gone,
// and the log should say so rather than show a dial error.
func (p *Plugin) exited(inst *instance, d time.Duration) bool {
	if inst.client == nil {
		return false
	}
	deadline := time.Now().Add(d)
	for !inst.client.Exited() {
		if time.Now().After(deadline) || p.ctx.Err() != nil {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// down marks the plugin as not serving.
func (p *Plugin) down(inst *instance, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == inst {
		p.cur = nil
	}
	p.status.Healthy = false
	p.status.Since = time.Now()
	p.status.PID = 0
	if why != "plugin closed" {
		p.status.LastError = why
	}
}

// restart launches a new process, waiting backoff(attempt) before each
// try. It returns nil on Close.
func (p *Plugin) restart(attempt *int) *instance {
	downSince := time.Now()
	for {
		delay := p.backoff(*attempt)
		*attempt++
		timer := time.NewTimer(delay)
		select {
		case <-p.ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		inst, resp, err := p.launch(p.ctx)
		if err == nil && capsOf(resp.GetCapabilities()) != p.caps {
			inst.kill()
			err = fmt.Errorf("plugins: %s: capabilities changed from %s to %s; restart ssogate to take them", p.spec.ID, p.caps, capsOf(resp.GetCapabilities()))
		}
		if err != nil {
			if p.ctx.Err() != nil {
				return nil
			}
			p.mu.Lock()
			p.status.LastError = err.Error()
			p.mu.Unlock()
			p.log.Error("plugin restart failed", "error", err, "attempt", *attempt, "retry_in", p.backoff(*attempt))
			continue
		}
		if p.ctx.Err() != nil {
			inst.kill()
			return nil
		}
		p.mu.Lock()
		p.cur = inst
		p.status.Healthy = true
		p.status.Restarts++
		p.status.Since = time.Now()
		p.status.PID = inst.pid
		restarts := p.status.Restarts
		p.mu.Unlock()
		p.log.Info("plugin restarted", "plugin_pid", inst.pid, "restarts", restarts, "downtime", time.Since(downSince).Round(time.Millisecond))
		return inst
	}
}

// backoff is the delay before restart attempt n (from 0): backoffMin
// doubled n times, at most backoffMax.
func (p *Plugin) backoff(n int) time.Duration {
	d := p.t.backoffMin
	for i := 0; i < n && d < p.t.backoffMax; i++ {
		d *= 2
	}
	return min(d, p.t.backoffMax)
}
