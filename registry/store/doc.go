// Package store keeps a node's prefixes, delegations, identifiers,
// credentials, templates and audit log in buckets of a kv.Backend: the
// node's own bbolt file (Open), or a key prefix of an etcd cluster shared
// by the node's replicas (OpenBackend with an etcdkv.Backend). It owns the
// layout and nothing else: it validates no identifier syntax and knows
// nothing of gRPC.
//
// # Layout
//
// The file is <data dir>/idres.db. Buckets and their keys:
//
//	meta          "schema"   -> uint32 big-endian, the layout version (SchemaVersion)
//	              "revision" -> uint64 big-endian, bumped by every write transaction
//	prefixes      folded prefix ("." for the root) -> idres.v1.Prefix (protobuf)
//	delegations   folded child prefix -> idres.v1.Delegation (protobuf)
//	identifiers   folded "prefix/suffix" (ident.ID.Key) -> idres.v1.Identifier (protobuf)
//	credentials   credential id -> Credential (JSON); only a SHA-256 of the secret
//	templates     folded prefix ("." for the root) -> idres.v1.Template (protobuf)
//	audit         uint64 big-endian sequence (bucket sequence, from 1) -> idres.v1.AuditRecord
//	              (protobuf); append-only, written in the transaction of the change it records
//	valueindex    folded prefix | 0x00 | type | 0x00 0x01 | data (first 512 bytes) | 0x00 0x01 (0x02: cut) | identifier key
//	              -> empty; 0x00 inside type and data escaped as 0x00 0xFF (index.go)
//	changes       uint64 big-endian sequence (bucket sequence, from 1) -> idres.v1.Change (protobuf):
//	              the change feed, one record per identifier change, trimmed from the oldest end (feed.go)
//	meta          "feedfloor" -> uint64 revision | uint64 sequence, the newest trimmed away
//	patterns      folded prefix ("." for the root) | 0x00 | pattern text -> idres.v1.Pattern (protobuf);
//	              syntax and overlap checked by registry/pattern before the write (pattern.go)
//	tombstones    folded "prefix/suffix" -> idres.v1.Tombstone (protobuf): a withdrawn
//	              identifier; CreateIdentifier and PutIdentifiers refuse its key (tombstone.go)
//	auditprefix   record's prefix (0x00 escaped as 0x00 0xFF) | 0x00 0x01 | uint64 big-endian sequence -> empty:
//	              the audit log by prefix, one key per record (len(prefix)+10 bytes, e.g. 18 for "88.100.1",
//	              about 34 bytes with bbolt's element header), written with the record (audit.go)
//	audittime     uint64 big-endian unix second -> uint64 big-endian sequence: the first record whose time
//	              passed every earlier record's into that second; at most one key per second of the log,
//	              16 bytes. Every record before that sequence is stamped before the second.
//
// Every identifier write passes through one hook (Tx.identifierChanged) that
// keeps valueindex and changes in the same transaction.
//
// Every audit record passes through AppendAudit, which keeps auditprefix
// and audittime in the same transaction. ListAudit reads a subtree's
// records by merging the runs of its prefixes in auditprefix by sequence,
// and starts a listing since a time at the sequence audittime gives.
//
// Version 1 lacked templates and audit, version 2 the value index and the
// change feed, version 3 the patterns and tombstones, version 4 the audit
// indexes; Open upgrades such a file in place (schema.go), building the
// value index from the identifiers and the audit indexes from the log. A file newer than SchemaVersion is refused.
//
// Folded keys lowercase ASCII only, so every identifier of one prefix sits in
// one contiguous key range starting at "prefix/": listing is a cursor seek.
//
// # Durability and concurrency
//
// Every write is one bbolt transaction, committed with fsync before the
// method returns, so an acknowledged write survives a crash. Any number of
// readers run concurrently with one writer. The file is locked (flock) while
// open: a second process gets ErrLocked instead of a corrupt file.
//
// On etcd the same buckets are keys under the prefix (layout in package
// etcdkv) and a write is one etcd transaction, acknowledged once a quorum
// has it. Update's closure may then run more than once: it must not act
// outside the transaction.
package store
