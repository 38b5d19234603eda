package store

import "github.com/idres/idres/registry/store/kv"

// Stored encodings, for readers on a hot path that can answer without
// decoding a record (the resolver builds a Resolve answer from the
// encoded values) or that cache decoded records by their bytes. Each
// returns nil when the key is absent. The bytes belong to the
// transaction: valid only until it ends, and never to be modified.

// IdentifierRaw is the stored encoding of the identifier with the folded key.
func (tx *Tx) IdentifierRaw(key string) []byte {
	return tx.rawBucket(0, bucketIdentifiers).Get([]byte(key))
}

// PrefixRaw is the stored encoding of the held prefix with the folded key.
func (tx *Tx) PrefixRaw(folded string) []byte {
	return tx.rawBucket(1, bucketPrefixes).Get(prefixKey(folded))
}

// DelegationRaw is the stored encoding of the delegation of the folded
// child prefix.
func (tx *Tx) DelegationRaw(folded string) []byte {
	return tx.rawBucket(2, bucketDelegations).Get(prefixKey(folded))
}

// rawBucket opens a bucket once per read-only transaction; a write
// transaction opens it each time, as the rest of the store does.
func (tx *Tx) rawBucket(i int, name []byte) kv.Bucket {
	if tx.tx.Writable() {
		return tx.tx.Bucket(name)
	}
	if tx.raw[i] == nil {
		tx.raw[i] = tx.tx.Bucket(name)
	}
	return tx.raw[i]
}
