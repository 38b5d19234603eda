package recursive_test

import (
	"context"
	"strings"
	"testing"
	"time"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// TestFailoverToTheNextEndpoint: a delegation lists a dead endpoint first
// (a closed port, or one that accepts TCP and never answers) and the real
// node second; the answer still comes, within the per-endpoint timeout
// plus a margin. With no live endpoint, SERVER_FAILURE names each one.
func TestFailoverToTheNextEndpoint(t *testing.T) {
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name  string
		first func(testing.TB) string
		live  bool
		want  idresv1.Outcome
	}{
		{"closed port first", closedAddr, true, idresv1.Outcome_OUTCOME_OK},
		{"hanging endpoint first", hangingAddr, true, idresv1.Outcome_OUTCOME_OK},
		{"only a closed port", closedAddr, false, idresv1.Outcome_OUTCOME_SERVER_FAILURE},
		{"only a hanging endpoint", hangingAddr, false, idresv1.Outcome_OUTCOME_SERVER_FAILURE},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, leaf := startNode(t), startNode(t)
			root.hold(t, "", negTTL)
			leaf.hold(t, "88", negTTL)
			leaf.register(t, "88/part", valueTTL, "URL", "https://example.com/part")
			dead := tc.first(t)
			endpoints := []string{dead}
			if tc.live {
				endpoints = append(endpoints, leaf.GRPCAddr())
			}
			root.delegate(t, "88", refTTL, endpoints...)
			w, _ := newWalker(t, newClock(), walkerOpts{timeout: timeout}, root.GRPCAddr())

			// The whole resolution must finish well inside this bound: one
			// timeout for the dead endpoint plus a generous margin.
			ctx, cancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
			defer cancel()
			resp, err := w.Resolve(ctx, &idresv1.ResolveRequest{Identifier: "88/part"})
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			if resp.Outcome != tc.want {
				t.Fatalf("outcome %v (%s), want %v", resp.Outcome, resp.Message, tc.want)
			}
			if tc.want == idresv1.Outcome_OUTCOME_SERVER_FAILURE && !strings.Contains(resp.Message, dead) {
				t.Errorf("failure message %q does not name the endpoint %s", resp.Message, dead)
			}
		})
	}
}

// TestRootFailover: the first root hint is down; the second answers.
func TestRootFailover(t *testing.T) {
	h := startHierarchy(t)
	w, _ := newWalker(t, newClock(), walkerOpts{timeout: 300 * time.Millisecond}, closedAddr(t), h.root.GRPCAddr())
	if r := resolve(t, w, "88.100.1/pump-001"); r.Outcome != idresv1.Outcome_OUTCOME_OK {
		t.Fatalf("%v %s", r.Outcome, r.Message)
	}
}

// TestStaleCachedReferralFallsBackToTheParent: the enterprise prefix moves
// to a new node while the old referral is still cached; the old node is
// gone, so the walker forgets that referral, asks the parent zone again,
// and follows the new delegation.
func TestStaleCachedReferralFallsBackToTheParent(t *testing.T) {
	h := startHierarchy(t)
	w, _ := newWalker(t, newClock(), walkerOpts{timeout: 300 * time.Millisecond}, h.root.GRPCAddr())
	if r := resolve(t, w, "88.100.1/pump-001"); r.Outcome != idresv1.Outcome_OUTCOME_OK {
		t.Fatalf("%v %s", r.Outcome, r.Message)
	}
	moved := startNode(t)
	moved.hold(t, "88.100.1", negTTL)
	moved.register(t, "88.100.1/moved-part", valueTTL, "URL", "https://example.com/moved")
	h.secondary.delegate(t, "88.100.1", refTTL, moved.GRPCAddr())
	h.enterprise.Stop(context.Background())

	r := resolve(t, w, "88.100.1/moved-part")
	if r.Outcome != idresv1.Outcome_OUTCOME_OK {
		t.Fatalf("after the move: %v %s", r.Outcome, r.Message)
	}
	if r := resolve(t, w, "88.100.1/moved-part"); r.Outcome != idresv1.Outcome_OUTCOME_OK {
		t.Fatalf("repeat: %v %s", r.Outcome, r.Message)
	}
}
