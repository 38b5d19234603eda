package node

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// resolveLogSample logs one Resolve call in this many: a factory resolves
// millions of identifiers, and a line each would cost more than the lookup.
// Registry changes are logged one by one by the registry itself.
const resolveLogSample = 1000

// sampledResolveLog logs every resolveLogSample-th Resolve call that
// succeeds; grpcserver.FailureLog logs every one that fails.
func sampledResolveLog(log *slog.Logger) grpc.UnaryServerInterceptor {
	var count atomic.Uint64
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if info.FullMethod != idresv1.Resolver_Resolve_FullMethodName {
			return handler(ctx, req)
		}
		start := time.Now()
		resp, err := handler(ctx, req)
		if n := count.Add(1); err != nil || n%resolveLogSample != 1 {
			return resp, err
		}
		log.InfoContext(ctx, "resolve", "identifier", req.(*idresv1.ResolveRequest).GetIdentifier(), "duration", time.Since(start), "sample", resolveLogSample,
			"outcome", resp.(*idresv1.ResolveResponse).GetOutcome().String())
		return resp, err
	}
}
