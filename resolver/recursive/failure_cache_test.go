package recursive_test

import (
	"testing"
	"time"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// TestServerFailureIsCachedBriefly: a walk that ends in SERVER_FAILURE is
// remembered for a short time under the identifier (as DNS resolvers keep
// a SERVFAIL, RFC 9520): a repeat within it makes no upstream call, a
// repeat after it walks again, and another identifier walks on its own.
func TestServerFailureIsCachedBriefly(t *testing.T) {
	root := startNode(t)
	root.hold(t, "", negTTL)
	root.delegate(t, "88", refTTL, closedAddr(t))
	clk := newClock()
	w, cnt := newWalker(t, clk, walkerOpts{timeout: time.Second}, root.GRPCAddr())
	steps := []struct {
		name    string
		advance time.Duration
		id      string
		calls   func(int64) bool
		want    string
	}{
		{"first", 0, "88/x", func(n int64) bool { return n == 2 }, "2 (root, dead endpoint)"},
		{"repeat", time.Second, "88/X", func(n int64) bool { return n == 0 }, "0 (cached failure)"},
		{"another identifier", 0, "88/y", func(n int64) bool { return n > 0 }, "some"},
		{"after a minute", time.Minute, "88/x", func(n int64) bool { return n > 0 }, "some (the failure expired)"},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		r := resolve(t, w, s.id)
		if r.Outcome != idresv1.Outcome_OUTCOME_SERVER_FAILURE {
			t.Fatalf("%s: %v %s, want SERVER_FAILURE", s.name, r.Outcome, r.Message)
		}
		if r.Ttl != 0 {
			t.Errorf("%s: SERVER_FAILURE with ttl %d, want 0 (callers must not cache it)", s.name, r.Ttl)
		}
		if n := cnt.reset(); !s.calls(n) {
			t.Fatalf("%s: %d upstream calls, want %s", s.name, n, s.want)
		}
	}
}
