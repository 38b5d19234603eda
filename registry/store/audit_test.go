package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/store/etcdkv"
	"github.com/idres/idres/registry/store/kv"
)

// auditPrefixes share string prefixes without being each other's
// subtrees ("88.1", "88.10", "88.1-x", "881"), hold a 0x00, and include
// the root's "".
var auditPrefixes = []string{"", "8", "88", "880", "881", "88.1", "88.10", "88.1-x", "88.1.2", "88.1.2.3",
	"88.10.1", "88.100.1", "88.100.2", "89", "89.1", "a\x00b", "a\x00b.c", "a", "a.b", "zz.top"}

var auditScopes = append(slices.Clone(auditPrefixes), "88.1.2.3.4", "nothing", "88.", "a\x00", "7")

// covers is ident.Covers, written out again as the listing's contract.
func covers(scope, prefix string) bool {
	return scope == "" || prefix == scope || strings.HasPrefix(prefix, scope+".")
}

// appendAuditLog appends n records at random prefixes, several per
// transaction, with times that mostly rise and sometimes step back (up to
// a minute), and returns them as stored.
func appendAuditLog(t testing.TB, s *store.Store, rng *rand.Rand, n int) []*idresv1.AuditRecord {
	t.Helper()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var recs []*idresv1.AuditRecord
	for len(recs) < n {
		batch := min(1+rng.IntN(40), n-len(recs))
		update(t, s, func(tx *store.Tx) error {
			for range batch {
				switch rng.IntN(10) {
				case 0:
					at = at.Add(-time.Duration(rng.IntN(60_000)) * time.Millisecond)
				case 1, 2, 3:
				default:
					at = at.Add(time.Duration(rng.IntN(3_000)) * time.Millisecond)
				}
				rec := &idresv1.AuditRecord{Time: timestamppb.New(at), Call: "X", Prefix: auditPrefixes[rng.IntN(len(auditPrefixes))]}
				if err := tx.AppendAudit(rec); err != nil {
					return err
				}
				recs = append(recs, rec)
			}
			return nil
		})
	}
	return recs
}

// scanAudit is the listing done the plain way: every record, filtered.
func scanAudit(log []*idresv1.AuditRecord, f store.AuditFilter, limit int) []uint64 {
	var out []uint64
	for _, r := range log {
		if r.Seq > f.After && covers(f.Scope, r.Prefix) && (f.Since.IsZero() || !r.Time.AsTime().Before(f.Since)) {
			if out = append(out, r.Seq); len(out) == limit {
				break
			}
		}
	}
	return out
}

func listAudit(t testing.TB, s *store.Store, f store.AuditFilter, limit int) []uint64 {
	t.Helper()
	var out []uint64
	view(t, s, func(tx *store.Tx) error {
		return tx.ListAudit(f, func(r *idresv1.AuditRecord) (bool, error) {
			out = append(out, r.Seq)
			return len(out) < limit, nil
		})
	})
	return out
}

// checkAuditListings compares ListAudit with the plain scan for every
// scope and many since, after and limit values, paging each listing to
// its end.
func checkAuditListings(t *testing.T, s *store.Store, log []*idresv1.AuditRecord, rng *rand.Rand) {
	t.Helper()
	sinces := []time.Time{{}, time.Unix(0, 0), log[0].Time.AsTime(), log[len(log)-1].Time.AsTime(),
		log[len(log)-1].Time.AsTime().Add(time.Nanosecond), log[len(log)-1].Time.AsTime().Add(time.Hour)}
	for range 12 {
		r := log[rng.IntN(len(log))].Time.AsTime()
		sinces = append(sinces, r, r.Add(time.Nanosecond), r.Add(-time.Nanosecond), r.Truncate(time.Second))
	}
	for _, scope := range auditScopes {
		for _, since := range sinces {
			limit := 1 + rng.IntN(50)
			f := store.AuditFilter{Scope: scope, Since: since}
			if rng.IntN(3) == 0 {
				f.After = uint64(rng.IntN(len(log) + 2))
			}
			for page := 0; ; page++ {
				want, got := scanAudit(log, f, limit), listAudit(t, s, f, limit)
				if !slices.Equal(got, want) {
					t.Fatalf("scope %q since %v after %d limit %d (page %d): got %v, want %v", scope, since, f.After, limit, page, got, want)
				}
				if len(got) < limit {
					break
				}
				f.After = got[len(got)-1]
			}
		}
	}
}

// TestListAuditMatchesScan: ListAudit returns what a scan of the whole
// log filtered by scope, since and after returns, page by page, on a log
// whose clock steps back.
func TestListAuditMatchesScan(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 19))
			s, _ := openStore(t, nil)
			log := appendAuditLog(t, s, rng, 1500)
			checkAuditListings(t, s, log, rng)
		})
	}
}

// TestListAuditReadsFew: a narrow listing, and a listing of the newest
// records, decode the records they return, one more to see that the page
// is not the last, and no others.
func TestListAuditReadsFew(t *testing.T) {
	const n, limit = 20_000, 10
	s, _ := openStore(t, nil)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i += 2000 {
		update(t, s, func(tx *store.Tx) error {
			for j := i; j < i+2000; j++ {
				// 200 prefixes, round robin; the clock ticks every record.
				p := fmt.Sprintf("88.%d.%d", j%200/20, j%20)
				if err := tx.AppendAudit(&idresv1.AuditRecord{Time: timestamppb.New(at.Add(time.Duration(j) * time.Second)), Prefix: p}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	tests := []struct {
		name string
		f    store.AuditFilter
		want int // records returned when stopping after limit+1
	}{
		{"one prefix", store.AuditFilter{Scope: "88.3.7"}, limit + 1},
		{"one prefix, later page", store.AuditFilter{Scope: "88.3.7", After: n / 2}, limit + 1},
		{"a subtree of 20 prefixes", store.AuditFilter{Scope: "88.3"}, limit + 1},
		{"no record", store.AuditFilter{Scope: "88.3.77"}, 0},
		{"the newest 5", store.AuditFilter{Since: at.Add((n - 5) * time.Second)}, 5},
		{"one prefix since", store.AuditFilter{Scope: "88.3.7", Since: at.Add(n / 2 * time.Second)}, limit + 1},
		{"since after the last", store.AuditFilter{Since: at.Add(n * time.Second)}, 0},
	}
	for _, tc := range tests {
		before := s.AuditRecordsRead()
		got := listAudit(t, s, tc.f, limit+1)
		read := s.AuditRecordsRead() - before
		if len(got) != tc.want {
			t.Errorf("%s: %d records, want %d", tc.name, len(got), tc.want)
		}
		if read != uint64(len(got)) {
			t.Errorf("%s: read %d records to return %d", tc.name, read, len(got))
		}
	}
}

// TestUpgradeAuditIndex: a version-4 store (a log and no audit indexes)
// opens as version 5 with the indexes built, listing as a fresh one.
func TestUpgradeAuditIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 19))
	var s *store.Store
	var log []*idresv1.AuditRecord
	if !onEtcd {
		dir := t.TempDir()
		s1, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		log = appendAuditLog(t, s1, rng, 800)
		s1.Close()
		db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bolt.Tx) error { return downgradeTo4(boltTx{tx}) })
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if s, err = store.Open(dir, store.Options{}); err != nil {
			t.Fatalf("open version 4: %v", err)
		}
	} else {
		cfg := etcdkv.Config{Endpoints: etcdCluster.Endpoints(), Prefix: fmt.Sprintf("/store-test/audit-upgrade-%d", time.Now().UnixNano()), MaxTxnOps: 1 << 20}
		open := func() kv.Backend {
			b, err := etcdkv.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		s1, err := store.OpenBackend(open(), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		log = appendAuditLog(t, s1, rng, 800)
		s1.Close()
		b := open()
		if err := b.Update(downgradeTo4); err != nil {
			t.Fatal(err)
		}
		b.Close()
		if s, err = store.OpenBackend(open(), store.Options{}); err != nil {
			t.Fatalf("open version 4: %v", err)
		}
	}
	defer s.Close()
	checkAuditListings(t, s, log, rng)
	// New records are indexed after the upgraded ones.
	log = append(log, appendAuditLog(t, s, rng, 100)...)
	checkAuditListings(t, s, log, rng)
}

// downgradeTo4 makes a version-5 store one written by version 4.
func downgradeTo4(tx kv.Tx) error {
	for _, name := range []string{"auditprefix", "audittime"} {
		if tx.Bucket([]byte(name)) == nil {
			return fmt.Errorf("no bucket %s to remove", name)
		}
		if err := tx.DeleteBucket([]byte(name)); err != nil {
			return err
		}
	}
	return tx.Bucket([]byte("meta")).Put([]byte("schema"), u32(4))
}

// boltTx is the little of kv.Tx downgradeTo4 needs, over a raw bbolt
// transaction.
type boltTx struct{ tx *bolt.Tx }

func (b boltTx) Bucket(name []byte) kv.Bucket {
	if bk := b.tx.Bucket(name); bk != nil {
		return boltBucket{bk}
	}
	return nil
}
func (b boltTx) CreateBucketIfNotExists([]byte) (kv.Bucket, error) { panic("unused") }
func (b boltTx) DeleteBucket(name []byte) error                    { return b.tx.DeleteBucket(name) }
func (b boltTx) Writable() bool                                    { return b.tx.Writable() }

type boltBucket struct{ *bolt.Bucket }

func (b boltBucket) Cursor() kv.Cursor { return b.Bucket.Cursor() }
