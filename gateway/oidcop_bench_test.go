package gateway

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The OpenID Provider's throughput over loopback HTTP, against a bare
// net/http handler measured the same way in the same run:
//
//	go test -run '^$' -bench 'BenchmarkOIDC' -benchtime 3s ./gateway/
//
// Each reports req/s (wall clock, all parallel clients together). The
// store is SQLite on the test's temporary directory.

// benchClient is a keep-alive HTTP client for loopback load.
func benchClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// reportRate reports the benchmark's requests per second.
func reportRate(b *testing.B, start time.Time, requests int) {
	b.ReportMetric(float64(requests)/time.Since(start).Seconds(), "req/s")
}

// drain reads and closes a response body so the connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// BenchmarkOIDCBareHandler is the yardstick: net/http answering 200 on
// loopback, through the same client.
func BenchmarkOIDCBareHandler(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { srv.Close() })
	c := benchClient()
	target := "http://" + ln.Addr().String() + "/oauth2/token"
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Post(target, "application/x-www-form-urlencoded", strings.NewReader("grant_type=authorization_code&code=x"))
			if err != nil {
				b.Error(err)
				return
			}
			drain(resp)
		}
	})
	reportRate(b, start, b.N)
}

// benchOP is an opEnv for a benchmark.
func benchOP(b *testing.B) *opEnv {
	e := newOPEnv(b, "")
	e.signIn(e.user, "pwd")
	return e
}

// BenchmarkOIDCAuthorize is an authorization request with a valid
// session, up to the redirect to the app with the code: GET
// /oauth2/authorize and the login step it sends to (2 requests, counted
// as one authorization).
func BenchmarkOIDCAuthorize(b *testing.B) {
	e := benchOP(b)
	target := e.authorizeURL("rp", nil)
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		c := *e.c
		c.Transport = benchClient().Transport
		for pb.Next() {
			resp, err := c.Get(target)
			if err != nil {
				b.Error(err)
				return
			}
			drain(resp)
			resp, err = c.Get(resp.Header.Get("Location"))
			if err != nil {
				b.Error(err)
				return
			}
			drain(resp)
			if !strings.Contains(resp.Header.Get("Location"), "code=") {
				b.Errorf("no code: %d %q", resp.StatusCode, resp.Header.Get("Location"))
				return
			}
		}
	})
	reportRate(b, start, b.N)
}

// BenchmarkOIDCTokenCode is the token endpoint redeeming a code (client
// authentication, the code's ticket, an access and an ID token signed
// RS256). The codes are made before the timer starts.
func BenchmarkOIDCTokenCode(b *testing.B) {
	e := benchOP(b)
	codes := make(chan string, b.N)
	for range b.N {
		codes <- e.codeFor(b, "rp", nil)
	}
	close(codes)
	c := benchClient()
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {<-codes}, "redirect_uri": {e.rp.URL + "/callback"}}
			req, _ := http.NewRequest("POST", e.issuer+"/oauth2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("rp", e.secret)
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			drain(resp)
			if resp.StatusCode != 200 {
				b.Errorf("token: %d", resp.StatusCode)
				return
			}
		}
	})
	reportRate(b, start, b.N)
}

// BenchmarkOIDCTokenRefresh is the token endpoint rotating a refresh
// token (each client goroutine follows its own chain).
func BenchmarkOIDCTokenRefresh(b *testing.B) {
	e := benchOP(b)
	c := benchClient()
	first := make(chan string, 64)
	for range 64 {
		code := e.codeFor(b, "rp", url.Values{"scope": {"openid offline_access"}})
		_, tok := e.exchange(code, nil)
		first <- tok["refresh_token"].(string)
	}
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		rt := <-first
		for pb.Next() {
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
			req, _ := http.NewRequest("POST", e.issuer+"/oauth2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("rp", e.secret)
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			next := jsonField(string(body), "refresh_token")
			if resp.StatusCode != 200 || next == "" {
				b.Errorf("refresh: %d %s", resp.StatusCode, body)
				return
			}
			rt = next
		}
	})
	reportRate(b, start, b.N)
}

// jsonField is a string field of a flat JSON object.
func jsonField(body, name string) string {
	_, rest, ok := strings.Cut(body, `"`+name+`":"`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}
