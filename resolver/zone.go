package resolver

import (
	"context"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// PrefixResolver is a Resolver that answers for a prefix what it answers
// for the prefix's handle 0.NA/<prefix>, the root prefix "" included,
// which has no handle (a suffix cannot be empty). The DNS bridge asks it
// at every prefix's name; the zone's apex facts it needs (serial,
// negative TTL, empty non-terminals) travel in ResolveResponse.
type PrefixResolver interface {
	ResolvePrefix(ctx context.Context, prefix string) (*idresv1.ResolveResponse, error)
}
