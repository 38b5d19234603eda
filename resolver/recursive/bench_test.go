package recursive_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

// Latency through a real recursive node (gRPC in front of the walker) over
// the four-level loopback hierarchy:
//
//	go test -run '^$' -bench Recursive -benchtime 2000x ./resolver/recursive
//
// Cold: every iteration flushes the cache through the Admin service (not
// timed) and resolves, so it walks root -> 88 -> 88.100 -> 88.100.1.
// Warm: the answer is cached; one gRPC round trip to the recursive node.
func BenchmarkRecursive(b *testing.B) {
	h := startHierarchy(b)
	rec, err := node.Start(node.Config{
		DataDir: b.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: quiet(),
		Recursive: node.RecursiveConfig{Roots: []string{h.root.GRPCAddr()}},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rec.Stop(context.Background()) })
	c, err := client.Dial(rec.GRPCAddr(), client.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := &idresv1.ResolveRequest{Identifier: "88.100.1/pump-001"}
	ask := func(b *testing.B) {
		resp, err := c.Resolve(context.Background(), req)
		if err != nil || resp.Outcome != idresv1.Outcome_OUTCOME_OK {
			b.Fatalf("resolve: %v %v", resp.GetOutcome(), err)
		}
	}
	b.Run("cold", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			b.StopTimer()
			rec.Walker().Cache().Flush("")
			b.StartTimer()
			t0 := time.Now()
			ask(b)
			lat = append(lat, time.Since(t0))
		}
		reportMedian(b, lat)
	})
	b.Run("warm", func(b *testing.B) {
		ask(b)
		var lat []time.Duration
		for b.Loop() {
			t0 := time.Now()
			ask(b)
			lat = append(lat, time.Since(t0))
		}
		reportMedian(b, lat)
	})
}

// reportMedian adds the median latency of one resolution as a metric: the
// mean (ns/op) is pulled up by the odd scheduling stall on a shared box.
func reportMedian(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "median-µs")
}
