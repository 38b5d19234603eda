package store

import (
	"errors"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/idres/idres/registry/store/kv"
)

// boltBackend adapts a bbolt file to kv.Backend. The adapters are value
// types around one pointer, so converting them to interfaces allocates
// nothing on the read path.
type boltBackend struct{ db *bolt.DB }

func (b boltBackend) View(fn func(kv.Tx) error) error {
	return b.db.View(func(t *bolt.Tx) error { return fn(boltTx{t}) })
}

func (b boltBackend) Update(fn func(kv.Tx) error) error {
	return b.db.Update(func(t *bolt.Tx) error { return fn(boltTx{t}) })
}

func (b boltBackend) Close() error { return b.db.Close() }

type boltTx struct{ tx *bolt.Tx }

func (t boltTx) Bucket(name []byte) kv.Bucket {
	b := t.tx.Bucket(name)
	if b == nil {
		return nil
	}
	return boltBucket{b}
}

func (t boltTx) CreateBucketIfNotExists(name []byte) (kv.Bucket, error) {
	b, err := t.tx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, err
	}
	return boltBucket{b}, nil
}

func (t boltTx) DeleteBucket(name []byte) error {
	if err := t.tx.DeleteBucket(name); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
		return err
	}
	return nil
}

func (t boltTx) Writable() bool { return t.tx.Writable() }

// boltBucket is a *bolt.Bucket whose Cursor returns the interface.
type boltBucket struct{ *bolt.Bucket }

func (b boltBucket) Cursor() kv.Cursor { return b.Bucket.Cursor() }

func (b boltBucket) SetFillPercent(f float64) { b.Bucket.FillPercent = f }
