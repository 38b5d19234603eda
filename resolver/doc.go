// Package resolver is the contract between the answer path and the front
// ends. Every front end (the gRPC Resolver service, the DNS bridge, the
// HTTP gateway) holds a Resolver and only renders its answers in its own
// protocol; none opens the store or decides visibility, filters,
// tombstones, patterns or TTLs. resolver/answer implements Resolver over a
// node's store (the one answer path); resolver/recursive implements it by
// walking the hierarchy, so a recursive node's front ends walk too. This
// package imports only the API and value helpers, never the store.
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
