package recursive_test

import (
	"context"
	"strings"
	"testing"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/recursive"
)

// TestHierarchyThroughRecursiveNode asks a real recursive node (idresd
// --recursive) about the four-level hierarchy.
func TestHierarchyThroughRecursiveNode(t *testing.T) {
	h := startHierarchy(t)
	rec, err := node.Start(node.Config{
		DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: quiet(),
		Recursive: node.RecursiveConfig{Roots: []string{h.root.GRPCAddr()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Stop(context.Background()) })
	c, err := client.Dial(rec.GRPCAddr(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	tests := []struct {
		name    string
		id      string
		types   []string
		want    idresv1.Outcome
		wantID  string
		values  int
		ttl     uint32
		message string
	}{
		{name: "part at the leaf", id: "88.100.1/pump-001", want: idresv1.Outcome_OUTCOME_OK, wantID: "88.100.1/Pump-001", values: 3, ttl: valueTTL},
		{name: "type filter applied by the recursive node", id: "88.100.1/PUMP-001", types: []string{"manufacturer"}, want: idresv1.Outcome_OUTCOME_OK, values: 1, ttl: valueTTL},
		{name: "filter matching nothing", id: "88.100.1/pump-001", types: []string{"EMAIL"}, want: idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND},
		{name: "missing at the leaf", id: "88.100.1/nope", want: idresv1.Outcome_OUTCOME_NOT_FOUND, ttl: negTTL},
		{name: "missing prefix in the national zone", id: "88.200/x", want: idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND, ttl: negTTL, message: "88.200"},
		{name: "missing prefix in the secondary zone", id: "88.100.2/x", want: idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND, ttl: negTTL},
		{name: "prefix the root does not delegate", id: "86/x", want: idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND, ttl: negTTL},
		{name: "prefix handle of the enterprise prefix", id: "0.NA/88.100.1", want: idresv1.Outcome_OUTCOME_OK, values: 1, ttl: refTTL},
		{name: "prefix handle of the national prefix", id: "0.NA/88", want: idresv1.Outcome_OUTCOME_OK, values: 1, ttl: refTTL},
		{name: "invalid identifier", id: "88..1/x", want: idresv1.Outcome_OUTCOME_INVALID_IDENTIFIER},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Resolve(context.Background(), &idresv1.ResolveRequest{Identifier: tc.id, Types: tc.types, Recursive: true})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Outcome != tc.want {
				t.Fatalf("outcome = %v (%s), want %v", resp.Outcome, resp.Message, tc.want)
			}
			if resp.Authoritative {
				t.Error("recursive answer says authoritative=true")
			}
			if len(resp.Values) != tc.values {
				t.Errorf("%d values, want %d", len(resp.Values), tc.values)
			}
			if tc.wantID != "" && resp.Identifier != tc.wantID {
				t.Errorf("identifier = %q, want the registrant's spelling %q", resp.Identifier, tc.wantID)
			}
			if tc.ttl != 0 && resp.Ttl != tc.ttl {
				t.Errorf("ttl = %d, want %d", resp.Ttl, tc.ttl)
			}
			if !strings.Contains(resp.Message, tc.message) {
				t.Errorf("message %q does not mention %q", resp.Message, tc.message)
			}
		})
	}
}

// TestRecursiveNodeExportsMetrics: the walker's counters are in the
// node's Prometheus registry.
func TestRecursiveNodeExportsMetrics(t *testing.T) {
	h := startHierarchy(t)
	rec, err := node.Start(node.Config{
		DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: quiet(),
		Recursive: node.RecursiveConfig{Roots: []string{h.root.GRPCAddr()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Stop(context.Background()) })
	resolve(t, rec.Walker(), "88.100.1/pump-001")
	resolve(t, rec.Walker(), "88.100.1/pump-001")
	fams, err := rec.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			got[f.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	for name, want := range map[string]float64{
		"idres_recursive_walks_total":            1,
		"idres_recursive_cache_hits_total":       1,
		"idres_recursive_upstream_queries_total": 4,
		"idres_recursive_failures_total":         0,
		"idres_cache_entries":                    4,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
}

// TestEachLevelRefersOneDown asks each authoritative node directly, with
// recursive=true: each answers what it knows, a referral one level down,
// and the leaf answers.
func TestEachLevelRefersOneDown(t *testing.T) {
	h := startHierarchy(t)
	tests := []struct {
		name     string
		at       *authNode
		want     idresv1.Outcome
		referral string
		to       string
	}{
		{"root", h.root, idresv1.Outcome_OUTCOME_REFERRAL, "88", h.national.GRPCAddr()},
		{"national", h.national, idresv1.Outcome_OUTCOME_REFERRAL, "88.100", h.secondary.GRPCAddr()},
		{"secondary", h.secondary, idresv1.Outcome_OUTCOME_REFERRAL, "88.100.1", h.enterprise.GRPCAddr()},
		{"enterprise", h.enterprise, idresv1.Outcome_OUTCOME_OK, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.at.admin.Resolve(context.Background(), &idresv1.ResolveRequest{Identifier: "88.100.1/pump-001", Recursive: true})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Outcome != tc.want {
				t.Fatalf("outcome = %v (%s), want %v", resp.Outcome, resp.Message, tc.want)
			}
			if tc.referral == "" {
				if !resp.Authoritative {
					t.Error("leaf answer is not authoritative")
				}
				return
			}
			if got := resp.Referral.GetPrefix(); got != tc.referral {
				t.Errorf("referral to %q, want %q", got, tc.referral)
			}
			if got := resp.Referral.GetGrpc(); len(got) != 1 || got[0] != tc.to {
				t.Errorf("referral endpoints %v, want [%s]", got, tc.to)
			}
			if resp.Ttl != refTTL {
				t.Errorf("referral ttl = %d, want the delegation's %d", resp.Ttl, refTTL)
			}
		})
	}
}

// TestWalkVisitsEveryLevelThenStartsAtTheDeepestCachedCut checks the path
// of a cold walk, and that a second identifier under the same prefix asks
// only the leaf.
func TestWalkVisitsEveryLevelThenStartsAtTheDeepestCachedCut(t *testing.T) {
	h := startHierarchy(t)
	var zones []string
	w, cnt := newWalker(t, newClock(), walkerOpts{trace: func(s recursive.Step) {
		if !s.Cached {
			zones = append(zones, s.Zone)
		}
	}}, h.root.GRPCAddr())

	if r := resolve(t, w, "88.100.1/pump-001"); r.Outcome != idresv1.Outcome_OUTCOME_OK {
		t.Fatalf("cold walk: %v %s", r.Outcome, r.Message)
	}
	if got, want := strings.Join(zones, " "), ". 88 88.100 88.100.1"; got != want {
		t.Fatalf("cold walk asked zones %q, want %q", got, want)
	}
	if n := cnt.reset(); n != 4 {
		t.Fatalf("cold walk made %d upstream calls, want 4", n)
	}
	zones = nil
	if r := resolve(t, w, "88.100.1/valve-7"); r.Outcome != idresv1.Outcome_OUTCOME_OK {
		t.Fatalf("second walk: %v %s", r.Outcome, r.Message)
	}
	if got := strings.Join(zones, " "); got != "88.100.1" {
		t.Fatalf("walk with cached referrals asked zones %q, want only 88.100.1", got)
	}
	if n := cnt.reset(); n != 1 {
		t.Fatalf("walk with cached referrals made %d upstream calls, want 1", n)
	}
	zones = nil
	if r := resolve(t, w, "88.200/x"); r.Outcome != idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND {
		t.Fatalf("sibling prefix: %v %s", r.Outcome, r.Message)
	}
	if got := strings.Join(zones, " "); got != "88" {
		t.Fatalf("sibling prefix asked zones %q, want only 88 (deepest cached cut)", got)
	}
}
