package dnsbridge

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

// BenchmarkAnswer is the handler alone: parse the name, one bbolt read
// transaction, build and pack the answer.
func BenchmarkAnswer(b *testing.B) {
	br := startBridge(b)
	for _, c := range []struct {
		name  string
		qname string
	}{{"TXT", part42}, {"NXDOMAIN", "nope._id.100.88.id.example."}, {"referral", "x._id.1.100.88.id.example."}} {
		b.Run(c.name, func(b *testing.B) {
			q := new(dns.Msg)
			q.SetQuestion(c.qname, dns.TypeTXT)
			q.SetEdns0(1232, false)
			b.ReportAllocs()
			for b.Loop() {
				m := br.h.Answer(q)
				m.Truncate(UDPSize(q))
				if _, err := m.Pack(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUDP is a real exchange over loopback UDP, clients in parallel.
func BenchmarkUDP(b *testing.B) {
	br := startBridge(b)
	q := new(dns.Msg)
	q.SetQuestion(part42, dns.TypeTXT)
	q.SetEdns0(1232, false)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
		conn, err := c.Dial(br.addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		for pb.Next() {
			r, _, err := c.ExchangeWithConn(q.Copy(), conn)
			if err != nil || r.Rcode != dns.RcodeSuccess {
				b.Errorf("exchange: %v %v", err, r)
				return
			}
		}
	})
}
