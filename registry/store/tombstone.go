package store

import (
	"bytes"
	"errors"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// ErrTombstoned refuses to register an identifier that was withdrawn with
// a tombstone, until the tombstone is lifted.
var ErrTombstoned = errors.New("withdrawn with a tombstone")

// Tombstones live in bucket tombstones under the identifier's folded key,
// the same key its record had.

// Tombstone returns the tombstone at the identifier key, or ErrNotFound.
func (tx *Tx) Tombstone(key string) (*idresv1.Tombstone, error) {
	t := &idresv1.Tombstone{}
	if err := tx.get(bucketTombstones, []byte(key), t); err != nil {
		return nil, fmt.Errorf("tombstone %q: %w", key, err)
	}
	return t, nil
}

// HasTombstone reports whether the identifier key has a tombstone.
func (tx *Tx) HasTombstone(key string) bool {
	return tx.tx.Bucket(bucketTombstones).Get([]byte(key)) != nil
}

// PutTombstone stores a tombstone at the identifier key, stamping its time.
func (tx *Tx) PutTombstone(key string, t *idresv1.Tombstone) error {
	t.Deleted = timestamppb.New(tx.now)
	return tx.put(bucketTombstones, []byte(key), t)
}

// DeleteTombstone lifts the tombstone at the identifier key and returns
// it; ErrNotFound if there is none.
func (tx *Tx) DeleteTombstone(key string) (*idresv1.Tombstone, error) {
	t, err := tx.Tombstone(key)
	if err != nil {
		return nil, err
	}
	return t, tx.tx.Bucket(bucketTombstones).Delete([]byte(key))
}

// dropPrefixLife removes the patterns and tombstones of a folded prefix
// being deleted, so a prefix created again later starts clean.
func (tx *Tx) dropPrefixLife(pk string) error {
	for _, r := range []struct {
		bucket []byte
		start  []byte
	}{
		{bucketPatterns, append(prefixKey(pk), 0)},
		{bucketTombstones, []byte(pk + "/")},
	} {
		c := tx.tx.Bucket(r.bucket).Cursor()
		for k, _ := c.Seek(r.start); k != nil && bytes.HasPrefix(k, r.start); k, _ = c.Seek(r.start) {
			if err := c.Delete(); err != nil {
				return fmt.Errorf("delete %s %q: %w", r.bucket, k, err)
			}
		}
	}
	return nil
}
