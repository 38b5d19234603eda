// Package ratelimit is response-rate limiting per source network for the
// front ends that answer over UDP (the DNS bridge, the Handle server),
// where a source address proves nothing and a reflected flood is cheap.
package ratelimit

import (
	"net"
	"sync"
	"time"
)

// RRL is response-rate limiting per source network, after BIND's: a flood
// of UDP questions from one source (often spoofed, to reflect answers at a
// victim) gets at most Rate answers a second. Over the limit, every Slip-th
// answer goes out truncated and empty (DNS TC=1, Handle's truncated
// envelope), so a real client retries over TCP; the rest are dropped.
// Each front end says which transports it limits: the DNS bridge only UDP
// (a TCP client has proved its address).
type RRL struct {
	Rate  float64 // answers per second per source network; burst is Rate too
	Slip  int     // send every Slip-th limited answer truncated; 0 drops all
	Now   func() time.Time
	limit int // most sources tracked; the table never grows past it

	mu      sync.Mutex
	sources map[string]*rrlBucket
}

type rrlBucket struct {
	tokens  float64
	last    time.Time
	limited int
}

// rrlMaxSources bounds the table: a spoofed flood from every address must
// not grow memory without bound.
const rrlMaxSources = 100_000

// NewRRL limits each source network to rate answers a second.
func NewRRL(rate float64, slip int) *RRL {
	return &RRL{Rate: rate, Slip: slip, Now: time.Now, limit: rrlMaxSources, sources: map[string]*rrlBucket{}}
}

// Verdict is what to do with one UDP answer.
type Verdict int

const (
	Send Verdict = iota
	SendTruncated
	Drop
)

// Check spends a token of addr's source network.
func (r *RRL) Check(addr net.Addr) Verdict {
	key := sourceNetwork(addr)
	now := r.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.sources[key]
	if b == nil {
		if len(r.sources) >= r.limit {
			r.sweep(now)
		}
		if len(r.sources) >= r.limit {
			// Still full of active sources: treat the newcomer as limited
			// rather than forget a flooding one.
			return Drop
		}
		b = &rrlBucket{tokens: r.Rate, last: now}
		r.sources[key] = b
	}
	b.tokens = min(r.Rate, b.tokens+now.Sub(b.last).Seconds()*r.Rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return Send
	}
	b.limited++
	if r.Slip > 0 && b.limited%r.Slip == 0 {
		return SendTruncated
	}
	return Drop
}

// sweep forgets sources whose buckets have refilled (idle a second or more).
func (r *RRL) sweep(now time.Time) {
	for k, b := range r.sources {
		if now.Sub(b.last) >= time.Second {
			delete(r.sources, k)
		}
	}
}

// sourceNetwork groups addresses as BIND does: IPv4 by /24, IPv6 by /56,
// so one host cannot dodge the limit by cycling nearby addresses.
func sourceNetwork(addr net.Addr) string {
	var ip net.IP
	switch a := addr.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.TCPAddr:
		ip = a.IP
	default:
		host, _, _ := net.SplitHostPort(addr.String())
		ip = net.ParseIP(host)
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.Mask(net.CIDRMask(24, 32)).String()
	}
	return ip.Mask(net.CIDRMask(56, 128)).String()
}
