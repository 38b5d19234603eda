package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h, a, b latencyHist
	var all []time.Duration
	for i := range 100000 {
		d := time.Duration(r.ExpFloat64() * float64(time.Millisecond))
		if i%10 == 0 {
			d = time.Duration(r.IntN(100)) // exact region
		}
		all = append(all, d)
		h.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	slices.Sort(all)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		want := all[max(int(q*float64(len(all))+0.5), 1)-1]
		for name, hh := range map[string]*latencyHist{"direct": &h, "merged": &a} {
			got := hh.Quantile(q)
			// Within the bucket width: 1/64 of the value, or exact below 128 ns.
			if got < want || float64(got-want) > float64(want)/64+1 {
				t.Errorf("%s q%.3f = %v, want %v (within 1/64)", name, q, got, want)
			}
		}
	}
	if h.Count() != 100000 || h.Max() != all[len(all)-1] {
		t.Errorf("count %d max %v, want 100000 and %v", h.Count(), h.Max(), all[len(all)-1])
	}
	for i := range 3000 {
		if v := histValue(i); histIndex(v) != i || (i > 0 && histIndex(histValue(i-1)+1) != i) {
			t.Fatalf("bucket %d: top %d maps to %d", i, v, histIndex(v))
		}
	}
}

// TestBenchModes runs each load generator for about a second against a
// real node holding a small generated data set.
func TestBenchModes(t *testing.T) {
	n, at := bulkNode(t)
	data := filepath.Join(t.TempDir(), "data.jsonl")
	queries := filepath.Join(t.TempDir(), "q.txt")
	if code, _, errs := at("bench", "gen", "--ids", "300", "-o", data, "--dnsperf", queries); code != 0 {
		t.Fatalf("gen: %s", errs)
	}
	if lines, _ := os.ReadFile(queries); strings.Count(string(lines), " TXT\n") != 300 || !strings.Contains(string(lines), "._id.100.88.id.example.") {
		t.Fatalf("dnsperf file:\n%.300s", lines)
	}
	var rep benchReport
	// Resolves go without the credential: the node rate-limits
	// credentialed calls, and resolving needs none.
	anon := func(args ...string) (int, string, string) {
		return runCLI(t, nil, append([]string{"--server", n.GRPCAddr()}, args...)...)
	}
	run := func(args ...string) benchReport {
		t.Helper()
		call := anon
		if args[0] == "import" {
			call = at
		}
		code, out, errs := call(append([]string{"--json", "bench"}, args...)...)
		if code != 0 {
			t.Fatalf("bench %v: exit %d: %s", args, code, errs)
		}
		rep = benchReport{}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("bench %v: %v\n%s", args, err, out)
		}
		return rep
	}
	imp := run("import", "--file", data, "--batch", "100")
	if imp.Ops != 300 || imp.Errors != 0 || imp.Outcomes["created"] != 300 {
		t.Fatalf("import: %+v", imp)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"resolve for a second", []string{"resolve", "--duration", "1s", "--ids", "300", "--conns", "2", "--concurrency", "2"}},
		{"resolve by count at a rate", []string{"resolve", "--count", "50", "--rate", "200", "--ids", "300", "--seq"}},
		{"stream for a second", []string{"stream", "--duration", "1s", "--ids", "300", "--batch", "20", "--conns", "2"}},
		{"stream by count", []string{"stream", "--count", "1000", "--ids", "300", "--batch", "30"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(tc.args...)
			if r.Ops == 0 || r.Errors != 0 || r.Outcomes["OK"] != r.Ops || r.PerSecond <= 0 || r.Lat.P50 <= 0 || r.Lat.P999 < r.Lat.P50 {
				t.Fatalf("report %+v", r)
			}
			if slices.Contains(tc.args, "--count") {
				want := tc.args[slices.Index(tc.args, "--count")+1]
				if got := json.Number(strings.TrimSpace(string(must(json.Marshal(r.Ops))))); string(got) != want {
					t.Fatalf("ops %d, want %s", r.Ops, want)
				}
			}
		})
	}
	// Text output names the percentiles.
	code, out, _ := anon("bench", "resolve", "--count", "10", "--ids", "300")
	if code != 0 || !strings.Contains(out, "p99.9") {
		t.Fatalf("text report: %d %q", code, out)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
