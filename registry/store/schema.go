package store

import (
	"encoding/binary"
	"fmt"

	"github.com/idres/idres/registry/store/kv"
)

// migrations[v] upgrades a file of version v to v+1 inside the opening
// transaction, so an upgrade either completes or leaves the file as it was.
// Steps only add: a file is never rewritten in a way an older idresd could
// misread without first seeing the version.
var migrations = map[uint32]func(kv.Tx) error{
	// 1 -> 2: the templates and audit buckets (issue 4).
	1: func(tx kv.Tx) error { return createBuckets(tx, bucketTemplates, bucketAudit) },
	// 2 -> 3: the value index, built from the identifiers, and the change
	// feed, which starts empty at the file's revision: no change before
	// the upgrade was recorded, so a watch from an earlier revision is
	// out of range (issue 11).
	2: func(tx kv.Tx) error {
		if err := createBuckets(tx, bucketChanges); err != nil {
			return err
		}
		if _, err := buildIndex(tx); err != nil {
			return err
		}
		t := &Tx{tx: tx}
		return t.setFeedFloor(t.Revision(), 0)
	},
	// 3 -> 4: the patterns and tombstones buckets, empty (issue 11).
	3: func(tx kv.Tx) error { return createBuckets(tx, bucketPatterns, bucketTombstones) },
	// 4 -> 5: the audit log's indexes by prefix and by time, built from
	// the log (issue 19).
	4: func(tx kv.Tx) error {
		for _, name := range [][]byte{bucketAuditPrefix, bucketAuditTime} {
			if err := tx.DeleteBucket(name); err != nil { // none in a version-4 file; start clean anyway
				return fmt.Errorf("delete bucket %s: %w", name, err)
			}
		}
		if err := createBuckets(tx, bucketAuditPrefix, bucketAuditTime); err != nil {
			return err
		}
		return buildAuditIndex(tx)
	},
}

// migrate upgrades a file from version v to SchemaVersion, one step at a time.
func migrate(tx kv.Tx, v uint32) error {
	for ; v < SchemaVersion; v++ {
		step, ok := migrations[v]
		if !ok {
			return fmt.Errorf("%w: file has version %d and no upgrade from it exists", ErrSchema, v)
		}
		if err := step(tx); err != nil {
			return fmt.Errorf("upgrade store from version %d: %w", v, err)
		}
	}
	return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint32(nil, SchemaVersion))
}

func createBuckets(tx kv.Tx, names ...[]byte) error {
	for _, name := range names {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}
