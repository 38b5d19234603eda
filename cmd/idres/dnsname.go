package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/resolver/dnsname"
)

func init() {
	register(&command{Name: "dnsname", Usage: "ID | --reverse NAME [--zone ZONE]",
		Summary: "print an identifier's DNS name in the bridge's zone, or the identifier of a DNS name", Run: runDNSName})
}

// defaultDNSZone is the DNS bridge's default zone (idresd --dns-zone).
// It is spelled here rather than imported so that idres does not link the
// DNS server and the store behind it for one constant;
// TestDefaultDNSZone pins it to the bridge's.
const defaultDNSZone = "id.example."

// runDNSName maps offline, with no node: the mapping is fixed (design §7).
func runDNSName(_ context.Context, e *env, args []string) int {
	fs := e.flags()
	reverse := fs.Bool("reverse", false, "map a DNS name back to its identifier (a prefix's name gives its prefix handle 0.NA/<prefix>)")
	zoneFlag := fs.String("zone", defaultDNSZone, "the DNS bridge's zone (idresd --dns-zone)")
	pos, code, ok := e.parseArgs(fs, args, e.cmd.Usage)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.usageError("want exactly one argument, got %d", len(pos))
	}
	zone, err := dnsname.CanonicalZone(*zoneFlag)
	if err != nil {
		return e.usageError("--zone: %v", err)
	}
	if !*reverse {
		id, err := ident.Parse(pos[0])
		if err != nil {
			return e.usageError("%v", err)
		}
		name, err := dnsname.Identifier(zone, id)
		if err != nil {
			fmt.Fprintf(e.Stderr, "idres dnsname: %v\n", err)
			return exitNegative
		}
		fmt.Fprintln(e.Stdout, name)
		return exitOK
	}
	p, err := dnsname.Reverse(zone, pos[0])
	if err != nil {
		if errors.Is(err, dnsname.ErrUnmappable) {
			fmt.Fprintf(e.Stderr, "idres dnsname: %v\n", err)
			return exitNegative
		}
		return e.usageError("%v", err)
	}
	switch {
	case p.Kind == dnsname.KindIdentifier:
		fmt.Fprintln(e.Stdout, p.ID.String())
	case p.Prefix == "":
		fmt.Fprintf(e.Stderr, "idres dnsname: %s is the zone apex, the name of the root prefix\n", zone)
		return exitNegative
	default:
		fmt.Fprintln(e.Stdout, ident.PrefixHandlePrefix+"/"+p.Prefix)
	}
	return exitOK
}
