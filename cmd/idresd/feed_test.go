package main

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// TestReindex: `idresd reindex` rebuilds a value index emptied behind the
// store's back, refuses a data directory in use, and checks its arguments.
func TestReindex(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *store.Tx) error {
		if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: "88.100"}); err != nil {
			return err
		}
		for _, id := range []string{"88.100/a", "88.100/b"} {
			rec := &idresv1.Identifier{Values: []*idresv1.Value{{Index: 1, Type: "batch", Data: []byte("B-1")}}}
			if err := tx.CreateIdentifier(ident.MustParse(id), rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := run([]string{"reindex", "--data", dir}); got != 1 {
		t.Errorf("reindex of a directory in use: exit %d, want 1", got)
	}
	s.Close()
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte("valueindex")); err != nil {
			return err
		}
		_, err := tx.CreateBucket([]byte("valueindex"))
		return err
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	if got := run([]string{"reindex", "--data", dir}); got != 0 {
		t.Fatalf("reindex: exit %d, want 0", got)
	}
	s, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.View(func(tx *store.Tx) error {
		if err := tx.CheckIndex(); err != nil {
			return err
		}
		hits, _, err := tx.SearchValues(store.ValueQuery{Type: "batch", Value: []byte("B-1")}, nil, 10)
		if len(hits) != 2 {
			t.Errorf("search after reindex: %d hits, want 2", len(hits))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := run([]string{"reindex", "--data", dir, "extra"}); got != 2 {
		t.Errorf("reindex with an extra argument: exit %d, want 2", got)
	}
}
