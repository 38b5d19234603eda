package dnsbridge

import (
	"testing"

	"github.com/miekg/dns"
)

// FuzzAnswer feeds raw packets to the handler as the server would after
// unpacking: the answer must never panic, must pack, and must answer the
// same id and question.
func FuzzAnswer(f *testing.F) {
	b := startBridge(f)
	for _, name := range []string{part42, apex, "x._id.1.100.88.id.example.", "nope._id.100.88.id.example.", "example.org.", "_id.100.88.id.example.", "3.100.88.id.example."} {
		for _, qt := range []uint16{dns.TypeTXT, dns.TypeANY, dns.TypeSOA, dns.TypeNS, dns.TypeURI, dns.TypeDS} {
			q := new(dns.Msg)
			q.SetQuestion(name, qt)
			q.SetEdns0(1232, true)
			raw, err := q.Pack()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req := new(dns.Msg)
		if err := req.Unpack(raw); err != nil {
			return
		}
		m := b.h.Answer(req)
		if m.Id != req.Id || !m.Response {
			t.Fatalf("reply id %d response %v to id %d", m.Id, m.Response, req.Id)
		}
		if len(req.Question) == 1 && (len(m.Question) != 1 || m.Question[0] != req.Question[0]) {
			t.Fatalf("question %v, want %v", m.Question, req.Question)
		}
		m.Truncate(UDPSize(req))
		if _, err := m.Pack(); err != nil {
			t.Fatalf("reply does not pack: %v\n%v", err, m)
		}
	})
}
