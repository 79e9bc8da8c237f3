// Command samlapp is the demo "app outside the gateway" for ssogate's SAML
// IdP: an ordinary web app that signs people in with SAML 2.0 as a
// service provider (crewjam/saml's samlsp), as many SaaS apps do.
//
//	go run ./examples/samlapp -idp-metadata http://127.0.0.1:8080/idp/saml/metadata
//
// Paths:
//
//	/               the person's NameID and attributes; signs in first
//	/saml/metadata  this service provider's metadata (the gateway fetches it)
//	/saml/acs       the assertion consumer service (HTTP-POST)
//	/healthz        200 "ok"
//
// The service provider's key and certificate are made on first start and
// kept in -data, so its metadata stays the same across restarts.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
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

// run serves the app until ctx ends. It prints "samlapp listening on
// http://<addr>" once the listener is open.
func run(ctx context.Context, args []string, stdout *os.File) error {
	fs := flag.NewFlagSet("samlapp", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9006", "address to listen on")
	publicURL := fs.String("url", "", "the app's own base URL (default http://<listen>)")
	idpMetadata := fs.String("idp-metadata", "http://127.0.0.1:8080/idp/saml/metadata", "URL of the IdP's metadata")
	dataDir := fs.String("data", "data/samlapp", "directory for the service provider's key and certificate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base := *publicURL
	if base == "" {
		base = "http://" + *listen
	}
	baseURL, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("samlapp: -url: %w", err)
	}
	mdURL, err := url.Parse(*idpMetadata)
	if err != nil {
		return fmt.Errorf("samlapp: -idp-metadata: %w", err)
	}
	key, cert, err := loadOrMakeKey(*dataDir)
	if err != nil {
		return err
	}
	app := newApp(baseURL, mdURL, key, cert)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "samlapp listening on http://%s\n", ln.Addr())
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

// loadOrMakeKey reads the service provider's key and certificate from
// dir, making them on first use.
func loadOrMakeKey(dir string) (*rsa.PrivateKey, *x509.Certificate, error) {
	keyPath, certPath := filepath.Join(dir, "sp.key"), filepath.Join(dir, "sp.crt")
	if kb, err := os.ReadFile(keyPath); err == nil {
		cb, err := os.ReadFile(certPath)
		if err != nil {
			return nil, nil, fmt.Errorf("samlapp: %w", err)
		}
		kp, _ := pem.Decode(kb)
		cp, _ := pem.Decode(cb)
		if kp == nil || cp == nil {
			return nil, nil, fmt.Errorf("samlapp: %s or %s is not PEM", keyPath, certPath)
		}
		key, err := x509.ParsePKCS1PrivateKey(kp.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("samlapp: %s: %w", keyPath, err)
		}
		cert, err := x509.ParseCertificate(cp.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("samlapp: %s: %w", certPath, err)
		}
		return key, cert, nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "ssogate samlapp demo"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("samlapp: %w", err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return nil, nil, fmt.Errorf("samlapp: %w", err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, nil, fmt.Errorf("samlapp: %w", err)
	}
	return key, cert, nil
}
