package dnsbridge

import (
	"context"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/value"
	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/dnsname"
)

// lookup fills m (a reply to the single question q, Rcode NOERROR) from
// the resolver's answers. Errors are the resolver's failures; the caller
// answers SERVFAIL.
//
// The walk: the labels of the name below the zone split at the first
// "_id" into suffix labels (left) and prefix labels (right), and the
// longest valid prefix P made of the rightmost prefix labels is where the
// name lies. An identifier's name is answered from Resolve of that
// identifier alone. Any other name is answered from what the resolver
// says of P (ResolvePrefix, or Resolve of 0.NA/P): nothing there is
// REFUSED, a delegation is a referral, a held prefix H answers from H's
// zone. Zone cuts, visibility, tombstones and patterns are the resolver's
// business, so DNS says what gRPC and HTTP say.
//
// size is the most the transport carries (answer records are built only
// while they fit it, see budget).
func (h *Handler) lookup(ctx context.Context, q dns.Question, m *dns.Msg, size int) error {
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

	if full && at > 0 {
		if p, err := dnsname.Reverse(h.zone, q.Name); err == nil && p.Kind == dnsname.KindIdentifier && p.Prefix == prefix {
			return h.identifier(ctx, q, m, p.ID, size)
		}
	}
	r, err := h.resolvePrefix(ctx, prefix)
	if err != nil {
		return err
	}
	m.Authoritative = r.GetAuthoritative()
	exact := full && at < 0 // the name is P's own
	switch r.GetOutcome() {
	case idresv1.Outcome_OUTCOME_REFERRAL:
		return h.referral(m, r.GetReferral())
	case idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND:
		if r.GetZone() == "" && !r.GetAuthoritative() {
			m.Rcode = dns.RcodeRefused
			return nil
		}
		// Below a held zone's apex but not a prefix held or delegated
		// there: it exists only as an empty non-terminal above one that is.
		z := h.zoneOf(r)
		if at < 0 && h.isNSHost(labels, z) {
			return h.nsHost(ctx, q, m, z, labels[0], exact && r.GetHasSubordinates())
		}
		if exact && r.GetHasSubordinates() {
			return z.nodata(m)
		}
		return z.nxdomain(m)
	case idresv1.Outcome_OUTCOME_OK, idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND:
	case idresv1.Outcome_OUTCOME_SERVER_FAILURE:
		m.Rcode = dns.RcodeServerFailure
		return nil
	default:
		m.Rcode = dns.RcodeRefused
		return nil
	}

	if ident.Fold(r.GetZone()) != prefix {
		// P is a delegation, answered by the zone it is cut from.
		return h.delegated(q, m, r, prefix, exact, size)
	}
	z := h.zoneOf(r)
	switch {
	case exact:
		return h.apex(q, m, z, r.GetValues(), size)
	case at < 0:
		if h.isNSHost(labels, z) {
			return h.nsHost(ctx, q, m, z, labels[0], false)
		}
		return z.nxdomain(m)
	case !full:
		return z.nxdomain(m)
	}
	// "_id.<P>", and two or more trailing labels of a long encoded suffix,
	// are empty non-terminals above identifiers' names while P holds
	// identifiers. Proving that no identifier ends in the latter would
	// take a scan, so they get NODATA (DNS-011). A single trailing label is
	// also a valid LDH suffix and was answered as that identifier.
	slabels := labels[:at]
	if len(slabels) == 0 || len(slabels) > 1 && dnsname.IsEncodedTail(slabels) {
		if r.GetHasIdentifiers() || !r.GetAuthoritative() {
			return z.nodata(m)
		}
	}
	return z.nxdomain(m)
}

// resolvePrefix is the resolver's answer for the folded prefix p, as for
// its handle 0.NA/<p>.
func (h *Handler) resolvePrefix(ctx context.Context, p string) (*idresv1.ResolveResponse, error) {
	if h.prefixes != nil {
		return h.prefixes.ResolvePrefix(ctx, p)
	}
	if p == "" {
		// The root prefix has no handle to ask for.
		return &idresv1.ResolveResponse{Outcome: idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND}, nil
	}
	return h.res.Resolve(ctx, &idresv1.ResolveRequest{Identifier: ident.PrefixHandlePrefix + "/" + p})
}

// identifier answers an identifier's name from Resolve of id, asked as
// an anonymous caller, so only public values come back: the records that
// fit size bytes, TC set when some do not.
func (h *Handler) identifier(ctx context.Context, q dns.Question, m *dns.Msg, id ident.ID, size int) error {
	r, err := h.res.Resolve(ctx, &idresv1.ResolveRequest{Identifier: id.String()})
	if err != nil {
		return err
	}
	m.Authoritative = r.GetAuthoritative()
	switch r.GetOutcome() {
	case idresv1.Outcome_OUTCOME_OK:
		z := h.zoneOf(r)
		vals := r.GetValues()
		b := newBudget(m, size)
		switch q.Qtype {
		case dns.TypeTXT, dns.TypeANY: // ANY: the TXT RRset only, RFC 8482 §4.1
			return z.answerWithin(m, h.counted(txtRecords(q.Name, vals, b)), b)
		case dns.TypeURI:
			return z.answerWithin(m, h.counted(uriRecords(q.Name, vals, b)), b)
		case dns.TypeNAPTR:
			return z.answerWithin(m, h.counted(naptrRecords(q.Name, vals, b)), b)
		}
		return z.nodata(m)
	case idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND:
		return h.zoneOf(r).nodata(m)
	case idresv1.Outcome_OUTCOME_NOT_FOUND:
		return h.zoneOf(r).nxdomain(m)
	case idresv1.Outcome_OUTCOME_GONE:
		return h.zoneOf(r).gone(q, m, r.GetTombstone())
	case idresv1.Outcome_OUTCOME_REFERRAL:
		return h.referral(m, r.GetReferral())
	case idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND:
		if r.GetZone() != "" {
			// Under a held zone, a prefix that does not exist there.
			return h.zoneOf(r).nxdomain(m)
		}
	case idresv1.Outcome_OUTCOME_SERVER_FAILURE:
		m.Rcode = dns.RcodeServerFailure
		return nil
	}
	m.Rcode = dns.RcodeRefused
	return nil
}

// zone is the answering zone as DNS sees it.
type zone struct {
	apex   string
	serial uint64
	negTTL uint32 // the zone's negative TTL: its SOA's minimum
	ttl    uint32 // how long a denial may be cached: its SOA's TTL
}

// zoneOf is the zone that gave r. A recursive node's answer carries the
// remaining TTL, which bounds how long its denial may be cached; the
// SOA's data stays as the zone gave it.
func (h *Handler) zoneOf(r *idresv1.ResolveResponse) zone {
	apex, err := dnsname.Prefix(h.zone, r.GetZone())
	if err != nil {
		// A held prefix that the mapping cannot name (segment "_id"):
		// the walk never reaches it, as its name would split at "_id".
		apex = h.zone
	}
	neg := r.GetNegativeTtl()
	ttl := neg
	if !r.GetAuthoritative() && (neg == 0 || r.GetTtl() < neg) {
		ttl = r.GetTtl()
	}
	return zone{apex: apex, serial: r.GetSerial(), negTTL: neg, ttl: ttl}
}

func (z zone) soa() dns.RR {
	rr := soa(z.apex, z.serial, z.negTTL)
	rr.Hdr.Ttl = z.ttl
	return rr
}

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
	txt := &dns.TXT{Hdr: hdr(q.Name, dns.TypeTXT, z.ttl), Txt: txtStrings([]byte(resolver.GoneMessage(t)))}
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

// answerWithin is answer for records built within b: when b left some
// out, the answer is the ones that fit with TC set (RFC 2181 §9), never
// NODATA, even when none fit.
func (z zone) answerWithin(m *dns.Msg, rrs []dns.RR, b *budget) error {
	if !b.over() {
		return z.answer(m, rrs)
	}
	m.Answer = rrs
	m.Truncated = true
	return nil
}

// apex answers at a zone's apex name: SOA, NS (with the addresses of the
// zone's IDRES_DNS service values as additional data), and TXT with the
// prefix's service values svc (those that fit size bytes).
func (h *Handler) apex(q dns.Question, m *dns.Msg, z zone, svc []*idresv1.Value, size int) error {
	switch q.Qtype {
	case dns.TypeSOA, dns.TypeANY: // ANY: one RRset, RFC 8482 §4.1
		return z.answer(m, []dns.RR{owned(z.soa(), q.Name)})
	case dns.TypeNS:
		eps, ttl := dnsEndpoints(svc)
		ns, glue := nsSet(z.apex, eps, ttl)
		m.Answer = ownedAll(ns, q.Name)
		m.Extra = append(m.Extra, glue...)
		return nil
	case dns.TypeTXT:
		b := newBudget(m, size)
		return z.answerWithin(m, h.counted(txtRecords(q.Name, svc, b)), b)
	}
	return z.nodata(m)
}

// dnsEndpoints are the data of the IDRES_DNS values among svc, in order,
// and their TTL (the delegation's, or value.DefaultTTL when none).
func dnsEndpoints(svc []*idresv1.Value) ([]string, uint32) {
	var eps []string
	ttl := uint32(value.DefaultTTL)
	for _, v := range svc {
		if v.GetType() == resolver.TypeDNS {
			eps = append(eps, string(v.GetData()))
			ttl = ttlOf(v)
		}
	}
	return eps, ttl
}

// isNSHost reports whether labels (below the bridge's zone) are "ns<N>"
// followed by z's apex.
func (h *Handler) isNSHost(labels []string, z zone) bool {
	if len(labels) == 0 || nsNumber(labels[0]) == 0 {
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
	return len(labels) == len(apexLabels)+1 && strings.Join(labels[1:], ".") == rel
}

// nsNumber is N of "ns<N>" (N >= 1, no leading zero), else 0.
func nsNumber(label string) int {
	if !strings.HasPrefix(label, "ns") {
		return 0
	}
	n, err := strconv.Atoi(label[2:])
	if err != nil || n < 1 || strconv.Itoa(n) != label[2:] {
		return 0
	}
	return n
}

// nsHost answers the A/AAAA of the zone's NS host name ns<N>.<apex>: the
// address of the zone's N-th IDRES_DNS service value. ns1 of a zone with
// none exists (its NS names it) and has no address. A number past those
// names no NS host: its name is an empty non-terminal when ent is true,
// else it does not exist.
func (h *Handler) nsHost(ctx context.Context, q dns.Question, m *dns.Msg, z zone, label string, ent bool) error {
	zp, err := dnsname.Reverse(h.zone, z.apex)
	if err != nil || zp.Kind != dnsname.KindPrefix {
		return z.nxdomain(m)
	}
	r, err := h.resolvePrefix(ctx, zp.Prefix)
	if err != nil {
		return err
	}
	eps, ttl := dnsEndpoints(r.GetValues())
	n := nsNumber(label)
	switch {
	case n > max(len(eps), 1) && ent:
		return z.nodata(m)
	case n > max(len(eps), 1):
		return z.nxdomain(m)
	case n > len(eps):
		return z.nodata(m)
	}
	rr := addressRR(q.Name, parseEndpoint(eps[n-1]), ttl)
	if rr != nil && (rr.Header().Rrtype == q.Qtype || q.Qtype == dns.TypeANY) {
		return z.answer(m, []dns.RR{rr})
	}
	return z.nodata(m)
}

// delegated answers a name at or below the delegated prefix p, from r,
// the answer for p's handle by the zone it is cut from: its service
// values are the delegation's endpoints. exact is true when the name is
// p's own.
func (h *Handler) delegated(q dns.Question, m *dns.Msg, r *idresv1.ResolveResponse, p string, exact bool, size int) error {
	child, err := dnsname.Prefix(h.zone, p)
	if err != nil {
		m.Rcode = dns.RcodeRefused
		return nil
	}
	eps, ttl := dnsEndpoints(r.GetValues())
	if !r.GetAuthoritative() {
		// A recursive node's view of p: the walk ends at the parent's
		// answer, so p's name is answered as p's zone apex.
		z := h.zoneOf(r)
		z.apex = child
		if exact {
			return h.apex(q, m, z, r.GetValues(), size)
		}
		return z.nodata(m)
	}
	if exact && r.GetZone() != "" && (q.Qtype == dns.TypeDS || len(eps) == 0) {
		// DS lives on the parent side of a cut (RFC 4035 §3.1.4); a child
		// without a DNS bridge is answered here, from the delegation.
		parent := h.zoneOf(r)
		if q.Qtype == dns.TypeTXT {
			b := newBudget(m, size)
			return parent.answerWithin(m, h.counted(txtRecords(q.Name, r.GetValues(), b)), b)
		}
		return parent.nodata(m)
	}
	return h.referral(m, &idresv1.Delegation{Prefix: p, Dns: eps, Ttl: &ttl})
}

// referral answers with the NS records and glue of delegation d, or
// REFUSED when d has no DNS endpoint: the child runs no DNS bridge, so
// this part of the space is not reachable through DNS (DNS-010).
func (h *Handler) referral(m *dns.Msg, d *idresv1.Delegation) error {
	m.Authoritative = false
	child, err := dnsname.Prefix(h.zone, d.GetPrefix())
	if err != nil || len(d.GetDns()) == 0 {
		m.Rcode = dns.RcodeRefused
		return nil
	}
	h.warnPorts(d)
	ns, glue := nsSet(child, d.GetDns(), delegationTTL(d))
	m.Ns = ns
	m.Extra = append(m.Extra, glue...)
	return nil
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

// counted adds the data bytes of rrs to h.rendered.
func (h *Handler) counted(rrs []dns.RR) []dns.RR {
	n := 0
	for _, rr := range rrs {
		switch rr := rr.(type) {
		case *dns.TXT:
			for _, s := range rr.Txt {
				n += len(s)
			}
		case *dns.URI:
			n += len(rr.Target)
		case *dns.NAPTR:
			n += len(rr.Regexp)
		}
	}
	h.rendered.Add(int64(n))
	return rrs
}
