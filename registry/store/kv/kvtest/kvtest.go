// Package kvtest is the storage test suite every kv.Backend passes: the
// bbolt adapter in registry/store and the etcd backend in
// registry/store/etcdkv run the same cases, so the store above them can
// rely on one behaviour.
package kvtest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/idres/idres/registry/store/kv"
)

// Factory makes a new, empty store location and returns how to open it;
// open is called again after Close to check that writes persist.
type Factory func(t *testing.T) (open func() (kv.Backend, error))

// Run runs the suite.
func Run(t *testing.T, newStore Factory) {
	cases := []struct {
		name string
		fn   func(t *testing.T, b kv.Backend)
	}{
		{"Buckets", testBuckets},
		{"PutGetDelete", testPutGetDelete},
		{"ReadOnly", testReadOnly},
		{"Cursor", testCursor},
		{"CursorDelete", testCursorDelete},
		{"ForEach", testForEach},
		{"Sequence", testSequence},
		{"Rollback", testRollback},
		{"ReadOwnWrites", testReadOwnWrites},
		{"SnapshotIsolation", testSnapshotIsolation},
		{"ConcurrentUpdates", testConcurrentUpdates},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := mustOpen(t, newStore(t))
			defer b.Close()
			c.fn(t, b)
		})
	}
	t.Run("Persistence", func(t *testing.T) { testPersistence(t, newStore(t)) })
}

func mustOpen(t *testing.T, open func() (kv.Backend, error)) kv.Backend {
	t.Helper()
	b, err := open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return b
}

func update(t *testing.T, b kv.Backend, fn func(kv.Tx) error) {
	t.Helper()
	if err := b.Update(fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, b kv.Backend, fn func(kv.Tx) error) {
	t.Helper()
	if err := b.View(fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// fill creates bucket name holding keys, each with value "v:"+key.
func fill(t *testing.T, b kv.Backend, name string, keys ...string) {
	t.Helper()
	update(t, b, func(tx kv.Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte(name))
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := bk.Put([]byte(k), []byte("v:"+k)); err != nil {
				return err
			}
		}
		return nil
	})
}

// walk lists a bucket's keys with a cursor, forwards or backwards.
func walk(tx kv.Tx, name string, backwards bool) []string {
	c := tx.Bucket([]byte(name)).Cursor()
	first, next := c.First, c.Next
	if backwards {
		first, next = c.Last, c.Prev
	}
	var out []string
	for k, _ := first(); k != nil; k, _ = next() {
		out = append(out, string(k))
	}
	return out
}

func testBuckets(t *testing.T, b kv.Backend) {
	view(t, b, func(tx kv.Tx) error {
		if tx.Bucket([]byte("things")) != nil {
			t.Error("Bucket of a new store is not nil")
		}
		return nil
	})
	fill(t, b, "things", "a", "b")
	fill(t, b, "things2", "c")
	update(t, b, func(tx kv.Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte("things"))
		if err != nil {
			return err
		}
		if got := bk.Get([]byte("a")); string(got) != "v:a" {
			t.Errorf("CreateBucketIfNotExists of an existing bucket lost its keys: a = %q", got)
		}
		if err := tx.DeleteBucket([]byte("things")); err != nil {
			return err
		}
		if tx.Bucket([]byte("things")) != nil {
			t.Error("bucket still there after DeleteBucket")
		}
		return tx.DeleteBucket([]byte("absent"))
	})
	view(t, b, func(tx kv.Tx) error {
		if tx.Bucket([]byte("things")) != nil {
			t.Error("deleted bucket is back after commit")
		}
		if got := walk(tx, "things2", false); !slices.Equal(got, []string{"c"}) {
			t.Errorf("neighbour bucket holds %q, want [c]", got)
		}
		return nil
	})
	update(t, b, func(tx kv.Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte("things"))
		if err != nil {
			return err
		}
		if k, _ := bk.Cursor().First(); k != nil {
			t.Errorf("re-created bucket holds key %q", k)
		}
		return nil
	})
}

func testPutGetDelete(t *testing.T, b kv.Backend) {
	binKey := []byte{0x00, 0xff, '/', 0x00}
	update(t, b, func(tx kv.Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte("m"))
		if err != nil {
			return err
		}
		for _, kv := range [][2][]byte{{[]byte("k"), []byte("one")}, {[]byte("empty"), nil}, {binKey, []byte{0, 1, 2}}} {
			if err := bk.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
		if err := bk.Put([]byte("k"), []byte("two")); err != nil {
			return err
		}
		if err := bk.Put(nil, []byte("x")); err == nil {
			t.Error("Put with an empty key succeeded")
		}
		return bk.Put([]byte("gone"), []byte("soon"))
	})
	update(t, b, func(tx kv.Tx) error {
		return tx.Bucket([]byte("m")).Delete([]byte("gone"))
	})
	view(t, b, func(tx kv.Tx) error {
		bk := tx.Bucket([]byte("m"))
		for _, c := range []struct {
			key  []byte
			want []byte
		}{{[]byte("k"), []byte("two")}, {binKey, []byte{0, 1, 2}}, {[]byte("empty"), []byte{}}, {[]byte("gone"), nil}, {[]byte("never"), nil}} {
			got := bk.Get(c.key)
			if !bytes.Equal(got, c.want) || (got == nil) != (c.want == nil) {
				t.Errorf("Get(%q) = %q (nil %v), want %q (nil %v)", c.key, got, got == nil, c.want, c.want == nil)
			}
		}
		return nil
	})
}

func testReadOnly(t *testing.T, b kv.Backend) {
	fill(t, b, "m", "a")
	view(t, b, func(tx kv.Tx) error {
		if tx.Writable() {
			t.Error("View transaction says it is writable")
		}
		bk := tx.Bucket([]byte("m"))
		if err := bk.Put([]byte("b"), []byte("x")); err == nil {
			t.Error("Put in a View succeeded")
		}
		if err := bk.Delete([]byte("a")); err == nil {
			t.Error("Delete in a View succeeded")
		}
		if _, err := bk.NextSequence(); err == nil {
			t.Error("NextSequence in a View succeeded")
		}
		if _, err := tx.CreateBucketIfNotExists([]byte("n")); err == nil {
			t.Error("CreateBucketIfNotExists in a View succeeded")
		}
		return nil
	})
	view(t, b, func(tx kv.Tx) error {
		if got := tx.Bucket([]byte("m")).Get([]byte("a")); string(got) != "v:a" {
			t.Errorf("a = %q after refused writes", got)
		}
		return nil
	})
}

func testCursor(t *testing.T, b kv.Backend) {
	keys := []string{"a", "a\x00", "a\x00b", "ab", "b", "b/c", "b0", "z\xff", "\xff"}
	shuffled := slices.Clone(keys)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	// Buckets whose names sort next to each other must not leak into one another.
	fill(t, b, "c", shuffled...)
	fill(t, b, "b", "in-b")
	fill(t, b, "c0", "in-c0")
	fill(t, b, "cc", "in-cc")
	fill(t, b, "empty")
	view(t, b, func(tx kv.Tx) error {
		if got := walk(tx, "c", false); !slices.Equal(got, keys) {
			t.Errorf("forward walk = %q, want %q", got, keys)
		}
		rev := slices.Clone(keys)
		slices.Reverse(rev)
		if got := walk(tx, "c", true); !slices.Equal(got, rev) {
			t.Errorf("backward walk = %q, want %q", got, rev)
		}
		c := tx.Bucket([]byte("c")).Cursor()
		for _, s := range []struct{ seek, want string }{
			{"", "a"}, {"a", "a"}, {"a\x00a", "a\x00b"}, {"aa", "ab"}, {"b/", "b/c"}, {"c", "z\xff"}, {"\xff", "\xff"},
		} {
			k, v := c.Seek([]byte(s.seek))
			if string(k) != s.want || string(v) != "v:"+s.want {
				t.Errorf("Seek(%q) = %q, %q; want %q", s.seek, k, v, s.want)
			}
		}
		if k, _ := c.Seek([]byte("\xff\x00")); k != nil {
			t.Errorf("Seek past the last key = %q, want nil", k)
		}
		c.Seek([]byte("b"))
		if k, _ := c.Next(); string(k) != "b/c" {
			t.Errorf("Next after Seek(b) = %q", k)
		}
		if k, _ := c.Prev(); string(k) != "b" {
			t.Errorf("Prev = %q, want b", k)
		}
		c.First()
		if k, _ := c.Prev(); k != nil {
			t.Errorf("Prev before the first key = %q, want nil", k)
		}
		e := tx.Bucket([]byte("empty")).Cursor()
		if k, _ := e.First(); k != nil {
			t.Errorf("First of an empty bucket = %q", k)
		}
		if k, _ := e.Last(); k != nil {
			t.Errorf("Last of an empty bucket = %q", k)
		}
		if k, _ := e.Seek([]byte("a")); k != nil {
			t.Errorf("Seek in an empty bucket = %q", k)
		}
		return nil
	})
}

func testCursorDelete(t *testing.T, b kv.Backend) {
	var keys []string
	for i := range 20 {
		keys = append(keys, fmt.Sprintf("k%02d", i))
	}
	fill(t, b, "m", keys...)
	// The store trims its change feed by deleting from the front.
	update(t, b, func(tx kv.Tx) error {
		c := tx.Bucket([]byte("m")).Cursor()
		for k, _ := c.First(); k != nil && string(k) < "k05"; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, b, func(tx kv.Tx) error {
		if got := walk(tx, "m", false); !slices.Equal(got, keys[5:]) {
			t.Errorf("after deleting the first five: %q", got)
		}
		return nil
	})
}

func testForEach(t *testing.T, b kv.Backend) {
	fill(t, b, "m", "c", "a", "b")
	view(t, b, func(tx kv.Tx) error {
		var got []string
		err := tx.Bucket([]byte("m")).ForEach(func(k, v []byte) error {
			got = append(got, string(k)+"="+string(v))
			return nil
		})
		if err != nil || !slices.Equal(got, []string{"a=v:a", "b=v:b", "c=v:c"}) {
			t.Errorf("ForEach = %q, %v", got, err)
		}
		stop := errors.New("stop")
		n := 0
		err = tx.Bucket([]byte("m")).ForEach(func(k, v []byte) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("ForEach returned %v after %d calls; want its callback's error after 1", err, n)
		}
		return nil
	})
}

func testSequence(t *testing.T, b kv.Backend) {
	fill(t, b, "m")
	for want := uint64(1); want <= 3; want++ {
		update(t, b, func(tx kv.Tx) error {
			n, err := tx.Bucket([]byte("m")).NextSequence()
			if n != want {
				t.Errorf("NextSequence = %d, want %d", n, want)
			}
			return err
		})
	}
	_ = b.Update(func(tx kv.Tx) error {
		_, _ = tx.Bucket([]byte("m")).NextSequence()
		return errors.New("roll back")
	})
	view(t, b, func(tx kv.Tx) error {
		if n := tx.Bucket([]byte("m")).Sequence(); n != 3 {
			t.Errorf("Sequence = %d after a rolled-back increment, want 3", n)
		}
		return nil
	})
}

func testRollback(t *testing.T, b kv.Backend) {
	fill(t, b, "m", "keep")
	boom := errors.New("boom")
	err := b.Update(func(tx kv.Tx) error {
		bk := tx.Bucket([]byte("m"))
		_ = bk.Put([]byte("new"), []byte("x"))
		_ = bk.Delete([]byte("keep"))
		_, _ = tx.CreateBucketIfNotExists([]byte("n"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the closure's error", err)
	}
	view(t, b, func(tx kv.Tx) error {
		bk := tx.Bucket([]byte("m"))
		if bk.Get([]byte("new")) != nil || bk.Get([]byte("keep")) == nil || tx.Bucket([]byte("n")) != nil {
			t.Error("a failed Update left changes behind")
		}
		return nil
	})
}

func testReadOwnWrites(t *testing.T, b kv.Backend) {
	fill(t, b, "m", "a", "c")
	update(t, b, func(tx kv.Tx) error {
		bk := tx.Bucket([]byte("m"))
		if err := bk.Put([]byte("b"), []byte("new")); err != nil {
			return err
		}
		if err := bk.Delete([]byte("c")); err != nil {
			return err
		}
		if got := bk.Get([]byte("b")); string(got) != "new" {
			t.Errorf("Get of a key put in this transaction = %q", got)
		}
		if got := walk(tx, "m", false); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("cursor in the writing transaction sees %q, want [a b]", got)
		}
		return nil
	})
}

func testSnapshotIsolation(t *testing.T, b kv.Backend) {
	fill(t, b, "m", "a")
	view(t, b, func(tx kv.Tx) error {
		done := make(chan error)
		go func() {
			done <- b.Update(func(tx kv.Tx) error {
				bk := tx.Bucket([]byte("m"))
				if err := bk.Put([]byte("a"), []byte("changed")); err != nil {
					return err
				}
				return bk.Put([]byte("b"), []byte("added"))
			})
		}()
		if err := <-done; err != nil {
			t.Fatalf("Update during a View: %v", err)
		}
		bk := tx.Bucket([]byte("m"))
		if got := bk.Get([]byte("a")); string(got) != "v:a" {
			t.Errorf("open View sees a = %q written after it began", got)
		}
		if got := walk(tx, "m", false); !slices.Equal(got, []string{"a"}) {
			t.Errorf("open View's cursor sees %q", got)
		}
		return nil
	})
	view(t, b, func(tx kv.Tx) error {
		if got := tx.Bucket([]byte("m")).Get([]byte("a")); string(got) != "changed" {
			t.Errorf("new View sees a = %q", got)
		}
		return nil
	})
}

// testConcurrentUpdates increments one counter from several goroutines:
// every increment must survive.
func testConcurrentUpdates(t *testing.T, b kv.Backend) {
	fill(t, b, "m")
	const workers, each = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := b.Update(func(tx kv.Tx) error { return Increment(tx.Bucket([]byte("m")), "n") }); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	view(t, b, func(tx kv.Tx) error {
		if got := Counter(tx.Bucket([]byte("m")), "n"); got != workers*each {
			t.Errorf("counter = %d after %d increments", got, workers*each)
		}
		return nil
	})
}

// Increment adds one to the decimal counter at key.
func Increment(bk kv.Bucket, key string) error {
	return bk.Put([]byte(key), fmt.Appendf(nil, "%d", Counter(bk, key)+1))
}

// Counter reads the decimal counter at key; 0 when absent.
func Counter(bk kv.Bucket, key string) int {
	var n int
	fmt.Sscanf(string(bk.Get([]byte(key))), "%d", &n)
	return n
}

func testPersistence(t *testing.T, open func() (kv.Backend, error)) {
	b := mustOpen(t, open)
	fill(t, b, "m", "a", "b")
	update(t, b, func(tx kv.Tx) error {
		_, err := tx.Bucket([]byte("m")).NextSequence()
		return err
	})
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	b = mustOpen(t, open)
	defer b.Close()
	view(t, b, func(tx kv.Tx) error {
		bk := tx.Bucket([]byte("m"))
		if bk == nil {
			t.Fatal("bucket gone after reopening")
		}
		if got := walk(tx, "m", false); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("after reopening: %q", got)
		}
		if bk.Sequence() != 1 {
			t.Errorf("sequence after reopening = %d, want 1", bk.Sequence())
		}
		return nil
	})
}
