package node_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/store/etcdkv/etcdtest"
	"github.com/idres/idres/registry/value"
	"github.com/idres/idres/resolver/client"
)

// BenchmarkReplica compares, side by side in one run, a node on its own
// bbolt file with a replica on a three-member etcd cluster holding the
// same identifiers: Resolve over real gRPC on loopback from parallel
// callers (a replica reads from its watch-fed copy, so both are local
// lookups), and CreateIdentifier one at a time (an fsync'd bbolt commit
// against an etcd Txn through Raft).
func BenchmarkReplica(b *testing.B) {
	const n = 1000
	c := etcdtest.Start(b, 3)
	nodes := map[string]*replica{
		"bolt": startBenchNode(b, node.Config{}),
		"etcd": startReplicas(b, c, "/idres/bench", 0)[0],
	}
	backends := []string{"bolt", "etcd"}
	for _, name := range backends {
		seedParts(b, nodes[name].n.Store(), n)
	}
	for _, name := range backends {
		b.Run("resolve/"+name, func(b *testing.B) {
			r := nodes[name]
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					resp, err := r.anon.Resolve(ctx, &idresv1.ResolveRequest{Identifier: fmt.Sprintf("88.100.1/part-%04d", i%n)})
					if err != nil || resp.Outcome != idresv1.Outcome_OUTCOME_OK {
						b.Fatalf("Resolve: %v, %v", resp.GetOutcome(), err)
					}
					i += 7
				}
			})
		})
	}
	for _, name := range backends {
		b.Run("create/"+name, func(b *testing.B) {
			r := nodes[name]
			ctx := context.Background()
			run := time.Now().UnixNano()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				id := fmt.Sprintf("88.100.1/new-%d-%d", run, i)
				if _, err := r.admin.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: id, Values: []*idresv1.Value{val(1, "URL", "https://example.com/"+id, 0)}}); err != nil {
					b.Fatalf("CreateIdentifier: %v", err)
				}
			}
		})
	}
}

// startBenchNode starts a node on a bbolt file, with clients as a replica
// has them.
func startBenchNode(b *testing.B, cfg node.Config) *replica {
	b.Helper()
	cfg.DataDir, cfg.GRPCAddr, cfg.Logger = b.TempDir(), "127.0.0.1:0", quietLog
	n, err := node.Start(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Stop(context.Background()) })
	raw, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		b.Fatal(err)
	}
	r := &replica{n: n}
	for _, cl := range []struct {
		to    **client.Client
		token string
	}{{&r.anon, ""}, {&r.admin, strings.TrimSpace(string(raw))}} {
		if *cl.to, err = client.Dial(n.GRPCAddr(), client.Options{Token: cl.token}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { (*cl.to).Close() })
	}
	return r
}

// seedParts registers prefix 88.100.1 and n parts in the store directly,
// ten to a transaction: etcd takes at most 128 operations in one.
func seedParts(b *testing.B, st *store.Store, n int) {
	b.Helper()
	err := st.Update(func(tx *store.Tx) error {
		return tx.CreatePrefix(&idresv1.Prefix{Prefix: "88.100.1"})
	})
	if err != nil {
		b.Fatal(err)
	}
	for start := 0; start < n; start += 10 {
		err := st.Update(func(tx *store.Tx) error {
			for i := start; i < min(start+10, n); i++ {
				vals := []*idresv1.Value{
					val(1, "URL", fmt.Sprintf("https://parts.example.com/%04d", i), 0),
					val(2, "manufacturer", "Example Parts Ltd", 0),
					val(3, "batch", "B-2026-0042", 0),
				}
				value.Normalize(vals)
				if err := tx.CreateIdentifier(ident.MustParse(fmt.Sprintf("88.100.1/part-%04d", i)), &idresv1.Identifier{Values: vals}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatalf("seed parts %d..: %v", start, err)
		}
	}
}
