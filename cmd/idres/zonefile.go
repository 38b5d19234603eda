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

// zonefileFlags are export's flags for --zonefile.
type zonefileFlags struct {
	zone, data, dns *string
}

func bindZonefileFlags(fs *flag.FlagSet) *zonefileFlags {
	return &zonefileFlags{
		zone: fs.String("zonefile", "", "write an RFC 1035 zone file of what the node's DNS bridge serves in `ZONE` (read offline from --data)"),
		data: fs.String("data", "idres-data", "with --zonefile: the node's data `dir` (the node stopped, or a copy made by idres backup)"),
		dns:  fs.String("dns", "", "with --zonefile: the bridge's `address` (idresd --dns), for NS glue and service values"),
	}
}

// runExportZonefile reads the store offline, because a zone file needs
// what only the store has whole (every held prefix, delegation and
// identifier in one consistent snapshot, private values told apart) and
// the bridge's own address; the Registry API pages identifiers per prefix
// and needs an administrator token for that. bbolt locks the file, so this
// runs on a stopped node's directory or on a backup copy.
func runExportZonefile(e *env, zf *zonefileFlags, prefixes []string, outName string) int {
	// store.Open creates a missing directory: a mistyped --data would
	// export an empty store and succeed.
	if fi, err := os.Stat(*zf.data); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return e.usageError("--data %s: %v (the data directory of a stopped node, or a copy made by idres backup)", *zf.data, err)
	}
	st, err := store.Open(*zf.data, store.Options{})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			fmt.Fprintf(e.Stderr, "idres export: %v\nidres export --zonefile reads the data directory offline: stop the node, or export from a copy made with idres backup\n", err)
			return exitNegative
		}
		fmt.Fprintf(e.Stderr, "idres export: %v\n", err)
		return exitNegative
	}
	defer st.Close()
	self := &idresv1.Delegation{}
	if *zf.dns != "" {
		self.Dns = []string{*zf.dns}
	}
	if _, err := dnsname.CanonicalZone(*zf.zone); err != nil {
		return e.usageError("--zonefile: %v", err)
	}
	var w io.Writer = e.Stdout
	if outName != "-" {
		f, err := os.Create(outName)
		if err != nil {
			return e.usageError("%v", err)
		}
		defer f.Close()
		w = f
	}
	if err := zonefile.Write(w, st, *zf.zone, self, prefixes); err != nil {
		fmt.Fprintf(e.Stderr, "idres export: %v\n", err)
		return exitServer
	}
	if f, ok := w.(*os.File); ok && f != os.Stdout {
		if err := f.Sync(); err != nil {
			fmt.Fprintf(e.Stderr, "idres export: write %s: %v\n", outName, err)
			return exitServer
		}
	}
	return exitOK
}
