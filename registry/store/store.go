package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/idres/idres/registry/store/kv"
)

// SchemaVersion is the layout this code reads and writes. Older files are
// upgraded at open by the steps in migrations (schema.go).
const SchemaVersion = 5

// initialMmapSize is the address space mapped at open: 1 GiB.
const initialMmapSize = 1 << 30

// allocSize is how much the file grows at a time. Each growth is a
// truncate and a full fsync; with the large mapping above, bbolt's 16 MiB
// default made that an extra fsync for nearly every import batch.
const allocSize = 128 << 20

// FileName is the store's file inside the data directory.
const FileName = "idres.db"

var (
	ErrNotFound      = errors.New("not found")
	ErrExists        = errors.New("already exists")
	ErrNotEmpty      = errors.New("not empty")
	ErrPrefixNotHeld = errors.New("prefix not held by this node")
	ErrLocked        = errors.New("store is locked by another process")
	ErrSchema        = errors.New("unsupported store schema")
	// ErrUnsupported marks a call the storage backend cannot serve, such
	// as a file snapshot of an etcd store.
	ErrUnsupported = errors.New("not supported by this storage backend")
)

var (
	bucketMeta        = []byte("meta")
	bucketPrefixes    = []byte("prefixes")
	bucketDelegations = []byte("delegations")
	bucketIdentifiers = []byte("identifiers")
	bucketCredentials = []byte("credentials")
	bucketTemplates   = []byte("templates")
	bucketAudit       = []byte("audit")
	bucketValueIndex  = []byte("valueindex")
	bucketChanges     = []byte("changes")
	bucketPatterns    = []byte("patterns")
	bucketTombstones  = []byte("tombstones")
	bucketAuditPrefix = []byte("auditprefix")
	bucketAuditTime   = []byte("audittime")

	keySchema   = []byte("schema")
	keyRevision = []byte("revision")

	allBuckets = [][]byte{bucketMeta, bucketPrefixes, bucketDelegations, bucketIdentifiers, bucketCredentials,
		bucketTemplates, bucketAudit, bucketValueIndex, bucketChanges, bucketPatterns, bucketTombstones,
		bucketAuditPrefix, bucketAuditTime}
)

// Options tune Open.
type Options struct {
	// LockTimeout is how long Open waits for another process's lock.
	// Zero means 100ms.
	LockTimeout time.Duration
	// Now is the clock for timestamps; nil means time.Now.
	Now func() time.Time
	// RetainChanges is how many identifier changes the change feed keeps
	// at least; 0 means DefaultRetainChanges.
	RetainChanges int
	// RetainAge, when not 0, also trims changes older than it.
	RetainAge time.Duration
}

// Store is a node's data: its own bbolt file (Open) or a key range of an
// etcd cluster shared with other replicas (OpenBackend). Its methods are
// safe for concurrent use.
type Store struct {
	kv   kv.Backend
	db   *bolt.DB // nil unless the backend is a bbolt file
	path string
	now  func() time.Time

	retainChanges int
	retainAge     time.Duration

	// auditReads counts audit records decoded (AuditRecordsRead).
	auditReads atomic.Uint64

	// Change-feed wake-ups (feed.go).
	notifyMu      sync.Mutex
	notifyCh      chan struct{}
	notifyStopped bool
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = 100 * time.Millisecond
	}
	// A large initial mapping (address space only) spares the remaps of a
	// growing file: each one waits for every reader and makes the writing
	// transaction copy all its pages out of the old mapping.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, FreelistType: bolt.FreelistMapType, InitialMmapSize: initialMmapSize})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open store %s: %w (is another idresd using data directory %s?)", path, ErrLocked, dir)
		}
		if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrVersionMismatch) || errors.Is(err, bolterrors.ErrChecksum) {
			// Say plainly that the file is not ours rather than bbolt's terse "invalid database".
			return nil, fmt.Errorf("open store %s: %w: not a bbolt file, or a damaged one (%v)", path, ErrSchema, err)
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.AllocSize = allocSize
	err = db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Cursor().First(); k != nil && tx.Bucket(bucketMeta) == nil {
			return fmt.Errorf("%w: not an idres store (bucket %q but no meta bucket)", ErrSchema, k)
		}
		return nil
	})
	if err == nil {
		var s *Store
		if s, err = newStore(boltBackend{db}, opts); err == nil {
			s.db, s.path = db, path
			return s, nil
		}
	}
	db.Close()
	return nil, fmt.Errorf("open store %s: %w", path, err)
}

// OpenBackend opens the store kept in b, creating its layout if b is
// empty. Close closes b.
func OpenBackend(b kv.Backend, opts Options) (*Store, error) {
	s, err := newStore(b, opts)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

func newStore(b kv.Backend, opts Options) (*Store, error) {
	s := &Store{kv: b, now: opts.Now, retainChanges: opts.RetainChanges, retainAge: opts.RetainAge}
	if s.retainChanges <= 0 {
		s.retainChanges = DefaultRetainChanges
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.init(); err != nil {
		return nil, err
	}
	if n, ok := b.(kv.Notifier); ok {
		// Another replica's identifier changes wake this one's feed readers.
		n.OnChange(s.signal)
	}
	return s, nil
}

// init creates the buckets of a new store, or checks the schema of an old one.
func (s *Store) init() error {
	return s.kv.Update(func(tx kv.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			for _, name := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return fmt.Errorf("create bucket %s: %w", name, err)
				}
			}
			return tx.Bucket(bucketMeta).Put(keySchema, binary.BigEndian.AppendUint32(nil, SchemaVersion))
		}
		raw := meta.Get(keySchema)
		if len(raw) != 4 {
			return fmt.Errorf("%w: schema version unreadable (%d bytes)", ErrSchema, len(raw))
		}
		if v := binary.BigEndian.Uint32(raw); v != SchemaVersion {
			if v > SchemaVersion {
				return fmt.Errorf("%w: file has version %d, newer than this idresd's %d; upgrade idresd", ErrSchema, v, SchemaVersion)
			}
			if err := migrate(tx, v); err != nil {
				return err
			}
		}
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("%w: bucket %s missing", ErrSchema, name)
			}
		}
		return nil
	})
}

// Now is the store's clock (Options.Now), for checks that must agree with
// the times it stamps.
func (s *Store) Now() time.Time { return s.now() }

// Path is the bbolt file's path; "" for other backends.
func (s *Store) Path() string { return s.path }

// Close closes the backend (for bbolt, the file, releasing its lock).
func (s *Store) Close() error {
	s.StopNotify()
	return s.kv.Close()
}

// DB exposes the bbolt handle for backup and checks, nil for other
// backends; do not write through it.
func (s *Store) DB() *bolt.DB { return s.db }

// Revision is the number of write transactions committed so far.
func (s *Store) Revision() (uint64, error) {
	var rev uint64
	err := s.View(func(tx *Tx) error { rev = tx.Revision(); return nil })
	return rev, err
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(*Tx) error) error {
	return s.kv.View(func(t kv.Tx) error { return fn(&Tx{tx: t, auditReads: &s.auditReads}) })
}

// Update runs fn in a read-write transaction, committed with fsync when fn
// returns nil. Everything fn did is rolled back when it returns an error.
//
// Identifier changes are recorded in the change feed, which is trimmed to
// its retention here, and wake the feed's readers once committed.
func (s *Store) Update(fn func(*Tx) error) error { return s.update(time.Time{}, fn) }

// UpdateAt is Update with the transaction's time given rather than read
// from the clock when it starts: an import stamps a batch once it has read
// it, so that its records can be encoded before the transaction
// (IndexPlan.Encode).
func (s *Store) UpdateAt(at time.Time, fn func(*Tx) error) error {
	if at.IsZero() {
		return errors.New("update at the zero time")
	}
	return s.update(at.UTC(), fn)
}

func (s *Store) update(at time.Time, fn func(*Tx) error) error {
	changes := 0
	err := s.kv.Update(func(t kv.Tx) error {
		tx := &Tx{tx: t, now: at, auditReads: &s.auditReads}
		if at.IsZero() {
			tx.now = s.now().UTC()
		}
		if err := fn(tx); err != nil {
			return err
		}
		if tx.changes > 0 {
			if err := tx.trimChanges(s.retainChanges, s.retainAge, tx.changes); err != nil {
				return err
			}
		}
		changes = tx.changes
		return tx.bumpRevision()
	})
	if err == nil && changes > 0 {
		s.signal()
	}
	return err
}
