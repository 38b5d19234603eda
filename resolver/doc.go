// Package resolver answers identifier queries. Authority answers from the
// local store, following design §4's deepest-match rule (a delegation below
// a held zone is a zone cut). Service is the thin gRPC adapter. Front ends
// (gRPC, DNS, HTTP) all go through the Resolver interface, so every one of
// them gives the same answer. An identifier without a record under a held
// prefix is looked up once more, for a tombstone or a pattern, by
// LookupUnregistered (unregistered.go), which the DNS bridge calls too.
package resolver

import (
	"context"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// Resolver answers one query. Outcomes are in-band; an error means the node
// itself failed (store unreadable, call cancelled).
type Resolver interface {
	Resolve(ctx context.Context, req *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error)
}
