package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/dnsbridge/zonefile"
	"github.com/idres/idres/resolver/dnsname"
)

// runZonefile is `idresd zonefile --zone ZONE --data DIR [--dns ADDR]
// [-o FILE] [PREFIX...]`: offline, it writes an RFC 1035 zone file of what
// the node's DNS bridge serves. It reads the store itself because a zone
// file needs what only the store has whole (every held prefix,
// delegation and identifier in one consistent snapshot, private values
// told apart); bbolt locks the file, so it runs on a stopped node's
// directory or on a copy made with `idres backup` and `idresd restore`.
func runZonefile(args []string) int {
	fs := flag.NewFlagSet("idresd zonefile", flag.ContinueOnError)
	zone := fs.String("zone", "", "the DNS `zone` the bridge serves (idresd --dns-zone), e.g. id.example.")
	dir := fs.String("data", "idres-data", "data `directory` of the stopped node, or of a restored copy")
	dnsAddr := fs.String("dns", "", "the bridge's `address` (idresd --dns), for NS glue and service values")
	outName := fs.String("o", "-", "output `file` ('-' for stdout)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *zone == "" {
		fmt.Fprintln(os.Stderr, "usage: idresd zonefile --zone ZONE [--data DIR] [--dns ADDR] [-o FILE] [PREFIX...]")
		return 2
	}
	if _, err := dnsname.CanonicalZone(*zone); err != nil {
		fmt.Fprintf(os.Stderr, "idresd zonefile: --zone: %v\n", err)
		return 2
	}
	// store.Open creates a missing directory: a mistyped --data would
	// export an empty store and succeed.
	if fi, err := os.Stat(*dir); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		fmt.Fprintf(os.Stderr, "idresd zonefile: --data %s: %v (the data directory of a stopped node)\n", *dir, err)
		return 2
	}
	st, err := store.Open(*dir, store.Options{})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			fmt.Fprintf(os.Stderr, "idresd zonefile: %v\nthe zone file is read offline: stop the node, or export from a restored copy of a backup\n", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "idresd zonefile: %v\n", err)
		return 1
	}
	defer st.Close()
	self := &idresv1.Delegation{}
	if *dnsAddr != "" {
		self.Dns = []string{*dnsAddr}
	}
	var w io.Writer = os.Stdout
	var f *os.File
	if *outName != "-" {
		if f, err = os.Create(*outName); err != nil {
			fmt.Fprintf(os.Stderr, "idresd zonefile: %v\n", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	if err := zonefile.Write(w, st, *zone, self, fs.Args()); err != nil {
		fmt.Fprintf(os.Stderr, "idresd zonefile: %v\n", err)
		return 1
	}
	if f != nil {
		if err := f.Sync(); err != nil {
			fmt.Fprintf(os.Stderr, "idresd zonefile: write %s: %v\n", *outName, err)
			return 1
		}
	}
	return 0
}
