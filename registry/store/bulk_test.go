package store

import (
	"errors"
	"fmt"
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
)

func bulkItems(t *testing.T, specs ...string) []BulkItem {
	t.Helper()
	var items []BulkItem
	for _, s := range specs {
		var name, data string
		fmt.Sscanf(s, "%s %s", &name, &data)
		id, err := ident.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, BulkItem{ID: id, Rec: &idresv1.Identifier{Values: []*idresv1.Value{
			{Index: 1, Type: "URL", Data: []byte(data)}, {Index: 2, Type: "batch", Data: []byte("B-" + data)}}}})
	}
	return items
}

// TestPutIdentifiersKeepsIndexAndFeed: the batched index writes leave the
// value index exactly as one write at a time would, including the same
// identifier twice in one batch.
func TestPutIdentifiersKeepsIndexAndFeed(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Update(func(tx *Tx) error { return tx.CreatePrefix(&idresv1.Prefix{Prefix: "88.1"}) }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		items        []BulkItem
		replace      bool
		wantErrs     []error // per item, nil for success
		wantReplaced []bool
	}{
		{"create", bulkItems(t, "88.1/b u2", "88.1/a u1", "88.1/c u3", "88.9/x u9"), false,
			[]error{nil, nil, nil, ErrPrefixNotHeld}, []bool{false, false, false, false}},
		{"create again", bulkItems(t, "88.1/a u1", "88.1/d u4"), false,
			[]error{ErrExists, nil}, []bool{false, false}},
		{"replace with new data, twice in one batch", bulkItems(t, "88.1/a v1", "88.1/a w1", "88.1/e u5"), true,
			[]error{nil, nil, nil}, []bool{true, true, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update(func(tx *Tx) error { return tx.PutIdentifiers(tc.items, tc.replace, nil) })
			if err != nil {
				t.Fatal(err)
			}
			for i, it := range tc.items {
				if !errors.Is(it.Err, tc.wantErrs[i]) || (tc.wantErrs[i] == nil) != (it.Err == nil) || it.Replaced != tc.wantReplaced[i] {
					t.Errorf("item %d (%s): err %v replaced %v, want %v %v", i, it.ID, it.Err, it.Replaced, tc.wantErrs[i], tc.wantReplaced[i])
				}
			}
			if err := s.View(func(tx *Tx) error { return tx.CheckIndex() }); err != nil {
				t.Fatalf("value index after bulk write: %v", err)
			}
		})
	}
	err = s.View(func(tx *Tx) error {
		rec, err := tx.Identifier("88.1/a")
		if err != nil {
			return err
		}
		if got := string(rec.Values[0].Data); got != "w1" {
			t.Errorf("88.1/a holds %q, want the batch's last write w1", got)
		}
		p, err := tx.Prefix("88.1")
		if err == nil && p.IdentifierCount != 5 {
			t.Errorf("prefix count %d, want 5", p.IdentifierCount)
		}
		changes, err := tx.Changes(0, 100)
		if err != nil {
			return err
		}
		// 3 creates, 1 create, 2 replaces + 1 create: one record per write.
		if len(changes) != 7 {
			t.Errorf("%d change records, want 7: %v", len(changes), changes)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
