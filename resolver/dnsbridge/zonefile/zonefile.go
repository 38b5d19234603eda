package dnsbridge

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
	"github.com/idres/idres/resolver/dnsname"
)

// WriteZoneFile writes what the bridge serves as RFC 1035 master files, one
// zone per held prefix (only those in prefixes, folded, when it is not
// empty), each starting with its SOA: the apex SOA, NS and glue, TXT
// service values, the referrals of delegated children (NS and glue), the
// cuts to prefixes held below it, and the TXT, URI and NAPTR records of
// every identifier. Identifiers the mapping cannot name are listed as
// comments. It reads one consistent snapshot of the store.
func (h *Handler) WriteZoneFile(w io.Writer, prefixes []string) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	want := map[string]bool{}
	for _, p := range prefixes {
		want[ident.Fold(p)] = true
	}
	err := h.store.View(func(tx *store.Tx) error {
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
			if err := h.writeZone(bw, tx, p, held); err != nil {
				return fmt.Errorf("zone of prefix %q: %w", p.Prefix, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

func (h *Handler) writeZone(w *bufio.Writer, tx *store.Tx, p *idresv1.Prefix, held []*idresv1.Prefix) error {
	z := h.zoneOf(tx, p)
	if _, err := dnsname.Prefix(h.zone, p.Prefix); err != nil {
		fmt.Fprintf(w, "; prefix %q is not reachable through DNS: %v\n\n", p.Prefix, err)
		return nil
	}
	hp := ident.Fold(p.Prefix)
	fmt.Fprintf(w, "; zone %s: prefix %q, serial %d\n$ORIGIN %s\n", z.apex, p.Prefix, uint32(z.serial), z.apex)
	put := func(rrs ...dns.RR) {
		for _, rr := range rrs {
			w.WriteString(rr.String())
			w.WriteByte('\n')
		}
	}
	put(z.soa())
	ns, glue := nsSet(z.apex, h.self.GetDns(), value.DefaultTTL)
	put(ns...)
	put(glue...)
	svc := &idresv1.Delegation{Prefix: p.Prefix, Grpc: h.self.GetGrpc(), Dns: h.self.GetDns(), Http: h.self.GetHttp()}
	put(txtRecords(z.apex, resolver.ServiceValues(svc))...)

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
		name, err := dnsname.Prefix(h.zone, d.Prefix)
		if err != nil {
			fmt.Fprintf(w, "; delegation %q is not reachable through DNS: %v\n", d.Prefix, err)
			continue
		}
		if len(d.GetDns()) == 0 {
			put(txtRecords(name, resolver.ServiceValues(d))...)
			continue
		}
		ns, glue := nsSet(name, d.GetDns(), delegationTTL(d))
		put(ns...)
		put(glue...)
	}
	for _, k := range held {
		kp := ident.Fold(k.Prefix)
		if kp == hp || !ident.Covers(hp, kp) || !cutsHere(kp) {
			continue
		}
		if name, err := dnsname.Prefix(h.zone, k.Prefix); err == nil {
			ns, glue := nsSet(name, h.self.GetDns(), value.DefaultTTL)
			put(ns...)
			put(glue...)
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
			name, err := dnsname.Identifier(h.zone, id)
			if err != nil {
				fmt.Fprintf(w, "; not reachable through DNS: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
				continue
			}
			vals := value.Public(rec.Values)
			put(txtRecords(name, vals)...)
			put(uriRecords(name, vals)...)
			put(naptrRecords(name, vals)...)
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
