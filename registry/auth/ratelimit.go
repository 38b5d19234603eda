package auth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RateLimiter is a token bucket per credential: each credential may make
// Burst calls at once and Rate calls per second on average. It runs after
// the Authenticator in the interceptor chain and limits only calls that
// carry a credential; anonymous resolution is the front ends' concern.
type RateLimiter struct {
	// Rate is the sustained calls per second; 0 or less disables limiting.
	Rate float64
	// Burst is the bucket size; less than 1 means 1.
	Burst int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds the limiter's memory: past it, full buckets (idle
// credentials) are dropped, which loses nothing since they would refill.
const maxBuckets = 100000

// Allow takes one token from the credential's bucket if it has one.
func (l *RateLimiter) Allow(id string) bool {
	if l == nil || l.Rate <= 0 {
		return true
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	t := now()
	burst := float64(max(l.Burst, 1))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b := l.buckets[id]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.sweep(t, burst)
		}
		b = &bucket{tokens: burst, last: t}
		l.buckets[id] = b
	}
	if t.After(b.last) {
		b.tokens = min(burst, b.tokens+t.Sub(b.last).Seconds()*l.Rate)
		b.last = t
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *RateLimiter) sweep(t time.Time, burst float64) {
	for id, b := range l.buckets {
		if b.tokens+t.Sub(b.last).Seconds()*l.Rate >= burst {
			delete(l.buckets, id)
		}
	}
}

func (l *RateLimiter) check(ctx context.Context) error {
	c := FromContext(ctx)
	if c == nil || l.Allow(c.ID) {
		return nil
	}
	return status.Error(codes.ResourceExhausted, fmt.Sprintf("rate limit: credential %s may make %g calls per second (burst %d); slow down", c.ID, l.Rate, max(l.Burst, 1)))
}

// Unary is the unary server interceptor; chain it after Authenticator.Unary.
func (l *RateLimiter) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := l.check(ctx); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream is the stream server interceptor; a stream counts as one call.
func (l *RateLimiter) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := l.check(ss.Context()); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}
