package recursive_test

import (
	"strings"
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/recursive"
)

// TestReferralLoopEndsInServerFailure: misconfigured nodes refer to each
// other; the walk ends with SERVER_FAILURE naming the loop, not a hang.
func TestReferralLoopEndsInServerFailure(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, a, b *authNode)
		id    string
		want  string
	}{
		{
			// a and b each hold the root and delegate 88 to the other.
			name: "repeat of the same cut",
			setup: func(t *testing.T, a, b *authNode) {
				a.hold(t, "", negTTL)
				b.hold(t, "", negTTL)
				a.delegate(t, "88", refTTL, b.GRPCAddr())
				b.delegate(t, "88", refTTL, a.GRPCAddr())
			},
			id:   "88/x",
			want: "repeat",
		},
		{
			// a delegates 88.100 to b; b holds only the root and refers 88
			// (above the previous cut) back to a.
			name: "upward referral",
			setup: func(t *testing.T, a, b *authNode) {
				a.hold(t, "", negTTL)
				a.delegate(t, "88.100", refTTL, b.GRPCAddr())
				b.hold(t, "", negTTL)
				b.delegate(t, "88", refTTL, a.GRPCAddr())
			},
			id:   "88.100/x",
			want: "upward",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := startNode(t), startNode(t)
			tc.setup(t, a, b)
			clk := newClock()
			w, cnt := newWalker(t, clk, walkerOpts{}, a.GRPCAddr())
			resp := resolve(t, w, tc.id)
			if resp.Outcome != idresv1.Outcome_OUTCOME_SERVER_FAILURE {
				t.Fatalf("outcome %v (%s), want SERVER_FAILURE", resp.Outcome, resp.Message)
			}
			if !strings.Contains(resp.Message, "referral loop") || !strings.Contains(resp.Message, tc.want) {
				t.Errorf("message %q does not name the loop (%q)", resp.Message, tc.want)
			}
			if n := cnt.reset(); n > 3 {
				t.Errorf("loop detection took %d upstream calls, want at most 3", n)
			}
			// A failure is kept briefly (REC-014), then walked again.
			resolve(t, w, tc.id)
			if n := cnt.reset(); n != 0 {
				t.Errorf("repeat within the failure TTL made %d upstream calls, want 0", n)
			}
			clk.Add(recursive.DefaultFailureTTL)
			resolve(t, w, tc.id)
			if n := cnt.reset(); n == 0 {
				t.Error("SERVER_FAILURE was served from the cache after its TTL")
			}
		})
	}
}
