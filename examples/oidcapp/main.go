// Command oidcapp is the demo "app outside the gateway" for ssogate's
// OpenID Provider: an ordinary web app that signs people in with OpenID
// Connect (coreos/go-oidc and golang.org/x/oauth2, as an in-house app
// would), not through the gateway's headers.
//
//	go run ./examples/oidcapp -issuer http://127.0.0.1:8080 \
//	    -client-id oidcapp -client-secret-file data/oidcapp.secret
//
// Paths:
//
//	/          the person's claims once signed in; otherwise on to /login
//	/login     starts the authorization code flow with PKCE (S256)
//	/initiate  third-party-initiated login (the launcher tile): checks iss
//	/callback  the redirect URI: exchanges the code, verifies the ID token
//	/logout    signs out here and at the gateway (RP-initiated logout)
//	/backchannel-logout  the gateway's logout tokens end sessions here
//	/healthz   200 "ok"
//
// The app keeps its sessions in memory; it is a demo, not a template for
// storing tokens.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run serves the app until ctx ends. It prints "oidcapp listening on
// http://<addr>" once the listener is open.
func run(ctx context.Context, args []string, stdout *os.File) error {
	fs := flag.NewFlagSet("oidcapp", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9005", "address to listen on")
	publicURL := fs.String("url", "", "the app's own base URL (default http://<listen>)")
	issuer := fs.String("issuer", "http://127.0.0.1:8080", "the OpenID Provider (ssogate's public_url)")
	clientID := fs.String("client-id", "oidcapp", "client id registered in ssogate.yaml")
	secretFile := fs.String("client-secret-file", "", "file holding the client secret")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base := *publicURL
	if base == "" {
		base = "http://" + *listen
	}
	var secret string
	if *secretFile != "" {
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			return fmt.Errorf("oidcapp: client secret: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	app, err := newApp(appConfig{
		Issuer: strings.TrimSuffix(*issuer, "/"), ClientID: *clientID, ClientSecret: secret,
		BaseURL: strings.TrimSuffix(base, "/"),
	}, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "oidcapp listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
