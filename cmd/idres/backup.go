package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{
		Name:    "backup",
		Usage:   "--out FILE",
		Summary: "copy a running node's store to FILE (node administrator only)",
		Run:     runBackup,
	})
}

func runBackup(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	out := fs.String("out", "", "file to write the snapshot to (restore it with `idresd restore`)")
	pos, code, ok := e.parseArgs(fs, args, "backup --out FILE")
	if !ok {
		return code
	}
	if *out == "" || len(pos) > 0 {
		return e.usageError("backup: want --out FILE and no arguments")
	}
	// withPager: a large store takes longer than one call's --timeout; the
	// caller stops it with Ctrl-C.
	return e.withPager(ctx, func(ctx context.Context, c *client.Client) int {
		stream, err := idresv1.NewBackupClient(c.Conn()).Snapshot(ctx, &idresv1.SnapshotRequest{})
		if err != nil {
			return e.fail(err)
		}
		tmp, err := os.CreateTemp(filepath.Dir(*out), ".idres-backup-*")
		if err != nil {
			return e.fail(fmt.Errorf("backup: %w", err))
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		sum := sha256.New()
		w := io.MultiWriter(tmp, sum)
		var n uint64
		for {
			chunk, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return e.fail(fmt.Errorf("backup: stream ended without its trailer: incomplete snapshot discarded"))
			}
			if err != nil {
				return e.fail(err)
			}
			if t := chunk.GetTrailer(); t != nil {
				if t.Size != n || !bytes.Equal(t.Sha256, sum.Sum(nil)) {
					return e.fail(fmt.Errorf("backup: got %d bytes whose SHA-256 does not match the node's (%d bytes): snapshot discarded", n, t.Size))
				}
				if err := tmp.Sync(); err != nil {
					return e.fail(fmt.Errorf("backup: %w", err))
				}
				if err := tmp.Close(); err != nil {
					return e.fail(fmt.Errorf("backup: %w", err))
				}
				if err := os.Rename(tmp.Name(), *out); err != nil {
					return e.fail(fmt.Errorf("backup: %w", err))
				}
				fmt.Fprintf(e.Stdout, "wrote %s: %d bytes, revision %d, schema %d, sha256 %x\n", *out, n, t.Revision, t.SchemaVersion, t.Sha256)
				return exitOK
			}
			if _, err := w.Write(chunk.Data); err != nil {
				return e.fail(fmt.Errorf("backup: %w", err))
			}
			n += uint64(len(chunk.Data))
		}
	})
}
