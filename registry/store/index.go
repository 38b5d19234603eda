package store

import (
	"bytes"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store/kv"
)

// The value index (bucket valueindex) maps each distinct (type, data) of an
// identifier to the identifier, ordered so that one held prefix's values of
// one type sit in one key range sorted by data:
//
//	prefix key | 0x00 | esc(type) | 0x00 0x01 | esc(data[:IndexedDataLen]) | 0x00 (0x01 whole, 0x02 cut) | identifier key
//
// esc writes 0x00 as 0x00 0xFF and every other byte as itself: a
// prefix-free code that keeps byte order, so a value prefix is a key
// prefix and the terminators sort before any escaped byte. Data longer
// than IndexedDataLen is indexed by its head; searches for such data check
// candidates against the record.

// IndexedDataLen is how many bytes of a value's data the index holds.
const IndexedDataLen = 512

var (
	termWhole = []byte{0, 1}
	termCut   = []byte{0, 2}
)

func appendEsc(dst, src []byte) []byte {
	for _, b := range src {
		if b == 0 {
			dst = append(dst, 0, 0xff)
			continue
		}
		dst = append(dst, b)
	}
	return dst
}

// indexRange is the key range holding the values of type typ under the
// folded prefix pk.
func indexRange(pk, typ string) []byte {
	k := append(prefixKey(pk), 0)
	k = appendEsc(k, []byte(typ))
	return append(k, termWhole...)
}

func indexKey(pk, typ string, data []byte, idKey string) []byte {
	// One allocation in the common case (no 0x00 to escape): an import
	// builds several keys per identifier.
	return appendIndexKey(make([]byte, 0, indexKeyLen(pk, typ, data, idKey)), pk, typ, data, idKey)
}

// indexKeyLen is indexKey's length when nothing needs escaping.
func indexKeyLen(pk, typ string, data []byte, idKey string) int {
	return len(pk) + len(typ) + min(len(data), IndexedDataLen) + len(idKey) + 8
}

func appendIndexKey(k []byte, pk, typ string, data []byte, idKey string) []byte {
	k = append(append(k, prefixKey(pk)...), 0)
	k = appendEsc(k, []byte(typ))
	k = append(k, termWhole...)
	if len(data) > IndexedDataLen {
		k = appendEsc(k, data[:IndexedDataLen])
		k = append(k, termCut...)
	} else {
		k = appendEsc(k, data)
		k = append(k, termWhole...)
	}
	return append(k, idKey...)
}

// indexKeys is the set of index keys of one stored identifier.
func indexKeys(idKey string, rec *idresv1.Identifier) map[string]bool {
	if rec == nil {
		return nil
	}
	pk, _, _ := splitKey(idKey)
	out := make(map[string]bool, len(rec.Values))
	for _, v := range rec.Values {
		out[string(indexKey(pk, v.Type, v.Data, idKey))] = true
	}
	return out
}

// splitKey splits an identifier key at its first "/".
func splitKey(idKey string) (prefix, suffix string, ok bool) {
	i := bytes.IndexByte([]byte(idKey), '/')
	if i < 0 {
		return idKey, "", false
	}
	return idKey[:i], idKey[i+1:], true
}

// reindexIdentifier brings the index entries of one identifier from what
// old needed to what rec needs (either may be nil).
func (tx *Tx) reindexIdentifier(idKey string, old, rec *idresv1.Identifier) error {
	b := tx.tx.Bucket(bucketValueIndex)
	before, after := indexKeys(idKey, old), indexKeys(idKey, rec)
	for k := range before {
		if !after[k] {
			if err := b.Delete([]byte(k)); err != nil {
				return fmt.Errorf("unindex %q: %w", idKey, err)
			}
		}
	}
	for k := range after {
		if !before[k] {
			if err := b.Put([]byte(k), nil); err != nil {
				return fmt.Errorf("index %q: %w", idKey, err)
			}
		}
	}
	return nil
}

// identifierChanged is the one hook every identifier write passes through
// (create, replace, update, delete, forced prefix delete, bulk import): it
// keeps the value index and appends the change record in the same
// transaction. old or rec is nil for a creation or a deletion.
func (tx *Tx) identifierChanged(idKey string, old, rec *idresv1.Identifier) error {
	if err := tx.reindexIdentifier(idKey, old, rec); err != nil {
		return err
	}
	kind, name := idresv1.Change_UPDATED, ""
	switch {
	case old == nil:
		kind, name = idresv1.Change_CREATED, rec.GetIdentifier()
	case rec == nil:
		kind, name = idresv1.Change_DELETED, old.GetIdentifier()
	default:
		name = rec.GetIdentifier()
	}
	return tx.appendChange(kind, name)
}

// ValueQuery is a search of the value index.
type ValueQuery struct {
	// Scope is the folded subtree root ("" for every held prefix).
	Scope string
	// Type is compared exactly.
	Type string
	// Value is the data sought: equal to it, or starting with it when
	// PrefixMatch.
	Value       []byte
	PrefixMatch bool
}

// ValueHit is one value that matched.
type ValueHit struct {
	// Key is the index key: pass the last hit's as after to get the next page.
	Key        []byte
	Identifier string
	Value      *idresv1.Value
}

// ErrBadPageToken marks an after key that is not one this query returned.
var ErrBadPageToken = errors.New("page token is not one this search returned")

// seek is where the query's matches start under the folded prefix pk, and
// whether every key under it is a sure match (false when data longer than
// IndexedDataLen must be checked against the record).
func (q ValueQuery) seek(pk string) (start []byte, sure bool) {
	k := indexRange(pk, q.Type)
	if len(q.Value) > IndexedDataLen {
		k = appendEsc(k, q.Value[:IndexedDataLen])
		return append(k, termCut...), false
	}
	k = appendEsc(k, q.Value)
	if !q.PrefixMatch {
		k = append(k, termWhole...)
	}
	return k, true
}

func (q ValueQuery) matches(data []byte) bool {
	if q.PrefixMatch {
		return bytes.HasPrefix(data, q.Value)
	}
	return bytes.Equal(data, q.Value)
}

// SearchValues returns up to limit values matching q, in index order (by
// prefix, then data, then identifier), starting after the index key after
// (nil for the first page), and whether more may follow.
func (tx *Tx) SearchValues(q ValueQuery, after []byte, limit int) ([]ValueHit, bool, error) {
	var zones []string
	err := tx.tx.Bucket(bucketPrefixes).ForEach(func(k, _ []byte) error {
		pk := string(k)
		if pk == "." {
			pk = ""
		}
		if ident.Covers(q.Scope, pk) {
			zones = append(zones, pk)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if after != nil {
		// Resume in the zone the token names; it must be a key this query
		// could have returned.
		i := bytes.IndexByte(after, 0)
		if i < 0 {
			return nil, false, ErrBadPageToken
		}
		pk := string(after[:i])
		if pk == "." {
			pk = ""
		}
		start, _ := q.seek(pk)
		if !ident.Covers(q.Scope, pk) || !bytes.HasPrefix(after, start) {
			return nil, false, ErrBadPageToken
		}
		for len(zones) > 0 && string(prefixKey(zones[0])) < string(prefixKey(pk)) {
			zones = zones[1:]
		}
	}
	var hits []ValueHit
	c := tx.tx.Bucket(bucketValueIndex).Cursor()
	for _, pk := range zones {
		start, sure := q.seek(pk)
		k, _ := c.Seek(start)
		if after != nil && bytes.HasPrefix(after, start) {
			k, _ = c.Seek(after)
			if k != nil && bytes.Equal(k, after) {
				k, _ = c.Next()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, start); k, _ = c.Next() {
			if len(hits) == limit {
				return hits, true, nil
			}
			idKey := indexedID(k)
			rec, err := tx.Identifier(idKey)
			if err != nil {
				return nil, false, fmt.Errorf("index names %q: %w", idKey, err)
			}
			v := matchingValue(rec, q, k, idKey, sure)
			if v == nil {
				continue
			}
			hits = append(hits, ValueHit{Key: bytes.Clone(k), Identifier: rec.Identifier, Value: v})
		}
	}
	return hits, false, nil
}

// indexedID is the identifier key at the end of an index key: after the
// last terminator, which no identifier key contains (they hold no 0x00).
func indexedID(k []byte) string {
	i := bytes.LastIndexByte(k, 0)
	return string(k[i+2:])
}

// matchingValue is the value of rec the index key k stands for, or nil
// when it does not match q (only possible when !sure).
func matchingValue(rec *idresv1.Identifier, q ValueQuery, k []byte, idKey string, sure bool) *idresv1.Value {
	pk, _, _ := splitKey(idKey)
	for _, v := range rec.Values {
		if v.Type != q.Type || !q.matches(v.Data) {
			continue
		}
		if sure && !bytes.Equal(indexKey(pk, v.Type, v.Data, idKey), k) {
			continue
		}
		return v
	}
	return nil
}

// Reindex rebuilds the value index from the identifiers, in one
// transaction, and returns how many entries it holds. idresd runs it
// offline (idresd reindex).
func (s *Store) Reindex() (int, error) {
	var n int
	err := s.Update(func(tx *Tx) error {
		if err := tx.tx.DeleteBucket(bucketValueIndex); err != nil {
			return fmt.Errorf("drop value index: %w", err)
		}
		var err error
		n, err = buildIndex(tx.tx)
		return err
	})
	return n, err
}

// buildIndex creates the value index from every stored identifier.
func buildIndex(btx kv.Tx) (int, error) {
	idx, err := btx.CreateBucketIfNotExists(bucketValueIndex)
	if err != nil {
		return 0, fmt.Errorf("create value index: %w", err)
	}
	n := 0
	err = btx.Bucket(bucketIdentifiers).ForEach(func(k, v []byte) error {
		rec := &idresv1.Identifier{}
		if err := proto.Unmarshal(v, rec); err != nil {
			return fmt.Errorf("decode identifier %q: %w", k, err)
		}
		for key := range indexKeys(string(k), rec) {
			if err := idx.Put([]byte(key), nil); err != nil {
				return fmt.Errorf("index %q: %w", k, err)
			}
			n++
		}
		return nil
	})
	return n, err
}

// CheckIndex compares the value index with what a full scan of the
// identifiers gives and describes the first differences; nil when equal.
func (tx *Tx) CheckIndex() error {
	want := map[string]bool{}
	err := tx.tx.Bucket(bucketIdentifiers).ForEach(func(k, v []byte) error {
		rec := &idresv1.Identifier{}
		if err := proto.Unmarshal(v, rec); err != nil {
			return fmt.Errorf("decode identifier %q: %w", k, err)
		}
		for key := range indexKeys(string(k), rec) {
			want[key] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	var errs []error
	err = tx.tx.Bucket(bucketValueIndex).ForEach(func(k, _ []byte) error {
		if !want[string(k)] {
			if len(errs) < 10 {
				errs = append(errs, fmt.Errorf("stray index entry %q", k))
			}
			return nil
		}
		delete(want, string(k))
		return nil
	})
	if err != nil {
		return err
	}
	for k := range want {
		if len(errs) >= 10 {
			break
		}
		errs = append(errs, fmt.Errorf("missing index entry %q", k))
	}
	if len(errs) > 0 {
		return fmt.Errorf("value index differs from the identifiers (%d+ differences): %w", len(errs), errors.Join(errs...))
	}
	return nil
}
