package grpcserver

import (
	"context"
	"fmt"
	"sync"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/value"
	"github.com/idres/idres/resolver"
)

// maxRequestIdentifier bounds the identifier field before parsing, so a
// huge request is refused as malformed rather than answered in-band.
const maxRequestIdentifier = 4 * ident.MaxIdentifierLen

// Service is the gRPC Resolver service over any resolver.Resolver.
type Service struct {
	idresv1.UnimplementedResolverServer
	r resolver.Resolver

	// ReadAhead bounds the requests one ResolveStream holds at once; 0
	// means DefaultStreamReadAhead. Workers is how many requests of one
	// stream resolve concurrently; 0 picks from GOMAXPROCS. Stats, when
	// set, counts streamed requests in flight (see stream.go).
	ReadAhead int
	Workers   int
	Stats     *StreamStats
	// Buffer bounds the bytes of requests and answers one ResolveStream
	// holds, BufferTotal those of all of them; 0 means DefaultStreamBuffer,
	// DefaultStreamBufferTotal (streambuf.go). Set them before serving.
	Buffer      int64
	BufferTotal int64

	nodeBufOnce sync.Once
	nodeBuf     *byteBudget
}

// NewService adapts r to gRPC.
func NewService(r resolver.Resolver) *Service { return &Service{r: r} }

// Resolve implements idres.v1.Resolver.
func (s *Service) Resolve(ctx context.Context, req *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error) {
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	var resp *idresv1.ResolveResponse
	var err error
	if w, ok := s.r.(resolver.EncodedResolver); ok {
		resp, err = w.ResolveEncoded(ctx, req)
	} else {
		resp, err = s.r.Resolve(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// checkRequest refuses requests that are malformed as calls (as opposed
// to a malformed identifier, which is an in-band outcome).
func checkRequest(req *idresv1.ResolveRequest) error {
	if len(req.GetIdentifier()) > maxRequestIdentifier {
		return fmt.Errorf("%w: identifier is %d bytes, more than %d", fault.ErrInvalidArgument, len(req.GetIdentifier()), maxRequestIdentifier)
	}
	if len(req.GetTypes()) > 100 || len(req.GetIndexes()) > 1000 {
		return fmt.Errorf("%w: too many type or index filters (at most 100 types, 1000 indexes)", fault.ErrInvalidArgument)
	}
	for _, typ := range req.GetTypes() {
		if len(typ) > value.MaxTypeLen {
			return fmt.Errorf("%w: type filter of %d bytes; types are at most %d", fault.ErrInvalidArgument, len(typ), value.MaxTypeLen)
		}
	}
	for _, i := range req.GetIndexes() {
		if i == 0 {
			return fmt.Errorf("%w: index filter 0: indexes start at 1", fault.ErrInvalidArgument)
		}
	}
	if _, ok := idresv1.FilterMode_name[int32(req.GetFilter())]; !ok {
		return fmt.Errorf("%w: filter mode %d is unknown", fault.ErrInvalidArgument, req.GetFilter())
	}
	return nil
}
