package main

import (
	"bufio"
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rssSample is a process's resident memory at one moment, in bytes:
// VmRSS and its parts from /proc/PID/status. Anon is the process's own
// memory (the Go heap, stacks, C's malloc); File is mapped files, most of
// it the executable, whose resident share depends on how the kernel
// cached and maps the file (a freshly built binary is often mapped in
// 2 MiB pages, and then all of it counts).
type rssSample struct {
	Total, Anon, File int64
}

// readRSS reads process pid's resident memory.
func readRSS(pid int) (rssSample, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return rssSample{}, err
	}
	return parseStatusRSS(string(b))
}

// parseStatusRSS reads VmRSS, RssAnon and RssFile from the text of a
// /proc/PID/status file.
func parseStatusRSS(status string) (rssSample, error) {
	var r rssSample
	fields := map[string]*int64{"VmRSS:": &r.Total, "RssAnon:": &r.Anon, "RssFile:": &r.File}
	found := 0
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		if dst := fields[name]; dst != nil {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return rssSample{}, fmt.Errorf("%s %q: %w", name, v, err)
			}
			*dst = kb * 1024
			found++
		}
	}
	if r.Total == 0 || found < len(fields) {
		return rssSample{}, fmt.Errorf("no VmRSS, RssAnon and RssFile in the status")
	}
	return r, nil
}

// sampleRSSOf samples pid's VmRSS every 100 ms until stop is closed, then
// sends the samples.
func sampleRSSOf(pid int, stop <-chan struct{}, out chan<- []rssSample) {
	var s []rssSample
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if v, err := readRSS(pid); err == nil {
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

// rssSummary is a target's resident memory under load, in MB (10^6
// bytes): VmRSS at its peak and median, and the peak sample's parts.
type rssSummary struct {
	PeakMB   float64 `json:"peak_mb"`
	MedianMB float64 `json:"median_mb"`
	// PeakAnonMB and PeakFileMB split the peak sample: the process's own
	// memory, and mapped files (the executable).
	PeakAnonMB float64 `json:"peak_anon_mb"`
	PeakFileMB float64 `json:"peak_file_mb"`
	Samples    int     `json:"samples"`
}

func summarizeRSS(s []rssSample) *rssSummary {
	if len(s) == 0 {
		return nil
	}
	s = slices.Clone(s)
	slices.SortFunc(s, func(a, b rssSample) int { return cmp.Compare(a.Total, b.Total) })
	peak := s[len(s)-1]
	return &rssSummary{PeakMB: float64(peak.Total) / 1e6, MedianMB: float64(s[len(s)/2].Total) / 1e6,
		PeakAnonMB: float64(peak.Anon) / 1e6, PeakFileMB: float64(peak.File) / 1e6, Samples: len(s)}
}
