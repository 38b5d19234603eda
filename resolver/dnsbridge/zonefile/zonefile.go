// Package zonefile writes what a node's DNS bridge serves as RFC 1035
// master files, read offline from the node's store (`idres export
// --zonefile`). It is a store tool, not a front end: it enumerates every
// held prefix, delegation and identifier, which no Resolver answer lists,
// and renders them with the bridge's own record code.
package zonefile

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/miekg/dns"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/value"
	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/answer"
	"github.com/idres/idres/resolver/dnsbridge"
	"github.com/idres/idres/resolver/dnsname"
)

// Write writes the zone files of st's held prefixes (only those in
// prefixes, folded, when it is not empty) under the DNS zone zone, one
// after the other, each starting with its SOA: the apex SOA, NS and glue,
// TXT service values, the referrals of delegated children (NS and glue),
// the cuts to prefixes held below it, and the TXT, URI and NAPTR records
// of every identifier. self holds the node's endpoints, as the bridge's
// answer.Authority has them. Identifiers the mapping cannot name are
// listed as comments. It reads one consistent snapshot of the store.
func Write(w io.Writer, st *store.Store, zone string, self *idresv1.Delegation, prefixes []string) error {
	zone, err := dnsname.CanonicalZone(zone)
	if err != nil {
		return err
	}
	if self == nil {
		self = &idresv1.Delegation{}
	}
	zw := &writer{zone: zone, self: self, w: bufio.NewWriterSize(w, 1<<16)}
	want := map[string]bool{}
	for _, p := range prefixes {
		want[ident.Fold(p)] = true
	}
	err = st.View(func(tx *store.Tx) error {
		var held []*idresv1.Prefix
		after := ""
		for {
			ps, more, err := tx.ListPrefixes(after, 1000)
			if err != nil {
				return err
			}
			held = append(held, ps...)
			if !more || len(ps) == 0 {
				break
			}
			after = store.PrefixKey(ident.Fold(ps[len(ps)-1].Prefix))
		}
		for _, p := range held {
			if len(want) > 0 && !want[ident.Fold(p.Prefix)] {
				continue
			}
			if err := zw.writeZone(tx, p, held); err != nil {
				return fmt.Errorf("zone of prefix %q: %w", p.Prefix, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return zw.w.Flush()
}

type writer struct {
	zone string
	self *idresv1.Delegation
	w    *bufio.Writer
}

func (zw *writer) put(rrs ...dns.RR) {
	for _, rr := range rrs {
		zw.w.WriteString(rr.String())
		zw.w.WriteByte('\n')
	}
}

func (zw *writer) writeZone(tx *store.Tx, p *idresv1.Prefix, held []*idresv1.Prefix) error {
	w := zw.w
	apex, err := dnsname.Prefix(zw.zone, p.Prefix)
	if err != nil {
		fmt.Fprintf(w, "; prefix %q is not reachable through DNS: %v\n\n", p.Prefix, err)
		return nil
	}
	neg := uint32(value.DefaultNegTTL)
	if p.NegativeTtl != nil {
		neg = *p.NegativeTtl
	}
	serial := tx.Revision()
	hp := ident.Fold(p.Prefix)
	fmt.Fprintf(w, "; zone %s: prefix %q, serial %d\n$ORIGIN %s\n", apex, p.Prefix, uint32(serial), apex)
	zw.put(dnsbridge.SOA(apex, serial, neg))
	ns, glue := dnsbridge.NSSet(apex, zw.self.GetDns(), value.DefaultTTL)
	zw.put(ns...)
	zw.put(glue...)
	svc := &idresv1.Delegation{Prefix: p.Prefix, Grpc: zw.self.GetGrpc(), Dns: zw.self.GetDns(), Http: zw.self.GetHttp()}
	zw.put(dnsbridge.TXTRecords(apex, resolver.ServiceValues(svc))...)

	// Zone cuts directly below this zone: delegations, and prefixes held
	// here too (their own zones, reached through NS to this node).
	cutsHere := func(child string) bool {
		parent, ok := ident.Parent(child)
		if !ok {
			return false
		}
		h2, d2, err := answer.ZoneCut(tx, parent)
		return err == nil && d2 == nil && h2 != nil && ident.Fold(h2.Prefix) == hp
	}
	ds, err := tx.ListDelegations(hp)
	if err != nil {
		return err
	}
	for _, d := range ds {
		dp := ident.Fold(d.Prefix)
		if dp == hp || !cutsHere(dp) {
			continue
		}
		name, err := dnsname.Prefix(zw.zone, d.Prefix)
		if err != nil {
			fmt.Fprintf(w, "; delegation %q is not reachable through DNS: %v\n", d.Prefix, err)
			continue
		}
		if len(d.GetDns()) == 0 {
			zw.put(dnsbridge.TXTRecords(name, resolver.ServiceValues(d))...)
			continue
		}
		ns, glue := dnsbridge.NSSet(name, d.GetDns(), dnsbridge.DelegationTTL(d))
		zw.put(ns...)
		zw.put(glue...)
	}
	for _, k := range held {
		kp := ident.Fold(k.Prefix)
		if kp == hp || !ident.Covers(hp, kp) || !cutsHere(kp) {
			continue
		}
		if name, err := dnsname.Prefix(zw.zone, k.Prefix); err == nil {
			ns, glue := dnsbridge.NSSet(name, zw.self.GetDns(), value.DefaultTTL)
			zw.put(ns...)
			zw.put(glue...)
		}
	}

	if hp == "" {
		w.WriteByte('\n')
		return nil // identifiers have a prefix of at least one segment
	}
	after := ""
	for {
		ids, more, err := tx.ListIdentifiers(hp, after, 1000)
		if err != nil {
			return err
		}
		for _, rec := range ids {
			id, err := ident.Parse(rec.Identifier)
			if err != nil {
				fmt.Fprintf(w, "; %q: %v\n", rec.Identifier, err)
				continue
			}
			name, err := dnsname.Identifier(zw.zone, id)
			if err != nil {
				fmt.Fprintf(w, "; not reachable through DNS: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
				continue
			}
			zw.put(dnsbridge.ValueRecords(name, value.Public(rec.Values))...)
		}
		if !more || len(ids) == 0 {
			break
		}
		last, _ := ident.Parse(ids[len(ids)-1].Identifier)
		after = last.Key()
	}
	w.WriteByte('\n')
	return nil
}
