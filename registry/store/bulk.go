package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store/kv"
)

// BulkItem is one identifier of a bulk write (PutIdentifiers).
type BulkItem struct {
	ID  ident.ID
	Rec *idresv1.Identifier
	// Tag is the caller's (e.g. the item's line in an import file).
	Tag uint64
	// Err, when set before PutIdentifiers, makes it skip the item (the
	// caller refused it, e.g. for a template); PutIdentifiers sets it for
	// an item it refuses (ErrExists, ErrPrefixNotHeld). Replaced is set
	// for an item that overwrote a record.
	Err      error
	Replaced bool
}

// appendFill is the page fill of the audit log and the change feed, whose
// keys only ever grow at the end: full pages instead of bbolt's half-full
// splits, which made these buckets twice their size.
const appendFill = 1.0

// bulkFill is the page fill of the identifiers bucket under a bulk write.
// Not 1.0: a later write between two bulk-loaded keys then splits a page
// instead of cascading through full ones.
const bulkFill = 0.9

// PutIdentifiers writes many identifiers in this transaction: new ones are
// created, existing ones replaced when replace is set and refused with
// ErrExists otherwise; one under a prefix not held here gets
// ErrPrefixNotHeld. A refused item changes nothing and does not stop the
// others. Prefix counters are written once per prefix, not per item.
// written, when not nil, is called in the transaction after each item is
// stored, with the stored encodings of the record it replaced (nil for a
// new one) and of the new record, so a caller that digests them for an
// audit log need not encode them again. Its error aborts the whole
// transaction (e.g. an audit record that cannot be written).
//
// Items should arrive sorted by ID.Key(): bbolt then appends to the pages
// it just touched instead of dirtying a new page per item, which is about
// ten times faster on a large file.
func (tx *Tx) PutIdentifiers(items []BulkItem, replace bool, written func(it *BulkItem, oldRaw, newRaw []byte) error) error {
	return tx.putIdentifiers(items, nil, replace, written)
}

func (tx *Tx) putIdentifiers(items []BulkItem, plan *IndexPlan, replace bool, written func(it *BulkItem, oldRaw, newRaw []byte) error) error {
	b := tx.tx.Bucket(bucketIdentifiers)
	// A sorted batch fills pages left to right: pack them, rather than
	// leave bbolt's default half-empty pages behind a bulk load.
	kv.SetFill(b, bulkFill)
	ts := timestamppb.New(tx.now)
	prefixes := map[string]*idresv1.Prefix{}
	touched := map[string]bool{}
	marshal := proto.MarshalOptions{Deterministic: true}
	var arena []byte
	var changes []bulkChange
	var encoded [][]byte // the plan's encodings, if they have this time
	if plan != nil && plan.raw != nil && plan.at.Equal(tx.now) {
		encoded = plan.raw
	}
	for i := range items {
		it := &items[i]
		it.Replaced = false
		if it.Err != nil {
			continue
		}
		pk := it.ID.PrefixKey()
		p, seen := prefixes[pk]
		if !seen {
			var err error
			p, err = tx.Prefix(pk)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			prefixes[pk] = p
		}
		if p == nil {
			it.Err = fmt.Errorf("prefix %q: %w", it.ID.Prefix, ErrPrefixNotHeld)
			continue
		}
		key := []byte(it.ID.Key())
		rec := it.Rec
		rec.Identifier = it.ID.String()
		var oldRaw []byte
		var old *idresv1.Identifier
		if raw := b.Get(key); raw != nil {
			oldRaw = raw
			if !replace {
				it.Err = fmt.Errorf("identifier %q: %w", it.ID.String(), ErrExists)
				continue
			}
			old = &idresv1.Identifier{}
			if err := proto.Unmarshal(raw, old); err != nil {
				return fmt.Errorf("decode identifier %q: %w", key, err)
			}
			tx.stamp(rec, old)
			it.Replaced = true
		} else {
			if tx.HasTombstone(string(key)) {
				it.Err = fmt.Errorf("identifier %q: %w; a prefix admin must lift the tombstone first", it.ID.String(), ErrTombstoned)
				continue
			}
			stampNew(rec, ts)
			p.IdentifierCount++
			touched[pk] = true
		}
		var newRaw []byte
		if old == nil && encoded != nil {
			newRaw = encoded[i]
		} else {
			// bbolt keeps a reference to the value until commit, so
			// values are carved from a shared arena instead of a reused
			// buffer.
			if cap(arena)-len(arena) < proto.Size(rec) {
				arena = make([]byte, 0, max(1<<20, 2*proto.Size(rec)))
			}
			start := len(arena)
			var err error
			arena, err = marshal.MarshalAppend(arena, rec)
			if err != nil {
				return fmt.Errorf("encode identifier %q: %w", key, err)
			}
			newRaw = arena[start:len(arena):len(arena)]
		}
		if err := b.Put(key, newRaw); err != nil {
			return fmt.Errorf("put identifier %q: %w", key, err)
		}
		changes = append(changes, bulkChange{key: string(key), old: old, rec: rec, item: i})
		if old != nil {
			plan = nil // the plan cannot remove the old record's entries
		}
		if written != nil {
			if err := written(it, oldRaw, newRaw); err != nil {
				return err
			}
		}
	}
	for pk := range touched {
		if err := tx.PutPrefix(prefixes[pk]); err != nil {
			return err
		}
	}
	if plan != nil {
		if err := tx.plannedIndex(plan, changes); err != nil {
			return err
		}
		return tx.appendChanges(changes)
	}
	return tx.bulkChanged(changes)
}

// bulkChange is one identifier write of a bulk batch, for bulkChanged.
type bulkChange struct {
	key      string
	old, rec *idresv1.Identifier
	item     int // index in the batch
}

// bulkChanged is identifierChanged for a whole batch: the same value index
// entries and change records, but the index writes of the batch are made
// in key order. Index keys start with a value's type and data, so in item
// order they fall all over the index and each dirties its own page; that
// was two thirds of an import's time. Writes to one key keep their item
// order (the same identifier twice in a batch).
func (tx *Tx) bulkChanged(changes []bulkChange) error {
	type op struct {
		key string
		put bool
	}
	var ops []op
	for _, c := range changes {
		before, after := indexKeys(c.key, c.old), indexKeys(c.key, c.rec)
		for k := range before {
			if !after[k] {
				ops = append(ops, op{k, false})
			}
		}
		for k := range after {
			if !before[k] {
				ops = append(ops, op{k, true})
			}
		}
	}
	slices.SortStableFunc(ops, func(a, b op) int { return strings.Compare(a.key, b.key) })
	b := tx.tx.Bucket(bucketValueIndex)
	for _, o := range ops {
		var err error
		if o.put {
			err = b.Put([]byte(o.key), nil)
		} else {
			err = b.Delete([]byte(o.key))
		}
		if err != nil {
			return fmt.Errorf("value index %q: %w", o.key, err)
		}
	}
	return tx.appendChanges(changes)
}
