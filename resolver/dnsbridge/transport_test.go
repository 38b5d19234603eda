package dnsbridge

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

const bigName = "big._id.100.88.id.example."

func TestTruncation(t *testing.T) {
	b := startBridge(t)
	want := []byte("1 doc " + bigText)
	cases := []struct {
		name    string
		network string
		edns    uint16
		tc      bool
		maxLen  int
	}{
		{"UDP without EDNS0: 512 bytes, TC", "udp", 0, true, 512},
		{"UDP with a small EDNS0 size: TC", "udp", 1232, true, 1232},
		{"UDP with a large EDNS0 size is capped at 1232: TC", "udp", 4096, true, 1232},
		{"TCP: the whole answer", "tcp", 0, false, 65535},
		{"TCP with EDNS0: the whole answer", "tcp", 1232, false, 65535},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := exchange(t, b.addr, c.network, bigName, dns.TypeTXT, c.edns)
			if r.Truncated != c.tc {
				t.Fatalf("TC %v, want %v", r.Truncated, c.tc)
			}
			raw, err := r.Pack()
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) > c.maxLen {
				t.Errorf("reply is %d bytes, more than %d", len(raw), c.maxLen)
			}
			if c.tc {
				return
			}
			if len(r.Answer) != 1 {
				t.Fatalf("want one TXT record, got %v", r.Answer)
			}
			txt := r.Answer[0].(*dns.TXT)
			var got []byte
			for i, s := range txt.Txt {
				if len(s) > 255 {
					t.Errorf("string %d is %d bytes", i, len(s))
				}
				if i < len(txt.Txt)-1 && len(s) != 255 {
					t.Errorf("string %d is %d bytes, want 255 (cut at 255)", i, len(s))
				}
				got = append(got, s...)
			}
			if string(got) != string(want) {
				t.Errorf("TXT data differs: got %d bytes, want %d", len(got), len(want))
			}
		})
	}
}

func TestEDNS(t *testing.T) {
	b := startBridge(t)
	t.Run("OPT in reply advertises 1232", func(t *testing.T) {
		r := exchange(t, b.addr, "udp", part42, dns.TypeTXT, 4096)
		opt := r.IsEdns0()
		if opt == nil || opt.UDPSize() != AdvertisedUDPSize {
			t.Fatalf("OPT %v, want udp size %d", opt, AdvertisedUDPSize)
		}
	})
	t.Run("no OPT in reply without OPT in query", func(t *testing.T) {
		if r := exchange(t, b.addr, "udp", part42, dns.TypeTXT, 0); r.IsEdns0() != nil {
			t.Fatalf("unexpected OPT %v", r.IsEdns0())
		}
	})
	t.Run("EDNS version 1 gets BADVERS", func(t *testing.T) {
		q := new(dns.Msg)
		q.SetQuestion(part42, dns.TypeTXT)
		q.SetEdns0(1232, false)
		q.IsEdns0().SetVersion(1)
		r, _, err := (&dns.Client{Net: "udp", Timeout: 5 * time.Second}).Exchange(q, b.addr)
		if err != nil {
			t.Fatal(err)
		}
		if r.Rcode != dns.RcodeBadVers {
			t.Fatalf("rcode %s, want BADVERS", dns.RcodeToString[r.Rcode])
		}
	})
}

func TestRcodes(t *testing.T) {
	b := startBridge(t)
	q := func(mod func(*dns.Msg)) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(part42, dns.TypeTXT)
		mod(m)
		return m
	}
	cases := []struct {
		name  string
		msg   *dns.Msg
		rcode int
	}{
		{"QDCOUNT 0", q(func(m *dns.Msg) { m.Question = nil }), dns.RcodeFormatError},
		{"QDCOUNT 2", q(func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) }), dns.RcodeFormatError},
		{"NOTIFY", q(func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }), dns.RcodeNotImplemented},
		{"UPDATE", q(func(m *dns.Msg) { m.Opcode = dns.OpcodeUpdate }), dns.RcodeNotImplemented},
		{"class CH", q(func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }), dns.RcodeRefused},
		{"qtype OPT", q(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeOPT }), dns.RcodeFormatError},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, c := range cases {
			t.Run(network+"/"+c.name, func(t *testing.T) {
				r, _, err := (&dns.Client{Net: network, Timeout: 5 * time.Second}).Exchange(c.msg, b.addr)
				if err != nil {
					t.Fatal(err)
				}
				if r.Rcode != c.rcode {
					t.Fatalf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[c.rcode])
				}
			})
		}
	}
}

// TestSerialFollowsWrites: every committed write moves the SOA serial, and
// a new identifier is answered at once.
func TestSerialFollowsWrites(t *testing.T) {
	b := startBridge(t)
	serial := func() uint32 {
		r := exchange(t, b.addr, "udp", apex, dns.TypeSOA, 1232)
		if len(r.Answer) != 1 {
			t.Fatalf("SOA answer %v", r.Answer)
		}
		return r.Answer[0].(*dns.SOA).Serial
	}
	before := serial()
	if r := exchange(t, b.addr, "udp", "fresh._id.100.88.id.example.", dns.TypeTXT, 1232); r.Rcode != dns.RcodeNameError {
		t.Fatalf("before the write: %s", dns.RcodeToString[r.Rcode])
	}
	err := b.store.Update(func(tx *store.Tx) error {
		return tx.CreateIdentifier(ident.MustParse("88.100/fresh"), &idresv1.Identifier{Values: []*idresv1.Value{val(1, "k", "v", 60, true)}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := serial(); after <= before {
		t.Fatalf("serial %d after a write, was %d", after, before)
	}
	if r := exchange(t, b.addr, "udp", "fresh._id.100.88.id.example.", dns.TypeTXT, 1232); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("after the write: %v", r)
	}
}

// TestNon53PortWarnsOnce: the referral is still given, and the node logs
// once per endpoint that stock resolvers cannot follow it.
func TestNon53PortWarnsOnce(t *testing.T) {
	b := startBridge(t)
	for i := 0; i < 3; i++ {
		r := exchange(t, b.addr, "udp", "y._id.2.100.88.id.example.", dns.TypeTXT, 1232)
		if len(r.Ns) != 1 {
			t.Fatalf("want a referral, got %v", r)
		}
	}
	if n := strings.Count(b.logText(), "not on port 53"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, b.logText())
	}
}

// TestNegativeTTLDefault: a prefix without its own negative TTL uses 3600
// as SOA minimum and TTL.
func TestNegativeTTLDefault(t *testing.T) {
	b := startBridge(t)
	err := b.store.Update(func(tx *store.Tx) error {
		p, err := tx.Prefix("99")
		if err != nil {
			return err
		}
		p.NegativeTtl = proto.Uint32(42)
		return tx.PutPrefix(p)
	})
	if err != nil {
		t.Fatal(err)
	}
	r := exchange(t, b.addr, "udp", "x._id.99.id.example.", dns.TypeTXT, 1232)
	if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 {
		t.Fatalf("%v", r)
	}
	if soa := r.Ns[0].(*dns.SOA); soa.Minttl != 42 || soa.Hdr.Ttl != 42 {
		t.Fatalf("SOA %v, want minimum and TTL 42", soa)
	}
}
