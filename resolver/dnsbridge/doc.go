// Package dnsbridge serves a node's part of the identifier space as an
// ordinary DNS zone (design §7), so that dig and stock recursive resolvers
// resolve identifiers with no idres software on the client.
//
// It owns the DNS view of the identifier space and nothing else: names
// come from resolver/dnsname, and every answer from the node's
// resolver.Resolver, the one the gRPC service and the HTTP gateway answer
// through (answer.Authority on an authoritative node, the recursive
// walker on a recursive one). An identifier's name is one Resolve of that
// identifier, asked anonymously; any other name is what the resolver says
// of its prefix's handle (resolver.PrefixResolver when the resolver is
// one). Visibility, tombstones, patterns, zone cuts and TTLs are decided
// there, never here; what DNS needs beyond an outcome (the SOA serial,
// the negative TTL, empty non-terminals) travels in ResolveResponse. The
// bridge imports no store.
//
// The files follow CoreDNS's plugin layout: setup.go builds the handler
// and the UDP+TCP server from a Config, handler.go is the miekg/dns
// ServeDNS (transport, EDNS0, truncation), lookup.go is the algorithm from
// a question to an answer, records.go builds the resource records, and
// render.go exports them to resolver/dnsbridge/zonefile, which writes the
// same records offline from a store as an RFC 1035 zone file.
//
// # Names the bridge derives
//
// The NS host names of a zone whose apex is A are ns1.A, ns2.A, … one per
// DNS endpoint of the node (ns1.A when it has none); their A/AAAA records
// are the endpoints' IP addresses. A delegated child C with DNS endpoints
// E1..En is answered with NS records ns1.C … nsn.C and in-bailiwick glue;
// an endpoint given as a host name rather than an address is used as the
// NS target itself, without glue. The SOA of A is "ns1.A hostmaster.A
// <store revision> 3600 600 1209600 <negative TTL>" with the negative TTL
// as its own TTL, so the serial moves with every committed write and
// resolvers cache denials for the prefix's negative TTL (RFC 2308).
//
// # What a question costs
//
// A UDP question is first put to the response-rate limit (--dns-rrl), so
// a limited one costs a table lookup and no resolution. The answer is
// then built for what the transport carries (the client's EDNS0 size
// capped at 1232, 512 without EDNS0, 65535 over TCP): each record is
// sized before it is built and building stops at the first that does not
// fit, with TC set, so the work of a question is one resolution plus at
// most one message's worth of records, whatever the identifier holds.
// An RRset beyond 65535 bytes is answered over TCP with the records that
// fit and TC (DNS-005): DNS has no larger transport; gRPC and HTTP serve
// the identifier whole.
//
// On a recursive node the bridge answers what the walk returns, with RA
// set and AA clear: records with their remaining TTLs, denials with the
// answering zone's SOA whose own TTL is what remains of the denial's.
package dnsbridge
