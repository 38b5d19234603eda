package node_test

import (
	"fmt"
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/value"
)

// BenchmarkResolve is an authoritative Resolve over real gRPC on loopback,
// from parallel callers sharing one connection: what one node answers per
// second for identifiers it holds.
func BenchmarkResolve(b *testing.B) {
	g := startGRPCNode(b)
	g.mustCreatePrefix(b, &idresv1.Prefix{Prefix: "88.100.1"})
	const n = 1000
	// Registered in one transaction: one fsync instead of a thousand.
	err := g.n.Store().Update(func(tx *store.Tx) error {
		for i := range n {
			vals := []*idresv1.Value{
				val(1, "URL", fmt.Sprintf("https://parts.example.com/%04d", i), 0),
				val(2, "manufacturer", "Example Parts Ltd", 0),
				val(3, "batch", "B-2026-0042", 0),
			}
			value.Normalize(vals)
			id := ident.MustParse(fmt.Sprintf("88.100.1/part-%04d", i))
			if err := tx.CreateIdentifier(id, &idresv1.Identifier{Values: vals}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := ctxT(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			resp, err := g.anon.Resolve(ctx, &idresv1.ResolveRequest{Identifier: fmt.Sprintf("88.100.1/part-%04d", i%n)})
			if err != nil || resp.Outcome != idresv1.Outcome_OUTCOME_OK {
				b.Fatalf("Resolve: %v, %v", resp.GetOutcome(), err)
			}
			i += 7
		}
	})
}
