package dnsbridge

import (
	"github.com/miekg/dns"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// The bridge's record rendering, for tools that write the same records
// offline (resolver/dnsbridge/zonefile): what they write is then what the
// bridge serves.

// SOA is the SOA record of the zone whose apex is apex.
func SOA(apex string, serial uint64, negTTL uint32) dns.RR { return soa(apex, serial, negTTL) }

// NSSet is the NS records of owner (an apex or a delegation point) for
// DNS endpoints, and their glue.
func NSSet(owner string, endpoints []string, ttl uint32) (ns, glue []dns.RR) {
	return nsSet(owner, endpoints, ttl)
}

// TXTRecords is one TXT record per value.
func TXTRecords(owner string, vals []*idresv1.Value) []dns.RR { return txtRecords(owner, vals, nil) }

// ValueRecords are the TXT, URI and NAPTR records of an identifier's
// public values vals at owner.
func ValueRecords(owner string, vals []*idresv1.Value) []dns.RR {
	out := txtRecords(owner, vals, nil)
	out = append(out, uriRecords(owner, vals, nil)...)
	return append(out, naptrRecords(owner, vals, nil)...)
}

// DelegationTTL is the TTL of a delegation's NS records and glue.
func DelegationTTL(d *idresv1.Delegation) uint32 { return delegationTTL(d) }
