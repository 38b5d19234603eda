package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/backupfile"
	"github.com/idres/idres/resolver/client"
)

func init() {
	register(&command{
		Name:    "backup",
		Usage:   "--out FILE | --verify FILE [--sha256 HEX]",
		Summary: "copy a running node's store to FILE (node administrator only), or verify a backup file",
		Run:     runBackup,
	})
}

func runBackup(ctx context.Context, e *env, args []string) int {
	fs := e.flags()
	out := fs.String("out", "", "file to write the backup to (restore it with `idresd restore`)")
	check := fs.String("verify", "", "verify this backup file (trailer, length, SHA-256, bbolt structure) without a node")
	sum := fs.String("sha256", "", "with --verify: the sha256 `idres backup` printed; the file must match it (an old backup, without a trailer, verifies only with it)")
	pos, code, ok := e.parseArgs(fs, args, "backup --out FILE | --verify FILE [--sha256 HEX]")
	if !ok {
		return code
	}
	if len(pos) > 0 || (*out == "") == (*check == "") {
		return e.usageError("backup: want --out FILE or --verify FILE, and no arguments")
	}
	if *check != "" {
		var opts backupfile.VerifyOptions
		if *sum != "" {
			b, err := hex.DecodeString(*sum)
			if err != nil || len(b) != 32 {
				return e.usageError("backup: --sha256 %q: want the 64 hex digits `idres backup` printed", *sum)
			}
			opts.SHA256 = b
		}
		return verifyBackup(e, *check, opts)
	}
	if *sum != "" {
		return e.usageError("backup: --sha256 goes with --verify")
	}
	// withPager: a large store takes longer than one call's --timeout; the
	// caller stops it with Ctrl-C.
	return e.withPager(ctx, func(ctx context.Context, c *client.Client) int {
		tmp, err := os.CreateTemp(filepath.Dir(*out), ".idres-backup-*")
		if err != nil {
			return e.fail(fmt.Errorf("backup: %w", err))
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		t, err := c.SnapshotTo(ctx, tmp)
		if errors.Is(err, client.ErrIncompleteSnapshot) {
			return e.fail(fmt.Errorf("backup: %w: snapshot discarded", err))
		}
		if err != nil {
			return e.fail(err)
		}
		if err := addTrailer(tmp, t); err != nil {
			return e.fail(fmt.Errorf("backup: %w", err))
		}
		if err := tmp.Sync(); err != nil {
			return e.fail(fmt.Errorf("backup: %w", err))
		}
		if err := tmp.Close(); err != nil {
			return e.fail(fmt.Errorf("backup: %w", err))
		}
		// Read back what is on disk, as a restore will.
		v, err := backupfile.VerifyFile(tmp.Name(), backupfile.VerifyOptions{})
		if err != nil {
			return e.fail(fmt.Errorf("backup: the written file does not verify, discarded: %w", err))
		}
		if err := os.Rename(tmp.Name(), *out); err != nil {
			return e.fail(fmt.Errorf("backup: %w", err))
		}
		fmt.Fprintf(e.Stdout, "wrote %s: %d bytes, revision %d, schema %d, sha256 %x\n",
			*out, v.Trailer.Length+backupfile.TrailerSize, v.Trailer.Revision, v.Trailer.SchemaVersion, v.Trailer.SHA256)
		return exitOK
	})
}

// addTrailer appends a trailer to f, a snapshot as a node streamed it,
// when the node is of a version that does not send one. t is the
// stream's own summary, which SnapshotTo checked against what arrived.
func addTrailer(f *os.File, t *idresv1.SnapshotTrailer) error {
	if t.Size >= backupfile.TrailerSize {
		tail := make([]byte, backupfile.TrailerSize)
		if _, err := f.ReadAt(tail, int64(t.Size)-backupfile.TrailerSize); err != nil {
			return err
		}
		if _, err := backupfile.ParseTrailer(tail); !errors.Is(err, backupfile.ErrNoTrailer) {
			return nil // the node's own trailer, checked by VerifyFile
		}
	}
	tr := backupfile.Trailer{SchemaVersion: t.SchemaVersion, Revision: t.Revision, Length: t.Size}
	if copy(tr.SHA256[:], t.Sha256) != len(tr.SHA256) {
		return fmt.Errorf("the node sent a SHA-256 of %d bytes", len(t.Sha256))
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return err
	}
	_, err := f.Write(backupfile.AppendTrailer(nil, tr))
	return err
}

// verifyBackup is `idres backup --verify FILE`.
func verifyBackup(e *env, path string, opts backupfile.VerifyOptions) int {
	v, err := backupfile.VerifyFile(path, opts)
	if err != nil {
		fmt.Fprintf(e.Stderr, "idres: backup --verify %s: %s\n", path, strings.ReplaceAll(err.Error(), "\n", "; "))
		return exitNegative
	}
	how := "its trailer"
	if !v.HasTrailer {
		how = "--sha256 (old format, no trailer)"
	}
	fmt.Fprintf(e.Stdout, "%s: verified by %s: %d bytes of snapshot, revision %d, schema %d, sha256 %x\n",
		path, how, v.Trailer.Length, v.Trailer.Revision, v.Trailer.SchemaVersion, v.Trailer.SHA256)
	return exitOK
}
