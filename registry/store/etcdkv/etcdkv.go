// Package etcdkv keeps a store's buckets in an etcd cluster, so several
// idresd replicas serve one prefix from one consistent store (etcd's own
// storage is bbolt under Raft: replication is etcd's, not ours).
//
// # Reads
//
// Each replica holds every key under its prefix in memory, in a B-tree
// fed by an etcd watch, so a read is a local lookup. A read transaction
// works on a copy-on-write clone of the tree: one consistent snapshot at
// one etcd revision, taken in O(1). The watch resumes from the last
// applied revision after a disconnect and reloads everything when that
// revision has been compacted away.
//
// A background probe reads the fence key from the cluster (a linearizable
// read, so it needs quorum) once a second; when it succeeds and the cache
// has applied the cluster's last write, the cache is confirmed current.
// Reads go on from the cache while the cluster is unreachable or without
// quorum, until Config.StaleLimit has passed since the last confirmation;
// then they fail with kv.ErrUnavailable.
//
// # Writes
//
// Update runs its closure on a clone of the tree (so it reads its own
// writes), then commits the changed keys as one etcd Txn guarded by
// compare(mod_revision(fence) = the fence's revision in the snapshot) and
// rewriting the fence. Every write rewrites the fence, so a commit succeeds
// only if no other writer (on any replica) committed since the snapshot:
// transactions are serializable and no update is lost. On conflict the
// closure runs again on a newer snapshot. A committed clone becomes the
// replica's tree at once, so a write is visible to the next read on the
// same replica; other replicas see it when their watch delivers it.
//
// # Key layout
//
// Under Config.Prefix + "/":
//
//	b/<bucket>/<key>  -> value
//	m/<bucket>        -> uint64 big-endian: the bucket's sequence; its presence is the bucket's
//	fence             -> the id of the last committed write attempt; rewritten by every write transaction
package etcdkv

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/btree"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/idres/idres/registry/store/kv"
)

// Config says where the store lives and how patient to be.
type Config struct {
	Endpoints []string
	// Prefix is the key range of this store, e.g. "/idres/88.100"; every
	// replica of one node uses the same prefix.
	Prefix             string
	TLS                *tls.Config
	Username, Password string
	// DialTimeout bounds connecting; WriteTimeout bounds one commit
	// (without quorum, a write fails with kv.ErrUnavailable after it).
	// 0 means 5s each.
	DialTimeout, WriteTimeout time.Duration
	// StaleLimit is how long reads are served from a cache not confirmed
	// current (no quorum, or the watch is behind); 0 means one minute.
	StaleLimit time.Duration
	// MaxTxnOps and MaxTxnBytes are the cluster's --max-txn-ops and
	// --max-request-bytes; a bigger transaction fails with
	// kv.ErrTxnTooLarge before it is sent. 0 means etcd's defaults.
	MaxTxnOps   int
	MaxTxnBytes int
	Logger      *slog.Logger
}

const (
	defaultMaxTxnOps = 128 // etcd's --max-txn-ops default
	// etcd's --max-request-bytes default is 1.5 MiB; keep room for the
	// request's own framing.
	defaultMaxTxnBytes = 1536*1024 - 64*1024
	// maxAttempts bounds how often Update reruns its closure when other
	// writers keep committing first.
	maxAttempts = 32
	pageSize    = 2000 // keys per range request when loading
)

// Backend is a kv.Backend on etcd. Its methods are safe for concurrent use.
type Backend struct {
	cli    *clientv3.Client
	cfg    Config
	log    *slog.Logger
	prefix string // Config.Prefix + "/"
	fence  string // full key of the fence

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	changed  *sync.Cond // broadcast when applied grows
	tree     *btree.BTreeG[item]
	applied  int64 // etcd revision the tree reflects
	fenceRev int64 // mod revision of the fence in the tree; 0 if absent

	writeMu   sync.Mutex // one Update at a time per replica, as in bbolt
	confirmed atomic.Int64
	reloads   atomic.Int64
	onChange  atomic.Pointer[func()]
	inflight  atomic.Pointer[string] // id of this replica's commit attempt under way
}

type item struct {
	key string // relative to the prefix
	val []byte
}

func less(a, b item) bool { return a.key < b.key }

// Open connects, loads every key under cfg.Prefix, and starts the watch
// that keeps them current.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints")
	}
	if cfg.Prefix == "" || !strings.HasPrefix(cfg.Prefix, "/") || strings.HasSuffix(cfg.Prefix, "/") {
		return nil, fmt.Errorf("etcd: prefix %q must start with / and not end with one", cfg.Prefix)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	if cfg.StaleLimit <= 0 {
		cfg.StaleLimit = time.Minute
	}
	if cfg.MaxTxnOps <= 0 {
		cfg.MaxTxnOps = defaultMaxTxnOps
	}
	if cfg.MaxTxnBytes <= 0 {
		cfg.MaxTxnBytes = defaultMaxTxnBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		TLS:         cfg.TLS,
		Username:    cfg.Username,
		Password:    cfg.Password,
		Logger:      zap.NewNop(), // failures surface as our own errors and logs
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: connect %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	b := &Backend{cli: cli, cfg: cfg, log: cfg.Logger.With("etcd_prefix", cfg.Prefix),
		prefix: cfg.Prefix + "/", fence: cfg.Prefix + "/fence", tree: btree.NewG(32, less)}
	b.changed = sync.NewCond(&b.mu)
	b.ctx, b.cancel = context.WithCancel(context.Background())
	lctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	err = b.load(lctx)
	cancel()
	if err != nil {
		b.cancel()
		cli.Close()
		return nil, fmt.Errorf("etcd: load %s from %s: %w", cfg.Prefix, strings.Join(cfg.Endpoints, ","), err)
	}
	b.confirmed.Store(time.Now().UnixNano())
	b.wg.Add(2)
	go b.watch()
	go b.probe()
	return b, nil
}

// Close stops the watch and disconnects.
func (b *Backend) Close() error {
	b.cancel()
	b.mu.Lock()
	b.changed.Broadcast()
	b.mu.Unlock()
	b.wg.Wait()
	return b.cli.Close()
}

// OnChange implements kv.Notifier: fn runs after changes made by other
// replicas are applied.
func (b *Backend) OnChange(fn func()) { b.onChange.Store(&fn) }

// AppliedRevision is the etcd revision the local copy reflects.
func (b *Backend) AppliedRevision() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.applied
}

// Reloads counts the full reloads since Open: watches that resumed too
// late, after their revision was compacted.
func (b *Backend) Reloads() int64 { return b.reloads.Load() }

// Staleness is the time since the local copy was last confirmed current.
func (b *Backend) Staleness() time.Duration {
	return time.Since(time.Unix(0, b.confirmed.Load()))
}

// load replaces the tree with every key under the prefix, read page by
// page at one revision.
func (b *Backend) load(ctx context.Context) error {
	tree := btree.NewG(32, less)
	var rev, fenceRev int64
	from, end := b.prefix, clientv3.GetPrefixRangeEnd(b.prefix)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(pageSize), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := b.cli.Get(ctx, from, opts...)
		if err != nil {
			return err
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			if string(kv.Key) == b.fence {
				fenceRev = kv.ModRevision
			}
			tree.ReplaceOrInsert(item{key: string(kv.Key[len(b.prefix):]), val: nonNil(kv.Value)})
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	b.mu.Lock()
	b.tree, b.applied, b.fenceRev = tree, rev, fenceRev
	b.changed.Broadcast()
	b.mu.Unlock()
	b.notify()
	return nil
}

// watch applies every change under the prefix to the tree, resuming
// after the last applied revision, until Close.
func (b *Backend) watch() {
	defer b.wg.Done()
	backoff := 50 * time.Millisecond
	for b.ctx.Err() == nil {
		ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(b.ctx))
		from := b.AppliedRevision() + 1
		wch := b.cli.Watch(ctx, b.prefix, clientv3.WithPrefix(), clientv3.WithRev(from), clientv3.WithProgressNotify())
		for resp := range wch {
			if resp.CompactRevision != 0 {
				// Revisions we have not applied are gone: start over from
				// a full read.
				b.log.Warn("etcd watch compacted past the cache; reloading", "applied", from-1, "compacted", resp.CompactRevision)
				lctx, lcancel := context.WithTimeout(b.ctx, b.cfg.DialTimeout)
				b.reloads.Add(1)
				if err := b.load(lctx); err != nil {
					b.log.Warn("etcd reload failed", "err", err)
				}
				lcancel()
				break
			}
			if err := resp.Err(); err != nil {
				b.log.Warn("etcd watch interrupted", "err", err)
				break
			}
			backoff = 50 * time.Millisecond
			if len(resp.Events) > 0 {
				b.apply(resp.Events)
			}
		}
		cancel()
		select {
		case <-b.ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// apply writes watch events to the tree. Events at or below the applied
// revision are already there (this replica's own commits). A commit of
// this replica's that the watch delivers before Update installs it is
// applied but, being no other replica's change, notifies nobody.
func (b *Backend) apply(events []*clientv3.Event) {
	var own int64
	if id := b.inflight.Load(); id != nil {
		for _, ev := range events {
			if string(ev.Kv.Key) == b.fence && string(ev.Kv.Value) == *id {
				own = ev.Kv.ModRevision
			}
		}
	}
	b.mu.Lock()
	applied, n := b.applied, 0
	for _, ev := range events {
		if ev.Kv.ModRevision <= applied {
			continue
		}
		key := string(ev.Kv.Key)
		if !strings.HasPrefix(key, b.prefix) {
			continue
		}
		if ev.Type == clientv3.EventTypeDelete {
			b.tree.Delete(item{key: key[len(b.prefix):]})
		} else {
			b.tree.ReplaceOrInsert(item{key: key[len(b.prefix):], val: nonNil(ev.Kv.Value)})
			if key == b.fence {
				b.fenceRev = ev.Kv.ModRevision
			}
		}
		b.applied = max(b.applied, ev.Kv.ModRevision)
		if ev.Kv.ModRevision != own {
			n++
		}
	}
	b.changed.Broadcast()
	b.mu.Unlock()
	if n > 0 {
		b.notify()
	}
}

// nonNil keeps an empty value apart from an absent one: Get returns nil
// only for a missing key, and etcd decodes an empty value as nil.
func nonNil(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}

func (b *Backend) notify() {
	if fn := b.onChange.Load(); fn != nil {
		(*fn)()
	}
}

// probe confirms once a second that the cache is current: the cluster
// answers a linearizable read of the fence, and the cache has applied the
// fence's last write.
func (b *Backend) probe() {
	defer b.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(b.ctx, time.Second)
		resp, err := b.cli.Get(ctx, b.fence)
		cancel()
		if err != nil {
			continue
		}
		var last int64
		if len(resp.Kvs) == 1 {
			last = resp.Kvs[0].ModRevision
		}
		if b.waitApplied(last, time.Second) {
			b.confirmed.Store(time.Now().UnixNano())
		}
	}
}

// waitApplied waits up to d for the tree to reach revision rev.
func (b *Backend) waitApplied(rev int64, d time.Duration) bool {
	deadline := time.Now().Add(d)
	timer := time.AfterFunc(d, func() {
		b.mu.Lock()
		b.changed.Broadcast()
		b.mu.Unlock()
	})
	defer timer.Stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.applied < rev {
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			return false
		}
		b.changed.Wait()
	}
	return true
}

// snapshot clones the tree: O(1), copy-on-write from then on.
func (b *Backend) snapshot() (*btree.BTreeG[item], int64, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tree.Clone(), b.applied, b.fenceRev
}

// View implements kv.Backend.
func (b *Backend) View(fn func(kv.Tx) error) error {
	if b.ctx.Err() != nil {
		return fmt.Errorf("etcd: %w: store closed", kv.ErrUnavailable)
	}
	if s := b.Staleness(); s > b.cfg.StaleLimit {
		return fmt.Errorf("etcd: %w: cache not confirmed current for %s (limit %s)", kv.ErrUnavailable, s.Round(time.Second), b.cfg.StaleLimit)
	}
	t, _, _ := b.snapshot()
	return fn(&tx{tree: t})
}

// Update implements kv.Backend.
func (b *Backend) Update(fn func(kv.Tx) error) error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	defer b.inflight.Store(nil)
	deadline := time.Now().Add(b.cfg.WriteTimeout)
	for attempt := 1; ; attempt++ {
		if b.ctx.Err() != nil {
			return fmt.Errorf("etcd: %w: store closed", kv.ErrUnavailable)
		}
		t, _, fenceRev := b.snapshot()
		x := &tx{tree: t, pending: map[string]*[]byte{}}
		if err := fn(x); err != nil {
			return err
		}
		if len(x.pending) == 0 {
			return nil
		}
		ops, size := x.ops(b.prefix)
		if len(ops)+1 > b.cfg.MaxTxnOps || size > b.cfg.MaxTxnBytes {
			return fmt.Errorf("etcd: %w: %d keys, %d bytes (limits %d keys, %d bytes)", kv.ErrTxnTooLarge, len(ops)+1, size, b.cfg.MaxTxnOps, b.cfg.MaxTxnBytes)
		}
		// The fence carries this attempt's id, so that after an error
		// whose outcome is unknown a read of the fence tells whether the
		// attempt committed.
		id := attemptID()
		b.inflight.Store(&id)
		ops = append(ops, clientv3.OpPut(b.fence, id))
		rev, committed, err := b.commit(fenceRev, ops, deadline)
		switch {
		case errors.Is(err, rpctypes.ErrTooManyOps), errors.Is(err, rpctypes.ErrRequestTooLarge):
			return fmt.Errorf("etcd: %w: %v", kv.ErrTxnTooLarge, err)
		case errors.Is(err, rpctypes.ErrPermissionDenied), errors.Is(err, rpctypes.ErrAuthFailed):
			// Refused before it ran: no outcome to learn, nothing to retry.
			return fmt.Errorf("etcd: %w: commit: %v", kv.ErrUnavailable, err)
		case err != nil:
			if rev, committed = b.outcome(id, deadline); rev == 0 {
				return fmt.Errorf("etcd: %w: commit: %v", kv.ErrUnavailable, err)
			}
			if !committed {
				// Lost with its member or leader: run fn again.
				continue
			}
		case !committed:
			// Another writer committed first: catch up and run fn again.
			if attempt >= maxAttempts {
				return fmt.Errorf("etcd: %w: %d attempts lost to concurrent writers", kv.ErrUnavailable, attempt)
			}
			if !b.waitApplied(rev, time.Until(deadline)) {
				return fmt.Errorf("etcd: %w: watch did not reach revision %d", kv.ErrUnavailable, rev)
			}
			continue
		}
		// No write came between the snapshot and this commit, so the clone
		// is the store at the commit's revision.
		x.tree.ReplaceOrInsert(item{key: "fence", val: []byte(id)})
		b.mu.Lock()
		if b.applied < rev {
			b.tree, b.applied, b.fenceRev = x.tree, rev, rev
			b.changed.Broadcast()
		}
		b.mu.Unlock()
		return nil
	}
}

// attemptTimeout bounds one commit attempt. A request stuck on a member
// that died (a SIGKILLed leader) fails after it, and the write goes on
// through the new leader well within WriteTimeout.
const attemptTimeout = 1500 * time.Millisecond

// commit sends one fenced transaction. committed is false when the fence
// moved (rev is then the cluster's revision to catch up to).
func (b *Backend) commit(fenceRev int64, ops []clientv3.Op, deadline time.Time) (rev int64, committed bool, err error) {
	ctx, cancel := context.WithDeadline(clientv3.WithRequireLeader(b.ctx), earliest(deadline, time.Now().Add(attemptTimeout)))
	defer cancel()
	resp, err := b.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(b.fence), "=", fenceRev)).Then(ops...).Commit()
	if err != nil {
		return 0, false, err
	}
	return resp.Header.Revision, resp.Succeeded, nil
}

// outcome learns whether the attempt id committed, by a linearizable read
// of the fence: once the cluster answers one, an attempt that has not
// committed never will (a new leader commits or drops its predecessor's
// entries before it serves reads). rev is 0 when the cluster could not
// answer before the deadline.
func (b *Backend) outcome(id string, deadline time.Time) (rev int64, committed bool) {
	for time.Now().Before(deadline) && b.ctx.Err() == nil {
		ctx, cancel := context.WithDeadline(clientv3.WithRequireLeader(b.ctx), earliest(deadline, time.Now().Add(attemptTimeout)))
		resp, err := b.cli.Get(ctx, b.fence)
		cancel()
		if err == nil {
			if len(resp.Kvs) == 1 && string(resp.Kvs[0].Value) == id {
				return resp.Kvs[0].ModRevision, true
			}
			return resp.Header.Revision, false
		}
		select {
		case <-b.ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return 0, false
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// attemptID is unique per commit attempt across replicas.
func attemptID() string {
	var buf [12]byte
	_, _ = rand.Read(buf[:])
	return hex.EncodeToString(buf[:])
}

// tx is a transaction on a tree clone. pending holds the writes of an
// Update, by relative key: nil for a delete.
type tx struct {
	tree    *btree.BTreeG[item]
	pending map[string]*[]byte
}

func (t *tx) Writable() bool { return t.pending != nil }

// ops turns the pending writes into etcd operations, in key order so a
// transaction's request is deterministic.
func (t *tx) ops(prefix string) ([]clientv3.Op, int) {
	keys := make([]string, 0, len(t.pending))
	for k := range t.pending {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ops := make([]clientv3.Op, 0, len(keys)+1)
	size := 0
	for _, k := range keys {
		if v := t.pending[k]; v != nil {
			ops = append(ops, clientv3.OpPut(prefix+k, string(*v)))
			size += len(prefix) + len(k) + len(*v) + 8
		} else {
			ops = append(ops, clientv3.OpDelete(prefix+k))
			size += len(prefix) + len(k) + 8
		}
	}
	return ops, size
}

func (t *tx) put(key string, val []byte) {
	val = bytes.Clone(val)
	if val == nil {
		val = []byte{}
	}
	t.tree.ReplaceOrInsert(item{key: key, val: val})
	t.pending[key] = &val
}

func (t *tx) del(key string) {
	if _, ok := t.tree.Delete(item{key: key}); ok {
		t.pending[key] = nil
	}
}

var (
	errReadOnly   = errors.New("etcd: write in a read-only transaction")
	errKeyNeeded  = errors.New("etcd: key required")
	errNameNeeded = errors.New("etcd: bucket name required")
)

func (t *tx) Bucket(name []byte) kv.Bucket {
	if _, ok := t.tree.Get(item{key: "m/" + string(name)}); !ok {
		return nil
	}
	return &bucket{tx: t, marker: "m/" + string(name), pfx: "b/" + string(name) + "/"}
}

func (t *tx) CreateBucketIfNotExists(name []byte) (kv.Bucket, error) {
	if len(name) == 0 {
		return nil, errNameNeeded
	}
	if t.pending == nil {
		return nil, errReadOnly
	}
	if b := t.Bucket(name); b != nil {
		return b, nil
	}
	t.put("m/"+string(name), make([]byte, 8))
	return t.Bucket(name), nil
}

func (t *tx) DeleteBucket(name []byte) error {
	if t.pending == nil {
		return errReadOnly
	}
	b, _ := t.Bucket(name).(*bucket)
	if b == nil {
		return nil
	}
	// Key by key rather than one range delete: etcd refuses a transaction
	// that puts a key inside a range it also deletes.
	var keys []string
	t.tree.AscendRange(item{key: b.pfx}, item{key: b.end()}, func(it item) bool {
		keys = append(keys, it.key)
		return true
	})
	for _, k := range keys {
		t.del(k)
	}
	t.del(b.marker)
	return nil
}

type bucket struct {
	tx     *tx
	marker string
	pfx    string
}

// end is the first key after the bucket's range ('/' + 1 = '0').
func (b *bucket) end() string { return b.pfx[:len(b.pfx)-1] + "0" }

func (b *bucket) Get(key []byte) []byte {
	it, ok := b.tx.tree.Get(item{key: b.pfx + string(key)})
	if !ok {
		return nil
	}
	return it.val
}

func (b *bucket) Put(key, value []byte) error {
	if b.tx.pending == nil {
		return errReadOnly
	}
	if len(key) == 0 {
		return errKeyNeeded
	}
	b.tx.put(b.pfx+string(key), value)
	return nil
}

func (b *bucket) Delete(key []byte) error {
	if b.tx.pending == nil {
		return errReadOnly
	}
	b.tx.del(b.pfx + string(key))
	return nil
}

func (b *bucket) ForEach(fn func(k, v []byte) error) error {
	var err error
	b.tx.tree.AscendRange(item{key: b.pfx}, item{key: b.end()}, func(it item) bool {
		err = fn([]byte(it.key[len(b.pfx):]), it.val)
		return err == nil
	})
	return err
}

func (b *bucket) Sequence() uint64 {
	it, ok := b.tx.tree.Get(item{key: b.marker})
	if !ok || len(it.val) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(it.val)
}

func (b *bucket) NextSequence() (uint64, error) {
	if b.tx.pending == nil {
		return 0, errReadOnly
	}
	n := b.Sequence() + 1
	b.tx.put(b.marker, binary.BigEndian.AppendUint64(nil, n))
	return n, nil
}

func (b *bucket) Cursor() kv.Cursor { return &cursor{b: b} }

// cursor remembers the key it is on and finds its neighbours by search,
// so it stays valid across writes to the bucket.
type cursor struct {
	b   *bucket
	cur string
	on  bool
}

func (c *cursor) at(it item, ok bool) ([]byte, []byte) {
	c.on = ok
	if !ok {
		return nil, nil
	}
	c.cur = it.key
	return []byte(it.key[len(c.b.pfx):]), it.val
}

// ascend returns the first item at or after from inside the bucket.
func (c *cursor) ascend(from string) (item, bool) {
	var out item
	var ok bool
	c.b.tx.tree.AscendRange(item{key: from}, item{key: c.b.end()}, func(it item) bool {
		out, ok = it, true
		return false
	})
	return out, ok
}

// descend returns the last item before before inside the bucket.
func (c *cursor) descend(before string) (item, bool) {
	var out item
	var ok bool
	c.b.tx.tree.DescendLessOrEqual(item{key: before}, func(it item) bool {
		if it.key == before {
			return true
		}
		if strings.HasPrefix(it.key, c.b.pfx) {
			out, ok = it, true
		}
		return false
	})
	return out, ok
}

func (c *cursor) First() ([]byte, []byte) { return c.at(c.ascend(c.b.pfx)) }
func (c *cursor) Last() ([]byte, []byte)  { return c.at(c.descend(c.b.end())) }

func (c *cursor) Seek(seek []byte) ([]byte, []byte) {
	return c.at(c.ascend(c.b.pfx + string(seek)))
}

func (c *cursor) Next() ([]byte, []byte) {
	if !c.on {
		return nil, nil
	}
	return c.at(c.ascend(c.cur + "\x00"))
}

func (c *cursor) Prev() ([]byte, []byte) {
	if !c.on {
		return nil, nil
	}
	return c.at(c.descend(c.cur))
}

func (c *cursor) Delete() error {
	if !c.on {
		return errors.New("etcd: cursor not on a key")
	}
	if c.b.tx.pending == nil {
		return errReadOnly
	}
	c.b.tx.del(c.cur)
	return nil
}
