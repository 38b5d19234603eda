package grpcserver

import (
	"fmt"
	"testing"
	"time"
)

func TestRateLimiterBucket(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tests := []struct {
		name  string
		l     *RateLimiter
		steps []struct {
			advance time.Duration
			want    bool
		}
	}{
		{"disabled", &RateLimiter{Now: clock}, []struct {
			advance time.Duration
			want    bool
		}{{0, true}, {0, true}, {0, true}}},
		{"burst 2 at 1/s", &RateLimiter{Rate: 1, Burst: 2, Now: clock}, []struct {
			advance time.Duration
			want    bool
		}{{0, true}, {0, true}, {0, false}, {500 * time.Millisecond, false}, {500 * time.Millisecond, true}, {0, false}, {10 * time.Second, true}, {0, true}, {0, false}}},
		{"burst below 1 means 1", &RateLimiter{Rate: 10, Burst: 0, Now: clock}, []struct {
			advance time.Duration
			want    bool
		}{{0, true}, {0, false}, {100 * time.Millisecond, true}}},
		{"clock going back refunds nothing", &RateLimiter{Rate: 1, Burst: 1, Now: clock}, []struct {
			advance time.Duration
			want    bool
		}{{0, true}, {-time.Hour, false}, {time.Hour, false}, {time.Second, true}}},
	}
	for _, tc := range tests {
		for i, s := range tc.steps {
			now = now.Add(s.advance)
			if got := tc.l.Allow("c1"); got != s.want {
				t.Errorf("%s: step %d: Allow = %v, want %v", tc.name, i, got, s.want)
			}
		}
	}
	var nilLimiter *RateLimiter
	if !nilLimiter.Allow("x") {
		t.Error("a nil limiter refused a call")
	}
}

// TestRateLimiterForgetsIdleBuckets: past maxBuckets, full buckets are
// dropped and a limited credential's is kept.
func TestRateLimiterForgetsIdleBuckets(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &RateLimiter{Rate: 1, Burst: 1, Now: func() time.Time { return now }}
	l.Allow("busy")
	for i := range maxBuckets {
		l.Allow(fmt.Sprint("idle", i))
	}
	now = now.Add(10 * time.Second) // every bucket refilled...
	l.Allow("busy")                 // ...busy spends its token again
	l.Allow("newcomer")             // over the bound: sweep
	if n := len(l.creds); n > 2 {
		t.Errorf("%d buckets after the sweep, want at most 2", n)
	}
	if l.Allow("busy") {
		t.Error("the sweep forgot a credential that had spent its token")
	}
}

// TestAnonymousRateLimit: anonymous calls are limited per source network,
// an IPv6 /64 being one network, independently of credentials.
func TestAnonymousRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &RateLimiter{AnonRate: 1, AnonBurst: 2, Now: func() time.Time { return now }}
	steps := []struct {
		addr string
		want bool
	}{
		{"192.0.2.1:5000", true},
		{"192.0.2.1:5001", true}, // another port, same host: same bucket
		{"192.0.2.1:5002", false},
		{"192.0.2.2:5000", true},
		{"[2001:db8::1]:53", true},
		{"[2001:db8::ffff]:53", true}, // same /64
		{"[2001:db8::2]:53", false},
		{"[2001:db8:0:1::1]:53", true},  // next /64
		{"[::ffff:192.0.2.1]:1", false}, // IPv4-mapped: the IPv4 host's bucket
	}
	for _, s := range steps {
		if got := l.AllowAnonymous(s.addr); got != s.want {
			t.Errorf("AllowAnonymous(%s) = %v, want %v", s.addr, got, s.want)
		}
	}
	if !l.Allow("cred") {
		t.Error("credentials are limited with Rate 0")
	}
	now = now.Add(time.Second)
	if !l.AllowAnonymous("192.0.2.1:9") {
		t.Error("no token after a second at 1/s")
	}
	off := &RateLimiter{Rate: 1}
	for range 10 {
		if !off.AllowAnonymous("192.0.2.1:1") {
			t.Fatal("anonymous calls limited with AnonRate 0")
		}
	}
}
