package store_test

import (
	"errors"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// TestTombstoneRefusesRegistration: a tombstone blocks CreateIdentifier,
// PutIdentifier and bulk writes of its key (any spelling) until lifted.
func TestTombstoneRefusesRegistration(t *testing.T) {
	s, _ := openStore(t, nil)
	mustCreatePrefix(t, s, "88.100")
	mustCreateID(t, s, "88.100/Old", val(1, "URL", "https://example.com/old"))
	id := ident.MustParse("88.100/Old")
	update(t, s, func(tx *store.Tx) error {
		if err := tx.DeleteIdentifier(id); err != nil {
			return err
		}
		return tx.PutTombstone(id.Key(), &idresv1.Tombstone{Identifier: id.String(), Reason: "recalled", Successor: "88.100/New"})
	})
	writes := map[string]func(tx *store.Tx) error{
		"CreateIdentifier": func(tx *store.Tx) error {
			return tx.CreateIdentifier(ident.MustParse("88.100/OLD"), &idresv1.Identifier{Values: []*idresv1.Value{val(1, "URL", "x")}})
		},
		"PutIdentifier": func(tx *store.Tx) error {
			_, err := tx.PutIdentifier(ident.MustParse("88.100/old"), &idresv1.Identifier{Values: []*idresv1.Value{val(1, "URL", "x")}})
			return err
		},
		"PutIdentifiers": func(tx *store.Tx) error {
			items := []store.BulkItem{{ID: ident.MustParse("88.100/old"), Rec: &idresv1.Identifier{Values: []*idresv1.Value{val(1, "URL", "x")}}}}
			if err := tx.PutIdentifiers(items, true, nil); err != nil {
				return err
			}
			return items[0].Err
		},
	}
	for name, w := range writes {
		if err := s.Update(w); !errors.Is(err, store.ErrTombstoned) {
			t.Errorf("%s over a tombstone: %v, want ErrTombstoned", name, err)
		}
	}
	var tomb *idresv1.Tombstone
	update(t, s, func(tx *store.Tx) (err error) { tomb, err = tx.DeleteTombstone(id.Key()); return err })
	if tomb.GetSuccessor() != "88.100/New" || tomb.GetReason() != "recalled" || tomb.GetDeleted() == nil {
		t.Errorf("lifted tombstone = %v", tomb)
	}
	for name, w := range writes {
		if err := s.Update(w); err != nil && !errors.Is(err, store.ErrExists) {
			t.Errorf("%s after lifting: %v", name, err)
		}
	}
	if _, err := getID(t, s, id.Key()); err != nil {
		t.Errorf("identifier after lifting and re-registering: %v", err)
	}
	if err := s.Update(func(tx *store.Tx) error { _, err := tx.DeleteTombstone(id.Key()); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lifting twice: %v, want ErrNotFound", err)
	}
}

// TestPatternsStored: put, replace, list in order, delete; a forced prefix
// delete takes the prefix's patterns and tombstones with it.
func TestPatternsStored(t *testing.T) {
	s, _ := openStore(t, nil)
	mustCreatePrefix(t, s, "88.100")
	mustCreatePrefix(t, s, "88.1000")
	put := func(pk, src string) bool {
		var replaced bool
		update(t, s, func(tx *store.Tx) (err error) {
			replaced, err = tx.PutPattern(pk, &idresv1.Pattern{Prefix: pk, Pattern: src, Values: []*idresv1.Value{val(1, "URL", "u")}})
			return err
		})
		return replaced
	}
	if put("88.100", "B-{s}") || put("88.100", "A-{s}") || put("88.1000", "C-{s}") {
		t.Error("a new pattern reported as replaced")
	}
	if !put("88.100", "A-{s}") {
		t.Error("same text again not reported as replaced")
	}
	list := func(pk string) []string {
		var out []string
		s.View(func(tx *store.Tx) error {
			ps, err := tx.Patterns(pk)
			for _, p := range ps {
				out = append(out, p.Pattern)
			}
			return err
		})
		return out
	}
	if got := list("88.100"); len(got) != 2 || got[0] != "A-{s}" || got[1] != "B-{s}" {
		t.Errorf("patterns of 88.100 = %v, want [A-{s} B-{s}] (not 88.1000's)", got)
	}
	update(t, s, func(tx *store.Tx) error { _, err := tx.DeletePattern("88.100", "B-{s}"); return err })
	if err := s.Update(func(tx *store.Tx) error { _, err := tx.DeletePattern("88.100", "B-{s}"); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a missing pattern: %v", err)
	}
	update(t, s, func(tx *store.Tx) error {
		return tx.PutTombstone("88.100/gone", &idresv1.Tombstone{Identifier: "88.100/gone"})
	})
	update(t, s, func(tx *store.Tx) error { _, err := tx.DeletePrefix("88.100", true); return err })
	mustCreatePrefix(t, s, "88.100")
	if got := list("88.100"); len(got) != 0 {
		t.Errorf("patterns survived their prefix: %v", got)
	}
	s.View(func(tx *store.Tx) error {
		if tx.HasTombstone("88.100/gone") {
			t.Error("tombstone survived its prefix")
		}
		if !tx.HasPatterns("88.1000") {
			t.Error("deleting 88.100 took 88.1000's pattern")
		}
		return nil
	})
}

// TestUpgradeFrom3: a version 3 file (no patterns or tombstones buckets)
// opens as version 4 with both, its data intact.
func TestUpgradeFrom3(t *testing.T) {
	fileOnly(t)
	s, dir := openStore(t, nil)
	mustCreatePrefix(t, s, "88")
	mustCreateID(t, s, "88/a", val(1, "URL", "u"))
	s.Close()
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{"patterns", "tombstones"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), u32(3))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatalf("open version 3: %v", err)
	}
	defer s2.Close()
	if _, err := getID(t, s2, "88/a"); err != nil {
		t.Errorf("identifier after upgrade: %v", err)
	}
	update(t, s2, func(tx *store.Tx) error {
		if _, err := tx.PutPattern("88", &idresv1.Pattern{Prefix: "88", Pattern: "x{s}"}); err != nil {
			return err
		}
		return tx.PutTombstone("88/b", &idresv1.Tombstone{Identifier: "88/b"})
	})
}
