package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/idres/idres/registry/backup"
)

// runRestore is `idresd restore --data DIR --from FILE`: offline, it puts a
// snapshot taken with `idres backup` in place of the node's store.
func runRestore(args []string) int {
	fs := flag.NewFlagSet("idresd restore", flag.ContinueOnError)
	dir := fs.String("data", "idres-data", "data directory of the (stopped) node")
	from := fs.String("from", "", "snapshot file written by `idres backup`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *from == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: idresd restore --data DIR --from FILE")
		return 2
	}
	aside, info, err := backup.Restore(*dir, *from, time.Now())
	if err != nil {
		fmt.Fprintf(os.Stderr, "idresd: %v\n", err)
		return 1
	}
	fmt.Printf("restored %s into %s: schema %d, revision %d, %d prefixes, %d identifiers\n",
		*from, *dir, info.SchemaVersion, info.Revision, info.Prefixes, info.Identifiers)
	if aside != "" {
		fmt.Printf("the previous store is kept at %s\n", aside)
	}
	return 0
}
