package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	ReqPerSec    float64 `json:"req_per_sec"`
	P50us        float64 `json:"p50_us"`
	P99us        float64 `json:"p99_us"`
	Requests     int64   `json:"requests"`
	Non2xx       int64   `json:"non_2xx"` // wrk's "Non-2xx or 3xx responses" (status >= 400)
	SocketErrors int64   `json:"socket_errors"`
	Timeouts     int64   `json:"timeouts"`
}

// wrkOptions are the load settings shared by every target.
type wrkOptions struct {
	threads     int
	connections int
}

// runWrk runs wrk against url for d with the given headers and, when
// script is given, the Lua script script[0] with the arguments script[1:].
func runWrk(ctx context.Context, o wrkOptions, d time.Duration, url string, headers []string, script ...string) (wrkResult, string, error) {
	args := []string{
		"-t" + strconv.Itoa(o.threads),
		"-c" + strconv.Itoa(o.connections),
		"-d" + wrkDuration(d),
		"--latency",
	}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	if len(script) > 0 {
		args = append(args, "-s", script[0])
	}
	args = append(args, url)
	if len(script) > 1 {
		args = append(args, "--")
		args = append(args, script[1:]...)
	}
	cmd := exec.CommandContext(ctx, "wrk", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the benchmark
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return wrkResult{}, "", ctx.Err()
		}
		return wrkResult{}, out.String(), fmt.Errorf("wrk %s: %v\n%s%s", url, err, out.String(), errb.String())
	}
	res, err := parseWrk(out.String())
	if err != nil {
		return res, out.String(), fmt.Errorf("wrk %s: %v; its output:\n%s", url, err, out.String())
	}
	return res, out.String(), nil
}

// wrkDuration writes d the way wrk reads it (whole seconds, at least 1).
func wrkDuration(d time.Duration) string {
	s := int64((d + time.Second/2) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10) + "s"
}

var (
	reReqSec   = regexp.MustCompile(`^Requests/sec:\s+([0-9.]+)`)
	rePercent  = regexp.MustCompile(`^\s*(50|99)(?:\.0+)?%\s+([0-9.]+)(us|ms|s|m|h)\s*$`)
	reRequests = regexp.MustCompile(`^\s*(\d+) requests in `)
	reNon2xx   = regexp.MustCompile(`^\s*Non-2xx or 3xx responses:\s+(\d+)`)
	reSockErr  = regexp.MustCompile(`^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk's --latency report.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveRPS, have50, have99, haveReq, inDist bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "Latency Distribution") {
			inDist = true
			continue
		}
		if m := reReqSec.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				return r, fmt.Errorf("Requests/sec %q: %v", m[1], err)
			}
			r.ReqPerSec, haveRPS = v, true
			continue
		}
		if inDist {
			if m := rePercent.FindStringSubmatch(line); m != nil {
				us, err := toMicros(m[2], m[3])
				if err != nil {
					return r, err
				}
				if m[1] == "50" {
					r.P50us, have50 = us, true
				} else {
					r.P99us, have99 = us, true
				}
				continue
			}
		}
		if m := reRequests.FindStringSubmatch(line); m != nil {
			r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
			haveReq = true
			inDist = false
			continue
		}
		if m := reNon2xx.FindStringSubmatch(line); m != nil {
			r.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
			continue
		}
		if m := reSockErr.FindStringSubmatch(line); m != nil {
			for i := 1; i <= 4; i++ {
				n, _ := strconv.ParseInt(m[i], 10, 64)
				r.SocketErrors += n
			}
			r.Timeouts, _ = strconv.ParseInt(m[4], 10, 64)
		}
	}
	var missing []string
	if !haveRPS {
		missing = append(missing, "Requests/sec")
	}
	if !have50 {
		missing = append(missing, "50% latency")
	}
	if !have99 {
		missing = append(missing, "99% latency")
	}
	if !haveReq {
		missing = append(missing, "request count")
	}
	if len(missing) > 0 {
		return r, fmt.Errorf("could not find %s in wrk's output", strings.Join(missing, ", "))
	}
	return r, nil
}

func toMicros(num, unit string) (float64, error) {
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("latency %q: %v", num+unit, err)
	}
	switch unit {
	case "us":
		return v, nil
	case "ms":
		return v * 1e3, nil
	case "s":
		return v * 1e6, nil
	case "m":
		return v * 60e6, nil
	case "h":
		return v * 3600e6, nil
	}
	return 0, fmt.Errorf("latency %q: unknown unit", num+unit)
}

// fmtMicros writes a latency the way wrk does: us, ms or s.
func fmtMicros(us float64) string {
	switch {
	case us < 1000:
		return strconv.FormatFloat(us, 'f', 0, 64) + "us"
	case us < 1e6:
		return strconv.FormatFloat(us/1e3, 'f', 2, 64) + "ms"
	default:
		return strconv.FormatFloat(us/1e6, 'f', 2, 64) + "s"
	}
}

// wrkVersion is wrk's first line of -v, e.g. "wrk debian/4.1.0-3+b2 [epoll]".
func wrkVersion() string {
	out, _ := exec.Command("wrk", "-v").CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	line = strings.TrimSpace(line)
	if i := strings.Index(line, " Copyright"); i >= 0 {
		line = line[:i]
	}
	return line
}
