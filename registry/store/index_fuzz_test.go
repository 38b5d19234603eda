package store

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzIndexKey pins the index key encoding: the identifier key comes back
// out of any key, and keys of one prefix and type sort as their data do
// (what makes a value prefix a key range).
func FuzzIndexKey(f *testing.F) {
	f.Add("88.100", "batch", []byte("B-1"), []byte("B-12"), "88.100/p-1")
	f.Add("", "URL", []byte{0}, []byte{0, 0xff}, "x/y")
	f.Add("88", "t\x00", []byte("a\x00b"), []byte("a"), "88/a/b")
	f.Add("88", "t", bytes.Repeat([]byte("h"), IndexedDataLen+1), bytes.Repeat([]byte("h"), IndexedDataLen), "88/z")
	f.Fuzz(func(t *testing.T, pk, typ string, d1, d2 []byte, idKey string) {
		if bytes.IndexByte([]byte(idKey), 0) >= 0 || bytes.IndexByte([]byte(pk), 0) >= 0 {
			t.Skip("identifier and prefix keys hold no NUL")
		}
		k1, k2 := indexKey(pk, typ, d1, idKey), indexKey(pk, typ, d2, idKey)
		if got := indexedID(k1); got != idKey {
			t.Fatalf("indexedID(indexKey(..., %q)) = %q", idKey, got)
		}
		h1, h2 := d1[:min(len(d1), IndexedDataLen)], d2[:min(len(d2), IndexedDataLen)]
		if c := bytes.Compare(h1, h2); c != 0 && bytes.Compare(k1, k2) != c {
			t.Fatalf("data %q < %q is %d, keys compare %d", h1, h2, c, bytes.Compare(k1, k2))
		}
		q := ValueQuery{Scope: pk, Type: typ, Value: d1, PrefixMatch: true}
		if start, _ := q.seek(pk); !bytes.HasPrefix(k1, start) {
			t.Fatalf("key of %q is not under its own prefix search's range", d1)
		}
		if bytes.HasPrefix(d2, d1) && len(d1) <= IndexedDataLen {
			if start, _ := q.seek(pk); !bytes.HasPrefix(k2, start) {
				t.Fatalf("%q starts with %q but its key is outside the prefix search's range", d2, d1)
			}
		}
	})
}

// FuzzSearchToken feeds arbitrary page tokens to SearchValues: each is a
// key this query could have returned, or ErrBadPageToken; never a panic.
func FuzzSearchToken(f *testing.F) {
	s, err := Open(f.TempDir(), Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	q := ValueQuery{Scope: "88", Type: "batch", Value: []byte("B"), PrefixMatch: true}
	start, _ := q.seek("88")
	f.Add(start)
	f.Add(append(bytes.Clone(start), "-1\x00\x0188/x"...))
	f.Add([]byte("88"))
	f.Add([]byte("20\x00batch\x00\x01B"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, after []byte) {
		err := s.View(func(tx *Tx) error {
			_, _, err := tx.SearchValues(q, after, 10)
			return err
		})
		if err != nil && !errors.Is(err, ErrBadPageToken) {
			t.Fatalf("token %q: %v", after, err)
		}
	})
}
