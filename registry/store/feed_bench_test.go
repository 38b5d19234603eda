package store_test

import (
	"fmt"
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// searchFixture is 100,000 identifiers in 1,000 batches of 100: each has
// the four demo values, its batch value naming its batch.
func searchFixture(b *testing.B) *store.Store {
	s, _ := openStore(b, nil)
	mustCreatePrefix(b, s, "88.100.1")
	const n, per = 100_000, 100
	for start := 0; start < n; start += 10_000 {
		items := make([]store.BulkItem, 0, 10_000)
		for i := start; i < start+10_000; i++ {
			vals := demoValues()
			vals[2] = val(3, "batch", fmt.Sprintf("B-2026-%04d", i/per))
			items = append(items, store.BulkItem{ID: ident.MustParse(fmt.Sprintf("88.100.1/part-%06d", i)), Rec: &idresv1.Identifier{Values: vals}})
		}
		update(b, s, func(tx *store.Tx) error { return tx.PutIdentifiers(items, false, nil) })
	}
	return s
}

// BenchmarkSearchValues reads one page of 100 hits (one batch) out of
// 100,000 identifiers: the store's share of a Search call.
func BenchmarkSearchValues(b *testing.B) {
	s := searchFixture(b)
	tests := []struct {
		name string
		q    store.ValueQuery
	}{
		{"exact", store.ValueQuery{Type: "batch", Value: []byte("B-2026-0500")}},
		{"value prefix", store.ValueQuery{Type: "batch", Value: []byte("B-2026-05"), PrefixMatch: true}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				err := s.View(func(tx *store.Tx) error {
					hits, _, err := tx.SearchValues(tt.q, nil, 100)
					if len(hits) != 100 {
						b.Fatalf("%d hits, want 100", len(hits))
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkChanges reads the change feed in pages of 512, as Watch does
// while catching up.
func BenchmarkChanges(b *testing.B) {
	s := searchFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		var after uint64
		for after < 100_000 {
			err := s.View(func(tx *store.Tx) error {
				cs, err := tx.Changes(after, 512)
				if len(cs) > 0 {
					after = cs[len(cs)-1].Sequence
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/change")
}
