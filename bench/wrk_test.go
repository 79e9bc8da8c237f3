package main

import "testing"

const wrkSample = `Running 3s test @ http://127.0.0.1:18070/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   539.11us  400.07us   8.40ms   86.55%
    Req/Sec    60.21k     4.26k   68.47k    71.67%
  Latency Distribution
     50%  426.00us
     75%  657.00us
     90%    1.00ms
     99%    1.96ms
  359471 requests in 3.00s, 40.11MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 12
Requests/sec: 119815.03
Transfer/sec:     13.37MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{ReqPerSec: 119815.03, P50us: 426, P99us: 1960, Requests: 359471, Non2xx: 12, SocketErrors: 5, Timeouts: 3}
	if r != want {
		t.Errorf("parseWrk = %+v, want %+v", r, want)
	}
	if _, err := parseWrk("Running 1s test\n"); err == nil {
		t.Error("parseWrk of a truncated report: no error")
	}
}

func TestToMicros(t *testing.T) {
	for _, c := range []struct {
		num, unit string
		want      float64
	}{{"12.5", "us", 12.5}, {"1.50", "ms", 1500}, {"2.00", "s", 2e6}, {"1.00", "m", 60e6}} {
		if got, err := toMicros(c.num, c.unit); err != nil || got != c.want {
			t.Errorf("toMicros(%s%s) = %v, %v; want %v", c.num, c.unit, got, err, c.want)
		}
	}
}

func TestParseOnly(t *testing.T) {
	got, err := parseOnly("c, a,d2,b'")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "c", "b'", "d'"}; len(got) != len(want) || got[0] != "a" || got[1] != "c" || got[2] != "b'" || got[3] != "d'" {
		t.Errorf("parseOnly = %q, want %q", got, want)
	}
	if _, err := parseOnly("a,x"); err == nil {
		t.Error("parseOnly(a,x): no error")
	}
}
