package grpcserver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/idres/idres/registry/credential"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// RateLimiter is a token bucket per credential and, for calls without a
// credential, per source network: each may make Burst calls at once and
// Rate calls per second on average. It runs after the Authenticator in
// the interceptor chain.
type RateLimiter struct {
	// Rate is each credential's sustained calls per second; 0 or less
	// disables limiting credentials.
	Rate float64
	// Burst is the bucket size; less than 1 means 1.
	Burst int
	// AnonRate and AnonBurst limit anonymous calls per source network (an
	// IPv4 address, an IPv6 /64, since one host may hold a whole /64);
	// AnonRate 0 or less disables it.
	AnonRate  float64
	AnonBurst int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	creds map[string]*bucket
	anon  map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds each bucket map: past it, full buckets (idle callers)
// are dropped, which loses nothing since they would refill.
const maxBuckets = 100000

// Allow takes one token from the credential's bucket if it has one.
func (l *RateLimiter) Allow(id string) bool {
	if l == nil || l.Rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.creds == nil {
		l.creds = map[string]*bucket{}
	}
	return l.take(l.creds, id, l.Rate, l.Burst)
}

// AllowAnonymous takes one token from the bucket of the network of addr
// (an IP address, with or without a port) if it has one. An address it
// cannot parse shares one bucket with every other such address.
func (l *RateLimiter) AllowAnonymous(addr string) bool {
	if l == nil || l.AnonRate <= 0 {
		return true
	}
	key := SourceNetwork(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.anon == nil {
		l.anon = map[string]*bucket{}
	}
	return l.take(l.anon, key, l.AnonRate, l.AnonBurst)
}

// SourceNetwork is the rate-limiting key of a caller's address: the IPv4
// address, or the /64 of an IPv6 one.
func SourceNetwork(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return "unknown"
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.WithZone("").Prefix(64)
	return p.String()
}

func (l *RateLimiter) take(m map[string]*bucket, key string, rate float64, burstN int) bool {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	t := now()
	burst := float64(max(burstN, 1))
	b := m[key]
	if b == nil {
		if len(m) >= maxBuckets {
			sweep(m, t, rate, burst)
		}
		b = &bucket{tokens: burst, last: t}
		m[key] = b
	}
	if t.After(b.last) {
		b.tokens = min(burst, b.tokens+t.Sub(b.last).Seconds()*rate)
		b.last = t
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func sweep(m map[string]*bucket, t time.Time, rate, burst float64) {
	for key, b := range m {
		if b.tokens+t.Sub(b.last).Seconds()*rate >= burst {
			delete(m, key)
		}
	}
}

func (l *RateLimiter) check(ctx context.Context) error {
	c := credential.FromContext(ctx)
	if c != nil {
		if l.Allow(c.ID) {
			return nil
		}
		return status.Error(codes.ResourceExhausted, fmt.Sprintf("rate limit: credential %s may make %g calls per second (burst %d); slow down", c.ID, l.Rate, max(l.Burst, 1)))
	}
	if l == nil || l.AnonRate <= 0 {
		return nil
	}
	addr := ""
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		addr = p.Addr.String()
	}
	if l.AllowAnonymous(addr) {
		return nil
	}
	return status.Error(codes.ResourceExhausted, fmt.Sprintf("rate limit: anonymous callers from %s may make %g calls per second (burst %d); slow down or use a credential", SourceNetwork(addr), l.AnonRate, max(l.AnonBurst, 1)))
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
