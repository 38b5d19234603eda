package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

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
		if err := tmp.Sync(); err != nil {
			return e.fail(fmt.Errorf("backup: %w", err))
		}
		if err := tmp.Close(); err != nil {
			return e.fail(fmt.Errorf("backup: %w", err))
		}
		if err := os.Rename(tmp.Name(), *out); err != nil {
			return e.fail(fmt.Errorf("backup: %w", err))
		}
		fmt.Fprintf(e.Stdout, "wrote %s: %d bytes, revision %d, schema %d, sha256 %x\n", *out, t.Size, t.Revision, t.SchemaVersion, t.Sha256)
		return exitOK
	})
}
