// Package cache is a recursive node's memory of what authoritative nodes
// said: answers (keyed by identifier), referrals (keyed by the delegated
// prefix) and denials of prefixes (keyed by prefix), each kept for the TTL
// it came with, and failed resolutions (keyed by identifier) for a short
// time of the walker's choosing; evicted least-recently-used beyond a
// bound on entries and, optionally, on bytes.
// It also coalesces identical concurrent misses (Group). It knows nothing
// of the network: the walker in resolver/recursive fills it.
//
// Every method is safe for concurrent use. Responses handed in are owned
// by the cache afterwards; responses handed out are copies.
package cache

import (
	"container/list"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
)

// DefaultSize is the entry bound when none is configured.
const DefaultSize = 100_000

// entryOverhead approximates what an entry costs beyond its response's
// encoding: the list element, map slot, entry and decoded message.
const entryOverhead = 256

// Kind says what a key names.
type Kind byte

const (
	// Answer: a final answer (OK, NOT_FOUND, VALUES_NOT_FOUND, GONE) for one
	// identifier, named by its lookup key (ident.ID.Key).
	Answer Kind = 'a'
	// Referral: a REFERRAL response for a delegated prefix (folded).
	Referral Kind = 'r'
	// NoPrefix: a PREFIX_NOT_FOUND response for a prefix (folded). It says
	// nothing of the prefix's descendants, which may still be delegated.
	NoPrefix Kind = 'p'
	// Failure: a SERVER_FAILURE the walker ended in for one identifier,
	// named by its lookup key, kept briefly so that a broken zone is not
	// walked again for every caller (as DNS resolvers keep SERVFAIL, RFC
	// 9520).
	Failure Kind = 'f'
)

// Key names one entry.
type Key struct {
	Kind Kind
	// Name is the identifier lookup key (Answer) or folded prefix.
	Name string
}

type entry struct {
	key     Key
	prefix  string // folded prefix the entry belongs to, for Flush
	resp    *idresv1.ResolveResponse
	expires time.Time
	size    int64 // what the entry counts against the byte bound
}

// Cache is an LRU cache bounded by entries and optionally bytes, with
// per-entry TTL.
type Cache struct {
	max int
	now func() time.Time

	mu       sync.Mutex
	ll       *list.List // front = most recently used
	items    map[Key]*list.Element
	maxBytes int64 // 0: no byte bound
	bytes    int64

	evictions atomic.Uint64
}

// New returns a cache of at most size entries (0 means DefaultSize) that
// reads time from now (nil means time.Now), so tests can move the clock.
func New(size int, now func() time.Time) *Cache {
	if size <= 0 {
		size = DefaultSize
	}
	if now == nil {
		now = time.Now
	}
	return &Cache{max: size, now: now, ll: list.New(), items: make(map[Key]*list.Element)}
}

// LimitBytes bounds the cache's size in bytes, approximated from the
// encoded size of each response plus a fixed overhead an entry; 0 removes
// the bound. Call it before use.
func (c *Cache) LimitBytes(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.maxBytes = max(n, 0)
	c.evict()
}

// Bytes is the approximate size of the entries.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Get returns a copy of the live entry for k and its remaining TTL in
// whole seconds (rounded up, so a live entry never reports 0). An expired
// entry is dropped and reported missing.
func (c *Cache) Get(k Key) (*idresv1.ResolveResponse, uint32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil, 0, false
	}
	e := el.Value.(*entry)
	left := e.expires.Sub(c.now())
	if left <= 0 {
		c.remove(el)
		return nil, 0, false
	}
	c.ll.MoveToFront(el)
	secs := math.Ceil(left.Seconds())
	if secs > math.MaxUint32 {
		secs = math.MaxUint32
	}
	return proto.Clone(e.resp).(*idresv1.ResolveResponse), uint32(secs), true
}

// Put stores resp under k for ttl seconds; prefix is the folded prefix the
// entry belongs to (for Flush). A TTL of 0 stores nothing: the answer may
// not be cached. Beyond the bound, the least recently used entry goes.
func (c *Cache) Put(k Key, prefix string, resp *idresv1.ResolveResponse, ttl uint32) {
	if ttl == 0 {
		return
	}
	e := &entry{key: k, prefix: prefix, resp: resp, expires: c.now().Add(time.Duration(ttl) * time.Second),
		size: int64(proto.Size(resp) + len(k.Name) + len(prefix) + entryOverhead)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.maxBytes > 0 && e.size > c.maxBytes {
		// Larger than the whole cache: keeping it would evict everything.
		if el, ok := c.items[k]; ok {
			c.remove(el)
		}
		return
	}
	if el, ok := c.items[k]; ok {
		c.bytes += e.size - el.Value.(*entry).size
		el.Value = e
		c.ll.MoveToFront(el)
	} else {
		c.items[k] = c.ll.PushFront(e)
		c.bytes += e.size
	}
	c.evict()
}

// evict drops least recently used entries until both bounds hold.
func (c *Cache) evict() {
	for c.ll.Len() > c.max || c.maxBytes > 0 && c.bytes > c.maxBytes {
		c.remove(c.ll.Back())
		c.evictions.Add(1)
	}
}

// Delete drops the entry for k, if any.
func (c *Cache) Delete(k Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.remove(el)
	}
}

// DeepestReferral returns the cached referral for the deepest of prefix
// (folded) and its ancestors that has one, with its remaining TTL.
func (c *Cache) DeepestReferral(prefix string) (*idresv1.ResolveResponse, uint32, bool) {
	for _, p := range ident.Ancestors(prefix) {
		if r, ttl, ok := c.Get(Key{Referral, p}); ok {
			return r, ttl, true
		}
	}
	return nil, 0, false
}

// Flush drops the entries whose prefix is prefix (folded) or lies under
// it; "" drops everything. It returns how many went.
func (c *Cache) Flush(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for el := c.ll.Front(); el != nil; {
		next := el.Next()
		if ident.Covers(prefix, el.Value.(*entry).prefix) {
			c.remove(el)
			n++
		}
		el = next
	}
	return n
}

// Evictions counts entries dropped to stay within the bound.
func (c *Cache) Evictions() uint64 { return c.evictions.Load() }

// Len is the number of entries, live or not yet noticed to be expired.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

func (c *Cache) remove(el *list.Element) {
	c.ll.Remove(el)
	e := el.Value.(*entry)
	c.bytes -= e.size
	delete(c.items, e.key)
}
