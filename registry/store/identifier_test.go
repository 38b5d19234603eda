package store_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

func count(t *testing.T, s *store.Store, folded string) uint64 {
	t.Helper()
	p, err := getPrefix(t, s, folded)
	if err != nil {
		t.Fatalf("Prefix(%q): %v", folded, err)
	}
	return p.IdentifierCount
}

func TestCreateIdentifier(t *testing.T) {
	c := newClock()
	s, _ := openStore(t, c)
	mustCreatePrefix(t, s, "88.100")

	tests := []struct {
		name    string
		id      string
		wantErr error
		count   uint64 // identifier_count of 88.100 afterwards
	}{
		{"new", "88.100/Part-1", nil, 1},
		{"suffix with slashes", "88.100/a/b/c", nil, 2},
		{"exists, other case", "88.100/PART-1", store.ErrExists, 2},
		{"exists, prefix other case", "88.100/a/B/c", store.ErrExists, 2},
		{"prefix not held", "88.101/x", store.ErrPrefixNotHeld, 2},
		{"parent of held prefix", "88/x", store.ErrPrefixNotHeld, 2},
		{"child of held prefix", "88.100.1/x", store.ErrPrefixNotHeld, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := ident.MustParse(tt.id)
			err := s.Update(func(tx *store.Tx) error {
				return tx.CreateIdentifier(id, &idresv1.Identifier{Values: []*idresv1.Value{val(1, "URL", "u")}})
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CreateIdentifier(%q): err = %v, want %v", tt.id, err, tt.wantErr)
			}
			if got := count(t, s, "88.100"); got != tt.count {
				t.Errorf("identifier_count = %d, want %d", got, tt.count)
			}
		})
	}

	rec, err := getID(t, s, "88.100/part-1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Identifier != "88.100/Part-1" {
		t.Errorf("stored spelling = %q, want the registrant's 88.100/Part-1", rec.Identifier)
	}
	if !rec.Created.AsTime().Equal(c.Now()) || !rec.Updated.AsTime().Equal(c.Now()) || !rec.Values[0].Timestamp.AsTime().Equal(c.Now()) {
		t.Errorf("timestamps = %v %v %v, want all %v", rec.Created.AsTime(), rec.Updated.AsTime(), rec.Values[0].Timestamp.AsTime(), c.Now())
	}
}

func TestPutIdentifier(t *testing.T) {
	c := newClock()
	s, _ := openStore(t, c)
	mustCreatePrefix(t, s, "88")
	id := ident.MustParse("88/X")
	put := func(vals ...*idresv1.Value) (bool, error) {
		var replaced bool
		err := s.Update(func(tx *store.Tx) (err error) {
			replaced, err = tx.PutIdentifier(id, &idresv1.Identifier{Values: vals})
			return err
		})
		return replaced, err
	}
	if replaced, err := put(val(1, "URL", "a")); err != nil || replaced {
		t.Fatalf("first Put = %v, %v; want created", replaced, err)
	}
	t0 := c.Now()
	c.Advance(time.Minute)
	if replaced, err := put(val(1, "URL", "a"), val(2, "batch", "b")); err != nil || !replaced {
		t.Fatalf("second Put = %v, %v; want replaced", replaced, err)
	}
	if got := count(t, s, "88"); got != 1 {
		t.Errorf("identifier_count after replace = %d, want 1", got)
	}
	rec, _ := getID(t, s, "88/x")
	if !rec.Created.AsTime().Equal(t0) || !rec.Updated.AsTime().Equal(c.Now()) {
		t.Errorf("created/updated = %v/%v, want %v/%v", rec.Created.AsTime(), rec.Updated.AsTime(), t0, c.Now())
	}
	if !rec.Values[0].Timestamp.AsTime().Equal(t0) || !rec.Values[1].Timestamp.AsTime().Equal(c.Now()) {
		t.Errorf("value timestamps = %v, %v; want unchanged %v, new %v", rec.Values[0].Timestamp.AsTime(), rec.Values[1].Timestamp.AsTime(), t0, c.Now())
	}
	err := s.Update(func(tx *store.Tx) error {
		_, err := tx.PutIdentifier(ident.MustParse("99/x"), &idresv1.Identifier{Values: []*idresv1.Value{val(1, "URL", "a")}})
		return err
	})
	if !errors.Is(err, store.ErrPrefixNotHeld) {
		t.Errorf("Put under a prefix not held: err = %v, want ErrPrefixNotHeld", err)
	}
}

// TestValueTimestamps pins VAL-005: a write stamps the values it changes
// and keeps the timestamp of values rewritten unchanged.
func TestValueTimestamps(t *testing.T) {
	c := newClock()
	s, _ := openStore(t, c)
	mustCreatePrefix(t, s, "88")
	mustCreateID(t, s, "88/x", val(1, "URL", "a"), val(2, "t", "b"), val(3, "t", "c"), val(4, "t", "d"), val(5, "t", "e"))
	t0 := c.Now()
	c.Advance(time.Hour)
	t1 := c.Now()

	var rec *idresv1.Identifier
	update(t, s, func(tx *store.Tx) (err error) {
		rec, err = tx.UpdateIdentifier("88/x", func(r *idresv1.Identifier) error {
			r.Values[1].Data = []byte("B")             // data changed
			r.Values[2].Ttl = proto.Uint32(60)         // ttl changed
			r.Values[3].PublicRead = proto.Bool(false) // visibility changed
			r.Values[4].Timestamp = nil                // unchanged, timestamp dropped by the caller
			r.Values = append(r.Values, val(6, "new", "f"))
			return nil
		})
		return err
	})
	want := map[uint32]time.Time{1: t0, 2: t1, 3: t1, 4: t1, 5: t0, 6: t1}
	stored, _ := getID(t, s, "88/x")
	for _, r := range []*idresv1.Identifier{rec, stored} {
		for _, v := range r.Values {
			if got := v.Timestamp.AsTime(); !got.Equal(want[v.Index]) {
				t.Errorf("value %d timestamp = %v, want %v", v.Index, got, want[v.Index])
			}
		}
		if !r.Created.AsTime().Equal(t0) || !r.Updated.AsTime().Equal(t1) {
			t.Errorf("created/updated = %v/%v, want %v/%v", r.Created.AsTime(), r.Updated.AsTime(), t0, t1)
		}
	}
	if len(stored.Values) != 6 {
		t.Errorf("stored %d values, want 6", len(stored.Values))
	}
}

func TestUpdateIdentifier(t *testing.T) {
	s, _ := openStore(t, nil)
	mustCreatePrefix(t, s, "88")
	mustCreateID(t, s, "88/x", val(1, "URL", "a"))

	_, err := getID(t, s, "88/x")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *store.Tx) error {
		_, err := tx.UpdateIdentifier("88/missing", func(*idresv1.Identifier) error { return nil })
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateIdentifier(missing): err = %v, want ErrNotFound", err)
	}
	boom := errors.New("boom")
	err = s.Update(func(tx *store.Tx) error {
		_, err := tx.UpdateIdentifier("88/x", func(r *idresv1.Identifier) error {
			r.Values[0].Data = []byte("changed")
			return boom
		})
		return err
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateIdentifier with failing fn: err = %v, want boom", err)
	}
	if rec, _ := getID(t, s, "88/x"); string(rec.Values[0].Data) != "a" {
		t.Errorf("failed update changed data to %q", rec.Values[0].Data)
	}
}

func TestDeleteIdentifier(t *testing.T) {
	s, _ := openStore(t, nil)
	mustCreatePrefix(t, s, "88")
	mustCreateID(t, s, "88/x", val(1, "URL", "a"))
	mustCreateID(t, s, "88/y", val(1, "URL", "a"))

	tests := []struct {
		id      string
		wantErr error
		count   uint64
	}{
		{"88/X", nil, 1}, // deletes by key, whatever the case
		{"88/x", store.ErrNotFound, 1},
		{"88/z", store.ErrNotFound, 1},
		{"99/z", store.ErrNotFound, 1},
		{"88/y", nil, 0},
	}
	for _, tt := range tests {
		err := s.Update(func(tx *store.Tx) error { return tx.DeleteIdentifier(ident.MustParse(tt.id)) })
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("DeleteIdentifier(%q): err = %v, want %v", tt.id, err, tt.wantErr)
		}
		if got := count(t, s, "88"); got != tt.count {
			t.Errorf("after DeleteIdentifier(%q): identifier_count = %d, want %d", tt.id, got, tt.count)
		}
	}
	if _, err := getID(t, s, "88/x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted identifier still found: %v", err)
	}
}

func TestListIdentifiers(t *testing.T) {
	s, _ := openStore(t, nil)
	for _, p := range []string{"88", "88.1", "88.10", "8"} {
		mustCreatePrefix(t, s, p)
	}
	var want []string
	for i := range 25 {
		raw := fmt.Sprintf("88.1/ID-%02d", i)
		mustCreateID(t, s, raw, val(1, "URL", "u"))
		want = append(want, raw)
	}
	// Neighbours whose keys share bytes with "88.1/" must not leak in.
	mustCreateID(t, s, "88.10/a", val(1, "URL", "u"))
	mustCreateID(t, s, "88/1", val(1, "URL", "u"))
	mustCreateID(t, s, "8/8.1", val(1, "URL", "u"))

	for _, limit := range []int{1, 7, 24, 25, 26, 1000} {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > 30 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			var batch []*idresv1.Identifier
			var more bool
			view(t, s, func(tx *store.Tx) (err error) {
				batch, more, err = tx.ListIdentifiers("88.1", after, limit)
				return err
			})
			if len(batch) > limit || len(batch) == 0 {
				t.Fatalf("limit %d: page of %d", limit, len(batch))
			}
			for _, r := range batch {
				got = append(got, r.Identifier)
			}
			if !more {
				break
			}
			after = ident.MustParse(batch[len(batch)-1].Identifier).Key()
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: listed %q, want %q", limit, got, want)
		}
	}
	var empty []*idresv1.Identifier
	view(t, s, func(tx *store.Tx) (err error) { empty, _, err = tx.ListIdentifiers("88.100", "", 10); return err })
	if len(empty) != 0 {
		t.Errorf("ListIdentifiers of an empty prefix = %d records", len(empty))
	}
}
