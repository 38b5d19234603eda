package ratelimit

import (
	"net"
	"testing"
	"time"
)

func TestRRLLimitsPerSourceNetwork(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewRRL(5, 2)
	r.Now = func() time.Time { return now }
	flood := &net.UDPAddr{IP: net.ParseIP("192.0.2.7"), Port: 5353}
	neighbour := &net.UDPAddr{IP: net.ParseIP("192.0.2.200"), Port: 53} // same /24
	other := &net.UDPAddr{IP: net.ParseIP("198.51.100.1"), Port: 53}

	var got []Verdict
	for range 9 {
		got = append(got, r.Check(flood))
	}
	want := []Verdict{Send, Send, Send, Send, Send, Drop, SendTruncated, Drop, SendTruncated}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("verdicts %v, want %v", got, want)
		}
	}
	if v := r.Check(neighbour); v == Send {
		t.Fatal("an address in the same /24 escaped the limit")
	}
	if v := r.Check(other); v != Send {
		t.Fatalf("another network was limited: %v", v)
	}
	now = now.Add(time.Second) // the bucket refills
	if v := r.Check(flood); v != Send {
		t.Fatalf("after a second: %v, want Send", v)
	}
}

func TestRRLTableIsBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewRRL(1, 0)
	r.Now = func() time.Time { return now }
	r.limit = 10
	for i := range 20 {
		r.Check(&net.UDPAddr{IP: net.IPv4(10, 0, byte(i), 1)})
	}
	if len(r.sources) > 10 {
		t.Fatalf("table grew to %d entries, bound is 10", len(r.sources))
	}
	now = now.Add(2 * time.Second) // idle sources are swept to make room
	if v := r.Check(&net.UDPAddr{IP: net.IPv4(10, 9, 9, 9)}); v != Send {
		t.Fatalf("new source after sweep: %v, want Send", v)
	}
}
