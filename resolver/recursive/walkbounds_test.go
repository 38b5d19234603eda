package recursive_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/cache"
	"github.com/idres/idres/resolver/recursive"
)

// TestWalkEndsWhenTheLastCallerLeaves: the only caller gives up after
// 100 ms while the walk waits on an endpoint that never answers; the call
// to that endpoint is cancelled then, not when its own timeout (30 s here)
// runs out, so an abandoned walk costs upstream nothing more.
func TestWalkEndsWhenTheLastCallerLeaves(t *testing.T) {
	root := startNode(t)
	root.hold(t, "", negTTL)
	silent, silent2 := hangingAddr(t), hangingAddr(t)
	root.delegate(t, "88", refTTL, silent, silent2)
	tr := &traced{}
	ended := make(chan error, 16)
	w, _ := newWalker(t, newClock(), walkerOpts{timeout: 30 * time.Second, trace: func(s recursive.Step) {
		tr.add(s)
		if s.Addr == silent {
			ended <- s.Err
		}
	}}, root.GRPCAddr())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := w.Resolve(ctx, &idresv1.ResolveRequest{Identifier: "88/x"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("resolve: %v, want the caller's deadline", err)
	}
	left := time.Now()
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("the silent endpoint answered")
		}
		t.Logf("call to the silent endpoint ended %s after the caller left: %v", time.Since(left).Round(time.Millisecond), err)
	case <-time.After(5 * time.Second):
		t.Fatal("5 s after its only caller left, the walk still waits on the silent endpoint")
	}
}

// TestWalkUpstreamCallBudget: delegations padded with dead endpoints (15
// closed ports before the live node at each of three levels) would make a
// walk of 49 calls; a walk makes at most 32, then answers SERVER_FAILURE.
func TestWalkUpstreamCallBudget(t *testing.T) {
	root, national, secondary := startNode(t), startNode(t), startNode(t)
	root.hold(t, "", negTTL)
	national.hold(t, "88", negTTL)
	secondary.hold(t, "88.100", negTTL)
	dead := func(n int) []string {
		var a []string
		for range n {
			a = append(a, closedAddr(t))
		}
		return a
	}
	root.delegate(t, "88", refTTL, append(dead(15), national.GRPCAddr())...)
	national.delegate(t, "88.100", refTTL, append(dead(15), secondary.GRPCAddr())...)
	secondary.delegate(t, "88.100.1", refTTL, dead(16)...)
	w, cnt := newWalker(t, newClock(), walkerOpts{timeout: time.Second}, root.GRPCAddr())
	r := resolve(t, w, "88.100.1/x")
	if r.Outcome != idresv1.Outcome_OUTCOME_SERVER_FAILURE {
		t.Fatalf("%v %s, want SERVER_FAILURE", r.Outcome, r.Message)
	}
	if n := cnt.reset(); n > 32 {
		t.Fatalf("one walk made %d upstream calls, want at most 32", n)
	}
}

// TestWalkTimeoutEndsASilentDelegation: 16 endpoints that accept and never
// answer would hold a walk for 16 upstream timeouts; the walk's own bound
// ends it, and the failure is kept (the walk ran to its end; only an
// abandoned walk is not kept), so a repeat costs no upstream call.
func TestWalkTimeoutEndsASilentDelegation(t *testing.T) {
	root := startNode(t)
	root.hold(t, "", negTTL)
	var silent []string
	for range 16 {
		silent = append(silent, hangingAddr(t))
	}
	root.delegate(t, "88", refTTL, silent...)
	cnt := &counter{by: map[string]int{}}
	w, err := recursive.New(recursive.Config{
		Roots: []string{root.GRPCAddr()}, Cache: cache.New(0, newClock().Now),
		UpstreamTimeout: 500 * time.Millisecond, WalkTimeout: 300 * time.Millisecond,
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(cnt.interceptor())},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	start := time.Now()
	if r := resolve(t, w, "88/x"); r.Outcome != idresv1.Outcome_OUTCOME_SERVER_FAILURE {
		t.Fatalf("%v %s, want SERVER_FAILURE", r.Outcome, r.Message)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("walk took %s, want about the 300ms walk timeout (16 silent endpoints take 8s)", d)
	}
	cnt.reset()
	if r := resolve(t, w, "88/x"); r.Outcome != idresv1.Outcome_OUTCOME_SERVER_FAILURE {
		t.Fatalf("repeat: %v %s, want SERVER_FAILURE", r.Outcome, r.Message)
	}
	if n := cnt.reset(); n != 0 {
		t.Fatalf("repeat made %d upstream calls, want 0 (the timed-out walk's failure is kept)", n)
	}
}
