package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMedianAndRatio(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	a := &result{Runs: []float64{100, 90, 80}}
	b := &result{Runs: []float64{100, 100, 200}}
	if got := ratioRuns(a, b); got != 0.9 {
		t.Errorf("ratio of runs = %v, want the median of 1, 0.9, 0.4 = 0.9", got)
	}
}

func TestParseDnsperf(t *testing.T) {
	out := []byte(`Statistics:

  Queries sent:         200010
  Queries completed:    200010 (100.00%)
  Queries lost:         0 (0.00%)

  Response codes:       NOERROR 200010 (100.00%)
  Average packet size:  request 54, response 180
  Run time (s):         10.000614
  Queries per second:   19999.772007

  Average Latency (s):  0.000957 (min 0.000022, max 0.012029)
  Latency StdDev (s):   0.000577
`)
	qps, avg, err := parseDnsperf(out)
	if err != nil || qps != 19999.772007 || avg != 0.957 {
		t.Fatalf("got %v qps, %v ms, %v", qps, avg, err)
	}
	if _, _, err := parseDnsperf([]byte("Queries completed:    0 (0.00%)\nQueries per second: 0\nAverage Latency (s): 0\n")); err == nil {
		t.Fatal("no completed query must be an error")
	}
	if _, _, err := parseDnsperf([]byte("garbage")); err == nil {
		t.Fatal("garbage must be an error")
	}
}

// TestReport writes the Markdown and the SVG from results and checks both
// carry the figures, the targets and well-formed SVG.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	logf, _ := os.Create(filepath.Join(dir, "bench.log"))
	defer logf.Close()
	r := &runner{out: filepath.Join(dir, "results.md"), n: 1000, runs: 2, log: logf}
	r.results = []*result{
		{Name: "unary Resolve", System: "idres", Unit: "requests/s", Runs: []float64{900, 1100}, P50: []float64{0.5, 0.7}, P99: []float64{2, 4}, Command: "idres bench resolve"},
		{Name: "unary Resolve", System: "bare grpc-go", Unit: "requests/s", Runs: []float64{1000, 1000}, P99: []float64{1, 1}},
		{Name: "import (durable)", System: "idres", Unit: "identifiers/s", Runs: []float64{50}},
		{Name: "import (durable)", System: "raw bbolt", Unit: "identifiers/s", Runs: []float64{100}},
	}
	r.notes = []string{"a <note> & more"}
	if err := r.report(0); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(r.out)
	for _, want := range []string{
		"| unary Resolve | idres | 1000 requests/s | 900, 1100 | 0.600 | 3.000 |",
		"| unary Resolve ≥ 0.8× bare grpc-go | 1.00× | yes |",
		"| import ≥ 0.7× raw bbolt | 0.50× | no |",
		"| DNS bridge ≥ 1.2× CoreDNS queries/s | not measured | – |",
		"`idres bench resolve`", "2 cores", "results.svg",
	} {
		if !strings.Contains(string(md), want) && !strings.Contains(string(md), strings.Replace(want, "2 cores", "cores", 1)) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "results.svg"))
	if err := xml.Unmarshal(svg, new(struct{})); err != nil {
		t.Fatalf("SVG is not well-formed: %v", err)
	}
	if !strings.Contains(string(svg), "bare grpc-go") || !strings.Contains(string(svg), "p99 3.00 ms") {
		t.Errorf("SVG lacks a bar label:\n%s", svg)
	}
}

// TestReportServerCPU: the Handle rows' server CPU per request is its own
// table, with the first system's throughput over each other's.
func TestReportServerCPU(t *testing.T) {
	dir := t.TempDir()
	logf, _ := os.Create(filepath.Join(dir, "bench.log"))
	defer logf.Close()
	r := &runner{out: filepath.Join(dir, "results.md"), n: 1000, runs: 2, log: logf}
	r.results = []*result{
		{Name: "unary Resolve", System: "idres", Unit: "requests/s", Runs: []float64{900, 1100}},
		{Name: "Handle resolution over TCP", System: "idresd --handle", Unit: "requests/s", Runs: []float64{20000, 30000}, CPU: []float64{40, 50}},
		{Name: "Handle resolution over TCP", System: "CNRI HANDLE.NET 7.3.1", Unit: "requests/s", Runs: []float64{10000, 10000}, CPU: []float64{100, 120}},
	}
	if err := r.report(0); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(r.out)
	for _, want := range []string{
		"## Server CPU per request",
		"| Handle resolution over TCP | idresd --handle | 25000 requests/s | 45 | 40, 50 | – |",
		"| Handle resolution over TCP | CNRI HANDLE.NET 7.3.1 | 10000 requests/s | 110 | 100, 120 | 2.50× |",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(string(md), "| unary Resolve | idres | 1000 requests/s | 0 |") {
		t.Error("a row without CPU figures is in the CPU table")
	}
}
