// Command whoami is the demo downstream app for ssogate.
//
// It sits behind the gateway (reverse proxy or forward auth) and shows what it
// received: every request header, the identity headers decoded (the display
// name and the groups arrive percent-encoded so that Japanese names survive),
// and whether the gateway's signed assertion verifies against the keys the
// gateway publishes at <issuer>/.well-known/jwks.json.
//
//	go run ./examples/whoami -issuer http://127.0.0.1:8080 -audience whoami
//
// Paths:
//
//	/healthz  200 "ok"
//	/ws       WebSocket echo: greets with the X-Forwarded-User it received,
//	          then answers each text message with "echo: " and the message
//	/*        the whoami page; JSON with "Accept: application/json" or ?format=json
//
// Every flag falls back to an environment variable (-listen to WHOAMI_LISTEN,
// -assertion-header to WHOAMI_ASSERTION_HEADER, and so on).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const (
	defaultListen          = "127.0.0.1:9001"
	defaultIssuer          = "http://127.0.0.1:8080"
	defaultAudience        = "whoami"
	defaultAssertionHeader = "X-Ssogate-Assertion"
	defaultLeeway          = 5 * time.Second

	// maxLeeway bounds -leeway: the gateway's assertions live 60 s, so a
	// leeway of minutes would quietly accept replays long after expiry.
	maxLeeway = 5 * time.Minute

	// shutdownTimeout is how long in-flight requests and WebSockets get to
	// finish after SIGINT or SIGTERM.
	shutdownTimeout = 10 * time.Second
)

// config is the demo's configuration after flags and WHOAMI_* variables.
type config struct {
	Listen          string
	Issuer          string
	JWKSURL         string
	Audience        string
	AssertionHeader string // canonical form, e.g. "X-Ssogate-Assertion"
	Leeway          time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run starts the demo and serves until ctx is cancelled, then shuts down
// gracefully. It prints "whoami listening on http://<addr>" to stdout once
// the listener is open.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("whoami: listen on %s (-listen / WHOAMI_LISTEN): %w", cfg.Listen, err)
	}

	v := newVerifier(cfg.Issuer, cfg.JWKSURL, cfg.Audience, cfg.Leeway, logger)
	a := newApp(cfg, v, logger)
	srv := &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(a.closeWebSockets)

	fmt.Fprintf(stdout, "whoami listening on http://%s\n", ln.Addr())
	logger.Info("whoami started",
		"listen", ln.Addr().String(),
		"issuer", cfg.Issuer,
		"jwks_url", cfg.JWKSURL,
		"audience", cfg.Audience,
		"assertion_header", cfg.AssertionHeader,
		"leeway", cfg.Leeway.String())

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("whoami: serve: %w", err)
	case <-ctx.Done():
	}

	logger.Info("whoami shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	// Shutdown does not wait for hijacked connections; the WebSockets were
	// told to close by closeWebSockets and get the same deadline.
	if wsErr := a.waitWebSockets(shutdownCtx); err == nil {
		err = wsErr
	}
	if err != nil {
		return fmt.Errorf("whoami: shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("whoami: serve: %w", err)
	}
	logger.Info("whoami stopped")
	return nil
}

// parseConfig reads the flags in args; a flag not given falls back to its
// WHOAMI_* variable from getenv, then to the built-in default.
func parseConfig(args []string, getenv func(string) string, output io.Writer) (config, error) {
	envOr := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}

	leewayDefault := defaultLeeway
	if s := strings.TrimSpace(getenv("WHOAMI_LEEWAY")); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return config{}, fmt.Errorf("whoami: WHOAMI_LEEWAY=%q: not a duration; use a value like 5s or 500ms", s)
		}
		leewayDefault = d
	}

	var cfg config
	fs := flag.NewFlagSet("whoami", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&cfg.Listen, "listen", envOr("WHOAMI_LISTEN", defaultListen),
		"address to listen on, host:port (env WHOAMI_LISTEN)")
	fs.StringVar(&cfg.Issuer, "issuer", envOr("WHOAMI_ISSUER", defaultIssuer),
		"the gateway's public URL, expected in the assertion's iss claim (env WHOAMI_ISSUER)")
	fs.StringVar(&cfg.JWKSURL, "jwks", envOr("WHOAMI_JWKS", ""),
		"URL of the gateway's JWKS (env WHOAMI_JWKS; default <issuer>/.well-known/jwks.json)")
	fs.StringVar(&cfg.Audience, "audience", envOr("WHOAMI_AUDIENCE", defaultAudience),
		"this service's id, expected in the assertion's aud claim (env WHOAMI_AUDIENCE)")
	fs.StringVar(&cfg.AssertionHeader, "assertion-header", envOr("WHOAMI_ASSERTION_HEADER", defaultAssertionHeader),
		"request header carrying the gateway's assertion (env WHOAMI_ASSERTION_HEADER)")
	fs.DurationVar(&cfg.Leeway, "leeway", leewayDefault,
		"clock skew allowed when checking exp, nbf and iat (env WHOAMI_LEEWAY)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("whoami: unexpected argument %q; all settings are flags, see -help", fs.Arg(0))
	}

	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return config{}, fmt.Errorf("whoami: -listen %q: want host:port, e.g. %s", cfg.Listen, defaultListen)
	}
	if err := checkHTTPURL(cfg.Issuer); err != nil {
		return config{}, fmt.Errorf("whoami: -issuer %q: %w", cfg.Issuer, err)
	}
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/jwks.json"
	}
	if err := checkHTTPURL(cfg.JWKSURL); err != nil {
		return config{}, fmt.Errorf("whoami: -jwks %q: %w", cfg.JWKSURL, err)
	}
	if strings.TrimSpace(cfg.Audience) == "" {
		return config{}, fmt.Errorf("whoami: -audience is empty; give the service id the gateway puts in aud, e.g. %s", defaultAudience)
	}
	if !validHeaderName(cfg.AssertionHeader) {
		return config{}, fmt.Errorf("whoami: -assertion-header %q: not a valid header name; use letters, digits and '-', e.g. %s", cfg.AssertionHeader, defaultAssertionHeader)
	}
	cfg.AssertionHeader = textproto.CanonicalMIMEHeaderKey(cfg.AssertionHeader)
	if cfg.Leeway < 0 || cfg.Leeway > maxLeeway {
		return config{}, fmt.Errorf("whoami: -leeway %s: want between 0s and %s", cfg.Leeway, maxLeeway)
	}
	return cfg, nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL; want e.g. " + defaultIssuer)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an absolute http:// or https:// URL, e.g. " + defaultIssuer)
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 token, so that it can be
// a header field name.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
