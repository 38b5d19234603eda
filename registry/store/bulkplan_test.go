package store

import (
	"bytes"
	"errors"
	"testing"
	"time"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// TestPutIdentifiersPlannedSameAsUnplanned: with a planned index, and
// with records encoded by the plan too, every batch leaves the
// identifiers, the value index and the change feed byte for byte as
// PutIdentifiers does, whatever the batch holds: refused items, items the
// caller refused, repeated values, replaces.
func TestPutIdentifiersPlannedSameAsUnplanned(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	open := func() *Store {
		s, err := Open(t.TempDir(), Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Update(func(tx *Tx) error { return tx.CreatePrefix(&idresv1.Prefix{Prefix: "88.1"}) }); err != nil {
			t.Fatal(err)
		}
		return s
	}
	plain, planned, encoded := open(), open(), open()
	refused := errors.New("refused by the caller")
	batches := []struct {
		name    string
		items   func() []BulkItem
		replace bool
	}{
		{"creates, one refused, one unheld", func() []BulkItem {
			items := bulkItems(t, "88.1/a u1", "88.1/b u2", "88.1/c u2", "88.9/x u9", "88.1/d u4")
			items[1].Rec.Values = append(items[1].Rec.Values, &idresv1.Value{Index: 3, Type: "URL", Data: []byte("u2")})
			items[4].Err = refused
			return items
		}, false},
		{"creates and existing", func() []BulkItem { return bulkItems(t, "88.1/a u1", "88.1/e u5") }, false},
		{"replaces", func() []BulkItem { return bulkItems(t, "88.1/a v1", "88.1/a w1", "88.1/f u6") }, true},
		{"creates in replace mode", func() []BulkItem { return bulkItems(t, "88.1/g u7", "88.1/h u8") }, true},
	}
	for _, b := range batches {
		p, q, e := b.items(), b.items(), b.items()
		plan, encPlan := PlanIndex(q), PlanIndex(e)
		if err := encPlan.Encode(e, now); err != nil {
			t.Fatal(err)
		}
		if err := plain.Update(func(tx *Tx) error { return tx.PutIdentifiers(p, b.replace, nil) }); err != nil {
			t.Fatal(err)
		}
		if err := planned.Update(func(tx *Tx) error { return tx.PutIdentifiersPlanned(q, plan, b.replace, nil) }); err != nil {
			t.Fatal(err)
		}
		if err := encoded.UpdateAt(now, func(tx *Tx) error { return tx.PutIdentifiersPlanned(e, encPlan, b.replace, nil) }); err != nil {
			t.Fatal(err)
		}
		for i := range p {
			for _, x := range []*BulkItem{&q[i], &e[i]} {
				if (p[i].Err == nil) != (x.Err == nil) || p[i].Replaced != x.Replaced {
					t.Errorf("%s: item %d: planned err %v replaced %v, unplanned %v %v", b.name, i, x.Err, x.Replaced, p[i].Err, p[i].Replaced)
				}
			}
		}
		for _, bucket := range [][]byte{bucketIdentifiers, bucketValueIndex, bucketChanges, bucketPrefixes} {
			want := dump(t, plain, bucket)
			if !bytes.Equal(want, dump(t, planned, bucket)) {
				t.Errorf("%s: bucket %s differs with a plan", b.name, bucket)
			}
			if !bytes.Equal(want, dump(t, encoded, bucket)) {
				t.Errorf("%s: bucket %s differs with an encoded plan", b.name, bucket)
			}
		}
		for _, s := range []*Store{planned, encoded} {
			if err := s.View(func(tx *Tx) error { return tx.CheckIndex() }); err != nil {
				t.Errorf("%s: value index with a plan: %v", b.name, err)
			}
		}
	}
	// Records encoded for another time are encoded again in the
	// transaction: they carry its time.
	items := bulkItems(t, "88.1/late u9")
	plan := PlanIndex(items)
	if err := plan.Encode(items, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := encoded.Update(func(tx *Tx) error { return tx.PutIdentifiersPlanned(items, plan, false, nil) }); err != nil {
		t.Fatal(err)
	}
	if err := encoded.View(func(tx *Tx) error {
		rec, err := tx.Identifier("88.1/late")
		if err != nil {
			return err
		}
		if got := rec.GetCreated().AsTime(); !got.Equal(now) {
			t.Errorf("record encoded an hour early, stored in a transaction at %v: created %v", now, got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A plan of other items is not used.
	items = bulkItems(t, "88.1/i u9")
	if err := planned.Update(func(tx *Tx) error {
		return tx.PutIdentifiersPlanned(items, PlanIndex(bulkItems(t, "88.1/j u9", "88.1/k u9")), false, nil)
	}); err != nil {
		t.Fatal(err)
	}
	if err := planned.View(func(tx *Tx) error { return tx.CheckIndex() }); err != nil {
		t.Errorf("value index after a mismatched plan: %v", err)
	}
}

// dump is a bucket's keys and values, in order.
func dump(t *testing.T, s *Store, bucket []byte) []byte {
	t.Helper()
	var out []byte
	err := s.View(func(tx *Tx) error {
		return tx.tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			out = append(append(append(out, k...), 0), v...)
			out = append(out, 0xff)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
