package recursive_test

import (
	"context"
	"sync"
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// TestConcurrentMissesMakeOneUpstreamQuery: 1,000 concurrent resolutions
// of the same missing identifier make one upstream query (the referrals
// are cached first, so a full walk is exactly one call), and a cold
// stampede makes exactly one walk.
func TestConcurrentMissesMakeOneUpstreamQuery(t *testing.T) {
	h := startHierarchy(t)
	tests := []struct {
		name  string
		warm  bool
		calls int64
	}{
		{"referrals cached", true, 1},
		{"cold", false, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, cnt := newWalker(t, newClock(), walkerOpts{}, h.root.GRPCAddr())
			if tc.warm {
				resolve(t, w, "88.100.1/pump-001")
				cnt.reset()
			}
			const n = 1000
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make(chan string, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					resp, err := w.Resolve(context.Background(), &idresv1.ResolveRequest{Identifier: "88.100.1/no-such-part"})
					switch {
					case err != nil:
						errs <- err.Error()
					case resp.Outcome != idresv1.Outcome_OUTCOME_NOT_FOUND:
						errs <- resp.Outcome.String() + " " + resp.Message
					}
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Fatalf("a caller got %s", e)
			}
			if got := cnt.reset(); got != tc.calls {
				t.Fatalf("%d concurrent resolutions made %d upstream calls, want %d", n, got, tc.calls)
			}
			st := w.Stats()
			walks := uint64(1)
			if tc.warm {
				walks = 2 // the warm-up and the stampede
			}
			if st.Walks != walks {
				t.Fatalf("stats %+v: want %d walks", st, walks)
			}
		})
	}
}
