package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// The generator's universe is small so that operations collide: the same
// identifiers are created, replaced, updated and deleted again and again.
var (
	propPrefixes = []string{"88", "88.100", "88.100.1", "20"}
	propSuffixes = []string{"P-1", "p-1", "P-2", "a/b", "Ä-3", "x"}
	propTypes    = []string{"batch", "URL", "lot"}
	longHead     = strings.Repeat("h", store.IndexedDataLen)
	propData     = []string{"", "B-1", "B-12", "B-2", "B\x00x", "B", "b-1", longHead + "a", longHead + "b", "2-" + longHead}
)

func randValues(r *rand.Rand) []*idresv1.Value {
	n := 1 + r.IntN(4)
	vals := make([]*idresv1.Value, n)
	for i := range vals {
		vals[i] = val(uint32(i+1), propTypes[r.IntN(len(propTypes))], propData[r.IntN(len(propData))])
	}
	return vals
}

func randID(r *rand.Rand) ident.ID {
	return ident.MustParse(propPrefixes[r.IntN(len(propPrefixes))] + "/" + propSuffixes[r.IntN(len(propSuffixes))])
}

// mutate applies one random identifier write, the way every path of the
// registry does; refusals (exists, not found) are part of the game.
func mutate(t *testing.T, s *store.Store, r *rand.Rand) string {
	t.Helper()
	id := randID(r)
	var op string
	err := s.Update(func(tx *store.Tx) error {
		switch n := r.IntN(100); {
		case n < 30:
			op = "create"
			return tx.CreateIdentifier(id, &idresv1.Identifier{Values: randValues(r)})
		case n < 45:
			op = "put"
			_, err := tx.PutIdentifier(id, &idresv1.Identifier{Values: randValues(r)})
			return err
		case n < 60:
			op = "update"
			_, err := tx.UpdateIdentifier(id.Key(), func(rec *idresv1.Identifier) error {
				rec.Values = randValues(r)
				return nil
			})
			return err
		case n < 65:
			op = "update then fail"
			_, err := tx.UpdateIdentifier(id.Key(), func(rec *idresv1.Identifier) error {
				rec.Values = randValues(r)
				return errors.New("refused")
			})
			return err
		case n < 80:
			op = "delete"
			return tx.DeleteIdentifier(id)
		case n < 95:
			op = "bulk"
			items := make([]store.BulkItem, 1+r.IntN(6))
			for i := range items {
				items[i] = store.BulkItem{ID: randID(r), Rec: &idresv1.Identifier{Values: randValues(r)}}
			}
			// Duplicates inside one batch are what an import may send too.
			return tx.PutIdentifiers(items, r.IntN(2) == 0, nil)
		default:
			op = "forced prefix delete"
			p := propPrefixes[r.IntN(len(propPrefixes))]
			if _, err := tx.DeletePrefix(p, true); err != nil {
				return err
			}
			return tx.CreatePrefix(&idresv1.Prefix{Prefix: p})
		}
	})
	if err != nil && !errors.Is(err, store.ErrExists) && !errors.Is(err, store.ErrNotFound) && err.Error() != "refused" {
		t.Fatalf("%s %s: %v", op, id, err)
	}
	return op
}

// hitKey names a hit as the index promises to return it: data longer than
// IndexedDataLen counts by its head.
func hitKey(identifier string, data []byte) string {
	if len(data) > store.IndexedDataLen {
		return fmt.Sprintf("%s|%q...", ident.MustParse(identifier).Key(), data[:store.IndexedDataLen])
	}
	return fmt.Sprintf("%s|%q", ident.MustParse(identifier).Key(), data)
}

// scanSearch answers q from a full scan of the identifiers.
func scanSearch(t *testing.T, s *store.Store, q store.ValueQuery) []string {
	t.Helper()
	seen := map[string]bool{}
	view(t, s, func(tx *store.Tx) error {
		for _, pk := range propPrefixes {
			if !ident.Covers(q.Scope, pk) {
				continue
			}
			ids, _, err := tx.ListIdentifiers(pk, "", 1<<20)
			if err != nil {
				return err
			}
			for _, rec := range ids {
				for _, v := range rec.Values {
					match := bytes.Equal(v.Data, q.Value)
					if q.PrefixMatch {
						match = bytes.HasPrefix(v.Data, q.Value)
					}
					if v.Type == q.Type && match {
						seen[hitKey(rec.Identifier, v.Data)] = true
					}
				}
			}
		}
		return nil
	})
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// pagedSearch answers q from the index in pages of size, checking that no
// hit comes twice and every hit matches.
func pagedSearch(t *testing.T, s *store.Store, q store.ValueQuery, size int) []string {
	t.Helper()
	var out []string
	var after []byte
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("search %+v does not end", q)
		}
		var hits []store.ValueHit
		var more bool
		view(t, s, func(tx *store.Tx) (err error) { hits, more, err = tx.SearchValues(q, after, size); return err })
		for _, h := range hits {
			if h.Value.Type != q.Type {
				t.Fatalf("hit %s has type %q, want %q", h.Identifier, h.Value.Type, q.Type)
			}
			out = append(out, hitKey(h.Identifier, h.Value.Data))
		}
		if !more {
			break
		}
		after = hits[len(hits)-1].Key
	}
	sorted := slices.Clone(out)
	slices.Sort(sorted)
	if len(slices.Compact(slices.Clone(sorted))) != len(sorted) {
		t.Fatalf("search %+v returned a hit twice: %q", q, out)
	}
	return sorted
}

// TestIndexEqualsScan is the property test of the value index: after any
// sequence of identifier writes, through every write path, the index holds
// exactly what a full scan of the identifiers gives, and searches answer
// as a scan would, whatever the page size.
func TestIndexEqualsScan(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 11))
			s, _ := openStore(t, newClock())
			for _, p := range propPrefixes {
				mustCreatePrefix(t, s, p)
			}
			ops := map[string]int{}
			for step := range 300 {
				ops[mutate(t, s, r)]++
				if step%50 != 49 {
					continue
				}
				view(t, s, func(tx *store.Tx) error {
					if err := tx.CheckIndex(); err != nil {
						t.Fatalf("after %d writes %v: %v", step+1, ops, err)
					}
					return nil
				})
				for range 20 {
					q := store.ValueQuery{
						Scope:       []string{"", "88", "88.100", "20", "88.100.1", "86"}[r.IntN(6)],
						Type:        propTypes[r.IntN(len(propTypes))],
						Value:       []byte(propData[r.IntN(len(propData))]),
						PrefixMatch: r.IntN(2) == 0,
					}
					if q.PrefixMatch && r.IntN(3) == 0 {
						q.Value = q.Value[:len(q.Value)/2]
					}
					want := scanSearch(t, s, q)
					if got := pagedSearch(t, s, q, 1+r.IntN(4)); !slices.Equal(got, want) {
						t.Fatalf("after %d writes, search %+v:\n got %q\nwant %q", step+1, q, got, want)
					}
				}
			}
			checkFeedReplay(t, s)
			for _, op := range []string{"create", "put", "update", "delete", "bulk", "forced prefix delete"} {
				if ops[op] == 0 {
					t.Errorf("no %s in %v: the test covers less than it claims", op, ops)
				}
			}
		})
	}
}

func TestCheckIndexFindsDamage(t *testing.T) {
	fileOnly(t)
	s, _ := openStore(t, newClock())
	mustCreatePrefix(t, s, "88.100")
	mustCreateID(t, s, "88.100/P-1", val(1, "batch", "B-1"))
	// Drop the index bucket behind the store's back: CheckIndex must see
	// the missing entry and Reindex must repair it.
	err := s.DB().Update(func(btx *bolt.Tx) error {
		if err := btx.DeleteBucket([]byte("valueindex")); err != nil {
			return err
		}
		_, err := btx.CreateBucket([]byte("valueindex"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	view(t, s, func(tx *store.Tx) error {
		if err := tx.CheckIndex(); err == nil || !strings.Contains(err.Error(), "missing index entry") {
			t.Errorf("CheckIndex on an emptied index = %v, want a missing entry", err)
		}
		return nil
	})
	n, err := s.Reindex()
	if err != nil || n != 1 {
		t.Fatalf("Reindex = %d, %v; want 1 entry", n, err)
	}
	view(t, s, func(tx *store.Tx) error {
		if err := tx.CheckIndex(); err != nil {
			t.Errorf("after Reindex: %v", err)
		}
		return nil
	})
}

func TestSearchValuesBadToken(t *testing.T) {
	s, _ := openStore(t, newClock())
	mustCreatePrefix(t, s, "88.100")
	mustCreatePrefix(t, s, "20")
	mustCreateID(t, s, "88.100/P-1", val(1, "batch", "B-1"))
	mustCreateID(t, s, "20/P-1", val(1, "batch", "B-1"))
	var tok []byte
	view(t, s, func(tx *store.Tx) error {
		hits, _, err := tx.SearchValues(store.ValueQuery{Type: "batch", Value: []byte("B-1")}, nil, 10)
		if len(hits) != 2 || err != nil {
			t.Fatalf("search = %d hits, %v; want 2", len(hits), err)
		}
		tok = hits[0].Key // 20's
		return nil
	})
	tests := []struct {
		name  string
		q     store.ValueQuery
		after []byte
	}{
		{"other type", store.ValueQuery{Type: "lot", Value: []byte("B-1")}, tok},
		{"other value", store.ValueQuery{Type: "batch", Value: []byte("B-2")}, tok},
		{"outside scope", store.ValueQuery{Scope: "88.100", Type: "batch", Value: []byte("B-1")}, tok},
		{"garbage", store.ValueQuery{Type: "batch", Value: []byte("B-1")}, []byte("garbage")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view(t, s, func(tx *store.Tx) error {
				if _, _, err := tx.SearchValues(tt.q, tt.after, 10); !errors.Is(err, store.ErrBadPageToken) {
					t.Errorf("err = %v, want ErrBadPageToken", err)
				}
				return nil
			})
		})
	}
}

// checkFeedReplay replays the whole change feed onto an empty set: every
// kind must fit the state (no create of a live identifier, no update or
// delete of an absent one) and the result must be the live identifiers.
func checkFeedReplay(t *testing.T, s *store.Store) {
	t.Helper()
	live := map[string]bool{}
	var last uint64
	view(t, s, func(tx *store.Tx) error {
		changes, err := tx.Changes(0, 1<<30)
		if err != nil {
			return err
		}
		for _, c := range changes {
			if c.Sequence != last+1 {
				t.Fatalf("change sequence %d follows %d", c.Sequence, last)
			}
			last = c.Sequence
			key := ident.MustParse(c.Identifier).Key()
			switch c.Kind {
			case idresv1.Change_CREATED:
				if live[key] {
					t.Fatalf("change %d creates live %s", c.Sequence, key)
				}
				live[key] = true
			case idresv1.Change_UPDATED:
				if !live[key] {
					t.Fatalf("change %d updates absent %s", c.Sequence, key)
				}
			case idresv1.Change_DELETED:
				if !live[key] {
					t.Fatalf("change %d deletes absent %s", c.Sequence, key)
				}
				delete(live, key)
			default:
				t.Fatalf("change %d has kind %v", c.Sequence, c.Kind)
			}
		}
		for _, pk := range propPrefixes {
			ids, _, err := tx.ListIdentifiers(pk, "", 1<<20)
			if err != nil {
				return err
			}
			for _, rec := range ids {
				key := ident.MustParse(rec.Identifier).Key()
				if !live[key] {
					t.Errorf("%s is stored but the feed does not create it", key)
				}
				delete(live, key)
			}
		}
		if len(live) > 0 {
			t.Errorf("the feed leaves %v alive, the store does not hold them", live)
		}
		return nil
	})
}
