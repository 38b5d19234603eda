package recursive

import (
	"context"
	"fmt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/resolver/cache"
)

// AdminService is the gRPC Admin service. Cache is the recursive node's
// cache; nil on a node that does not recurse, where a flush removes
// nothing.
type AdminService struct {
	idresv1.UnimplementedAdminServer
	Cache *cache.Cache
}

// FlushCache drops cached entries at and under a prefix. It needs an
// admin credential covering that prefix (REC-007): the node
// administrator for a full flush.
func (s *AdminService) FlushCache(ctx context.Context, req *idresv1.FlushCacheRequest) (*idresv1.FlushCacheResponse, error) {
	if _, err := ident.ParsePrefix(req.GetPrefix()); err != nil {
		return nil, err
	}
	prefix := ident.Fold(req.GetPrefix())
	if _, err := credential.Authorize(ctx, prefix, credential.RoleAdmin); err != nil {
		return nil, fmt.Errorf("flushing the cache under %q needs an admin credential covering it: %w", req.GetPrefix(), err)
	}
	n := 0
	if s.Cache != nil {
		n = s.Cache.Flush(prefix)
	}
	return &idresv1.FlushCacheResponse{EntriesRemoved: uint64(n)}, nil
}
