package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// vmRSS reads the resident set size of process pid in bytes.
func vmRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// sampleRSSOf samples pid's VmRSS every 100 ms until stop is closed, then
// sends the samples.
func sampleRSSOf(pid int, stop <-chan struct{}, out chan<- []int64) {
	var s []int64
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if v, err := vmRSS(pid); err == nil {
			s = append(s, v)
		}
		select {
		case <-tick.C:
		case <-stop:
			out <- s
			return
		}
	}
}

// rssSummary is a target's resident memory under load, in MB (10^6 bytes).
type rssSummary struct {
	PeakMB   float64 `json:"peak_mb"`
	MedianMB float64 `json:"median_mb"`
	Samples  int     `json:"samples"`
}

func summarizeRSS(s []int64) *rssSummary {
	if len(s) == 0 {
		return nil
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return &rssSummary{PeakMB: float64(s[len(s)-1]) / 1e6, MedianMB: float64(s[len(s)/2]) / 1e6, Samples: len(s)}
}
