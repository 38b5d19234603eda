package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/idres/idres/cmd/idresd/node"
)

// TestDNSRateLimitOverUDP floods a bridge with --dns-rrl 5 from one source:
// most UDP questions go unanswered, some come back truncated, TCP is not
// limited, and the bridge keeps serving.
func TestDNSRateLimitOverUDP(t *testing.T) {
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", DNSAddr: "127.0.0.1:0",
		DNSZone: "id.example.", DNSRateLimit: 5, DNSSlip: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop(context.Background())
	hold(t, n, "88.100.1", nil)

	q := new(dns.Msg)
	q.SetQuestion("1.100.88.id.example.", dns.TypeSOA)
	udp := &dns.Client{Net: "udp", Timeout: 150 * time.Millisecond}
	answered, truncated, dropped := 0, 0, 0
	for range 40 {
		r, _, err := udp.Exchange(q, n.DNSAddr())
		switch {
		case err != nil:
			dropped++
		case r.Truncated:
			truncated++
		default:
			answered++
		}
	}
	t.Logf("40 UDP questions: %d answered, %d truncated, %d dropped", answered, truncated, dropped)
	if answered == 0 || dropped == 0 || truncated == 0 {
		t.Fatalf("want some answered, some truncated and some dropped; got %d/%d/%d", answered, truncated, dropped)
	}
	tcp := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	for range 10 {
		r, _, err := tcp.Exchange(q, n.DNSAddr())
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("TCP while UDP is limited: %v %v", r, err)
		}
	}
}
