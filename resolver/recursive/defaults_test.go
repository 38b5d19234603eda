package recursive

import (
	"testing"
	"time"
)

// TestDefaultWalkBounds pins the defaults a node gets without flags: a
// walk ends within 10 s and 32 upstream calls (REC-013), a failure is
// kept between 1 s and 5 min (RFC 9520), cached TTLs are capped at a day
// and denials at an hour (REC-015), and a dial policy is in force
// (REC-012).
func TestDefaultWalkBounds(t *testing.T) {
	w, err := New(Config{Roots: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	c := w.Config()
	if c.WalkTimeout <= 0 || c.WalkTimeout > 10*time.Second {
		t.Errorf("walk timeout %s, want at most 10s", c.WalkTimeout)
	}
	if c.MaxUpstreamQueries < MaxReferrals || c.MaxUpstreamQueries > 32 {
		t.Errorf("upstream calls per walk %d, want %d to 32", c.MaxUpstreamQueries, MaxReferrals)
	}
	if c.FailureTTL < time.Second || c.FailureTTL > 5*time.Minute {
		t.Errorf("failure TTL %s, want 1s to 5m", c.FailureTTL)
	}
	if c.MaxTTL != 86400 || c.MaxNegativeTTL != 3600 {
		t.Errorf("TTL caps %d and %d, want 86400 and 3600", c.MaxTTL, c.MaxNegativeTTL)
	}
	if c.Dial == nil || len(c.Dial.Deny) == 0 {
		t.Errorf("no dial policy by default: %+v", c.Dial)
	}
}
