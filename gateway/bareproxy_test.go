package gateway

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// newBareProxy is the yardstick of BenchmarkReverseProxy: a plain
// httputil.ReverseProxy with the same transport tuning as the gateway's.
func newBareProxy(target *url.URL) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second},
	}
}
