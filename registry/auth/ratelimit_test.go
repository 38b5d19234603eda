package auth

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
	if n := len(l.buckets); n > 2 {
		t.Errorf("%d buckets after the sweep, want at most 2", n)
	}
	if l.Allow("busy") {
		t.Error("the sweep forgot a credential that had spent its token")
	}
}
