package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Snapshot writes a consistent copy of the whole file to w, as of one read
// transaction: writers go on meanwhile. It returns the bytes written and
// the revision the copy holds.
func (s *Store) Snapshot(w io.Writer) (n int64, revision uint64, err error) {
	if s.db == nil {
		return 0, 0, fmt.Errorf("snapshot: %w: an etcd store is backed up with etcd's own snapshots (etcdctl snapshot save)", ErrUnsupported)
	}
	err = s.db.View(func(btx *bolt.Tx) error {
		revision = (&Tx{tx: boltTx{btx}}).Revision()
		n, err = btx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, 0, fmt.Errorf("snapshot %s: %w", s.path, err)
	}
	return n, revision, nil
}

// FileInfo is what Verify learned of a store file.
type FileInfo struct {
	SchemaVersion uint32
	Revision      uint64
	Prefixes      int
	Identifiers   int
}

// Verify opens the store file at path read-only and checks that it is an
// idres store of this schema version, or of an older one Open upgrades
// (a backup taken before idresd was upgraded), whose pages pass bbolt's
// consistency check. It never modifies the file.
func Verify(path string) (FileInfo, error) {
	var info FileInfo
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return info, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	err = db.View(func(btx *bolt.Tx) error {
		meta := btx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%w: no meta bucket: not an idres store", ErrSchema)
		}
		raw := meta.Get(keySchema)
		if len(raw) != 4 {
			return fmt.Errorf("%w: schema version unreadable", ErrSchema)
		}
		info.SchemaVersion = binary.BigEndian.Uint32(raw)
		if info.SchemaVersion != SchemaVersion && !upgradable(info.SchemaVersion) {
			return fmt.Errorf("%w: file has version %d; this idres reads version %d", ErrSchema, info.SchemaVersion, SchemaVersion)
		}
		// An older file lacks the buckets its upgrade adds; it has those
		// of version 1, which every version keeps.
		need := allBuckets
		if info.SchemaVersion != SchemaVersion {
			need = [][]byte{bucketMeta, bucketPrefixes, bucketDelegations, bucketIdentifiers, bucketCredentials}
		}
		for _, name := range need {
			if btx.Bucket(name) == nil {
				return fmt.Errorf("%w: bucket %s missing", ErrSchema, name)
			}
		}
		var errs []error
		for cerr := range btx.Check() {
			// Drain the channel whole: the checker goroutine blocks otherwise.
			if len(errs) < 10 {
				errs = append(errs, cerr)
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("integrity check failed: %w", errors.Join(errs...))
		}
		info.Revision = (&Tx{tx: boltTx{btx}}).Revision()
		info.Prefixes = btx.Bucket(bucketPrefixes).Stats().KeyN
		info.Identifiers = btx.Bucket(bucketIdentifiers).Stats().KeyN
		return nil
	})
	if err != nil {
		return info, fmt.Errorf("verify %s: %w", path, err)
	}
	return info, nil
}

// upgradable reports whether Open can upgrade a file of version v.
func upgradable(v uint32) bool {
	if v == 0 || v >= SchemaVersion {
		return false
	}
	for ; v < SchemaVersion; v++ {
		if migrations[v] == nil {
			return false
		}
	}
	return true
}
