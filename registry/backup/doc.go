// Package backup takes online snapshots of a node's store, writes them as
// self-verifying backup files, and restores them offline.
//
// # Snapshot
//
// A snapshot is one bbolt read transaction (store.Snapshot, bbolt's
// Tx.WriteTo) streamed whole by the Backup service, so it is consistent
// while writes go on. Only the node administrator (admin on the root) may
// take one.
//
// # Backup file format, version 1
//
// A backup file is the snapshot's bytes followed by a trailer of
// TrailerSize (72) bytes, integers big-endian:
//
//	offset  size  field
//	0       8     magic "IDRESBAK"
//	8       4     format version, 1
//	12      4     store schema version of the snapshot (informational)
//	16      8     store revision of the snapshot (informational)
//	24      8     length L of the snapshot: the file's size less 72
//	32      32    SHA-256 of the snapshot's L bytes
//	64      4     CRC-32C (Castagnoli) of bytes 0..63 of the trailer
//	68      4     reserved, zero
//
// The node writes the trailer: the Backup service sends it as the last
// 72 bytes of data, after the snapshot, and the digest is of the bytes it
// read from its own transaction; the stream's SnapshotTrailer message
// then covers the snapshot and the trailer (size L+72, the SHA-256 of all
// of it). Whatever writes the stream's data to a file, `idres backup` or
// any other client, writes a backup file. `idres backup` prints the
// trailer's SHA-256, which is also the SHA-256 of the store file a
// restore puts in place.
//
// A file is a backup only if it ends with a trailer whose CRC matches,
// whose version is 1, whose length is the file's size less 72 and whose
// digest is that of the bytes before it. The CRC tells a damaged trailer
// from a damaged snapshot; the digest catches any change of the snapshot;
// the length catches truncation and bytes appended.
//
// Files written before backups carried a trailer ("old format") are a
// bare snapshot. They are refused unless the caller vouches for them:
// with the SHA-256 `idres backup` printed when it took them (then the
// SHA-256 of the whole file), or explicitly unverified. A bare snapshot is
// also what a backup file cut exactly at its trailer looks like, so
// accepting one silently would accept that damage too.
//
// # Restore
//
// A restore (Restore, RestoreWith) is offline. It reads only a regular
// file; copies the snapshot whole into a temporary file beside the store
// while checking length and digest; then checks the copy's bbolt structure
// itself, reading it with ReadAt (meta pages, page bounds and types, every
// element inside its page, keys in order, every page reached once or
// free), because bbolt maps the file into memory and trusts it: a file
// shorter than its meta page claims, or a page pointing outside the file,
// makes bbolt fault (SIGBUS, SIGSEGV) or panic. Only then does bbolt open
// the copy read-only for its own Tx.Check and the schema check. Nothing is
// replaced until all of that passed: then, unless a node holds the store,
// the old store file is kept aside (idres.db.before-restore-TIME), the
// copy is renamed over it and the directory is synced.
//
// VerifyFile runs the same checks, short of bbolt's, on a backup file in
// place (`idres backup --verify`).
package backup
