package recursive_test

import (
	"context"
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// TestRecursiveKeepsPatternAndTombstone: a walk through the hierarchy
// answers a pattern-derived identifier (marked) and a tombstone (GONE with
// its successor), and the cached repeats say the same.
func TestRecursiveKeepsPatternAndTombstone(t *testing.T) {
	h := startHierarchy(t)
	ctx := context.Background()
	if _, err := h.enterprise.admin.SetPattern(ctx, &idresv1.SetPatternRequest{Pattern: &idresv1.Pattern{Prefix: "88.100.1", Pattern: "PUMP-{serial:000000-999999}",
		Values: []*idresv1.Value{{Index: 1, Type: "URL", Data: []byte("https://example.com/pumps/{serial}")}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.enterprise.admin.DeleteIdentifier(ctx, &idresv1.DeleteIdentifierRequest{Identifier: "88.100.1/valve-7",
		Tombstone: &idresv1.TombstoneOptions{Reason: "recalled", Successor: "88.100.1/valve-8"}}); err != nil {
		t.Fatal(err)
	}
	w, cnt := newWalker(t, newClock(), walkerOpts{}, h.root.GRPCAddr())
	for _, pass := range []string{"walk", "cache"} {
		r := resolve(t, w, "88.100.1/PUMP-000042")
		if r.Outcome != idresv1.Outcome_OUTCOME_OK || r.DerivedFromPattern != "PUMP-{serial:000000-999999}" || len(r.Values) != 1 ||
			string(r.Values[0].Data) != "https://example.com/pumps/000042" || r.Authoritative {
			t.Errorf("%s: derived: %v", pass, r)
		}
		r = resolve(t, w, "88.100.1/Valve-7")
		if r.Outcome != idresv1.Outcome_OUTCOME_GONE || r.Tombstone.GetSuccessor() != "88.100.1/valve-8" || r.Tombstone.GetReason() != "recalled" || r.Ttl == 0 {
			t.Errorf("%s: tombstone: %v", pass, r)
		}
		if pass == "walk" {
			cnt.reset()
		} else if n := cnt.reset(); n != 0 {
			t.Errorf("repeats made %d upstream calls, want 0", n)
		}
	}
}
