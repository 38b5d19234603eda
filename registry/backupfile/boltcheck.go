package backupfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/bits"
)

// The bbolt file format (go.etcd.io/bbolt, internal/common), as far as
// checkBolt reads it. All integers are little-endian.
const (
	boltMagic          = 0xED0CDAED
	boltVersion        = 2
	pageHeaderSize     = 16 // id u64, flags u16, count u16, overflow u32
	elementSize        = 16 // branch: pos u32, ksize u32, pgid u64; leaf: flags u32, pos u32, ksize u32, vsize u32
	metaSize           = 64 // magic, version, pageSize, flags u32; root, sequence, freelist, pgid, txid, checksum u64
	bucketHeaderSize   = 16 // root u64, sequence u64
	flagBranch         = 0x01
	flagLeaf           = 0x02
	flagMeta           = 0x04
	flagFreelist       = 0x10
	leafFlagBucket     = 0x01
	pgidNoFreelist     = ^uint64(0)
	minPageSize        = 1 << 10
	maxPageSize        = 1 << 16
	maxTreeDepth       = 64
	freelistCountInIDs = 0xFFFF
)

// boltMeta is a bbolt meta page.
type boltMeta struct {
	pageSize uint32
	root     uint64 // the root bucket's root page
	freelist uint64
	pgid     uint64 // the high-water mark: pages in the file
	txid     uint64
}

// parseBoltMeta decodes and validates the meta page starting at off of
// buf, as bbolt's Meta.Validate does, and checks its page size.
func parseBoltMeta(buf []byte, off int) (boltMeta, error) {
	if len(buf) < off+pageHeaderSize+metaSize {
		return boltMeta{}, errors.New("too short for a meta page")
	}
	b := buf[off+pageHeaderSize:][:metaSize]
	le := binary.LittleEndian
	if le.Uint32(b) != boltMagic {
		return boltMeta{}, errors.New("no bbolt magic")
	}
	if v := le.Uint32(b[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("bbolt version %d, want %d", v, boltVersion)
	}
	h := fnv.New64a()
	h.Write(b[:56])
	if le.Uint64(b[56:]) != h.Sum64() {
		return boltMeta{}, errors.New("checksum mismatch")
	}
	m := boltMeta{
		pageSize: le.Uint32(b[8:]),
		root:     le.Uint64(b[16:]),
		freelist: le.Uint64(b[32:]),
		pgid:     le.Uint64(b[40:]),
		txid:     le.Uint64(b[48:]),
	}
	if m.pageSize < minPageSize || m.pageSize > maxPageSize || bits.OnesCount32(m.pageSize) != 1 {
		return boltMeta{}, fmt.Errorf("page size %d", m.pageSize)
	}
	return m, nil
}

// checkBolt checks, reading r with ReadAt and nothing else, that the
// first size bytes of r are a bbolt file that bbolt can open, check and
// read without touching memory outside the file: both meta pages valid
// and of one page size; every page the tree and the freelist reach inside
// the file, of the right type, reached once, with its elements, keys and
// values inside it; keys in order; every page either reached or free.
// bbolt itself trusts all of this (it reads the file through mmap without
// bounds checks), so a file that fails it can make bbolt fault, panic or
// recurse without end.
func checkBolt(r io.ReaderAt, size int64) (boltMeta, error) {
	bad := func(format string, args ...any) (boltMeta, error) {
		return boltMeta{}, fmt.Errorf("%w: "+format, append([]any{ErrStructure}, args...)...)
	}
	head := make([]byte, min(size, 4096))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return boltMeta{}, err
	}
	m0, err := parseBoltMeta(head, 0)
	if err != nil {
		return bad("meta page 0: %v", err)
	}
	ps := int64(m0.pageSize)
	if size < 2*ps {
		return bad("meta page 1: the snapshot of %d bytes is shorter than two %d-byte pages", size, ps)
	}
	page1 := make([]byte, ps)
	if _, err := r.ReadAt(page1, ps); err != nil {
		return boltMeta{}, err
	}
	m1, err := parseBoltMeta(page1, 0)
	if err != nil {
		return bad("meta page 1: %v", err)
	}
	for id, p := range [][]byte{head, page1} {
		// Outside the meta's checksum; bbolt asserts both.
		if got, flags := binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint16(p[8:]); got != uint64(id) || flags != flagMeta {
			return bad("meta page %d calls itself page %d with flags %#x", id, got, flags)
		}
	}
	if m1.pageSize != m0.pageSize {
		return bad("meta pages disagree on the page size (%d, %d)", m0.pageSize, m1.pageSize)
	}
	for i, m := range []boltMeta{m0, m1} {
		switch {
		case m.pgid < 3 || m.pgid > uint64(size/ps):
			return bad("meta page %d records %d pages of %d bytes; the snapshot holds %d bytes", i, m.pgid, ps, size)
		case m.root < 2 || m.root >= m.pgid:
			return bad("meta page %d: root page %d outside pages 2..%d", i, m.root, m.pgid-1)
		case m.freelist == pgidNoFreelist:
			return bad("meta page %d: no freelist (idres stores always write it)", i)
		case m.freelist < 2 || m.freelist >= m.pgid:
			return bad("meta page %d: freelist page %d outside pages 2..%d", i, m.freelist, m.pgid-1)
		}
	}
	// bbolt reads the meta page of the higher transaction among the valid.
	m := m0
	if m1.txid > m0.txid {
		m = m1
	}
	c := &boltChecker{r: r, ps: ps, pgid: m.pgid, state: make([]byte, m.pgid)}
	c.state[0], c.state[1] = pageReached, pageReached
	if err := c.freelist(m.freelist); err != nil {
		return boltMeta{}, err
	}
	if _, err := c.tree(m.root, nil, nil, 0); err != nil {
		return boltMeta{}, err
	}
	for id, s := range c.state {
		if s == 0 {
			return bad("page %d is neither reachable nor free", id)
		}
	}
	return m, nil
}

const (
	pageReached = 1
	pageFree    = 2
)

type boltChecker struct {
	r     io.ReaderAt
	ps    int64
	pgid  uint64
	state []byte // per page: 0, pageReached or pageFree
}

func (c *boltChecker) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrStructure}, args...)...)
}

// page reads page id with its overflow pages, checks that they lie inside
// the file and were not reached before, and marks them reached.
func (c *boltChecker) page(id uint64, what string) ([]byte, error) {
	if id < 2 || id >= c.pgid {
		return nil, c.errorf("%s page %d outside pages 2..%d", what, id, c.pgid-1)
	}
	var hdr [pageHeaderSize]byte
	if _, err := c.r.ReadAt(hdr[:], int64(id)*c.ps); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	if got := le.Uint64(hdr[:]); got != id {
		return nil, c.errorf("page %d calls itself page %d", id, got)
	}
	overflow := uint64(le.Uint32(hdr[12:]))
	if id+overflow >= c.pgid {
		return nil, c.errorf("page %d and its %d overflow pages run past the last page %d", id, overflow, c.pgid-1)
	}
	for i := id; i <= id+overflow; i++ {
		if c.state[i] != 0 {
			return nil, c.errorf("page %d reached twice (as %s page %d)", i, what, id)
		}
		c.state[i] = pageReached
	}
	buf := make([]byte, int64(overflow+1)*c.ps)
	if _, err := c.r.ReadAt(buf, int64(id)*c.ps); err != nil {
		return nil, err
	}
	return buf, nil
}

// freelist checks the freelist page and marks the pages it lists free.
func (c *boltChecker) freelist(id uint64) error {
	p, err := c.page(id, "freelist")
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	if flags := le.Uint16(p[8:]); flags != flagFreelist {
		return c.errorf("freelist page %d has flags %#x", id, flags)
	}
	ids := p[pageHeaderSize:]
	n := uint64(le.Uint16(p[10:]))
	if n == freelistCountInIDs { // the count is the first element
		n = le.Uint64(ids)
		ids = ids[8:]
	}
	if n > uint64(len(ids)/8) {
		return c.errorf("freelist page %d lists %d pages, more than it holds", id, n)
	}
	for i := range n {
		free := le.Uint64(ids[i*8:])
		if free < 2 || free >= c.pgid {
			return c.errorf("freelist page %d lists page %d, outside pages 2..%d", id, free, c.pgid-1)
		}
		if c.state[free] != 0 {
			return c.errorf("freelist page %d lists page %d, which is in use or listed twice", id, free)
		}
		c.state[free] = pageFree
	}
	return nil
}

// tree checks the subtree of a bucket rooted at page id, whose keys must
// lie in [lo, hi) (nil: unbounded), and returns its greatest key.
func (c *boltChecker) tree(id uint64, lo, hi []byte, depth int) ([]byte, error) {
	if depth > maxTreeDepth {
		return nil, c.errorf("page %d: the tree is deeper than %d", id, maxTreeDepth)
	}
	p, err := c.page(id, "tree")
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	switch flags := le.Uint16(p[8:]); flags {
	case flagBranch:
		n := int(le.Uint16(p[10:]))
		if n == 0 {
			return nil, c.errorf("branch page %d has no elements", id)
		}
		keys, err := c.elements(p, id, n, false)
		if err != nil {
			return nil, err
		}
		var greatest []byte
		for i, k := range keys {
			if err := c.keyOrder(id, i, k, lo, hi); err != nil {
				return nil, err
			}
			next := hi
			if i+1 < n {
				next = keys[i+1]
			}
			child := le.Uint64(p[pageHeaderSize+i*elementSize+8:])
			if greatest, err = c.tree(child, k, next, depth+1); err != nil {
				return nil, err
			}
			lo = greatest
		}
		return greatest, nil
	case flagLeaf:
		return c.leaf(p, id, int(le.Uint16(p[10:])), lo, hi, depth)
	default:
		return nil, c.errorf("page %d in a bucket's tree has flags %#x, not a branch or leaf page", id, flags)
	}
}

// leaf checks the leaf page (or inline bucket) p and the buckets it
// holds.
func (c *boltChecker) leaf(p []byte, id uint64, n int, lo, hi []byte, depth int) ([]byte, error) {
	keys, err := c.elements(p, id, n, true)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	for i, k := range keys {
		if err := c.keyOrder(id, i, k, lo, hi); err != nil {
			return nil, err
		}
		lo = k
		e := p[pageHeaderSize+i*elementSize:]
		switch flags := le.Uint32(e); flags {
		case 0:
		case leafFlagBucket:
			off := pageHeaderSize + i*elementSize + int(le.Uint32(e[4:])) + len(k)
			v := p[off : off+int(le.Uint32(e[12:]))]
			if err := c.bucket(v, id, depth); err != nil {
				return nil, err
			}
		default:
			return nil, c.errorf("page %d element %d has flags %#x", id, i, flags)
		}
	}
	if n == 0 {
		return nil, nil
	}
	return keys[n-1], nil
}

// bucket checks a bucket's header (the value of a bucket element) and its
// tree, inline in the value or from its root page.
func (c *boltChecker) bucket(v []byte, id uint64, depth int) error {
	if len(v) < bucketHeaderSize {
		return c.errorf("page %d: a bucket's value of %d bytes", id, len(v))
	}
	root := binary.LittleEndian.Uint64(v)
	if root != 0 {
		_, err := c.tree(root, nil, nil, depth+1)
		return err
	}
	inline := v[bucketHeaderSize:]
	if len(inline) < pageHeaderSize {
		return c.errorf("page %d: an inline bucket of %d bytes", id, len(inline))
	}
	if flags := binary.LittleEndian.Uint16(inline[8:]); flags != flagLeaf {
		return c.errorf("page %d: an inline bucket with flags %#x", id, flags)
	}
	if depth+1 > maxTreeDepth {
		return c.errorf("page %d: buckets nested deeper than %d", id, maxTreeDepth)
	}
	_, err := c.leaf(inline, id, int(binary.LittleEndian.Uint16(inline[10:])), nil, nil, depth+1)
	return err
}

// elements checks that the n elements of page p, their keys and (on a
// leaf) their values lie inside p, and returns the keys.
func (c *boltChecker) elements(p []byte, id uint64, n int, leaf bool) ([][]byte, error) {
	if pageHeaderSize+n*elementSize > len(p) {
		return nil, c.errorf("page %d: %d elements do not fit in its %d bytes", id, n, len(p))
	}
	le := binary.LittleEndian
	keys := make([][]byte, n)
	for i := range n {
		at := pageHeaderSize + i*elementSize
		e := p[at:]
		var pos, ksize, vsize uint64
		if leaf {
			pos, ksize, vsize = uint64(le.Uint32(e[4:])), uint64(le.Uint32(e[8:])), uint64(le.Uint32(e[12:]))
		} else {
			pos, ksize = uint64(le.Uint32(e)), uint64(le.Uint32(e[4:]))
		}
		if end := uint64(at) + pos + ksize + vsize; end > uint64(len(p)) {
			return nil, c.errorf("page %d element %d reaches byte %d of a %d-byte page", id, i, end, len(p))
		}
		keys[i] = p[uint64(at)+pos:][:ksize]
	}
	return keys, nil
}

// keyOrder checks the i-th key of page id against the one before it (lo
// for the first) and the bound hi, as bbolt's Tx.Check does.
func (c *boltChecker) keyOrder(id uint64, i int, k, lo, hi []byte) error {
	if lo != nil && (bytes.Compare(lo, k) > 0 || (i > 0 && bytes.Equal(lo, k))) {
		return c.errorf("page %d: key %d is out of order", id, i)
	}
	if hi != nil && bytes.Compare(k, hi) >= 0 {
		return c.errorf("page %d: key %d is not below its parent's next key", id, i)
	}
	return nil
}

// CheckBolt checks the bbolt file r of size bytes as checkBolt does,
// without mapping it: what a restore runs on its staged copy before
// bbolt opens it.
func CheckBolt(r io.ReaderAt, size int64) error {
	_, err := checkBolt(r, size)
	return err
}
