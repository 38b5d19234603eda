package main

import "flag"

// zonefileFlags catches export's old --zonefile, to point at its new home.
type zonefileFlags struct {
	zone, data, dns *string
}

func bindZonefileFlags(fs *flag.FlagSet) *zonefileFlags {
	return &zonefileFlags{
		zone: fs.String("zonefile", "", "moved: the zone file is written offline by `idresd zonefile --zone ZONE --data DIR`"),
		data: fs.String("data", "", "moved with --zonefile to idresd zonefile"),
		dns:  fs.String("dns", "", "moved with --zonefile to idresd zonefile"),
	}
}

// runExportZonefile says where the zone-file export went: it reads a
// stopped node's store, which is the daemon's business (beside restore and
// reindex); idres talks to running nodes only through the client.
func runExportZonefile(e *env, zf *zonefileFlags, _ []string, _ string) int {
	return e.usageError("--zonefile %s: the zone file is now written by `idresd zonefile --zone %s --data DIR [--dns ADDR] [-o FILE] [PREFIX...]`, which reads a stopped node's store", *zf.zone, *zf.zone)
}
