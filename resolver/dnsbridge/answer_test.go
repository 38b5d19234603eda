package dnsbridge

import (
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/resolver/dnsname"
)

// dnsCase is one question and the expected reply, section by section
// (CoreDNS's test.Case shape). A nil section is not checked; an empty one
// must be empty. "SOA" in ns stands for the zone 88.100's SOA.
type dnsCase struct {
	name   string
	qname  string
	qtype  uint16
	rcode  int
	aa     bool
	answer []string
	ns     []string
	extra  []string
}

const (
	apex   = "100.88.id.example."
	part42 = "part-42._id.100.88.id.example."
)

func answerCases(t *testing.T, b *testBridge) []dnsCase {
	chinese, err := dnsname.Identifier(testZone, ident.MustParse("88.100/产品 编号"))
	if err != nil {
		t.Fatal(err)
	}
	long, err := dnsname.Identifier(testZone, ident.MustParse(longID))
	if err != nil {
		t.Fatal(err)
	}
	longLabels := strings.Split(long, ".")
	soa := soaLine(apex, b.serial(t), 600)
	soa99 := soaLine("99.id.example.", b.serial(t), 3600)
	return []dnsCase{
		{name: "TXT: one record per public value, text or base64", qname: part42, qtype: dns.TypeTXT, aa: true,
			answer: []string{
				part42 + "\t300\tIN\tTXT\t\"1 URL https://example.com/p/42\"",
				part42 + "\t600\tIN\tTXT\t\"2 manufacturer ACME \\\"Tools\\\" \\\\ Co\"",
				part42 + "\t600\tIN\tTXT\t\"4 blob base64:/wAB\"",
				part42 + "\t300\tIN\tTXT\t\"5 url http://b.example/x!y\"",
			}, ns: []string{}},
		{name: "mixed-case question: answer keeps the asker's spelling", qname: "Part-42._ID.100.88.Id.Example.", qtype: dns.TypeURI, aa: true,
			answer: []string{
				"Part-42._ID.100.88.Id.Example.\t300\tIN\tURI\t1 1 \"https://example.com/p/42\"",
				"Part-42._ID.100.88.Id.Example.\t300\tIN\tURI\t2 1 \"http://b.example/x!y\"",
			}},
		{name: "URI for URL values", qname: part42, qtype: dns.TypeURI, aa: true,
			answer: []string{
				part42 + "\t300\tIN\tURI\t1 1 \"https://example.com/p/42\"",
				part42 + "\t300\tIN\tURI\t2 1 \"http://b.example/x!y\"",
			}},
		{name: "NAPTR for URL values, delimiter escaped", qname: part42, qtype: dns.TypeNAPTR, aa: true,
			answer: []string{
				part42 + "\t300\tIN\tNAPTR\t1 10 \"u\" \"E2U+web:https\" \"!^.*$!https://example.com/p/42!\" .",
				part42 + "\t300\tIN\tNAPTR\t2 10 \"u\" \"E2U+web:http\" \"!^.*$!http://b.example/x\\\\!y!\" .",
			}},
		{name: "ANY is answered with the TXT RRset only (RFC 8482)", qname: part42, qtype: dns.TypeANY, aa: true,
			answer: []string{
				part42 + "\t300\tIN\tTXT\t\"1 URL https://example.com/p/42\"",
				part42 + "\t600\tIN\tTXT\t\"2 manufacturer ACME \\\"Tools\\\" \\\\ Co\"",
				part42 + "\t600\tIN\tTXT\t\"4 blob base64:/wAB\"",
				part42 + "\t300\tIN\tTXT\t\"5 url http://b.example/x!y\"",
			}},
		{name: "Chinese suffix in ie-- labels", qname: chinese, qtype: dns.TypeTXT, aa: true,
			answer: []string{chinese + "\t120\tIN\tTXT\t\"1 name \\228\\186\\167\\229\\147\\129\""}},
		{name: "NODATA: identifier exists, no such type", qname: part42, qtype: dns.TypeA, aa: true,
			answer: []string{}, ns: []string{soa}},
		{name: "NODATA: identifier with only private values", qname: "hidden._id.100.88.id.example.", qtype: dns.TypeTXT, aa: true,
			answer: []string{}, ns: []string{soa}},
		{name: "NODATA: URI of an identifier without URL values", qname: "hidden._id.100.88.id.example.", qtype: dns.TypeURI, aa: true,
			answer: []string{}, ns: []string{soa}},
		{name: "NXDOMAIN: missing identifier under a held prefix", qname: "nope._id.100.88.id.example.", qtype: dns.TypeTXT, rcode: dns.RcodeNameError, aa: true,
			answer: []string{}, ns: []string{soa}},
		{name: "NXDOMAIN: non-canonical encoding", qname: "ie--c5h66._id.100.88.id.example.", qtype: dns.TypeTXT, rcode: dns.RcodeNameError, aa: true, ns: []string{soa}},
		{name: "NXDOMAIN: prefix below the zone that does not exist", qname: "7.100.88.id.example.", qtype: dns.TypeTXT, rcode: dns.RcodeNameError, aa: true, ns: []string{soa}},
		{name: "NXDOMAIN: invalid label below the zone", qname: "a\\032b.100.88.id.example.", qtype: dns.TypeTXT, rcode: dns.RcodeNameError, aa: true, ns: []string{soa}},
		{name: "NXDOMAIN: identifiers of a prefix that does not exist", qname: "x._id.7.100.88.id.example.", qtype: dns.TypeTXT, rcode: dns.RcodeNameError, aa: true, ns: []string{soa}},
		{name: "NXDOMAIN: _id of a zone without identifiers", qname: "_id.99.id.example.", qtype: dns.TypeTXT, rcode: dns.RcodeNameError, aa: true, ns: []string{soa99}},
		{name: "NODATA: _id is an empty non-terminal", qname: "_id.100.88.id.example.", qtype: dns.TypeA, aa: true, answer: []string{}, ns: []string{soa}},
		{name: "three-label encoded suffix", qname: long, qtype: dns.TypeTXT, aa: true, answer: []string{long + "\t60\tIN\tTXT\t\"1 name long\""}},
		{name: "NODATA: two trailing labels of an encoded suffix (empty non-terminal)", qname: strings.Join(longLabels[1:], "."), qtype: dns.TypeA, aa: true, answer: []string{}, ns: []string{soa}},
		{name: "NXDOMAIN: one trailing label is read as an LDH suffix (DNS-011)", qname: strings.Join(longLabels[2:], "."), qtype: dns.TypeTXT, rcode: dns.RcodeNameError, aa: true, ns: []string{soa}},
		{name: "NXDOMAIN: labels that cannot be an encoded tail", qname: "a.b._id.100.88.id.example.", qtype: dns.TypeTXT, rcode: dns.RcodeNameError, aa: true, ns: []string{soa}},
		{name: "NODATA: empty non-terminal above a delegation", qname: "4.100.88.id.example.", qtype: dns.TypeA, aa: true, answer: []string{}, ns: []string{soa}},
		{name: "SOA at the apex; serial is the store revision", qname: apex, qtype: dns.TypeSOA, aa: true, answer: []string{soa}, ns: []string{}},
		{name: "ANY at the apex is the SOA only", qname: apex, qtype: dns.TypeANY, aa: true, answer: []string{soa}},
		{name: "NS at the apex with the node's address", qname: apex, qtype: dns.TypeNS, aa: true,
			answer: []string{apex + "\t86400\tIN\tNS\tns1." + apex},
			extra:  []string{"ns1." + apex + "\t86400\tIN\tA\t127.0.0.1"}},
		{name: "A of the NS host", qname: "ns1." + apex, qtype: dns.TypeA, aa: true,
			answer: []string{"ns1." + apex + "\t86400\tIN\tA\t127.0.0.1"}},
		{name: "AAAA of an IPv4-only NS host is NODATA", qname: "ns1." + apex, qtype: dns.TypeAAAA, aa: true, answer: []string{}, ns: []string{soa}},
		{name: "NODATA at the apex", qname: apex, qtype: dns.TypeMX, aa: true, answer: []string{}, ns: []string{soa}},
		{name: "referral: NS in authority, in-bailiwick glue, AA clear", qname: "x._id.1.100.88.id.example.", qtype: dns.TypeTXT,
			answer: []string{},
			ns: []string{
				"1.100.88.id.example.\t7200\tIN\tNS\tns1.1.100.88.id.example.",
				"1.100.88.id.example.\t7200\tIN\tNS\tns2.1.100.88.id.example.",
			},
			extra: []string{
				"ns1.1.100.88.id.example.\t7200\tIN\tA\t127.0.0.12",
				"ns2.1.100.88.id.example.\t7200\tIN\tAAAA\t::1",
			}},
		{name: "referral at the delegated name itself", qname: "1.100.88.id.example.", qtype: dns.TypeA,
			answer: []string{},
			ns: []string{
				"1.100.88.id.example.\t7200\tIN\tNS\tns1.1.100.88.id.example.",
				"1.100.88.id.example.\t7200\tIN\tNS\tns2.1.100.88.id.example.",
			}},
		{name: "DS at a cut is answered by the parent (NODATA)", qname: "1.100.88.id.example.", qtype: dns.TypeDS, aa: true, answer: []string{}, ns: []string{soa}},
		{name: "referral to a non-53 port still has NS and glue", qname: "y._id.2.100.88.id.example.", qtype: dns.TypeTXT,
			ns:    []string{"2.100.88.id.example.\t86400\tIN\tNS\tns1.2.100.88.id.example."},
			extra: []string{"ns1.2.100.88.id.example.\t86400\tIN\tA\t127.0.0.13"}},
		{name: "referral to a named host: NS target is the host, no glue", qname: "5.4.100.88.id.example.", qtype: dns.TypeTXT,
			ns: []string{"5.4.100.88.id.example.\t86400\tIN\tNS\tns.other.example."}, extra: []string{}},
		{name: "delegation without DNS endpoint: its name answers TXT service values", qname: "3.100.88.id.example.", qtype: dns.TypeTXT, aa: true,
			answer: []string{"3.100.88.id.example.\t900\tIN\tTXT\t\"1 IDRES_GRPC 127.0.0.14:7420\""}},
		{name: "below a delegation without DNS endpoint: REFUSED", qname: "x._id.3.100.88.id.example.", qtype: dns.TypeTXT, rcode: dns.RcodeRefused, answer: []string{}},
		{name: "outside the zone: REFUSED", qname: "example.org.", qtype: dns.TypeA, rcode: dns.RcodeRefused, answer: []string{}, ns: []string{}},
		{name: "in the zone but above every held prefix: REFUSED", qname: "88.id.example.", qtype: dns.TypeA, rcode: dns.RcodeRefused},
		{name: "the zone apex is not held here: REFUSED", qname: "id.example.", qtype: dns.TypeSOA, rcode: dns.RcodeRefused},
		{name: "zone transfer: REFUSED", qname: apex, qtype: dns.TypeAXFR, rcode: dns.RcodeRefused},
	}
}

func TestAnswers(t *testing.T) {
	b := startBridge(t)
	for _, network := range []string{"udp", "tcp"} {
		for _, c := range answerCases(t, b) {
			if c.qtype == dns.TypeAXFR && network == "udp" {
				continue
			}
			t.Run(network+"/"+c.name, func(t *testing.T) {
				r := exchange(t, b.addr, network, c.qname, c.qtype, 1232)
				checkReply(t, c, r)
			})
		}
	}
}

func checkReply(t *testing.T, c dnsCase, r *dns.Msg) {
	t.Helper()
	if r.Rcode != c.rcode {
		t.Errorf("rcode %s, want %s\n%v", dns.RcodeToString[r.Rcode], dns.RcodeToString[c.rcode], r)
	}
	if r.Authoritative != c.aa {
		t.Errorf("AA %v, want %v", r.Authoritative, c.aa)
	}
	if r.RecursionAvailable {
		t.Errorf("RA set")
	}
	if r.Truncated {
		t.Errorf("TC set")
	}
	for _, s := range []struct {
		name      string
		got, want []string
	}{{"answer", rrStrings(r.Answer), c.answer}, {"authority", rrStrings(r.Ns), c.ns}, {"additional", rrStrings(r.Extra), c.extra}} {
		if s.want == nil {
			continue
		}
		got, want := slices.Clone(s.got), slices.Clone(s.want)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s section:\n got  %q\n want %q", s.name, got, want)
		}
	}
}
