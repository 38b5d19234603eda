package store

import (
	"fmt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
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
