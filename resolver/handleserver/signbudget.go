package handleserver

import (
	"sync"
	"time"
)

// signBudget is a token bucket of signatures a second for the whole
// server. A signature costs about a millisecond of a core (RSA 2048), so
// anonymous requests with the certify flag would otherwise buy the
// node's CPU a millisecond at a time, per source limits or not.
type signBudget struct {
	mu     sync.Mutex
	rate   float64 // tokens a second, and the bucket's depth
	tokens float64
	last   time.Time
}

func newSignBudget(rate float64) *signBudget { return &signBudget{rate: rate, tokens: rate} }

// take spends one signature, reporting false when none is left.
func (b *signBudget) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
