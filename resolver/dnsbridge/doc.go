// Package dnsbridge serves a node's part of the identifier space as an
// ordinary DNS zone (design §7), so that dig and stock recursive resolvers
// resolve identifiers with no idres software on the client.
//
// It owns the DNS view of the store and nothing else: names come from
// resolver/dnsname, zone cuts from answer.ZoneCut (the same rule as the
// gRPC resolver), data from registry/store. It never writes the store.
//
// The files follow CoreDNS's plugin layout: setup.go builds the handler
// and the UDP+TCP server from a Config, handler.go is the miekg/dns
// ServeDNS (transport, EDNS0, truncation), lookup.go is the algorithm from
// a question to an answer, records.go builds the resource records, and
// zonefile.go writes the same records as an RFC 1035 zone file.
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
package dnsbridge
