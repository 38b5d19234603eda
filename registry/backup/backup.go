package backup

import (
	"crypto/sha256"
	"fmt"
	"hash"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/backupfile"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/store"
)

// ChunkSize is the payload of one SnapshotChunk, well under gRPC's 4 MiB.
const ChunkSize = 256 << 10

// Service implements idres.v1.Backup.
type Service struct {
	idresv1.UnimplementedBackupServer
	store *store.Store
}

// New returns the Backup service of s.
func New(s *store.Store) *Service { return &Service{store: s} }

// Snapshot streams the store to a node administrator.
func (s *Service) Snapshot(_ *idresv1.SnapshotRequest, stream idresv1.Backup_SnapshotServer) error {
	ctx := stream.Context()
	// A snapshot holds every subtree, so only the node administrator
	// (admin on the root) may take one.
	if _, err := credential.Authorize(ctx, "", credential.RoleAdmin); err != nil {
		return fmt.Errorf("backup needs the node administrator credential (admin on the root): %w", err)
	}
	w := &chunkWriter{stream: stream, sum: sha256.New(), buf: make([]byte, 0, ChunkSize)}
	n, rev, err := s.store.Snapshot(w)
	if err == nil {
		// The file's own trailer ends the data: whatever writes the
		// stream's bytes to a file writes a backup that verifies itself.
		t := backupfile.Trailer{SchemaVersion: store.SchemaVersion, Revision: rev, Length: uint64(n)}
		w.sum.Sum(t.SHA256[:0])
		_, err = w.Write(backupfile.AppendTrailer(nil, t))
	}
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return stream.Send(&idresv1.SnapshotChunk{Trailer: &idresv1.SnapshotTrailer{
		Size: uint64(n) + backupfile.TrailerSize, Sha256: w.sum.Sum(nil), Revision: rev, SchemaVersion: store.SchemaVersion,
	}})
}

// chunkWriter cuts the snapshot into messages and hashes it on the way.
type chunkWriter struct {
	stream idresv1.Backup_SnapshotServer
	sum    hash.Hash
	buf    []byte
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	w.sum.Write(p)
	for len(p) > 0 {
		take := min(len(p), ChunkSize-len(w.buf))
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
		if len(w.buf) == ChunkSize {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.stream.Send(&idresv1.SnapshotChunk{Data: w.buf})
	w.buf = make([]byte, 0, ChunkSize)
	return err
}
