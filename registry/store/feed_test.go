package store_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

func openWith(t *testing.T, dir string, opts store.Options) *store.Store {
	t.Helper()
	s, err := openBackend(t, dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func changes(t *testing.T, s *store.Store, after uint64) ([]*idresv1.Change, error) {
	t.Helper()
	var out []*idresv1.Change
	err := s.View(func(tx *store.Tx) (err error) { out, err = tx.Changes(after, 1<<20); return err })
	return out, err
}

func TestFeedRecordsChanges(t *testing.T) {
	c := newClock()
	s, _ := openStore(t, c)
	mustCreatePrefix(t, s, "88.100") // revision 1: no change record
	mustCreateID(t, s, "88.100/P-1", val(1, "batch", "B-1"))
	update(t, s, func(tx *store.Tx) error {
		_, err := tx.UpdateIdentifier("88.100/p-1", func(r *idresv1.Identifier) error { r.Values[0].Data = []byte("B-2"); return nil })
		return err
	})
	update(t, s, func(tx *store.Tx) error {
		return tx.PutIdentifiers([]store.BulkItem{
			{ID: ident.MustParse("88.100/P-2"), Rec: &idresv1.Identifier{Values: []*idresv1.Value{val(1, "batch", "B-1")}}},
			{ID: ident.MustParse("88.100/P-1"), Rec: &idresv1.Identifier{Values: []*idresv1.Value{val(1, "batch", "B-3")}}},
		}, true, nil)
	})
	update(t, s, func(tx *store.Tx) error { _, err := tx.DeletePrefix("88.100", true); return err })

	want := []struct {
		rev  uint64
		kind idresv1.Change_Kind
		id   string
	}{
		{2, idresv1.Change_CREATED, "88.100/P-1"},
		{3, idresv1.Change_UPDATED, "88.100/P-1"},
		{4, idresv1.Change_CREATED, "88.100/P-2"},
		{4, idresv1.Change_UPDATED, "88.100/P-1"},
		{5, idresv1.Change_DELETED, "88.100/P-1"},
		{5, idresv1.Change_DELETED, "88.100/P-2"},
	}
	got, err := changes(t, s, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d changes, want %d: %v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Sequence != uint64(i+1) || g.Revision != w.rev || g.Kind != w.kind || g.Identifier != w.id || !g.Time.AsTime().Equal(c.Now()) {
			t.Errorf("change %d = %v, want seq %d rev %d %v %s", i, g, i+1, w.rev, w.kind, w.id)
		}
	}
	tail, err := changes(t, s, 4)
	if err != nil || len(tail) != 2 || tail[0].Sequence != 5 {
		t.Errorf("Changes(after 4) = %v, %v; want sequences 5, 6", tail, err)
	}
}

func TestFeedStart(t *testing.T) {
	s, _ := openStore(t, newClock())
	mustCreatePrefix(t, s, "88")                 // rev 1
	mustCreateID(t, s, "88/a", val(1, "t", "x")) // rev 2, seq 1
	mustCreatePrefix(t, s, "20")                 // rev 3
	mustCreateID(t, s, "88/b", val(1, "t", "x")) // rev 4, seq 2
	update(t, s, func(tx *store.Tx) error {      // rev 5, seq 3, 4
		return tx.PutIdentifiers([]store.BulkItem{
			{ID: ident.MustParse("88/c"), Rec: &idresv1.Identifier{Values: []*idresv1.Value{val(1, "t", "x")}}},
			{ID: ident.MustParse("88/d"), Rec: &idresv1.Identifier{Values: []*idresv1.Value{val(1, "t", "x")}}},
		}, false, nil)
	})
	tests := []struct {
		from    uint64
		want    uint64
		wantErr error
	}{
		{0, 0, nil}, {1, 0, nil}, {2, 1, nil}, {3, 1, nil}, {4, 2, nil}, {5, 4, nil},
		{6, 0, store.ErrFeedRange}, // newer than the node
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("from %d", tt.from), func(t *testing.T) {
			view(t, s, func(tx *store.Tx) error {
				got, err := tx.FeedStart(tt.from)
				if !errors.Is(err, tt.wantErr) || (err == nil && got != tt.want) {
					t.Errorf("FeedStart(%d) = %d, %v; want %d, %v", tt.from, got, err, tt.want, tt.wantErr)
				}
				return nil
			})
		})
	}
	view(t, s, func(tx *store.Tx) error {
		if err := tx.CheckFeedPosition(5); !errors.Is(err, store.ErrFeedRange) {
			t.Errorf("CheckFeedPosition(5) with 4 changes = %v, want ErrFeedRange", err)
		}
		return nil
	})
}

func TestFeedRetention(t *testing.T) {
	tests := []struct {
		name       string
		opts       store.Options
		advance    time.Duration // between writes
		writes     int
		wantKept   int
		wantFloorR uint64 // highest revision trimmed
	}{
		{"by count", store.Options{RetainChanges: 5}, 0, 20, 5, 16},
		{"by age", store.Options{RetainAge: 90 * time.Minute}, time.Hour, 10, 2, 9},
		{"count and age, count binds", store.Options{RetainChanges: 3, RetainAge: 10 * time.Hour}, time.Hour, 10, 3, 8},
		{"nothing old enough", store.Options{RetainAge: 100 * time.Hour}, time.Hour, 10, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			tt.opts.Now = c.Now
			s := openWith(t, t.TempDir(), tt.opts)
			mustCreatePrefix(t, s, "88") // rev 1
			for i := range tt.writes {   // rev 2..writes+1, seq 1..writes
				c.Advance(tt.advance)
				mustCreateID(t, s, fmt.Sprintf("88/p-%d", i), val(1, "t", "x"))
			}
			kept, err := changes(t, s, uint64(tt.writes-tt.wantKept))
			if err != nil || len(kept) != tt.wantKept {
				t.Fatalf("Changes after the trimmed ones = %d, %v; want %d", len(kept), err, tt.wantKept)
			}
			view(t, s, func(tx *store.Tx) error {
				rev, seq := tx.FeedFloor()
				if rev != tt.wantFloorR || seq != uint64(tt.writes-tt.wantKept) {
					t.Errorf("FeedFloor = rev %d seq %d, want rev %d seq %d", rev, seq, tt.wantFloorR, tt.writes-tt.wantKept)
				}
				if tt.wantKept == tt.writes {
					return nil
				}
				if _, err := tx.Changes(0, 10); !errors.Is(err, store.ErrFeedRange) {
					t.Errorf("Changes(0) after trimming = %v, want ErrFeedRange", err)
				}
				if _, err := tx.FeedStart(rev - 1); !errors.Is(err, store.ErrFeedRange) {
					t.Errorf("FeedStart(%d) = %v, want ErrFeedRange", rev-1, err)
				}
				if _, err := tx.FeedStart(rev); err != nil {
					t.Errorf("FeedStart(%d) = %v, want the first kept change", rev, err)
				}
				return nil
			})
		})
	}
}

func TestChangeNotify(t *testing.T) {
	s, _ := openStore(t, newClock())
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	ch := s.ChangeNotify()
	mustCreatePrefix(t, s, "88")
	if closed(ch) {
		t.Error("a write without identifier changes woke the feed")
	}
	mustCreateID(t, s, "88/a", val(1, "t", "x"))
	if !closed(ch) {
		t.Error("an identifier change did not wake the feed")
	}
	ch = s.ChangeNotify()
	if closed(ch) {
		t.Error("a fresh channel is already closed")
	}
	s.StopNotify()
	if !closed(ch) || !closed(s.ChangeNotify()) || s.Notifying() {
		t.Error("StopNotify did not wake every waiter for good")
	}
}

// TestUpgradeFromVersion2 turns a store back into a version-2 file (no
// index, no feed) and checks that Open builds the index and starts the
// feed at the file's revision.
func TestUpgradeFromVersion2(t *testing.T) {
	fileOnly(t)
	dir := t.TempDir()
	s := openWith(t, dir, store.Options{})
	mustCreatePrefix(t, s, "88.100")
	mustCreateID(t, s, "88.100/P-1", val(1, "batch", "B-1"), val(2, "URL", "https://x"))
	mustCreateID(t, s, "88.100/P-2", val(1, "batch", "B-1"))
	s.Close()
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range []string{"valueindex", "changes"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		meta := tx.Bucket([]byte("meta"))
		if err := meta.Delete([]byte("feedfloor")); err != nil {
			return err
		}
		return meta.Put([]byte("schema"), binary.BigEndian.AppendUint32(nil, 2))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	// A backup of an older version verifies (restore puts it in place;
	// Open upgrades it).
	if info, err := store.Verify(filepath.Join(dir, store.FileName)); err != nil || info.SchemaVersion != 2 || info.Identifiers != 2 {
		t.Errorf("Verify of a version-2 file = %+v, %v; want version 2 with 2 identifiers", info, err)
	}
	s = openWith(t, dir, store.Options{})
	view(t, s, func(tx *store.Tx) error {
		if err := tx.CheckIndex(); err != nil {
			t.Errorf("index after upgrade: %v", err)
		}
		hits, _, err := tx.SearchValues(store.ValueQuery{Scope: "88", Type: "batch", Value: []byte("B-1")}, nil, 10)
		if err != nil || len(hits) != 2 {
			t.Errorf("search after upgrade = %d hits, %v; want 2", len(hits), err)
		}
		rev := tx.Revision()
		if _, err := tx.FeedStart(rev - 1); !errors.Is(err, store.ErrFeedRange) {
			t.Errorf("FeedStart before the upgrade = %v, want ErrFeedRange", err)
		}
		if pos, err := tx.FeedStart(rev); err != nil || pos != 0 {
			t.Errorf("FeedStart(%d) = %d, %v; want 0", rev, pos, err)
		}
		return nil
	})
}

// TestFeedRecordsPatterns: setting and deleting a serial pattern are feed
// changes, named "<prefix>/<pattern>", since they change every identifier
// the pattern covers.
func TestFeedRecordsPatterns(t *testing.T) {
	s, _ := openStore(t, newClock())
	mustCreatePrefix(t, s, "88.100")
	p := &idresv1.Pattern{Prefix: "88.100", Pattern: "P-{n:1-9}", Values: []*idresv1.Value{val(1, "URL", "https://x/{n}")}}
	update(t, s, func(tx *store.Tx) error { _, err := tx.PutPattern("88.100", p); return err })
	update(t, s, func(tx *store.Tx) error { _, err := tx.DeletePattern("88.100", "P-{n:1-9}"); return err })
	view(t, s, func(tx *store.Tx) error {
		changes, err := tx.Changes(0, 10)
		if err != nil {
			return err
		}
		var got []string
		for _, c := range changes {
			got = append(got, c.Kind.String()+" "+c.Identifier)
		}
		want := []string{"PATTERN_SET 88.100/P-{n:1-9}", "PATTERN_DELETED 88.100/P-{n:1-9}"}
		if !slices.Equal(got, want) {
			t.Errorf("feed = %q, want %q", got, want)
		}
		return nil
	})
}
