package store

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store/kv"
)

// --- templates

// Template returns the template set on the folded prefix, or ErrNotFound.
func (tx *Tx) Template(folded string) (*idresv1.Template, error) {
	t := &idresv1.Template{}
	if err := tx.get(bucketTemplates, prefixKey(folded), t); err != nil {
		return nil, fmt.Errorf("template of %q: %w", folded, err)
	}
	return t, nil
}

// PutTemplate creates or replaces the template of the folded prefix.
func (tx *Tx) PutTemplate(folded string, t *idresv1.Template) error {
	return tx.put(bucketTemplates, prefixKey(folded), t)
}

// DeleteTemplate removes the template of the folded prefix; ErrNotFound if
// there is none.
func (tx *Tx) DeleteTemplate(folded string) error {
	b := tx.tx.Bucket(bucketTemplates)
	if b.Get(prefixKey(folded)) == nil {
		return fmt.Errorf("template of %q: %w", folded, ErrNotFound)
	}
	return b.Delete(prefixKey(folded))
}

// --- audit log

// AppendAudit appends rec to the audit log, setting its sequence number.
// The log is append-only: the store has no call that changes or deletes a
// record.
func (tx *Tx) AppendAudit(rec *idresv1.AuditRecord) error {
	b := tx.tx.Bucket(bucketAudit)
	kv.SetFill(b, appendFill)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("audit sequence: %w", err)
	}
	rec.Seq = seq
	return tx.put(bucketAudit, auditKey(seq), rec)
}

// ForEachAudit calls fn for each audit record with a sequence number
// greater than after, oldest first, until fn returns false or an error.
func (tx *Tx) ForEachAudit(after uint64, fn func(*idresv1.AuditRecord) (bool, error)) error {
	c := tx.tx.Bucket(bucketAudit).Cursor()
	for k, v := c.Seek(auditKey(after + 1)); k != nil; k, v = c.Next() {
		rec := &idresv1.AuditRecord{}
		if err := proto.Unmarshal(v, rec); err != nil {
			return fmt.Errorf("decode audit record %x: %w", k, err)
		}
		more, err := fn(rec)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func auditKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }
