package recursive_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

// TestCacheServesRepeatsUntilTheTTLRunsOut covers answers and both kinds
// of negative answer: the repeat makes no upstream call and carries the
// remaining TTL; after the TTL the walker asks again.
func TestCacheServesRepeatsUntilTheTTLRunsOut(t *testing.T) {
	h := startHierarchy(t)
	tests := []struct {
		name string
		id   string
		want idresv1.Outcome
		ttl  uint32
		// calls when asked again after the TTL: the referrals are still
		// cached (refTTL > ttl), so only the answering zone is asked.
		again int64
		// calls of the cold walk: 88.100.9 is denied by the secondary node.
		first int64
	}{
		{"answer", "88.100.1/pump-001", idresv1.Outcome_OUTCOME_OK, valueTTL, 1, 4},
		{"NOT_FOUND", "88.100.1/missing", idresv1.Outcome_OUTCOME_NOT_FOUND, negTTL, 1, 4},
		{"PREFIX_NOT_FOUND", "88.100.9/x", idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND, negTTL, 1, 3},
		{"PREFIX_NOT_FOUND for another identifier of the denied prefix", "88.100.9/y", idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND, negTTL, 1, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			w, cnt := newWalker(t, clk, walkerOpts{}, h.root.GRPCAddr())
			first := resolve(t, w, tc.id)
			if first.Outcome != tc.want || first.Ttl != tc.ttl {
				t.Fatalf("first: %v ttl %d (%s), want %v ttl %d", first.Outcome, first.Ttl, first.Message, tc.want, tc.ttl)
			}
			if n := cnt.reset(); n != tc.first {
				t.Fatalf("first lookup made %d upstream calls, want %d", n, tc.first)
			}
			if strings.HasSuffix(tc.name, "denied prefix") {
				// A denial of the prefix answers every identifier under it.
				other := resolve(t, w, strings.TrimSuffix(tc.id, "y")+"x")
				if n := cnt.reset(); n != 0 || other.Outcome != tc.want {
					t.Fatalf("sibling identifier: %v after %d upstream calls, want %v from the cache", other.Outcome, n, tc.want)
				}
			}
			clk.Add(100 * time.Second)
			second := resolve(t, w, tc.id)
			if n := cnt.reset(); n != 0 {
				t.Fatalf("repeat made %d upstream calls, want 0 (cache hit)", n)
			}
			if second.Outcome != tc.want || second.Ttl != tc.ttl-100 {
				t.Fatalf("repeat: %v ttl %d, want %v ttl %d (remaining)", second.Outcome, second.Ttl, tc.want, tc.ttl-100)
			}
			if second.Authoritative {
				t.Error("cached answer says authoritative")
			}
			clk.Add(time.Duration(tc.ttl) * time.Second) // past the TTL
			third := resolve(t, w, tc.id)
			if n := cnt.reset(); n != tc.again {
				t.Fatalf("after the TTL: %d upstream calls, want %d", n, tc.again)
			}
			if third.Outcome != tc.want || third.Ttl != tc.ttl {
				t.Fatalf("after the TTL: %v ttl %d, want %v ttl %d (fresh)", third.Outcome, third.Ttl, tc.want, tc.ttl)
			}
		})
	}
}

// TestExpiredReferralsAreFetchedAgain: once the referrals' TTL passes the
// walk starts at the roots again.
func TestExpiredReferralsAreFetchedAgain(t *testing.T) {
	h := startHierarchy(t)
	clk := newClock()
	w, cnt := newWalker(t, clk, walkerOpts{}, h.root.GRPCAddr())
	resolve(t, w, "88.100.1/pump-001")
	cnt.reset()
	clk.Add((refTTL + 1) * time.Second)
	if r := resolve(t, w, "88.100.1/valve-7"); r.Outcome != idresv1.Outcome_OUTCOME_OK {
		t.Fatalf("%v %s", r.Outcome, r.Message)
	}
	if n := cnt.reset(); n != 4 {
		t.Fatalf("walk after the referrals expired made %d calls, want 4 (from the root)", n)
	}
}

// TestEvictionAtTheBound: with room for few entries, old answers are
// evicted and must be fetched again; the cache never grows past its bound.
func TestEvictionAtTheBound(t *testing.T) {
	h := startHierarchy(t)
	for i := 0; i < 6; i++ {
		h.enterprise.register(t, "88.100.1/bulk-"+string(rune('a'+i)), valueTTL, "URL", "https://example.com/")
	}
	// 3 referrals + 2 answers fit; the sixth entry evicts the least
	// recently used.
	w, cnt := newWalker(t, newClock(), walkerOpts{cacheSize: 5}, h.root.GRPCAddr())
	for _, s := range []string{"a", "b"} {
		resolve(t, w, "88.100.1/bulk-"+s)
	}
	if got := w.Cache().Len(); got != 5 {
		t.Fatalf("cache holds %d entries, want 5 (3 referrals + 2 answers)", got)
	}
	cnt.reset()
	resolve(t, w, "88.100.1/bulk-a") // a is now more recent than b
	if n := cnt.reset(); n != 0 {
		t.Fatalf("cached answer made %d calls", n)
	}
	resolve(t, w, "88.100.1/bulk-c") // evicts the oldest referral (root's, for 88)
	if got := w.Cache().Len(); got != 5 {
		t.Fatalf("cache holds %d entries after eviction, want the bound 5", got)
	}
	resolve(t, w, "88.100.1/bulk-c")
	resolve(t, w, "88.100.1/bulk-a")
	cnt.reset()
	resolve(t, w, "88.100.1/bulk-d")
	resolve(t, w, "88.100.1/bulk-e")
	if w.Cache().Len() != 5 {
		t.Fatalf("cache holds %d entries, want 5", w.Cache().Len())
	}
	cnt.reset()
	resolve(t, w, "88.100.1/bulk-b") // long evicted
	if n := cnt.reset(); n == 0 {
		t.Fatal("evicted answer was served without an upstream call")
	}
}

// TestFlushCache empties a recursive node's cache through the Admin
// service; only its administrator may.
func TestFlushCache(t *testing.T) {
	h := startHierarchy(t)
	dir := t.TempDir()
	rec, err := node.Start(node.Config{
		DataDir: dir, GRPCAddr: "127.0.0.1:0", Logger: quiet(),
		Recursive: node.RecursiveConfig{Roots: []string{h.root.GRPCAddr()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Stop(context.Background()) })
	tok, _ := os.ReadFile(rec.AdminTokenPath)
	admin, err := client.Dial(rec.GRPCAddr(), client.Options{Token: strings.TrimSpace(string(tok))})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	resolve(t, remote{admin}, "88.100.1/pump-001")
	if rec.Walker().Cache().Len() != 4 {
		t.Fatalf("cache holds %d entries, want 4", rec.Walker().Cache().Len())
	}
	anon, _ := client.Dial(rec.GRPCAddr(), client.Options{})
	defer anon.Close()
	if _, err := idresv1.NewAdminClient(anon.Conn()).FlushCache(context.Background(), &idresv1.FlushCacheRequest{}); err == nil {
		t.Fatal("flush without a credential succeeded")
	}
	tests := []struct {
		prefix string
		want   uint64
	}{
		{"88.100.1", 2}, // the answer and the referral to 88.100.1
		{"", 2},         // the rest
		{"", 0},
	}
	for _, tc := range tests {
		resp, err := idresv1.NewAdminClient(admin.Conn()).FlushCache(context.Background(), &idresv1.FlushCacheRequest{Prefix: tc.prefix})
		if err != nil {
			t.Fatal(err)
		}
		if resp.EntriesRemoved != tc.want {
			t.Errorf("FlushCache(%q) removed %d, want %d", tc.prefix, resp.EntriesRemoved, tc.want)
		}
	}
}
