package store_test

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
)

func TestTemplates(t *testing.T) {
	s, _ := openStore(t, nil)
	tpl := &idresv1.Template{Prefix: "88.100", Fields: []*idresv1.TemplateField{{Type: "gtin", Kind: "gs1-gtin", Required: true}}}
	if err := s.Update(func(tx *store.Tx) error { return tx.PutTemplate("88.100", tpl) }); err != nil {
		t.Fatal(err)
	}
	err := s.View(func(tx *store.Tx) error {
		got, err := tx.Template("88.100")
		if err != nil {
			return err
		}
		if got.Fields[0].Kind != "gs1-gtin" {
			t.Errorf("kind = %q", got.Fields[0].Kind)
		}
		if _, err := tx.Template("88.100.1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Template(child) err = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []error{nil, store.ErrNotFound} {
		err := s.Update(func(tx *store.Tx) error { return tx.DeleteTemplate("88.100") })
		if !errors.Is(err, want) {
			t.Errorf("delete #%d: err = %v, want %v", i+1, err, want)
		}
	}
}

func TestAuditAppendAndScan(t *testing.T) {
	s, _ := openStore(t, nil)
	for _, call := range []string{"a", "b", "c"} {
		if err := s.Update(func(tx *store.Tx) error { return tx.AppendAudit(&idresv1.AuditRecord{Call: call}) }); err != nil {
			t.Fatal(err)
		}
	}
	// A rolled-back transaction leaves no record and no gap.
	_ = s.Update(func(tx *store.Tx) error {
		_ = tx.AppendAudit(&idresv1.AuditRecord{Call: "rolled back"})
		return errors.New("abort")
	})
	if err := s.Update(func(tx *store.Tx) error { return tx.AppendAudit(&idresv1.AuditRecord{Call: "d"}) }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		after uint64
		stop  int
		want  string
	}{
		{0, 0, "1a2b3c4d"},
		{2, 0, "3c4d"},
		{4, 0, ""},
		{0, 2, "1a2b"},
	}
	for _, tc := range tests {
		got := ""
		err := s.View(func(tx *store.Tx) error {
			n := 0
			return tx.ForEachAudit(tc.after, func(r *idresv1.AuditRecord) (bool, error) {
				got += string(rune('0'+r.Seq)) + r.Call
				n++
				return tc.stop == 0 || n < tc.stop, nil
			})
		})
		if err != nil || got != tc.want {
			t.Errorf("after %d stop %d: got %q, %v; want %q", tc.after, tc.stop, got, err, tc.want)
		}
	}
}

// A version-1 file (before templates and audit) is upgraded at open.
func TestMigrateFromVersion1(t *testing.T) {
	fileOnly(t)
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"meta", "prefixes", "delegations", "identifiers", "credentials"} {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint32(nil, 1))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatalf("Open of a version-1 file: %v", err)
	}
	if err := s.Update(func(tx *store.Tx) error {
		return tx.AppendAudit(&idresv1.AuditRecord{Call: "x"})
	}); err != nil {
		t.Errorf("audit after upgrade: %v", err)
	}
	s.Close()
	db, err = bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bolt.Tx) error {
		if v := binary.BigEndian.Uint32(tx.Bucket([]byte("meta")).Get([]byte("schema"))); v != store.SchemaVersion {
			t.Errorf("schema after upgrade = %d, want %d", v, store.SchemaVersion)
		}
		for _, name := range []string{"templates", "audit"} {
			if tx.Bucket([]byte(name)) == nil {
				t.Errorf("bucket %s missing after upgrade", name)
			}
		}
		return nil
	})
}
