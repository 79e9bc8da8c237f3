// Command bare is the benchmark's plain servers, in one of three modes:
//
//	-mode ok        answer every request with 200 "ok" (baseline for forward auth)
//	-mode proxy     a bare httputil.ReverseProxy to -upstream (baseline for the
//	                gateway's reverse proxy), with a tuned http.Transport
//	-mode upstream  the upstream of both proxies: 200 and a small fixed body
//
// It listens on a loopback address only, and proxies only to one.
//
//	go run ./bench/bare -mode ok -listen 127.0.0.1:18070
//	go run ./bench/bare -mode proxy -listen 127.0.0.1:18071 -upstream http://127.0.0.1:18090
//	go run ./bench/bare -mode upstream -listen 127.0.0.1:18090
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// upstreamBody is what -mode upstream answers; bench/main.go checks that
// the proxies relay it.
const upstreamBody = "hello from upstream\n"

func main() {
	mode := flag.String("mode", "ok", "`ok` (answer 200 \"ok\"), proxy (reverse proxy to -upstream) or upstream")
	listen := flag.String("listen", "127.0.0.1:18070", "loopback `address` to listen on")
	upstream := flag.String("upstream", "http://127.0.0.1:18090", "upstream `URL` for -mode proxy (loopback only)")
	flag.Parse()
	if err := serve(*mode, *listen, *upstream); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

func serve(mode, addr, upstream string) error {
	if err := requireLoopback(addr); err != nil {
		return err
	}
	var h http.Handler
	switch mode {
	case "ok":
		h = fixed("ok")
	case "upstream":
		h = fixed(upstreamBody)
	case "proxy":
		target, err := url.Parse(upstream)
		if err != nil {
			return fmt.Errorf("-upstream: %w", err)
		}
		if target.Scheme != "http" {
			return fmt.Errorf("-upstream %q: want an http:// URL", upstream)
		}
		if err := requireLoopback(target.Host); err != nil {
			return fmt.Errorf("-upstream: %w", err)
		}
		h = newProxy(target)
	default:
		return fmt.Errorf("-mode %q: want ok, proxy or upstream", mode)
	}
	return run(addr, h)
}

// fixed answers every request with 200 and body.
func fixed(body string) http.Handler {
	b := []byte(body)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	})
}

// newProxy is the plain standard-library reverse proxy, the way one would
// write it by hand, with a transport tuned to keep connections to the
// upstream alive under load.
func newProxy(target *url.URL) http.Handler {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConns = 1024
	tr.MaxIdleConnsPerHost = 256
	tr.IdleConnTimeout = 90 * time.Second
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.SetXForwarded()
		},
		Transport: tr,
	}
}

// run serves h on addr until SIGINT or SIGTERM.
func run(addr string, h http.Handler) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not a loopback IP address", addr)
	}
	return nil
}
