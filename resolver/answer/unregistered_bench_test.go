package answer_test

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/value"
	"github.com/idres/idres/resolver/answer"
)

// BenchmarkAuthorityPattern compares, without the network, an identifier
// answered from its own record with one of a million serials answered from
// a pattern (LIFE-009).
func BenchmarkAuthorityPattern(b *testing.B) {
	s, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	vals := func(url string) []*idresv1.Value {
		v := []*idresv1.Value{
			{Index: 1, Type: "URL", Data: []byte(url)},
			{Index: 2, Type: "manufacturer", Data: []byte("Example Parts Ltd")},
			{Index: 3, Type: "batch", Data: []byte("B-2026-0042")},
		}
		value.Normalize(v)
		return v
	}
	const n = 1000
	err = s.Update(func(tx *store.Tx) error {
		if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: "88.100.1", NegativeTtl: proto.Uint32(60)}); err != nil {
			return err
		}
		if _, err := tx.PutPattern("88.100.1", &idresv1.Pattern{Prefix: "88.100.1", Pattern: "PUMP-{serial:000000-999999}", Values: vals("https://parts.example.com/{serial}")}); err != nil {
			return err
		}
		for i := range n {
			if err := tx.CreateIdentifier(ident.MustParse(fmt.Sprintf("88.100.1/part-%06d", i)), &idresv1.Identifier{Values: vals(fmt.Sprintf("https://parts.example.com/%06d", i))}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	a := &answer.Authority{Store: s}
	ctx := context.Background()
	for _, bc := range []struct {
		name    string
		id      func(i int) string
		derived bool
	}{
		{"explicit", func(i int) string { return fmt.Sprintf("88.100.1/part-%06d", i%n) }, false},
		{"pattern", func(i int) string { return fmt.Sprintf("88.100.1/PUMP-%06d", (i*7919)%1000000) }, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				resp, err := a.Resolve(ctx, &idresv1.ResolveRequest{Identifier: bc.id(i)})
				if err != nil || resp.Outcome != idresv1.Outcome_OUTCOME_OK || (resp.DerivedFromPattern != "") != bc.derived {
					b.Fatalf("Resolve %s: %v %q, %v", bc.id(i), resp.GetOutcome(), resp.GetDerivedFromPattern(), err)
				}
				i++
			}
		})
	}
}
