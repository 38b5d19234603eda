package store

import (
	"bytes"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// Patterns live in bucket patterns under folded prefix | 0x00 | pattern
// text, so a prefix's patterns are one key range. The store keeps them as
// given: their syntax and overlap rules belong to package registry/pattern,
// checked by the registry before PutPattern.

func patternKey(pk, src string) []byte {
	k := append(prefixKey(pk), 0)
	return append(k, src...)
}

// PutPattern creates or replaces the pattern p.Pattern of the folded prefix
// pk, stamping its times, and reports whether it replaced one.
func (tx *Tx) PutPattern(pk string, p *idresv1.Pattern) (bool, error) {
	key := patternKey(pk, p.Pattern)
	ts := timestamppb.New(tx.now)
	p.Created, p.Updated = ts, ts
	old := &idresv1.Pattern{}
	replaced := false
	if err := tx.get(bucketPatterns, key, old); err == nil {
		p.Created, replaced = old.Created, true
	}
	if err := tx.put(bucketPatterns, key, p); err != nil {
		return false, err
	}
	return replaced, tx.appendChange(idresv1.Change_PATTERN_SET, p.Prefix+"/"+p.Pattern)
}

// Patterns returns the patterns of the folded prefix pk in key order.
func (tx *Tx) Patterns(pk string) ([]*idresv1.Pattern, error) {
	start := append(prefixKey(pk), 0)
	var out []*idresv1.Pattern
	c := tx.tx.Bucket(bucketPatterns).Cursor()
	for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, start); k, v = c.Next() {
		p := &idresv1.Pattern{}
		if err := proto.Unmarshal(v, p); err != nil {
			return nil, fmt.Errorf("decode pattern %q: %w", k, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// HasPatterns reports whether the folded prefix has any pattern: the
// cheap test a lookup makes before it decodes them.
func (tx *Tx) HasPatterns(pk string) bool {
	start := append(prefixKey(pk), 0)
	k, _ := tx.tx.Bucket(bucketPatterns).Cursor().Seek(start)
	return k != nil && bytes.HasPrefix(k, start)
}

// DeletePattern removes a pattern of the folded prefix by its text and
// returns it; ErrNotFound if there is none.
func (tx *Tx) DeletePattern(pk, src string) (*idresv1.Pattern, error) {
	key := patternKey(pk, src)
	old := &idresv1.Pattern{}
	if err := tx.get(bucketPatterns, key, old); err != nil {
		return nil, fmt.Errorf("pattern %q of prefix %q: %w", src, pk, err)
	}
	if err := tx.tx.Bucket(bucketPatterns).Delete(key); err != nil {
		return nil, err
	}
	return old, tx.appendChange(idresv1.Change_PATTERN_DELETED, old.Prefix+"/"+old.Pattern)
}

// ForEachPatternRaw calls fn with the stored encoding of each pattern of
// the folded prefix pk, in key order. raw is valid only during fn: it
// lets a reader that caches decoded patterns skip decoding them.
func (tx *Tx) ForEachPatternRaw(pk string, fn func(raw []byte) error) error {
	start := append(prefixKey(pk), 0)
	c := tx.tx.Bucket(bucketPatterns).Cursor()
	for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, start); k, v = c.Next() {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}
