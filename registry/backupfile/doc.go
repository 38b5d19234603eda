// Package backupfile is the format of an idres backup file: a bbolt
// snapshot followed by a 72-byte trailer with its length and SHA-256
// (format.go has the layout), and the checks a file passes before anything
// trusts it: a regular file, its trailer, its digest over the whole
// snapshot, and the snapshot's bbolt structure read without mapping it
// (boltcheck.go). It depends on the standard library only, so the idres
// command checks backups without linking a storage engine; the backup
// service and restore (registry/backup) build on it.
package backupfile
