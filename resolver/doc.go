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

// BatchResolver is a Resolver that answers several requests together more
// cheaply than one at a time. ResolveStream uses it when its Resolver has
// it, one call per received message.
type BatchResolver interface {
	Resolver
	// ResolveBatch answers reqs in order. An error means the node failed
	// for the whole batch.
	ResolveBatch(ctx context.Context, reqs []*idresv1.ResolveRequest) ([]*idresv1.ResolveResponse, error)
}

// EncodedResolver is a Resolver that can answer with the values it may
// show left in their stored encoding, as unknown fields under the number
// of ResolveResponse.values: proto writes them verbatim, so the bytes on
// the wire are those of the decoded answer. Only the gRPC service asks
// for such answers, whose GetValues is empty in process. The answer
// path's differential test pins that both forms say the same.
type EncodedResolver interface {
	ResolveEncoded(ctx context.Context, req *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error)
	ResolveBatchEncoded(ctx context.Context, reqs []*idresv1.ResolveRequest) ([]*idresv1.ResolveResponse, error)
}

// EncodedSize is the size of the values an encoded answer carries.
func EncodedSize(r *idresv1.ResolveResponse) int { return len(r.ProtoReflect().GetUnknown()) }
