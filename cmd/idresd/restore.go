package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/idres/idres/registry/backup"
	"github.com/idres/idres/registry/backupfile"
)

// runRestore is `idresd restore --data DIR --from FILE`: offline, it puts a
// backup taken with `idres backup` in place of the node's store, after
// verifying it whole (registry/backup says how).
func runRestore(args []string) int {
	fs := flag.NewFlagSet("idresd restore", flag.ContinueOnError)
	dir := fs.String("data", "idres-data", "data directory of the (stopped) node")
	from := fs.String("from", "", "backup file written by `idres backup`")
	sum := fs.String("sha256", "", "the sha256 `idres backup` printed: the backup must match it (and an old backup, without a trailer, is restored only with it or --unverified)")
	unverified := fs.Bool("unverified", false, "restore an old backup (no trailer) with no digest to check it against")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *from == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: idresd restore --data DIR --from FILE [--sha256 HEX | --unverified]")
		return 2
	}
	opts := backupfile.VerifyOptions{Unverified: *unverified}
	if *sum != "" {
		b, err := hex.DecodeString(*sum)
		if err != nil || len(b) != 32 {
			fmt.Fprintf(os.Stderr, "idresd restore: --sha256 %q: want the 64 hex digits `idres backup` printed\n", *sum)
			return 2
		}
		if *unverified {
			fmt.Fprintln(os.Stderr, "idresd restore: --sha256 and --unverified contradict each other")
			return 2
		}
		opts.SHA256 = b
	}
	r, err := backup.RestoreWith(*dir, *from, time.Now(), opts)
	if err != nil {
		// One line: bbolt's check reports one error a line.
		fmt.Fprintf(os.Stderr, "idresd: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return 1
	}
	how := "verified by its trailer"
	switch {
	case !r.Verified.HasTrailer && opts.SHA256 != nil:
		how = "old format, verified by --sha256"
	case !r.Verified.HasTrailer:
		how = "old format, UNVERIFIED"
	}
	fmt.Printf("restored %s into %s: sha256 %x (%s), schema %d, revision %d, %d prefixes, %d identifiers\n",
		*from, *dir, r.Verified.Trailer.SHA256, how, r.Info.SchemaVersion, r.Info.Revision, r.Info.Prefixes, r.Info.Identifiers)
	if r.Aside != "" {
		fmt.Printf("the previous store is kept at %s\n", r.Aside)
	}
	return 0
}
