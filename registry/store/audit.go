package store

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store/kv"
)

// The audit log is the audit bucket, keyed by sequence number, and two
// indexes written in the same transaction as each record, so that a
// listing reads the records it returns and few others (issue 19):
//
//   - auditprefix: the record's prefix (escaped as in the value index) |
//     0x00 0x01 | sequence -> empty. The records of one prefix are one key
//     range in sequence order; a subtree S is the range of S itself and
//     the range S + "." ... S + "/", one run of keys per prefix under S.
//   - audittime: unix second -> sequence, written when a record's second
//     is later than every earlier record's: the first record at which the
//     log's running maximum time reached that second. Records are not in
//     time order (an import stamps its batch before it commits; the clock
//     may step back), but the running maximum is; a record at or after
//     time t lies at or after the entry found by seeking t's second, so
//     every record before that entry's sequence is older than t.

// AuditFilter selects audit records for ListAudit.
type AuditFilter struct {
	// Scope keeps the records whose prefix is Scope or lies under it
	// (Scope + "." ...), as ident.Covers; "" keeps every record.
	Scope string
	// After keeps the records with a sequence number greater than it.
	After uint64
	// Since, unless zero, keeps the records stamped at or after it.
	Since time.Time
}

// AppendAudit appends rec to the audit log, setting its sequence number,
// and indexes it by prefix and time. The log is append-only: the store
// has no call that changes or deletes a record.
func (tx *Tx) AppendAudit(rec *idresv1.AuditRecord) error {
	b := tx.tx.Bucket(bucketAudit)
	kv.SetFill(b, appendFill)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("audit sequence: %w", err)
	}
	rec.Seq = seq
	if err := tx.put(bucketAudit, auditKey(seq), rec); err != nil {
		return err
	}
	return tx.indexAudit(rec)
}

// indexAudit writes the index entries of rec, the newest record so far.
func (tx *Tx) indexAudit(rec *idresv1.AuditRecord) error {
	if err := tx.tx.Bucket(bucketAuditPrefix).Put(auditPrefixKey(rec.GetPrefix(), rec.GetSeq()), nil); err != nil {
		return fmt.Errorf("audit prefix index %d: %w", rec.GetSeq(), err)
	}
	tb := tx.tx.Bucket(bucketAuditTime)
	if !tx.auditTopRead {
		// Once per transaction: an import appends a record per item.
		if k, _ := tb.Cursor().Last(); len(k) == 8 {
			tx.auditTop = binary.BigEndian.Uint64(k) + 1
		}
		tx.auditTopRead = true
	}
	sec := auditSecond(rec.GetTime().AsTime())
	if tx.auditTop != 0 && sec < tx.auditTop {
		return nil
	}
	if err := tb.Put(binary.BigEndian.AppendUint64(nil, sec), binary.BigEndian.AppendUint64(nil, rec.GetSeq())); err != nil {
		return fmt.Errorf("audit time index %d: %w", rec.GetSeq(), err)
	}
	tx.auditTop = sec + 1
	return nil
}

// buildAuditIndex writes the index entries of every record in the log
// (the upgrade to schema 5).
func buildAuditIndex(btx kv.Tx) error {
	tx := &Tx{tx: btx}
	c := btx.Bucket(bucketAudit).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		rec := &idresv1.AuditRecord{}
		if err := proto.Unmarshal(v, rec); err != nil {
			return fmt.Errorf("decode audit record %x: %w", k, err)
		}
		if len(k) != 8 || binary.BigEndian.Uint64(k) != rec.GetSeq() {
			return fmt.Errorf("audit record under key %x has sequence %d", k, rec.GetSeq())
		}
		if err := tx.indexAudit(rec); err != nil {
			return err
		}
	}
	return nil
}

// ForEachAudit calls fn for each audit record with a sequence number
// greater than after, oldest first, until fn returns false or an error.
func (tx *Tx) ForEachAudit(after uint64, fn func(*idresv1.AuditRecord) (bool, error)) error {
	c := tx.tx.Bucket(bucketAudit).Cursor()
	for k, v := c.Seek(auditKey(after + 1)); k != nil; k, v = c.Next() {
		rec, err := tx.decodeAudit(k, v)
		if err != nil {
			return err
		}
		more, err := fn(rec)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// ListAudit calls fn for each audit record f keeps, oldest first, until
// fn returns false or an error. It reads (decodes) the records it passes
// to fn, and besides them only those of the scope stamped before f.Since
// that lie after a later-stamped record (a clock that stepped back, an
// import committed after a later transaction) or in f.Since's second. It
// seeks once or twice per prefix under f.Scope holding a record after
// f.After (and after f.Since's bound): a scope with many prefixes costs
// that many seeks per call, whatever it returns.
func (tx *Tx) ListAudit(f AuditFilter, fn func(*idresv1.AuditRecord) (bool, error)) error {
	if f.After == ^uint64(0) {
		return nil
	}
	from := f.After + 1
	if !f.Since.IsZero() {
		seq, ok := tx.auditSinceSeq(f.Since)
		if !ok {
			return nil // no record as late as f.Since
		}
		from = max(from, seq)
	}
	keep := func(rec *idresv1.AuditRecord) bool {
		return f.Since.IsZero() || !rec.GetTime().AsTime().Before(f.Since)
	}
	if f.Scope == "" {
		c := tx.tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Seek(auditKey(from)); k != nil; k, v = c.Next() {
			rec, err := tx.decodeAudit(k, v)
			if err != nil {
				return err
			}
			if !keep(rec) {
				continue
			}
			if more, err := fn(rec); err != nil || !more {
				return err
			}
		}
		return nil
	}

	heads, err := tx.auditHeads(f.Scope, from)
	if err != nil {
		return err
	}
	log := tx.tx.Bucket(bucketAudit)
	for heads.Len() > 0 {
		h := heads.items[0]
		seq := h.seq()
		k := auditKey(seq)
		v := log.Get(k)
		if v == nil {
			return fmt.Errorf("audit index entry %x: record %d missing", h.key, seq)
		}
		rec, err := tx.decodeAudit(k, v)
		if err != nil {
			return err
		}
		if p := rec.GetPrefix(); p != f.Scope && !strings.HasPrefix(p, f.Scope+".") {
			return fmt.Errorf("audit index entry %x: record %d has prefix %q", h.key, seq, p)
		}
		if keep(rec) {
			if more, err := fn(rec); err != nil || !more {
				return err
			}
		}
		if h.key, _ = h.c.Next(); h.key != nil && h.in() {
			heap.Fix(heads, 0)
		} else {
			heap.Pop(heads)
		}
	}
	return nil
}

// auditHeads positions one cursor per prefix of the scope on its first
// entry at or after from.
func (tx *Tx) auditHeads(scope string, from uint64) (*auditHeap, error) {
	b := tx.tx.Bucket(bucketAuditPrefix)
	esc := appendEsc(nil, []byte(scope))
	hs := &auditHeap{}
	// The scope's own prefix, then the run of its descendants.
	ranges := [][2][]byte{
		{append(append(bytes.Clone(esc), termWhole...), auditKey(from)...), append(bytes.Clone(esc), termCut...)},
		{append(bytes.Clone(esc), '.'), append(bytes.Clone(esc), '/')},
	}
	for _, r := range ranges {
		probe := b.Cursor()
		k, _ := probe.Seek(r[0])
		for k != nil && bytes.Compare(k, r[1]) < 0 {
			h := &auditHead{c: probe, key: k}
			if !h.valid() {
				return nil, fmt.Errorf("audit index key %x malformed", k)
			}
			pfx := k[:len(k)-8] // escaped prefix and terminator
			if h.seq() < from {
				k, _ = probe.Seek(append(bytes.Clone(pfx), auditKey(from)...))
				continue // now on the prefix's first entry at or after from, or past it
			}
			hs.items = append(hs.items, h)
			probe = b.Cursor()
			// Past every entry of this prefix: its terminator 0x00 0x01
			// becomes 0x00 0x02.
			next := bytes.Clone(pfx)
			next[len(next)-1]++
			k, _ = probe.Seek(next)
		}
	}
	heap.Init(hs)
	return hs, nil
}

// auditHead is a cursor on one prefix's run in auditprefix.
type auditHead struct {
	c   kv.Cursor
	key []byte // the entry the cursor is on
	pfx []byte // the run's escaped prefix and terminator, set by valid
}

func (h *auditHead) valid() bool {
	if len(h.key) < 10 || !bytes.Equal(h.key[len(h.key)-10:len(h.key)-8], termWhole) {
		return false
	}
	h.pfx = bytes.Clone(h.key[:len(h.key)-8])
	return true
}

// in reports whether the cursor is still on its prefix's run.
func (h *auditHead) in() bool {
	return len(h.key) == len(h.pfx)+8 && bytes.HasPrefix(h.key, h.pfx)
}

func (h *auditHead) seq() uint64 { return binary.BigEndian.Uint64(h.key[len(h.key)-8:]) }

// auditHeap orders the heads by sequence number, oldest first.
type auditHeap struct{ items []*auditHead }

func (q *auditHeap) Len() int           { return len(q.items) }
func (q *auditHeap) Less(i, j int) bool { return q.items[i].seq() < q.items[j].seq() }
func (q *auditHeap) Swap(i, j int)      { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *auditHeap) Push(x any)         { q.items = append(q.items, x.(*auditHead)) }
func (q *auditHeap) Pop() any {
	x := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return x
}

// auditSinceSeq is the sequence number before which every record is
// stamped before since; false when no record is stamped at or after it.
func (tx *Tx) auditSinceSeq(since time.Time) (uint64, bool) {
	_, v := tx.tx.Bucket(bucketAuditTime).Cursor().Seek(binary.BigEndian.AppendUint64(nil, auditSecond(since)))
	if len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

// decodeAudit decodes one record of the log, counting it.
func (tx *Tx) decodeAudit(k, v []byte) (*idresv1.AuditRecord, error) {
	if tx.auditReads != nil {
		tx.auditReads.Add(1)
	}
	rec := &idresv1.AuditRecord{}
	if err := proto.Unmarshal(v, rec); err != nil {
		return nil, fmt.Errorf("decode audit record %x: %w", k, err)
	}
	return rec, nil
}

// auditSecond is the time index's key of t: its unix second, times before
// 1970 counted as 1970. Any order-keeping map would do.
func auditSecond(t time.Time) uint64 { return uint64(max(t.Unix(), 0)) }

func auditKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// auditPrefixKey is the auditprefix key of a record: its prefix, escaped
// as in the value index so no prefix's run can hold another's keys.
func auditPrefixKey(prefix string, seq uint64) []byte {
	k := appendEsc(make([]byte, 0, len(prefix)+10), []byte(prefix))
	k = append(k, termWhole...)
	return binary.BigEndian.AppendUint64(k, seq)
}

// AuditRecordsRead is how many audit records the store's transactions
// have decoded since Open: what audit listings cost.
func (s *Store) AuditRecordsRead() uint64 { return s.auditReads.Load() }
