// Package kv is the ordered key-value storage a store.Store keeps its
// buckets in. Two backends implement it: the node's own bbolt file
// (registry/store) and a cluster of etcd members shared by replicas
// (registry/store/etcdkv).
//
// The interfaces are bbolt's shapes, so the bbolt backend is a thin
// adapter: byte keys kept in sorted order inside named buckets, a cursor,
// a per-bucket sequence, and serializable transactions run as closures.
// A closure passed to Update may run more than once on a backend that
// commits optimistically (etcd): it must have no effects outside the
// transaction other than assigning results.
package kv

import "errors"

var (
	// ErrUnavailable marks a backend that cannot serve the call now: no
	// quorum, unreachable, or reads staler than the configured limit.
	ErrUnavailable = errors.New("storage unavailable")
	// ErrTxnTooLarge marks a write transaction bigger than the backend
	// takes in one commit; the caller may split it and try again.
	ErrTxnTooLarge = errors.New("transaction too large")
)

// Backend runs transactions.
type Backend interface {
	// View runs fn in a read-only transaction that sees one consistent
	// snapshot.
	View(fn func(Tx) error) error
	// Update runs fn in a read-write transaction and commits it durably
	// when fn returns nil; fn's error rolls everything back.
	Update(fn func(Tx) error) error
	Close() error
}

// Tx is one transaction. Slices it returns are valid only until it ends.
type Tx interface {
	// Bucket returns the named bucket, or nil if it does not exist.
	Bucket(name []byte) Bucket
	CreateBucketIfNotExists(name []byte) (Bucket, error)
	// DeleteBucket removes a bucket and its keys; deleting an absent
	// bucket is not an error.
	DeleteBucket(name []byte) error
	// Writable reports whether this is an Update transaction.
	Writable() bool
}

// Bucket is a sorted map from byte keys to byte values.
type Bucket interface {
	// Get returns the value of key, or nil if absent.
	Get(key []byte) []byte
	Put(key, value []byte) error
	Delete(key []byte) error
	Cursor() Cursor
	// ForEach calls fn for every key in order; fn must not change the bucket.
	ForEach(fn func(k, v []byte) error) error
	// Sequence is the bucket's counter; NextSequence increments it.
	Sequence() uint64
	NextSequence() (uint64, error)
}

// Cursor walks a bucket in key order. Every method returns a nil key past
// either end.
type Cursor interface {
	First() (key, value []byte)
	Last() (key, value []byte)
	Seek(seek []byte) (key, value []byte)
	Next() (key, value []byte)
	Prev() (key, value []byte)
	// Delete removes the key the cursor is on.
	Delete() error
}

// Filler is implemented by buckets that can pack their pages fuller than
// their default (bbolt's FillPercent): worth it when keys arrive in order.
type Filler interface {
	SetFillPercent(f float64)
}

// SetFill sets b's page fill for this transaction when b supports it.
func SetFill(b Bucket, f float64) {
	if fb, ok := b.(Filler); ok {
		fb.SetFillPercent(f)
	}
}

// Notifier is implemented by backends whose data other processes change
// (etcd replicas): fn runs after such changes reach this process.
type Notifier interface {
	OnChange(fn func())
}
