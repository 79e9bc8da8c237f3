// Command bench measures ssogate's overhead against bare Go baselines on
// this machine, over loopback only (127.0.0.1), with wrk as the load
// generator. `make bench` runs it; it is not part of `make test`.
//
//	go run ./bench [-duration 10s] [-runs 3] [-connections 64] [-threads 2]
//	               [-warmup 2s] [-only a,b,c,d,b',d',b1s,b100k,d1s,d100k,bpg] [-sessions 100000]
//	               [-json FILE] [-keep]
//
// Targets, each its own process on a fixed loopback port:
//
//	(a)  bare net/http handler answering 200 "ok"          bench/bare -mode ok     127.0.0.1:18070
//	(b)  ssogate GET /auth (forward auth), session cookie  bin/ssogate, log info   127.0.0.1:18080
//	(c)  bare httputil.ReverseProxy to the upstream        bench/bare -mode proxy  127.0.0.1:18071
//	(d)  ssogate reverse proxy /app/hello, session cookie  bin/ssogate, log info   127.0.0.1:18080
//	(b') and (d')  the same as (b) and (d) with log level warn (access log off)    127.0.0.1:18082
//	(b1s) (b) with wrk running rotate.lua over its one cookie: (b100k)'s yardstick 127.0.0.1:18080
//	(b100k) (b) with 100,000 sessions, wrk rotating over their cookies (rotate.lua) 127.0.0.1:18083
//	(d1s) (d) with wrk running rotate.lua over its one cookie: (d100k)'s yardstick  127.0.0.1:18080
//	(d100k) (d) with the 100,000 sessions of (b100k), rotating                    127.0.0.1:18083
//	(bpg) (b) on the PostgreSQL store, a throwaway cluster on 127.0.0.1:25433      127.0.0.1:18084
//	     upstream of (c), (d), (d'): bench/bare -mode upstream, 200 and a small body 127.0.0.1:18090
//
// The headline targets (b) and (d) run ssogate's default configuration, log
// level info, access log on. The sessions of (b100k) are issued before its
// gateway starts by bench/sessions, through gateway.Shared.IssueSession,
// and each is requested once before the warm-up and again just before each
// measured run (the other targets' runs in between outlast an assertion),
// so the runs measure 100,000 sessions in use; the rate of those passes,
// where each request is a session's first in minutes, is reported apart
// as (b100k)'s cold figure.
// (bpg) is left out, with the reason, when PostgreSQL 15 is not installed
// or the binary says the postgres store is not available.
//
// Each target is checked once (exactly 200, and for proxies the upstream's
// body) before any load, then warmed up, then loaded -runs times; the rounds
// interleave the targets (a, b, c, d, b', d', a, b, ...) so that machine
// noise hits all of them alike, and the median of the runs is reported:
// req/s, p50 and p99 latency, the ssogate process's resident memory (VmRSS
// sampled every 100 ms under load: peak and median, the peak split into
// RssAnon and RssFile), and the ratios b/a
// (target >= 0.65), d/c (>= 0.85), b100k/b1s (>= 0.8: a Lua script costs
// wrk CPU on the same cores, so both sides run it) and b/b' (the access
// log's cost, >= 0.9), and the RSS of (b) (<= 40 MB), marked PASS or BELOW.
// The report is also written as JSON to bench/results/latest.json.
//
// Timing never fails the run: the exit status is non-zero only when
// something fails to build or start, a target does not answer 200 before the
// load, or a response under load is not 2xx (wrk's "Non-2xx or 3xx", which
// counts status >= 400; each run is followed by one more 200 check, which
// also catches redirects).
//
// Every server is started in its own process group and stopped on exit,
// on error and on Ctrl-C.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Loopback addresses, all outside Linux's ephemeral range 32768-60999.
const (
	addrBareOK    = "127.0.0.1:18070"
	addrBareProxy = "127.0.0.1:18071"
	portSsogate   = 18080 // log level info: (b), (d)
	portSsogateW  = 18082 // log level warn: (b'), (d')
	portSsogate1e = 18083 // (b100k)
	portSsogatePG = 18084 // (bpg)
	addrUpstream  = "127.0.0.1:18090"
)

// upstreamBody is what bench/bare -mode upstream answers; (c) and (d) must relay it.
const upstreamBody = "hello from upstream\n"

// Target ratios on the 2-core machine.
const (
	wantAuthRatio     = 0.65 // b/a
	wantProxyRatio    = 0.85 // d/c
	wantManyRatio     = 0.8  // b100k/b
	wantAccessLogCost = 0.9  // b/b': the access log costs under 10%
	wantAuthRSSMB     = 40   // peak VmRSS of (b), MB
)

var allTargets = []string{"a", "b", "c", "d", "b'", "d'", "b1s", "b100k", "d1s", "d100k", "bpg"}

// target is one URL under load.
type target struct {
	ID       string      `json:"id"`
	Label    string      `json:"label"`
	URL      string      `json:"url"`
	LogLevel string      `json:"log_level,omitempty"`
	Runs     []wrkResult `json:"runs"`
	Median   *wrkResult  `json:"median,omitempty"`
	Warmup   *wrkResult  `json:"warmup,omitempty"`
	Failed   string      `json:"failed,omitempty"`
	RSS      *rssSummary `json:"rss,omitempty"`
	Skipped  string      `json:"skipped,omitempty"`
	// ColdPasses is, for (b100k), the rate of each pass that requests
	// every session once just before a measured run: a session's first
	// request after the previous round, which re-signs its assertion and
	// records its activity.
	ColdPasses []float64 `json:"cold_passes_per_s,omitempty"`

	rssPID     int         // the ssogate process whose VmRSS is sampled, 0 for none
	rssSamples []rssSample // over the measured runs
	script     []string    // wrk -s script and its arguments

	headers  []string // "Name: value", the session cookie among them
	wantBody string   // when set, the body must be exactly this
	procs    []*proc  // servers this target depends on
	authed   bool     // must not answer 200 without its Cookie header
}

type ratio struct {
	Name   string   `json:"name"`
	Value  float64  `json:"value"`
	Target *float64 `json:"target,omitempty"`
	Pass   *bool    `json:"pass,omitempty"`
	Note   string   `json:"note"`
}

type report struct {
	Time        time.Time `json:"time"`
	NumCPU      int       `json:"nproc"`
	CPU         string    `json:"cpu,omitempty"`
	GoVersion   string    `json:"go_version"`
	WrkVersion  string    `json:"wrk_version"`
	Git         string    `json:"git,omitempty"`
	Threads     int       `json:"threads"`
	Connections int       `json:"connections"`
	Duration    string    `json:"duration"`
	Warmup      string    `json:"warmup"`
	RunsPer     int       `json:"runs"`
	Targets     []*target `json:"targets"`
	Ratios      []ratio   `json:"ratios"`
	Failures    []string  `json:"failures,omitempty"`
	Skipped     []string  `json:"skipped,omitempty"`
}

type options struct {
	duration, warmup time.Duration
	runs             int
	wrk              wrkOptions
	only             []string
	jsonPath         string
	keep             bool
	sessions         int
}

func main() {
	os.Exit(mainCode())
}

func mainCode() int {
	var o options
	var only string
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured wrk run (whole seconds)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "length of the warm-up run per target before the first round; 0 skips it")
	flag.IntVar(&o.runs, "runs", 3, "measured runs per target; the median is reported")
	flag.IntVar(&o.wrk.connections, "connections", 64, "wrk connections (-c)")
	flag.IntVar(&o.wrk.threads, "threads", 2, "wrk threads (-t)")
	flag.StringVar(&only, "only", strings.Join(allTargets, ","), "comma-separated `targets` to run, of a,b,c,d,b',d',b1s,b100k,d1s,d100k,bpg (b2 and d2 also name b' and d')")
	flag.IntVar(&o.sessions, "sessions", 100000, "sessions of target b100k")
	flag.StringVar(&o.jsonPath, "json", "", "where to write the JSON report (default bench/results/latest.json in the module)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, database, server logs)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./bench [flags]\n\nLoad-tests ssogate against bare net/http baselines on loopback with wrk.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q\n", flag.Args())
		return 2
	}
	var err error
	if o.only, err = parseOnly(only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	switch {
	case o.runs < 1:
		err = errors.New("-runs must be at least 1")
	case o.duration < time.Second:
		err = errors.New("-duration must be at least 1s")
	case o.warmup < 0:
		err = errors.New("-warmup must not be negative")
	case o.wrk.threads < 1:
		err = errors.New("-threads must be at least 1")
	case o.sessions < 1:
		err = errors.New("-sessions must be at least 1")
	case o.wrk.connections < o.wrk.threads:
		err = errors.New("-connections must be at least -threads")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	code, err := run(ctx, o)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "bench: interrupted; servers stopped")
			return 130
		}
		fmt.Fprintln(os.Stderr, "bench: FAIL:", err)
		return 1
	}
	return code
}

func parseOnly(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch f {
		case "":
			continue
		case "b2", "bi":
			f = "b'"
		case "d2", "di":
			f = "d'"
		}
		if !slices.Contains(allTargets, f) {
			return nil, fmt.Errorf("-only: unknown target %q; valid: %s", f, strings.Join(allTargets, ","))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("-only: no targets")
	}
	// Always in the canonical order, so rounds interleave the same way.
	slices.SortFunc(out, func(x, y string) int {
		return slices.Index(allTargets, x) - slices.Index(allTargets, y)
	})
	return out, nil
}

// run does the whole benchmark. It returns the exit code for a completed
// run (1 when a response under load was not 2xx), or an error when
// something failed to build or start.
func run(ctx context.Context, o options) (int, error) {
	if _, err := exec.LookPath("wrk"); err != nil {
		return 0, errors.New("wrk is not installed: run ./scripts/bench-deps.sh (installs Debian's wrk)")
	}
	root, err := moduleRoot()
	if err != nil {
		return 0, err
	}
	if o.jsonPath == "" {
		o.jsonPath = filepath.Join(root, "bench", "results", "latest.json")
	}
	removeStaleTempDirs()
	tmp, err := os.MkdirTemp("", tempPrefix)
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return 0, err
	}
	ps := &procs{}
	defer func() {
		ps.stopAll()
		if o.keep {
			fmt.Fprintf(os.Stderr, "bench: kept %s\n", tmp)
		} else {
			os.RemoveAll(tmp)
		}
	}()

	want := func(ids ...string) bool {
		for _, id := range ids {
			if slices.Contains(o.only, id) {
				return true
			}
		}
		return false
	}
	needUpstream := want("c", "d", "d'", "d1s", "d100k")
	needSsogate := want("b", "d", "b1s", "d1s")
	needMany := want("b100k", "d100k")
	needSsogateW := want("b'", "d'")

	// Ports first: a leftover server would be measured instead of ours.
	var addrs []string
	if want("a") {
		addrs = append(addrs, addrBareOK)
	}
	if want("c") {
		addrs = append(addrs, addrBareProxy)
	}
	if needUpstream {
		addrs = append(addrs, addrUpstream)
	}
	if needSsogate {
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", portSsogate))
	}
	if needSsogateW {
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", portSsogateW))
	}
	if needMany {
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", portSsogate1e))
	}
	if want("bpg") {
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", portSsogatePG))
	}
	for _, a := range addrs {
		if err := portFree(a); err != nil {
			return 0, err
		}
	}

	// Build.
	binDir := filepath.Join(tmp, "bin")
	bareBin := filepath.Join(binDir, "bare")
	ssogateBin := filepath.Join(root, "bin", "ssogate")
	if needUpstream || want("a", "c") {
		if err := goBuild(ctx, root, bareBin, "./bench/bare"); err != nil {
			return 0, err
		}
	}
	if needSsogate || needSsogateW || needMany || want("bpg") {
		if err := goBuild(ctx, root, ssogateBin, "./cmd/ssogate"); err != nil {
			return 0, err
		}
	}
	sessionsBin := filepath.Join(binDir, "sessions")
	if needMany {
		if err := goBuild(ctx, root, sessionsBin, "./bench/sessions"); err != nil {
			return 0, err
		}
	}

	// Start the servers and wait until each answers.
	logDir := filepath.Join(tmp, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return 0, err
	}
	startAndWait := func(name, readyURL, bin string, args ...string) (*proc, error) {
		p, err := ps.start(name, logDir, bin, args...)
		if err != nil {
			return nil, err
		}
		return p, p.waitReady(ctx, readyURL, 30*time.Second)
	}
	var upstream, bareOK, bareProxy *proc
	if needUpstream {
		if upstream, err = startAndWait("upstream", "http://"+addrUpstream+"/", bareBin, "-mode", "upstream", "-listen", addrUpstream); err != nil {
			return 0, err
		}
	}
	if want("a") {
		if bareOK, err = startAndWait("bare-ok", "http://"+addrBareOK+"/", bareBin, "-mode", "ok", "-listen", addrBareOK); err != nil {
			return 0, err
		}
	}
	if want("c") {
		if bareProxy, err = startAndWait("bare-proxy", "http://"+addrBareProxy+"/", bareBin,
			"-mode", "proxy", "-listen", addrBareProxy, "-upstream", "http://"+addrUpstream); err != nil {
			return 0, err
		}
	}
	type gw struct {
		p      *proc
		base   string
		cookie string
	}
	// startSsogate starts a gateway with the bench user signed in; with
	// sessions > 0 it first issues that many sessions, whose cookies it
	// writes to cookiesPath.
	startSsogate := func(name string, port int, level, pgDSN string, sessions int, cookiesPath string) (*gw, error) {
		dir := filepath.Join(tmp, name)
		cfg, err := writeSsogateConfig(dir, port, level, "http://"+addrUpstream, pgDSN)
		if err != nil {
			return nil, err
		}
		if err := addBenchUser(ctx, ssogateBin, cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if sessions > 0 {
			fmt.Fprintf(os.Stderr, "bench: issuing %d sessions for (b100k)\n", sessions)
			cmd := exec.CommandContext(ctx, sessionsBin, "-config", cfg, "-email", benchEmail, "-n", strconv.Itoa(sessions), "-out", cookiesPath)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("%s: issue sessions: %w", name, err)
			}
		}
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		p, err := startAndWait(name, base+"/healthz", ssogateBin, "--config", cfg, "serve")
		if err != nil {
			return nil, err
		}
		cookie, err := signIn(ctx, base)
		if err != nil {
			return nil, fmt.Errorf("%s: sign-in as %s: %w\nits log:\n%s", name, benchEmail, err, p.logTail())
		}
		return &gw{p: p, base: base, cookie: cookie}, nil
	}
	var gwInfo, gwWarn, gwMany, gwPG *gw
	var skipped []string
	if needSsogate {
		if gwInfo, err = startSsogate("ssogate", portSsogate, "info", "", 0, ""); err != nil {
			return 0, err
		}
	}
	if needSsogateW {
		if gwWarn, err = startSsogate("ssogate-warn", portSsogateW, "warn", "", 0, ""); err != nil {
			return 0, err
		}
	}
	cookiesPath := filepath.Join(tmp, "cookies.txt")
	if needMany {
		if gwMany, err = startSsogate("ssogate-100k", portSsogate1e, "info", "", o.sessions, cookiesPath); err != nil {
			return 0, err
		}
	}
	if want("bpg") {
		pg, err := startPostgres(ctx, tmp)
		if err == nil {
			defer pg.stop()
			gwPG, err = startSsogate("ssogate-pg", portSsogatePG, "info", pgDSN, 0, "")
		}
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			// The cause is on the error's first lines (the command's
			// output follows the exit status).
			lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
			why := strings.TrimSpace(lines[0])
			if len(lines) > 1 {
				why += ": " + strings.TrimSpace(lines[1])
			}
			skipped = append(skipped, "(bpg) ssogate GET /auth on PostgreSQL: skipped: "+why)
			fmt.Fprintln(os.Stderr, "bench: "+skipped[len(skipped)-1])
		}
	}

	// The targets, in canonical order.
	authHeaders := func(g *gw) []string {
		return []string{
			"X-Forwarded-Proto: http",
			"X-Forwarded-Host: " + fwdHost,
			"X-Forwarded-Uri: /some/page",
			"X-Forwarded-Method: GET",
			"Cookie: " + g.cookie,
		}
	}
	var targets []*target
	for _, id := range o.only {
		var t *target
		switch id {
		case "a":
			t = &target{Label: "bare net/http 200 \"ok\"", URL: "http://" + addrBareOK + "/", wantBody: "ok", procs: []*proc{bareOK}}
		case "b":
			t = &target{Label: "ssogate GET /auth (forward auth)", URL: gwInfo.base + "/auth", LogLevel: "info",
				authed: true, headers: authHeaders(gwInfo), procs: []*proc{gwInfo.p}}
		case "c":
			t = &target{Label: "bare httputil.ReverseProxy", URL: "http://" + addrBareProxy + "/app/hello",
				wantBody: upstreamBody, procs: []*proc{bareProxy, upstream}}
		case "d":
			t = &target{Label: "ssogate reverse proxy /app/", URL: gwInfo.base + "/app/hello", LogLevel: "info",
				authed: true, headers: []string{"Cookie: " + gwInfo.cookie}, wantBody: upstreamBody, procs: []*proc{gwInfo.p, upstream}}
		case "b'":
			t = &target{Label: "ssogate GET /auth (forward auth)", URL: gwWarn.base + "/auth", LogLevel: "warn",
				authed: true, headers: authHeaders(gwWarn), procs: []*proc{gwWarn.p}}
		case "d'":
			t = &target{Label: "ssogate reverse proxy /app/", URL: gwWarn.base + "/app/hello", LogLevel: "warn",
				authed: true, headers: []string{"Cookie: " + gwWarn.cookie}, wantBody: upstreamBody, procs: []*proc{gwWarn.p, upstream}}
		case "b1s":
			one := filepath.Join(tmp, "cookie-1.txt")
			if err := os.WriteFile(one, []byte(gwInfo.cookie+"\n"), 0o600); err != nil {
				return 0, err
			}
			t = &target{Label: "ssogate GET /auth, 1 session, rotate.lua", URL: gwInfo.base + "/auth", LogLevel: "info",
				authed: true, headers: authHeaders(gwInfo), procs: []*proc{gwInfo.p},
				script: []string{filepath.Join(root, "bench", "rotate.lua"), one}}
		case "b100k":
			first, err := firstLine(cookiesPath)
			if err != nil {
				return 0, err
			}
			h := authHeaders(gwMany)
			h[len(h)-1] = "Cookie: " + first // for the checks; rotate.lua sets each request's
			t = &target{Label: fmt.Sprintf("ssogate GET /auth, %d sessions", o.sessions), URL: gwMany.base + "/auth", LogLevel: "info",
				authed: true, headers: h, procs: []*proc{gwMany.p},
				script: []string{filepath.Join(root, "bench", "rotate.lua"), cookiesPath}}
		case "d1s":
			one := filepath.Join(tmp, "cookie-1.txt")
			if err := os.WriteFile(one, []byte(gwInfo.cookie+"\n"), 0o600); err != nil {
				return 0, err
			}
			t = &target{Label: "ssogate reverse proxy, 1 session, rotate.lua", URL: gwInfo.base + "/app/hello", LogLevel: "info",
				authed: true, headers: []string{"Cookie: " + gwInfo.cookie}, wantBody: upstreamBody, procs: []*proc{gwInfo.p, upstream},
				script: []string{filepath.Join(root, "bench", "rotate.lua"), one}}
		case "d100k":
			first, err := firstLine(cookiesPath)
			if err != nil {
				return 0, err
			}
			t = &target{Label: fmt.Sprintf("ssogate reverse proxy, %d sessions", o.sessions), URL: gwMany.base + "/app/hello", LogLevel: "info",
				authed: true, headers: []string{"Cookie: " + first}, wantBody: upstreamBody, procs: []*proc{gwMany.p, upstream},
				script: []string{filepath.Join(root, "bench", "rotate.lua"), cookiesPath}}
		case "bpg":
			if gwPG == nil {
				continue
			}
			t = &target{Label: "ssogate GET /auth, PostgreSQL store", URL: gwPG.base + "/auth", LogLevel: "info",
				authed: true, headers: authHeaders(gwPG), procs: []*proc{gwPG.p}}
		}
		if strings.HasPrefix(t.Label, "ssogate") {
			t.rssPID = t.procs[0].cmd.Process.Pid
		}
		t.ID = id
		if err := requireLoopbackURL(t.URL); err != nil {
			return 0, err
		}
		targets = append(targets, t)
	}

	// Each target must answer 200 before any load, and a gateway target
	// must not answer 200 without the session cookie: otherwise the
	// benchmark would not measure the signed-in path.
	for _, t := range targets {
		if err := t.check(ctx, true); err != nil {
			return 0, fmt.Errorf("smoke check of (%s) %s: %w", t.ID, t.Label, err)
		}
		if t.authed {
			if err := t.check(ctx, false); err == nil {
				return 0, fmt.Errorf("smoke check of (%s) %s: GET %s answers 200 without the session cookie too", t.ID, t.Label, t.URL)
			}
		}
	}

	rep := &report{
		Time:        time.Now().UTC().Truncate(time.Second),
		NumCPU:      runtime.NumCPU(),
		CPU:         cpuModel(),
		GoVersion:   goVersion(ctx),
		WrkVersion:  wrkVersion(),
		Git:         gitDescribe(ctx, root),
		Threads:     o.wrk.threads,
		Connections: o.wrk.connections,
		Duration:    wrkDuration(o.duration),
		Warmup:      o.warmup.String(),
		RunsPer:     o.runs,
		Targets:     targets,
		Skipped:     skipped,
	}
	fmt.Fprintf(os.Stderr, "bench: nproc %d, %s, %s; wrk -t%d -c%d, %s x %d runs, targets %s\n",
		rep.NumCPU, rep.GoVersion, rep.WrkVersion, o.wrk.threads, o.wrk.connections, rep.Duration, o.runs, strings.Join(o.only, ","))

	// loadOnce runs wrk once against t and checks what happened.
	loadOnce := func(t *target, d time.Duration, sampleRSS bool) (wrkResult, error) {
		var stopRSS chan struct{}
		rssc := make(chan []rssSample, 1)
		if sampleRSS && t.rssPID != 0 {
			stopRSS = make(chan struct{})
			go sampleRSSOf(t.rssPID, stopRSS, rssc)
		}
		res, _, err := runWrk(ctx, o.wrk, d, t.URL, t.headers, t.script...)
		if stopRSS != nil {
			close(stopRSS)
			t.rssSamples = append(t.rssSamples, <-rssc...)
		}
		if err != nil {
			return res, err
		}
		for _, p := range t.procs {
			if err := p.checkAlive(); err != nil {
				return res, err
			}
		}
		var problems []string
		if res.Requests == 0 {
			problems = append(problems, "no request completed")
		}
		if res.Non2xx > 0 {
			problems = append(problems, fmt.Sprintf("%d non-2xx responses", res.Non2xx))
		}
		if err := t.check(ctx, true); err != nil {
			problems = append(problems, "check after the run: "+err.Error())
		}
		if len(problems) > 0 && t.Failed == "" {
			t.Failed = strings.Join(problems, "; ")
		}
		return res, nil
	}

	for _, t := range targets {
		if t.ID != "b100k" && t.ID != "d100k" {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: visiting each of the %d sessions of (%s) once\n", o.sessions, t.ID)
		n, took, err := visitAll(ctx, t, cookiesPath)
		if err != nil {
			return 0, fmt.Errorf("visiting the sessions of (%s): %w", t.ID, err)
		}
		fmt.Fprintf(os.Stderr, "bench: visited %d sessions in %v (%.0f/s, a session's first request)\n",
			n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	}
	if o.warmup > 0 {
		for _, t := range targets {
			fmt.Fprintf(os.Stderr, "bench: warm-up (%s) %s\n", t.ID, wrkDuration(o.warmup))
			res, err := loadOnce(t, o.warmup, false)
			if err != nil {
				return 0, err
			}
			t.Warmup = &res
		}
	}
	for round := 1; round <= o.runs; round++ {
		for _, t := range targets {
			if t.ID == "b100k" || t.ID == "d100k" {
				// The other targets' runs since this one's last took longer
				// than an assertion lives: without this pass every request
				// of the run would be a session's first in minutes. The pass
				// makes the run measure 100,000 sessions in use, and its own
				// rate is reported as the cold figure.
				n, took, err := visitAll(ctx, t, cookiesPath)
				if err != nil {
					return 0, fmt.Errorf("visiting the sessions of (%s): %w", t.ID, err)
				}
				t.ColdPasses = append(t.ColdPasses, float64(n)/took.Seconds())
			}
			res, err := loadOnce(t, o.duration, true)
			if err != nil {
				return 0, err
			}
			t.Runs = append(t.Runs, res)
			fmt.Fprintf(os.Stderr, "bench: round %d/%d %-4s %10.0f req/s  p50 %8s  p99 %8s%s\n", round, o.runs, "("+t.ID+")",
				res.ReqPerSec, fmtMicros(res.P50us), fmtMicros(res.P99us), problemNote(res))
		}
	}
	for _, t := range targets {
		m := median(t.Runs)
		t.Median = &m
		t.RSS = summarizeRSS(t.rssSamples)
		if t.Failed != "" {
			rep.Failures = append(rep.Failures, fmt.Sprintf("(%s) %s: %s", t.ID, t.Label, t.Failed))
		}
	}
	rep.Ratios = ratios(targets)

	printReport(os.Stdout, rep)
	if err := writeJSON(o.jsonPath, rep); err != nil {
		return 0, err
	}
	fmt.Printf("\nJSON: %s\n", relTo(root, o.jsonPath))
	if len(rep.Failures) > 0 {
		fmt.Fprintln(os.Stderr, "\nbench: FAIL: responses under load were not all 2xx:")
		for _, f := range rep.Failures {
			fmt.Fprintln(os.Stderr, "  "+f)
		}
		return 1, nil
	}
	return 0, nil
}

// check sends one request and wants exactly 200 (redirects are not
// followed), and the expected body when there is one. Without withCookie
// the Cookie header is left out.
func (t *target) check(ctx context.Context, withCookie bool) error {
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		Timeout:   10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return err
	}
	for _, h := range t.headers {
		k, v, _ := strings.Cut(h, ":")
		if !withCookie && strings.EqualFold(k, "Cookie") {
			continue
		}
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", t.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		loc := ""
		if l := resp.Header.Get("Location"); l != "" {
			loc = " (Location: " + l + ")"
		}
		return fmt.Errorf("GET %s: %s%s, want 200; body:\n%s", t.URL, resp.Status, loc, indent(snippet(body)))
	}
	if t.wantBody != "" && string(body) != t.wantBody {
		return fmt.Errorf("GET %s: 200 but body %q, want %q", t.URL, snippet(body), t.wantBody)
	}
	return nil
}

func problemNote(r wrkResult) string {
	var s []string
	if r.Non2xx > 0 {
		s = append(s, fmt.Sprintf("NON-2XX %d", r.Non2xx))
	}
	if r.SocketErrors > 0 {
		s = append(s, fmt.Sprintf("socket errors %d (timeouts %d)", r.SocketErrors, r.Timeouts))
	}
	if len(s) == 0 {
		return ""
	}
	return "  " + strings.Join(s, ", ")
}

// median takes the median of each measure separately; counts are summed.
func median(runs []wrkResult) wrkResult {
	pick := func(f func(wrkResult) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		n := len(v)
		if n == 0 {
			return 0
		}
		if n%2 == 1 {
			return v[n/2]
		}
		return (v[n/2-1] + v[n/2]) / 2
	}
	m := wrkResult{
		ReqPerSec: pick(func(r wrkResult) float64 { return r.ReqPerSec }),
		P50us:     pick(func(r wrkResult) float64 { return r.P50us }),
		P99us:     pick(func(r wrkResult) float64 { return r.P99us }),
	}
	for _, r := range runs {
		m.Requests += r.Requests
		m.Non2xx += r.Non2xx
		m.SocketErrors += r.SocketErrors
		m.Timeouts += r.Timeouts
	}
	return m
}

func ratios(targets []*target) []ratio {
	by := map[string]*target{}
	for _, t := range targets {
		by[t.ID] = t
	}
	var out []ratio
	add := func(num, den string, want float64, note string) {
		n, d := by[num], by[den]
		if n == nil || d == nil || d.Median.ReqPerSec == 0 {
			return
		}
		r := ratio{Name: num + "/" + den, Value: n.Median.ReqPerSec / d.Median.ReqPerSec, Note: note}
		if want > 0 {
			w := want
			pass := r.Value >= want
			r.Target, r.Pass = &w, &pass
		}
		out = append(out, r)
	}
	add("b", "a", wantAuthRatio, "forward auth vs bare handler, log info")
	add("d", "c", wantProxyRatio, "gateway proxy vs bare ReverseProxy, log info")
	add("b100k", "b1s", wantManyRatio, "forward auth over many sessions vs one, both through rotate.lua")
	add("b100k", "b", 0, "forward auth over many sessions through rotate.lua vs one without")
	add("d100k", "d1s", wantManyRatio, "gateway proxy over many sessions vs one, both through rotate.lua")
	add("b", "b'", wantAccessLogCost, "forward auth with the access log on vs off")
	add("d", "d'", 0, "gateway proxy with the access log on vs off")
	add("b'", "a", 0, "forward auth, log warn, vs bare handler")
	add("d'", "c", 0, "gateway proxy, log warn, vs bare ReverseProxy")
	add("bpg", "b", 0, "forward auth on PostgreSQL vs SQLite")
	return out
}

func printReport(w io.Writer, rep *report) {
	fmt.Fprintf(w, "\nssogate bench: %s UTC\n", rep.Time.Format("2006-01-02 15:04:05"))
	fmt.Fprintf(w, "machine: nproc %d", rep.NumCPU)
	if rep.CPU != "" {
		fmt.Fprintf(w, ", %s", rep.CPU)
	}
	fmt.Fprintf(w, "\ngo: %s   wrk: %s   git: %s\n", rep.GoVersion, rep.WrkVersion, rep.Git)
	fmt.Fprintf(w, "load: wrk -t%d -c%d -d%s --latency, loopback; median of %d run(s) per target, rounds interleaved, warm-up %s\n\n",
		rep.Threads, rep.Connections, rep.Duration, rep.RunsPer, rep.Warmup)

	labels := make([]string, len(rep.Targets))
	lw := len("target")
	for i, t := range rep.Targets {
		labels[i] = fmt.Sprintf("%-4s %s", "("+t.ID+")", t.Label)
		if t.LogLevel != "" {
			labels[i] += " [log " + t.LogLevel + "]"
		}
		lw = max(lw, len(labels[i]))
	}
	fmt.Fprintf(w, "%-*s  %9s  %8s  %8s  %17s  %7s  %8s  %14s\n", lw, "target", "req/s", "p50", "p99", "req/s min..max", "non-2xx", "sock err", "RSS MB pk/med")
	for i, t := range rep.Targets {
		m := t.Median
		lo, hi := m.ReqPerSec, m.ReqPerSec
		for _, r := range t.Runs {
			lo, hi = min(lo, r.ReqPerSec), max(hi, r.ReqPerSec)
		}
		rss := "-"
		if t.RSS != nil {
			rss = fmt.Sprintf("%.1f/%.1f", t.RSS.PeakMB, t.RSS.MedianMB)
		}
		fmt.Fprintf(w, "%-*s  %9.0f  %8s  %8s  %17s  %7d  %8d  %14s\n", lw, labels[i], m.ReqPerSec,
			fmtMicros(m.P50us), fmtMicros(m.P99us), fmt.Sprintf("%.0f..%.0f", lo, hi), m.Non2xx, m.SocketErrors, rss)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintln(w, s)
	}

	fmt.Fprintln(w, "\nratios of req/s:")
	if len(rep.Ratios) == 0 {
		fmt.Fprintln(w, "  (none: b/a needs a and b, d/c needs c and d)")
	}
	for _, r := range rep.Ratios {
		verdict := ""
		if r.Pass != nil {
			v := "BELOW"
			if *r.Pass {
				v = "PASS"
			}
			verdict = fmt.Sprintf("  target >= %.2f  %s", *r.Target, v)
		}
		fmt.Fprintf(w, "  %-9s = %.3f%s   (%s)\n", r.Name, r.Value, verdict, r.Note)
	}
	for _, want := range []string{"b/a", "d/c"} {
		if !slices.ContainsFunc(rep.Ratios, func(r ratio) bool { return r.Name == want }) && len(rep.Ratios) > 0 {
			fmt.Fprintf(w, "  %-9s   not measured in this run\n", want)
		}
	}
	for _, t := range rep.Targets {
		if (t.ID == "b100k" || t.ID == "d100k") && len(t.ColdPasses) > 0 {
			fmt.Fprintf(w, "\n(%s) cold pass before each run (every session's first request in minutes: signs, touches): median %.0f req/s over %d pass(es), %d connections\n", t.ID,
				medianFloat(t.ColdPasses), len(t.ColdPasses), visitConns)
		}
		if t.ID == "b" && t.RSS != nil {
			v := "BELOW"
			if t.RSS.PeakMB <= wantAuthRSSMB {
				v = "PASS"
			}
			fmt.Fprintf(w, "\nRSS of (b) under /auth load: peak %.1f MB, median %.1f MB  target <= %d MB  %s\n",
				t.RSS.PeakMB, t.RSS.MedianMB, wantAuthRSSMB, v)
			fmt.Fprintf(w, "  at the peak: %.1f MB the process's own (RssAnon), %.1f MB mapped files, the binary (RssFile)\n",
				t.RSS.PeakAnonMB, t.RSS.PeakFileMB)
		}
	}
	if len(rep.Failures) > 0 {
		fmt.Fprintln(w, "\nFAILED:")
		for _, f := range rep.Failures {
			fmt.Fprintln(w, "  "+f)
		}
	}
}

func writeJSON(path string, rep *report) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func goBuild(ctx context.Context, root, out, pkg string) error {
	fmt.Fprintf(os.Stderr, "bench: go build -o %s %s\n", relTo(root, out), pkg)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

// moduleRoot is the directory of this module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the ssogate module (go env GOMOD is empty)")
	}
	return filepath.Dir(mod), nil
}

func goVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func gitDescribe(ctx context.Context, root string) string {
	cmd := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

func requireLoopbackURL(u string) error {
	rest, ok := strings.CutPrefix(u, "http://")
	if !ok {
		return fmt.Errorf("target %s: want http://", u)
	}
	host, _, _ := strings.Cut(rest, "/")
	return requireLoopback(host)
}

const tempPrefix = "ssogate-bench-"

// removeStaleTempDirs removes the temporary directories of earlier runs
// that were killed before they could clean up: those whose recorded
// process no longer exists.
func removeStaleTempDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

func relTo(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// firstLine returns the first line of the file at path.
func firstLine(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if line == "" {
		return "", fmt.Errorf("%s: empty", path)
	}
	return line, nil
}

// medianFloat is the median of vs (not empty).
func medianFloat(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
