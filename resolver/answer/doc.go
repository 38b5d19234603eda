// Package answer is the one answer path of an authoritative node: given
// an identifier (or a prefix handle 0.NA/<prefix>), the caller in the
// context and the request's type and index filters, Authority finds the
// zone cut by design §4's deepest-match rule (zonecut.go), and answers
// with the outcome, the values the caller may see, their TTL, the zone, a
// referral or a tombstone. An identifier without a record under a held
// prefix is looked up once more, for a tombstone or a pattern
// (unregistered.go).
//
// Every front end reaches it through the resolver.Resolver contract. The
// gRPC service asks for answers whose values stay in their stored
// encoding (wire.go, resolver.EncodedResolver); wire_test.go checks that
// fast path against the decoded one for every caller and filter.
package answer
