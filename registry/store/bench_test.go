package store_test

import (
	"fmt"
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

func demoValues() []*idresv1.Value {
	return []*idresv1.Value{
		val(1, "URL", "https://parts.example.com/88.100.1/part-000001"),
		val(2, "manufacturer", "Example Parts Ltd"),
		val(3, "batch", "B-2026-0042"),
		val(4, "production_date", "2026-03-14"),
	}
}

// BenchmarkGetIdentifier is a point read of one of 10,000 identifiers: the
// store's share of an authoritative Resolve.
func BenchmarkGetIdentifier(b *testing.B) {
	s, _ := openStore(b, nil)
	mustCreatePrefix(b, s, "88.100.1")
	const n = 10000
	update(b, s, func(tx *store.Tx) error {
		for i := range n {
			if err := tx.CreateIdentifier(ident.MustParse(fmt.Sprintf("88.100.1/part-%06d", i)), &idresv1.Identifier{Values: demoValues()}); err != nil {
				return err
			}
		}
		return nil
	})
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("88.100.1/part-%06d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			err := s.View(func(tx *store.Tx) error {
				_, err := tx.Identifier(keys[i%n])
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			i += 7919
		}
	})
}

// BenchmarkCreateIdentifier measures registration throughput: one
// transaction (one fsync) per batch of identifiers, as a bulk import does.
func BenchmarkCreateIdentifier(b *testing.B) {
	for _, batch := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s, _ := openStore(b, nil)
			mustCreatePrefix(b, s, "88.100.1")
			b.ReportAllocs()
			b.ResetTimer()
			for next := 0; next < b.N; {
				err := s.Update(func(tx *store.Tx) error {
					for j := 0; j < batch && next < b.N; j, next = j+1, next+1 {
						id := ident.MustParse(fmt.Sprintf("88.100.1/part-%09d", next))
						if err := tx.CreateIdentifier(id, &idresv1.Identifier{Values: demoValues()}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
