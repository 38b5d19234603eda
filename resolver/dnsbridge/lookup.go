package dnsbridge

import (
	"errors"
	"fmt"
	"strconv"
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

// lookup fills m (a reply to the single question q, Rcode NOERROR) from
// the store. Errors are store failures; the caller answers SERVFAIL.
//
// The walk: the labels of the name below the zone split at the first
// "_id" into suffix labels (left) and prefix labels (right). The longest
// valid prefix P made of the rightmost prefix labels decides the zone by
// answer.ZoneCut: nothing there is REFUSED, a delegation is a referral,
// a held prefix H answers authoritatively from H's zone.
func (h *Handler) lookup(tx *store.Tx, q dns.Question, m *dns.Msg) error {
	rel, err := dnsname.Relative(h.zone, q.Name)
	if err != nil {
		m.Rcode = dns.RcodeRefused
		return nil
	}
	var labels []string
	if rel != "" {
		labels = strings.Split(rel, ".")
	}
	at := -1
	for i, l := range labels {
		if l == dnsname.IDLabel {
			at = i
			break
		}
	}
	plabels := labels
	if at >= 0 {
		plabels = labels[at+1:]
	}
	// The longest run of valid segments, from the right.
	valid := 0
	for valid < len(plabels) && valid < ident.MaxSegments {
		if _, err := dnsname.PrefixOfLabels(plabels[len(plabels)-valid-1:]); err != nil {
			break
		}
		valid++
	}
	full := valid == len(plabels)
	prefix, _ := dnsname.PrefixOfLabels(plabels[len(plabels)-valid:])

	held, deleg, err := answer.ZoneCut(tx, prefix)
	if err != nil {
		return err
	}
	switch {
	case deleg != nil:
		exact := full && at < 0 && ident.Fold(deleg.Prefix) == prefix
		return h.delegated(tx, q, m, deleg, exact)
	case held == nil:
		m.Rcode = dns.RcodeRefused
		return nil
	}

	z := h.zoneOf(tx, held)
	m.Authoritative = true
	hp := ident.Fold(held.Prefix)
	switch {
	case full && at < 0 && prefix == hp:
		return h.apex(q, m, z)
	case at < 0 && h.isNSHost(labels, z):
		return h.nsHost(q, m, z, labels[0])
	case !full || prefix != hp:
		// Below the zone's apex but not a prefix held or delegated here: it
		// exists only as an empty non-terminal above one that is.
		if full && at < 0 {
			ent, err := hasDescendant(tx, prefix)
			if err != nil {
				return err
			}
			if ent {
				return z.nodata(m)
			}
		}
		return z.nxdomain(m)
	}
	return h.identifier(tx, q, m, z, labels[:at])
}

// zone is a held prefix's zone as DNS sees it.
type zone struct {
	prefix *idresv1.Prefix
	apex   string
	serial uint64
	negTTL uint32
}

func (h *Handler) zoneOf(tx *store.Tx, p *idresv1.Prefix) zone {
	apex, err := dnsname.Prefix(h.zone, p.Prefix)
	if err != nil {
		// A held prefix that the mapping cannot name (segment "_id"):
		// the walk never reaches it, as its name would split at "_id".
		apex = h.zone
	}
	neg := uint32(value.DefaultNegTTL)
	if p.NegativeTtl != nil {
		neg = *p.NegativeTtl
	}
	return zone{prefix: p, apex: apex, serial: tx.Revision(), negTTL: neg}
}

// emptyNonTerminal answers NODATA while the zone's prefix holds
// identifiers, else NXDOMAIN.
func (z zone) emptyNonTerminal(tx *store.Tx, m *dns.Msg) error {
	some, _, err := tx.ListIdentifiers(ident.Fold(z.prefix.Prefix), "", 1)
	if err != nil {
		return err
	}
	if len(some) > 0 {
		return z.nodata(m)
	}
	return z.nxdomain(m)
}

func (z zone) soa() dns.RR { return soa(z.apex, z.serial, z.negTTL) }

// nxdomain: RFC 2308 name error, SOA in authority.
func (z zone) nxdomain(m *dns.Msg) error {
	m.Rcode = dns.RcodeNameError
	m.Ns = []dns.RR{z.soa()}
	return nil
}

// gone answers a withdrawn identifier (LIFE-013): NXDOMAIN, as the name
// holds no record, with SOA in authority and a TXT at the name that says
// why and names the successor: in the answer section when TXT (or ANY)
// was asked, else in the additional section, so the answer section never
// holds a type that was not asked for.
func (z zone) gone(q dns.Question, m *dns.Msg, t *idresv1.Tombstone) error {
	if err := z.nxdomain(m); err != nil {
		return err
	}
	txt := &dns.TXT{Hdr: hdr(q.Name, dns.TypeTXT, z.negTTL), Txt: txtStrings([]byte(resolver.GoneMessage(t)))}
	if q.Qtype == dns.TypeTXT || q.Qtype == dns.TypeANY {
		m.Answer = []dns.RR{txt}
	} else {
		m.Extra = append(m.Extra, txt)
	}
	return nil
}

// nodata: RFC 2308 no data, SOA in authority.
func (z zone) nodata(m *dns.Msg) error {
	m.Rcode = dns.RcodeSuccess
	m.Answer = nil
	m.Ns = []dns.RR{z.soa()}
	return nil
}

// answer puts rrs in the answer section, or answers NODATA when empty.
func (z zone) answer(m *dns.Msg, rrs []dns.RR) error {
	if len(rrs) == 0 {
		return z.nodata(m)
	}
	m.Answer = rrs
	return nil
}

// apex answers at a held prefix's name: SOA, NS (with the node's own
// addresses as additional data), and TXT with the prefix's service values.
func (h *Handler) apex(q dns.Question, m *dns.Msg, z zone) error {
	switch q.Qtype {
	case dns.TypeSOA, dns.TypeANY: // ANY: one RRset, RFC 8482 §4.1
		return z.answer(m, []dns.RR{owned(z.soa(), q.Name)})
	case dns.TypeNS:
		ns, glue := nsSet(z.apex, h.self.GetDns(), value.DefaultTTL)
		m.Answer = ownedAll(ns, q.Name)
		m.Extra = append(m.Extra, glue...)
		return nil
	case dns.TypeTXT:
		svc := &idresv1.Delegation{Prefix: z.prefix.Prefix, Grpc: h.self.GetGrpc(), Dns: h.self.GetDns(), Http: h.self.GetHttp(), Updated: h.self.GetUpdated()}
		return z.answer(m, txtRecords(q.Name, resolver.ServiceValues(svc)))
	}
	return z.nodata(m)
}

// isNSHost reports whether labels (below the zone) are "ns<N>" followed by
// the zone's apex, N one of the node's NS host numbers.
func (h *Handler) isNSHost(labels []string, z zone) bool {
	if len(labels) == 0 {
		return false
	}
	rel, err := dnsname.Relative(h.zone, z.apex)
	if err != nil {
		return false
	}
	var apexLabels []string
	if rel != "" {
		apexLabels = strings.Split(rel, ".")
	}
	if len(labels) != len(apexLabels)+1 || strings.Join(labels[1:], ".") != rel {
		return false
	}
	return nsNumber(labels[0], len(h.self.GetDns())) > 0
}

// nsNumber is N of "ns<N>" when 1 <= N <= max(count, 1), else 0.
func nsNumber(label string, count int) int {
	if !strings.HasPrefix(label, "ns") {
		return 0
	}
	n, err := strconv.Atoi(label[2:])
	if err != nil || n < 1 || n > max(count, 1) || strconv.Itoa(n) != label[2:] {
		return 0
	}
	return n
}

// nsHost answers the A/AAAA of the node's own NS host names.
func (h *Handler) nsHost(q dns.Question, m *dns.Msg, z zone, label string) error {
	n := nsNumber(label, len(h.self.GetDns()))
	if n > len(h.self.GetDns()) {
		return z.nodata(m)
	}
	rr := addressRR(q.Name, parseEndpoint(h.self.GetDns()[n-1]), value.DefaultTTL)
	if rr != nil && (rr.Header().Rrtype == q.Qtype || q.Qtype == dns.TypeANY) {
		return z.answer(m, []dns.RR{rr})
	}
	return z.nodata(m)
}

// identifier answers below "_id" of held prefix z.
func (h *Handler) identifier(tx *store.Tx, q dns.Question, m *dns.Msg, z zone, slabels []string) error {
	hp := ident.Fold(z.prefix.Prefix)
	if len(slabels) == 0 {
		// "_id.<prefix>" is an empty non-terminal while the prefix holds
		// identifiers.
		return z.emptyNonTerminal(tx, m)
	}
	p, err := dnsname.Reverse(h.zone, q.Name)
	if err != nil || p.Kind != dnsname.KindIdentifier || p.Prefix != hp {
		if len(slabels) > 1 && dnsname.IsEncodedTail(slabels) {
			// Two or more trailing labels of a long encoded suffix are an
			// empty non-terminal above that identifier's name. Proving
			// that no identifier ends in them would take a scan, so they
			// get NODATA (DNS-011). A single trailing label is also a
			// valid LDH suffix and is answered as that identifier.
			return z.emptyNonTerminal(tx, m)
		}
		return z.nxdomain(m)
	}
	rec, err := tx.Identifier(p.ID.Key())
	if errors.Is(err, store.ErrNotFound) {
		u, err := answer.LookupUnregistered(tx, p.ID)
		switch {
		case err != nil:
			return err
		case u.Tombstone != nil:
			return z.gone(q, m, u.Tombstone)
		case u.Derived == nil:
			return z.nxdomain(m)
		}
		rec = u.Derived
	} else if err != nil {
		return err
	}
	vals := value.Public(rec.Values)
	switch q.Qtype {
	case dns.TypeTXT, dns.TypeANY: // ANY: the TXT RRset only, RFC 8482 §4.1
		return z.answer(m, txtRecords(q.Name, vals))
	case dns.TypeURI:
		return z.answer(m, uriRecords(q.Name, vals))
	case dns.TypeNAPTR:
		return z.answer(m, naptrRecords(q.Name, vals))
	}
	return z.nodata(m)
}

// delegated answers a name at or below a delegated child prefix d. exact
// is true when the name is d's own name.
func (h *Handler) delegated(tx *store.Tx, q dns.Question, m *dns.Msg, d *idresv1.Delegation, exact bool) error {
	child, err := dnsname.Prefix(h.zone, d.Prefix)
	if err != nil {
		m.Rcode = dns.RcodeRefused
		return nil
	}
	parent, hasParent := h.parentZone(tx, d)
	if exact && hasParent && (q.Qtype == dns.TypeDS || len(d.GetDns()) == 0) {
		// DS lives on the parent side of a cut (RFC 4035 §3.1.4); a child
		// without a DNS bridge is answered here, from the delegation.
		m.Authoritative = true
		if q.Qtype == dns.TypeTXT {
			return parent.answer(m, txtRecords(q.Name, resolver.ServiceValues(d)))
		}
		return parent.nodata(m)
	}
	if len(d.GetDns()) == 0 {
		// The child runs no DNS bridge: this part of the space is not
		// reachable through DNS (DNS-010).
		m.Rcode = dns.RcodeRefused
		return nil
	}
	h.warnPorts(d)
	ns, glue := nsSet(child, d.GetDns(), delegationTTL(d))
	m.Authoritative = false
	m.Ns = ns
	m.Extra = append(m.Extra, glue...)
	return nil
}

// parentZone is the held zone a delegation is cut from.
func (h *Handler) parentZone(tx *store.Tx, d *idresv1.Delegation) (zone, bool) {
	p, ok := ident.Parent(ident.Fold(d.Prefix))
	if !ok {
		return zone{}, false
	}
	held, _, err := answer.ZoneCut(tx, p)
	if err != nil || held == nil {
		return zone{}, false
	}
	return h.zoneOf(tx, held), true
}

// warnPorts logs, once per delegation and endpoint, that glue cannot carry
// a port: stock resolvers follow the referral to port 53 only.
func (h *Handler) warnPorts(d *idresv1.Delegation) {
	for _, raw := range d.GetDns() {
		if parseEndpoint(raw).port == 53 {
			continue
		}
		key := ident.Fold(d.Prefix) + " " + raw
		if _, done := h.warned.LoadOrStore(key, true); !done {
			h.log.Warn("DNS delegation endpoint is not on port 53; glue carries no port, so stock resolvers cannot follow this referral",
				"prefix", d.Prefix, "endpoint", raw)
		}
	}
}

// hasDescendant reports whether a held prefix or a delegation lies
// strictly below the folded prefix p (which makes p's name an empty
// non-terminal).
func hasDescendant(tx *store.Tx, p string) (bool, error) {
	below := func(q string) bool { return q != p && ident.Covers(p, q) }
	ds, err := tx.ListDelegations(p)
	if err != nil {
		return false, fmt.Errorf("list delegations under %q: %w", p, err)
	}
	for _, d := range ds {
		if below(ident.Fold(d.Prefix)) {
			return true, nil
		}
	}
	after := ""
	for {
		ps, more, err := tx.ListPrefixes(after, 1000)
		if err != nil {
			return false, fmt.Errorf("list prefixes: %w", err)
		}
		for _, hp := range ps {
			if below(ident.Fold(hp.Prefix)) {
				return true, nil
			}
		}
		if !more || len(ps) == 0 {
			return false, nil
		}
		after = store.PrefixKey(ident.Fold(ps[len(ps)-1].Prefix))
	}
}

// owned returns rr with its owner set to name (the question's spelling).
func owned(rr dns.RR, name string) dns.RR {
	rr.Header().Name = name
	return rr
}

func ownedAll(rrs []dns.RR, name string) []dns.RR {
	for _, rr := range rrs {
		rr.Header().Name = name
	}
	return rrs
}
