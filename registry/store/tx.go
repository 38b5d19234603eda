package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store/kv"
)

// Tx is one transaction. Keys passed to it are folded (ident.Fold);
// records returned are the caller's to modify.
type Tx struct {
	tx      kv.Tx
	now     time.Time // commit time of a write transaction
	changes int       // identifier changes recorded in the feed
	// raw holds the buckets raw.go reads, opened once per read-only
	// transaction: a batch of lookups opened them once per key.
	raw [3]kv.Bucket
	// auditTop is 1 + the newest second in the audit time index, 0 when
	// it is empty; read once per transaction (audit.go).
	auditTop     uint64
	auditTopRead bool
	// auditReads counts the audit records decoded, for
	// Store.AuditRecordsRead; nil in a migration's transaction.
	auditReads *atomic.Uint64
}

// Now is the timestamp this write transaction stamps on records.
func (tx *Tx) Now() time.Time { return tx.now }

// Revision is the count of committed write transactions.
func (tx *Tx) Revision() uint64 {
	raw := tx.tx.Bucket(bucketMeta).Get(keyRevision)
	if len(raw) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(raw)
}

func (tx *Tx) bumpRevision() error {
	return tx.tx.Bucket(bucketMeta).Put(keyRevision, binary.BigEndian.AppendUint64(nil, tx.Revision()+1))
}

// PrefixKey is the bbolt key of a folded prefix: bbolt refuses empty keys,
// so the root is ".", which no valid prefix can be.
func PrefixKey(folded string) string { return string(prefixKey(folded)) }

func prefixKey(folded string) []byte {
	if folded == "" {
		return []byte(".")
	}
	return []byte(folded)
}

// --- prefixes

// Prefix returns the held prefix with the folded key, or ErrNotFound.
func (tx *Tx) Prefix(folded string) (*idresv1.Prefix, error) {
	p := &idresv1.Prefix{}
	if err := tx.get(bucketPrefixes, prefixKey(folded), p); err != nil {
		return nil, fmt.Errorf("prefix %q: %w", folded, err)
	}
	return p, nil
}

// HasPrefix reports whether the folded prefix is held here.
func (tx *Tx) HasPrefix(folded string) bool {
	return tx.tx.Bucket(bucketPrefixes).Get(prefixKey(folded)) != nil
}

// CreatePrefix stores a new held prefix; ErrExists if held already.
func (tx *Tx) CreatePrefix(p *idresv1.Prefix) error {
	key := prefixKey(ident.Fold(p.Prefix))
	b := tx.tx.Bucket(bucketPrefixes)
	if b.Get(key) != nil {
		return fmt.Errorf("prefix %q: %w", p.Prefix, ErrExists)
	}
	ts := timestamppb.New(tx.now)
	p.Created, p.Updated, p.IdentifierCount = ts, ts, 0
	return tx.put(bucketPrefixes, key, p)
}

// PutPrefix overwrites a prefix record as given (no stamping).
func (tx *Tx) PutPrefix(p *idresv1.Prefix) error {
	return tx.put(bucketPrefixes, prefixKey(ident.Fold(p.Prefix)), p)
}

// DeletePrefix removes a held prefix. With identifiers under it, it fails
// with ErrNotEmpty unless force, which deletes them too and returns how many.
func (tx *Tx) DeletePrefix(folded string, force bool) (uint64, error) {
	p, err := tx.Prefix(folded)
	if err != nil {
		return 0, err
	}
	var n uint64
	ids := tx.tx.Bucket(bucketIdentifiers)
	start := []byte(folded + "/")
	c := ids.Cursor()
	for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, start); k, v = c.Seek(start) {
		if !force {
			return 0, fmt.Errorf("prefix %q holds %d identifiers: %w", p.Prefix, p.IdentifierCount, ErrNotEmpty)
		}
		old := &idresv1.Identifier{}
		if err := proto.Unmarshal(v, old); err != nil {
			return 0, fmt.Errorf("decode identifier %q: %w", k, err)
		}
		key := string(k) // k is invalid once deleted
		if err := ids.Delete(k); err != nil {
			return 0, fmt.Errorf("delete %q: %w", key, err)
		}
		if err := tx.identifierChanged(key, old, nil); err != nil {
			return 0, err
		}
		n++
	}
	if err := tx.dropPrefixLife(folded); err != nil {
		return 0, err
	}
	return n, tx.tx.Bucket(bucketPrefixes).Delete(prefixKey(folded))
}

// ListPrefixes returns up to limit prefixes whose keys sort after the key
// after (a PrefixKey; "" starts at the beginning), and whether more follow.
func (tx *Tx) ListPrefixes(after string, limit int) ([]*idresv1.Prefix, bool, error) {
	var out []*idresv1.Prefix
	c := tx.tx.Bucket(bucketPrefixes).Cursor()
	k, v := c.First()
	if after != "" {
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	}
	for ; k != nil; k, v = c.Next() {
		if len(out) == limit {
			return out, true, nil
		}
		p := &idresv1.Prefix{}
		if err := proto.Unmarshal(v, p); err != nil {
			return nil, false, fmt.Errorf("decode prefix %q: %w", k, err)
		}
		out = append(out, p)
	}
	return out, false, nil
}

// --- delegations

// Delegation returns the delegation of the folded child prefix, or ErrNotFound.
func (tx *Tx) Delegation(folded string) (*idresv1.Delegation, error) {
	d := &idresv1.Delegation{}
	if err := tx.get(bucketDelegations, prefixKey(folded), d); err != nil {
		return nil, fmt.Errorf("delegation %q: %w", folded, err)
	}
	return d, nil
}

// PutDelegation creates or replaces a delegation, stamping its times.
func (tx *Tx) PutDelegation(d *idresv1.Delegation) error {
	key := prefixKey(ident.Fold(d.Prefix))
	ts := timestamppb.New(tx.now)
	d.Created, d.Updated = ts, ts
	if old, err := tx.Delegation(ident.Fold(d.Prefix)); err == nil {
		d.Created = old.Created
	}
	return tx.put(bucketDelegations, key, d)
}

// DeleteDelegation removes a delegation; ErrNotFound if there is none.
func (tx *Tx) DeleteDelegation(folded string) error {
	b := tx.tx.Bucket(bucketDelegations)
	if b.Get(prefixKey(folded)) == nil {
		return fmt.Errorf("delegation %q: %w", folded, ErrNotFound)
	}
	return b.Delete(prefixKey(folded))
}

// ListDelegations returns every delegation whose child prefix lies under
// the folded zone ("" for all), in key order.
func (tx *Tx) ListDelegations(zone string) ([]*idresv1.Delegation, error) {
	var out []*idresv1.Delegation
	err := tx.tx.Bucket(bucketDelegations).ForEach(func(k, v []byte) error {
		if !ident.Covers(zone, string(k)) {
			return nil
		}
		d := &idresv1.Delegation{}
		if err := proto.Unmarshal(v, d); err != nil {
			return fmt.Errorf("decode delegation %q: %w", k, err)
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

// --- identifiers

// Identifier returns the identifier with the folded key, or ErrNotFound.
func (tx *Tx) Identifier(key string) (*idresv1.Identifier, error) {
	id := &idresv1.Identifier{}
	if err := tx.get(bucketIdentifiers, []byte(key), id); err != nil {
		return nil, fmt.Errorf("identifier %q: %w", key, err)
	}
	return id, nil
}

// CreateIdentifier stores a new identifier under a held prefix, stamping
// the record and its values. ErrExists if present, ErrPrefixNotHeld if the
// prefix is not held here.
func (tx *Tx) CreateIdentifier(id ident.ID, rec *idresv1.Identifier) error {
	p, err := tx.Prefix(id.PrefixKey())
	if err != nil {
		return fmt.Errorf("prefix %q: %w", id.Prefix, ErrPrefixNotHeld)
	}
	key := []byte(id.Key())
	if tx.tx.Bucket(bucketIdentifiers).Get(key) != nil {
		return fmt.Errorf("identifier %q: %w", id.String(), ErrExists)
	}
	if tx.HasTombstone(string(key)) {
		return fmt.Errorf("identifier %q: %w; a prefix admin must lift the tombstone first", id.String(), ErrTombstoned)
	}
	tx.stamp(rec, nil)
	rec.Identifier = id.String()
	if err := tx.put(bucketIdentifiers, key, rec); err != nil {
		return err
	}
	if err := tx.identifierChanged(string(key), nil, rec); err != nil {
		return err
	}
	p.IdentifierCount++
	return tx.PutPrefix(p)
}

// PutIdentifier creates or replaces an identifier under a held prefix and
// reports whether it replaced one.
func (tx *Tx) PutIdentifier(id ident.ID, rec *idresv1.Identifier) (replaced bool, err error) {
	key := id.Key()
	old, err := tx.Identifier(key)
	if err != nil {
		return false, tx.CreateIdentifier(id, rec)
	}
	tx.stamp(rec, old)
	rec.Identifier = id.String()
	if err := tx.put(bucketIdentifiers, []byte(key), rec); err != nil {
		return true, err
	}
	return true, tx.identifierChanged(key, old, rec)
}

// UpdateIdentifier loads the identifier, lets fn change it, stamps changed
// values and stores it. fn's error aborts the change.
func (tx *Tx) UpdateIdentifier(key string, fn func(*idresv1.Identifier) error) (*idresv1.Identifier, error) {
	old, err := tx.Identifier(key)
	if err != nil {
		return nil, err
	}
	rec := proto.Clone(old).(*idresv1.Identifier)
	if err := fn(rec); err != nil {
		return nil, err
	}
	tx.stamp(rec, old)
	if err := tx.put(bucketIdentifiers, []byte(key), rec); err != nil {
		return nil, err
	}
	return rec, tx.identifierChanged(key, old, rec)
}

// DeleteIdentifier removes an identifier; ErrNotFound if absent.
func (tx *Tx) DeleteIdentifier(id ident.ID) error {
	b := tx.tx.Bucket(bucketIdentifiers)
	key := []byte(id.Key())
	old, err := tx.Identifier(id.Key())
	if err != nil {
		return fmt.Errorf("identifier %q: %w", id.String(), ErrNotFound)
	}
	if err := b.Delete(key); err != nil {
		return err
	}
	if err := tx.identifierChanged(id.Key(), old, nil); err != nil {
		return err
	}
	if p, err := tx.Prefix(id.PrefixKey()); err == nil && p.IdentifierCount > 0 {
		p.IdentifierCount--
		return tx.PutPrefix(p)
	}
	return nil
}

// ListIdentifiers returns up to limit identifiers under the folded prefix
// whose keys sort after the key after ("" starts at the first), and whether
// more follow.
func (tx *Tx) ListIdentifiers(prefix, after string, limit int) ([]*idresv1.Identifier, bool, error) {
	start := []byte(prefix + "/")
	c := tx.tx.Bucket(bucketIdentifiers).Cursor()
	k, v := c.Seek(start)
	if after != "" {
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	}
	var out []*idresv1.Identifier
	for ; k != nil && bytes.HasPrefix(k, start); k, v = c.Next() {
		if len(out) == limit {
			return out, true, nil
		}
		rec := &idresv1.Identifier{}
		if err := proto.Unmarshal(v, rec); err != nil {
			return nil, false, fmt.Errorf("decode identifier %q: %w", k, err)
		}
		out = append(out, rec)
	}
	return out, false, nil
}

// stamp sets record and value timestamps: values that differ from old (or
// all, when old is nil) get the transaction's time.
func (tx *Tx) stamp(rec, old *idresv1.Identifier) {
	ts := timestamppb.New(tx.now)
	rec.Updated = ts
	if old == nil {
		rec.Created = ts
	} else {
		rec.Created = old.Created
	}
	prev := map[uint32]*idresv1.Value{}
	if old != nil {
		for _, v := range old.Values {
			prev[v.Index] = v
		}
	}
	for _, v := range rec.Values {
		if p, ok := prev[v.Index]; ok && p.Timestamp != nil && sameValue(p, v) {
			v.Timestamp = p.Timestamp
			continue
		}
		v.Timestamp = ts
	}
}

func sameValue(a, b *idresv1.Value) bool {
	return a.Type == b.Type && bytes.Equal(a.Data, b.Data) && a.GetTtl() == b.GetTtl() && a.GetPublicRead() == b.GetPublicRead()
}

// --- credentials

// Credential returns the credential with the id, or ErrNotFound.
func (tx *Tx) Credential(id string) (*credential.Credential, error) {
	raw := tx.tx.Bucket(bucketCredentials).Get([]byte(id))
	if raw == nil {
		return nil, fmt.Errorf("credential %q: %w", id, ErrNotFound)
	}
	c := &credential.Credential{}
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, fmt.Errorf("decode credential %q: %w", id, err)
	}
	return c, nil
}

// PutCredential creates or replaces a credential.
func (tx *Tx) PutCredential(c *credential.Credential) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode credential %q: %w", c.ID, err)
	}
	return tx.tx.Bucket(bucketCredentials).Put([]byte(c.ID), raw)
}

// ListCredentials returns every credential in id order.
func (tx *Tx) ListCredentials() ([]*credential.Credential, error) {
	var out []*credential.Credential
	err := tx.tx.Bucket(bucketCredentials).ForEach(func(k, v []byte) error {
		c := &credential.Credential{}
		if err := json.Unmarshal(v, c); err != nil {
			return fmt.Errorf("decode credential %q: %w", k, err)
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// --- encoding

func (tx *Tx) get(bucket, key []byte, m proto.Message) error {
	raw := tx.tx.Bucket(bucket).Get(key)
	if raw == nil {
		return ErrNotFound
	}
	if err := proto.Unmarshal(raw, m); err != nil {
		return fmt.Errorf("decode %s %q: %w", bucket, key, err)
	}
	return nil
}

func (tx *Tx) put(bucket, key []byte, m proto.Message) error {
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", bucket, key, err)
	}
	if err := tx.tx.Bucket(bucket).Put(key, raw); err != nil {
		return fmt.Errorf("put %s %q: %w", bucket, key, err)
	}
	return nil
}
