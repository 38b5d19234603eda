package store

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store/kv"
)

// IndexPlan is the value index entries of a bulk write's records, built
// and sorted before the write transaction, and optionally the records
// encoded (Encode). Building and sorting the entries was a fifth of an
// import's commit and encoding the records a tenth; with a plan, the
// goroutine that reads the next batch does both while the previous batch
// commits.
type IndexPlan struct {
	items int
	keys  []plannedKey
	at    time.Time // the time raw is stamped with
	raw   [][]byte  // per item, its record encoded as a new one
}

type plannedKey struct {
	key  []byte
	item int
}

// PlanIndex builds the index entries of items' records as they are now;
// neither may change before PutIdentifiersPlanned. It reads no store.
func PlanIndex(items []BulkItem) *IndexPlan {
	n, size := 0, 0
	idKeys := make([]string, len(items))
	for i := range items {
		idKeys[i] = items[i].ID.Key()
		idKey, pk := idKeys[i], items[i].ID.PrefixKey()
		for _, v := range items[i].Rec.GetValues() {
			n++
			size += indexKeyLen(pk, v.Type, v.Data, idKey)
		}
	}
	p := &IndexPlan{items: len(items), keys: make([]plannedKey, 0, n)}
	// The keys are carved from one buffer: bbolt holds them until commit.
	arena := make([]byte, 0, size)
	for i := range items {
		it := &items[i]
		idKey, pk := idKeys[i], it.ID.PrefixKey()
		for _, v := range it.Rec.GetValues() {
			start := len(arena)
			arena = appendIndexKey(arena, pk, v.Type, v.Data, idKey)
			p.keys = append(p.keys, plannedKey{arena[start:len(arena):len(arena)], i})
		}
	}
	// Not stable: every planned write puts an empty value, so the order
	// of equal keys (one identifier twice in a batch) does not matter.
	slices.SortFunc(p.keys, func(a, b plannedKey) int { return bytes.Compare(a.key, b.key) })
	return p
}

// Encode encodes each item's record as a new record stamped at at, as
// PutIdentifiersPlanned would in a transaction of that time
// (Store.UpdateAt); in a transaction of another time, or for an item that
// replaces a record, the record is encoded there as before. It sets the
// records' identifier and timestamps.
func (p *IndexPlan) Encode(items []BulkItem, at time.Time) error {
	if len(items) != p.items {
		return fmt.Errorf("plan of %d items, encoding %d", p.items, len(items))
	}
	ts := timestamppb.New(at)
	marshal := proto.MarshalOptions{Deterministic: true}
	size := 0
	for i := range items {
		items[i].Rec.Identifier = items[i].ID.String()
		stampNew(items[i].Rec, ts)
		size += marshal.Size(items[i].Rec)
	}
	// One buffer: bbolt holds the values until commit.
	arena := make([]byte, 0, size)
	p.raw = make([][]byte, len(items))
	for i := range items {
		start := len(arena)
		var err error
		if arena, err = marshal.MarshalAppend(arena, items[i].Rec); err != nil {
			return fmt.Errorf("encode identifier %q: %w", items[i].ID.String(), err)
		}
		p.raw[i] = arena[start:len(arena):len(arena)]
	}
	p.at = at
	return nil
}

// stampNew sets the times a new record gets when it is stored.
func stampNew(rec *idresv1.Identifier, ts *timestamppb.Timestamp) {
	rec.Created, rec.Updated = ts, ts
	for _, v := range rec.Values {
		v.Timestamp = ts
	}
}

// PutIdentifiersPlanned is PutIdentifiers with the index entries of the
// new records planned beforehand (PlanIndex of the same items). The plan
// is used when every stored item is new; a batch that replaces a record
// is indexed as PutIdentifiers does, so the result is the same.
func (tx *Tx) PutIdentifiersPlanned(items []BulkItem, plan *IndexPlan, replace bool, written func(it *BulkItem, oldRaw, newRaw []byte) error) error {
	if plan != nil && plan.items != len(items) {
		plan = nil
	}
	return tx.putIdentifiers(items, plan, replace, written)
}

// plannedIndex writes the planned entries of the items stored (all new,
// so no entry is to be removed).
func (tx *Tx) plannedIndex(plan *IndexPlan, changes []bulkChange) error {
	stored := make([]bool, plan.items)
	for _, c := range changes {
		stored[c.item] = true
	}
	b := tx.tx.Bucket(bucketValueIndex)
	for _, k := range plan.keys {
		if !stored[k.item] {
			continue
		}
		if err := b.Put(k.key, nil); err != nil {
			return fmt.Errorf("value index %q: %w", k.key, err)
		}
	}
	return nil
}

// appendChanges is appendChange for a batch: one bucket, revision and
// time for all, records encoded into one buffer (bbolt holds the values
// until commit).
func (tx *Tx) appendChanges(changes []bulkChange) error {
	if len(changes) == 0 {
		return nil
	}
	b := tx.tx.Bucket(bucketChanges)
	kv.SetFill(b, appendFill)
	rec := &idresv1.Change{Revision: tx.Revision() + 1, Time: timestamppb.New(tx.now)}
	marshal := proto.MarshalOptions{Deterministic: true}
	var arena []byte
	for _, c := range changes {
		seq, err := b.NextSequence()
		if err != nil {
			return fmt.Errorf("change sequence: %w", err)
		}
		rec.Sequence, rec.Identifier, rec.Kind = seq, c.rec.GetIdentifier(), idresv1.Change_UPDATED
		if c.old == nil {
			rec.Kind = idresv1.Change_CREATED
		}
		if cap(arena)-len(arena) < marshal.Size(rec) {
			arena = make([]byte, 0, max(64<<10, 2*marshal.Size(rec)))
		}
		start := len(arena)
		if arena, err = marshal.MarshalAppend(arena, rec); err != nil {
			return fmt.Errorf("encode change %d: %w", seq, err)
		}
		if err := b.Put(changeKey(seq), arena[start:len(arena):len(arena)]); err != nil {
			return fmt.Errorf("put change %d: %w", seq, err)
		}
		tx.changes++
	}
	return nil
}
