package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// conn is a directory connection with the TCP connection under it, whose
// deadline aborts whatever is in flight when the caller gives up.
type conn struct {
	*goldap.Conn
	raw net.Conn
}

// aLongTimeAgo as a deadline makes every pending read and write fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// watch aborts c's operations when ctx ends. stop returns false when that
// happened, and c is then broken.
func (c *conn) watch(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() { _ = c.raw.SetDeadline(aLongTimeAgo) })
}

// dial connects to the directory within DialTimeout, TLS included, and
// sets the per-operation Timeout.
func (p *Provider) dial(ctx context.Context) (*conn, error) {
	dctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(dctx, "tcp", p.addr)
	if err != nil {
		return nil, p.dialFailed(ctx, dctx, "connect", err)
	}
	var verifyErr error
	tc := p.tlsConfig(&verifyErr)
	var lc *goldap.Conn
	if p.tls {
		t := tls.Client(raw, tc)
		if err := t.HandshakeContext(dctx); err != nil {
			_ = raw.Close()
			return nil, p.dialFailed(ctx, dctx, "TLS handshake", err)
		}
		lc = goldap.NewConn(t, true)
	} else {
		lc = goldap.NewConn(raw, false)
	}
	lc.Start()
	lc.SetTimeout(p.cfg.Timeout)
	c := &conn{Conn: lc, raw: raw}
	if p.cfg.StartTLS {
		// go-ldap's StartTLS handshakes without a deadline of its own.
		stop := c.watch(dctx)
		err := lc.StartTLS(tc)
		if !stop() && err == nil {
			err = dctx.Err()
		}
		if err != nil {
			_ = lc.Close()
			if verifyErr != nil {
				// go-ldap keeps only the text of the handshake error.
				err = verifyErr
			}
			return nil, p.dialFailed(ctx, dctx, "StartTLS", err)
		}
	}
	return c, nil
}

// dialFailed is failed for an error while dialling under dctx: running
// out of DialTimeout is the directory's failure, not the caller's
// deadline, so it does not wrap context.DeadlineExceeded.
func (p *Provider) dialFailed(ctx, dctx context.Context, op string, err error) error {
	if ctx.Err() == nil && dctx.Err() != nil {
		err = fmt.Errorf("no answer within dial_timeout %v: %v", p.cfg.DialTimeout, err)
	}
	return p.failed(ctx, op, err)
}

// tlsConfig returns the TLS configuration for one connection; a failed
// certificate check is also stored in *verifyErr.
func (p *Provider) tlsConfig(verifyErr *error) *tls.Config {
	roots, host := p.cfg.RootCAs, p.host
	return &tls.Config{
		ServerName: host,
		MinVersion: tls.VersionTLS12,
		// The chain and host name are checked in VerifyConnection, as
		// crypto/tls would with RootCAs and ServerName, so that the error
		// survives go-ldap's StartTLS, which flattens it to text: a
		// caller must be able to tell an untrusted certificate from a
		// network failure.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			err := verifyChain(cs.PeerCertificates, roots, host)
			*verifyErr = err
			return err
		},
	}
}

// verifyChain checks that certs (leaf first) chain to roots (nil: the
// system's) and that the leaf is valid for host.
func verifyChain(certs []*x509.Certificate, roots *x509.CertPool, host string) error {
	if len(certs) == 0 {
		return errors.New("ldap: the directory sent no certificate")
	}
	opts := x509.VerifyOptions{
		Roots:         roots,
		DNSName:       host,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
	}
	return nil
}

// serviceConn is a pooled connection bound as the service account.
type serviceConn struct {
	c         *conn
	idleSince time.Time
}

// withService runs fn on a service connection from the pool. A
// connection fn fails on is closed. When a reused connection fails at
// once for a transport reason, the directory has most likely restarted
// or dropped idle connections: the other idle ones are closed too, and fn
// runs once more on a new connection.
func (p *Provider) withService(ctx context.Context, op string, fn func(*conn) error) error {
	for attempt := 0; ; attempt++ {
		sc, reused, err := p.acquire(ctx)
		if err != nil {
			return err
		}
		start := time.Now()
		stop := sc.c.watch(ctx)
		err = fn(sc.c)
		intact := stop()
		p.release(sc, err == nil && intact)
		if err == nil {
			return nil
		}
		if reused && attempt == 0 && ctx.Err() == nil && transportError(err) && time.Since(start) < p.cfg.Timeout {
			p.dropIdle()
			continue
		}
		return p.failed(ctx, op, err)
	}
}

// transportError reports whether err came from the connection rather
// than from the directory's answer.
func transportError(err error) bool {
	var le *goldap.Error
	return !errors.As(err, &le) || le.ResultCode >= goldap.ErrorNetwork
}

// acquire takes one of PoolSize tokens, waiting while all are taken, and
// returns the most recently used idle connection, or a new one when none
// is idle (those closed or idle too long are closed and skipped).
func (p *Provider) acquire(ctx context.Context) (sc *serviceConn, reused bool, err error) {
	select {
	case p.tokens <- struct{}{}:
	case <-ctx.Done():
		return nil, false, fmt.Errorf("ldap: wait for a connection to %s: %w", p.addr, ctx.Err())
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			<-p.tokens
			return nil, false, errClosed
		}
		sc = nil
		if n := len(p.idle); n > 0 {
			sc, p.idle = p.idle[n-1], p.idle[:n-1]
		}
		p.mu.Unlock()
		if sc == nil {
			break
		}
		if !sc.c.IsClosing() && time.Since(sc.idleSince) <= maxIdle {
			return sc, true, nil
		}
		_ = sc.c.Close()
	}
	c, err := p.dialService(ctx)
	if err != nil {
		<-p.tokens
		return nil, false, err
	}
	return &serviceConn{c: c}, false, nil
}

// release returns acquire's token, and sc to the idle connections when
// it may be reused.
func (p *Provider) release(sc *serviceConn, reusable bool) {
	p.mu.Lock()
	keep := reusable && !p.closed
	if keep {
		sc.idleSince = time.Now()
		p.idle = append(p.idle, sc)
	}
	p.mu.Unlock()
	if !keep {
		_ = sc.c.Close()
	}
	<-p.tokens
}

// dropIdle closes the idle connections.
func (p *Provider) dropIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, sc := range idle {
		_ = sc.c.Close()
	}
}

// dialService connects and binds as the service account (stays
// anonymous without one).
func (p *Provider) dialService(ctx context.Context) (*conn, error) {
	c, err := p.dial(ctx)
	if err != nil {
		return nil, err
	}
	if p.cfg.BindDN == "" {
		return c, nil
	}
	stop := c.watch(ctx)
	err = c.Bind(p.cfg.BindDN, p.cfg.BindPassword)
	stop()
	p.serviceBinds.Add(1)
	if err != nil {
		_ = c.Close()
		// Never ErrInvalidCredentials: the person's password was not
		// tried yet.
		return nil, p.failed(ctx, fmt.Sprintf("bind as the service account %q (check bind_dn and bind_password)", p.cfg.BindDN), err)
	}
	return c, nil
}

// Close closes the idle connections; connections in use close when
// their sign-in ends. Authenticate fails with providers.ErrUnavailable
// after Close.
func (p *Provider) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.dropIdle()
	return nil
}
