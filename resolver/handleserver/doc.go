// Package handleserver is the Handle-protocol (RFC 3652) server front end
// of a node: stock Handle and IDIS clients (CNRI's hdllib, hdl-qresolver)
// resolve idres identifiers over TCP and UDP, and walk the idres hierarchy
// with the stock algorithm, following HS_SITE values from 0.NA/<prefix>.
//
// Like every front end it asks the node's resolver.Resolver (the answer
// path, or a recursive node's walker) and only renders the answer: it
// never opens the store or decides visibility, filters, tombstones or
// TTLs. The Handle protocol carries no idres credential, so every request
// is asked anonymously and sees public values only, as over gRPC without
// a token. It serves reads only (resolution and site information); writes
// go through idres's gRPC API.
//
// setup.go holds the configuration and the transports (TCP and UDP on one
// port, their timeouts and limits); handler.go turns one request's bytes
// into the response's bytes (Answer, pure and fuzzed) and holds the
// mapping of outcomes to response codes; render.go turns idres values and
// delegations into Handle values.
package handleserver
