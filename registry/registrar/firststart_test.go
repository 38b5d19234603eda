package registrar

import (
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
)

// TestFirstStartIsAudited: the administrator credential made at first
// start has its audit record; a later start makes neither again.
func TestFirstStartIsAudited(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, wantCreated := range []bool{true, false} {
		_, created, err := EnsureAdmin(s, dir)
		if err != nil || created != wantCreated {
			t.Fatalf("start %d: created=%v err=%v", i+1, created, err)
		}
	}
	var recs []*idresv1.AuditRecord
	err = s.View(func(tx *store.Tx) error {
		return tx.ForEachAudit(0, func(r *idresv1.AuditRecord) (bool, error) { recs = append(recs, r); return true, nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Call != "FirstStart" || len(recs[0].AfterSha256) != 32 || recs[0].Target == "" {
		t.Errorf("audit after two starts: %v", recs)
	}
}
