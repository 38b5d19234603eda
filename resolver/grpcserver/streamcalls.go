package grpcserver

import (
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// StreamCalls bounds the streaming calls open at once, across the node
// and per source network (SourceNetwork), whoever calls: an open stream
// holds goroutines and buffers however idle it is, and the per-connection
// limit (HTTP/2 MAX_CONCURRENT_STREAMS) alone multiplies with the
// connections one source may open. A call beyond a bound is refused
// ResourceExhausted when it opens; unary calls are not counted.
type StreamCalls struct {
	// Total and PerSource are the bounds; 0 or less is none.
	Total, PerSource int

	mu       sync.Mutex
	open     int
	bySource map[string]int
}

// Stream is the stream server interceptor.
func (l *StreamCalls) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		addr := ""
		if p, ok := peer.FromContext(ss.Context()); ok && p.Addr != nil {
			addr = p.Addr.String()
		}
		src := SourceNetwork(addr)
		if err := l.enter(src); err != nil {
			return err
		}
		defer l.leave(src)
		return handler(srv, ss)
	}
}

func (l *StreamCalls) enter(src string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Total > 0 && l.open >= l.Total {
		return status.Error(codes.ResourceExhausted, fmt.Sprintf("the node has %d streaming calls open, its limit; retry later", l.open))
	}
	if l.PerSource > 0 && l.bySource[src] >= l.PerSource {
		return status.Error(codes.ResourceExhausted, fmt.Sprintf("%s has %d streaming calls open, the limit per source network; end one first", src, l.bySource[src]))
	}
	if l.bySource == nil {
		l.bySource = map[string]int{}
	}
	l.open++
	l.bySource[src]++
	return nil
}

func (l *StreamCalls) leave(src string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.bySource[src]--; l.bySource[src] <= 0 {
		delete(l.bySource, src)
	}
}
