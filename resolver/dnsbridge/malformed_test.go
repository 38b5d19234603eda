package dnsbridge

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// rawQuery packs a valid query for name/TXT.
func rawQuery(t testing.TB, name string) []byte {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeTXT)
	raw, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestMalformedUDP sends broken packets raw over UDP. Each gets FORMERR or
// no reply at all (a header too short to answer), and the server still
// answers a good query afterwards.
func TestMalformedUDP(t *testing.T) {
	b := startBridge(t)
	good := rawQuery(t, part42)
	header := func(id uint16, flags uint16, qd, an, ns, ar uint16) []byte {
		h := make([]byte, 12)
		binary.BigEndian.PutUint16(h[0:], id)
		binary.BigEndian.PutUint16(h[2:], flags)
		binary.BigEndian.PutUint16(h[4:], qd)
		binary.BigEndian.PutUint16(h[6:], an)
		binary.BigEndian.PutUint16(h[8:], ns)
		binary.BigEndian.PutUint16(h[10:], ar)
		return h
	}
	loop := append(header(7, 0, 1, 0, 0, 0), 0xc0, 12, 0, 16, 0, 1) // name points at itself
	cases := []struct {
		name    string
		packet  []byte
		formerr bool // else: no reply is fine too
	}{
		{"empty", nil, false},
		{"truncated header", good[:7], false},
		{"header only, QDCOUNT 1", header(1, 0, 1, 0, 0, 0), true},
		{"QDCOUNT 0", header(2, 0, 0, 0, 0, 0), true},
		{"QDCOUNT 2 with one question", append(header(3, 0, 2, 0, 0, 0), good[12:]...), true},
		{"question cut short", good[:len(good)-2], true},
		{"compression loop", loop, true},
		{"pointer past the end", append(header(8, 0, 1, 0, 0, 0), 0xc0, 0xff, 0, 16, 0, 1), true},
		{"label longer than the packet", append(header(9, 0, 1, 0, 0, 0), 60, 'a', 'b'), true},
		{"ANCOUNT 5 in a query", append(header(10, 0, 1, 5, 0, 0), good[12:]...), true},
		{"ARCOUNT claims an OPT that is not there", append(header(11, 0, 1, 0, 0, 1), good[12:]...), true},
		{"a response (QR set) is ignored", append(header(12, 0x8000, 1, 0, 0, 0), good[12:]...), false},
	}
	c := udpConn(t, b.addr)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.Write(tc.packet); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 65535)
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			n, err := c.Read(buf)
			switch {
			case err != nil && tc.formerr:
				t.Fatalf("no reply, want FORMERR: %v", err)
			case err == nil:
				r := new(dns.Msg)
				if uerr := r.Unpack(buf[:n]); uerr != nil {
					// The header may be all that a FORMERR for an
					// unparsable question holds.
					if n < 12 {
						t.Fatalf("reply of %d bytes: %v", n, uerr)
					}
				}
				if rc := int(binary.BigEndian.Uint16(buf[2:4]) & 0xf); rc != dns.RcodeFormatError {
					t.Fatalf("rcode %s, want FORMERR", dns.RcodeToString[rc])
				}
			}
			// The server keeps serving.
			if r := exchange(t, b.addr, "udp", part42, dns.TypeTXT, 1232); r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
				t.Fatalf("good query after %s: %v", tc.name, r)
			}
		})
	}
}

// TestMalformedTCP: a connection that sends half a message holds nothing
// up, and garbage in a whole TCP message gets FORMERR.
func TestMalformedTCP(t *testing.T) {
	b := startBridge(t)
	stalled, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if _, err := stalled.Write([]byte{0, 40, 1, 2, 3}); err != nil { // 5 of 42 bytes
		t.Fatal(err)
	}
	if r := exchange(t, b.addr, "tcp", part42, dns.TypeTXT, 0); r.Rcode != dns.RcodeSuccess {
		t.Fatalf("query beside a stalled connection: %v", r)
	}

	c, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	good := rawQuery(t, part42)
	bad := append([]byte{}, good...)
	bad[5] = 3 // QDCOUNT 3, one question present
	msg := binary.BigEndian.AppendUint16(nil, uint16(len(bad)))
	if _, err := c.Write(append(msg, bad...)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var n uint16
	if err := binary.Read(c, binary.BigEndian, &n); err != nil {
		t.Fatalf("no reply: %v", err)
	}
	reply := make([]byte, n)
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatal(err)
	}
	if rc := int(binary.BigEndian.Uint16(reply[2:4]) & 0xf); rc != dns.RcodeFormatError {
		t.Fatalf("rcode %s, want FORMERR", dns.RcodeToString[rc])
	}
}

// TestOPTOutOfPlace: a query with two OPT records, or with one outside
// the additional section, is FORMERR (RFC 6891 §6.1.1), over UDP and TCP.
func TestOPTOutOfPlace(t *testing.T) {
	b := startBridge(t)
	opt := func() *dns.OPT {
		o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		o.SetUDPSize(1232)
		return o
	}
	for _, tc := range []struct {
		name  string
		build func(m *dns.Msg)
	}{
		{"two OPT records", func(m *dns.Msg) { m.Extra = []dns.RR{opt(), opt()} }},
		{"OPT in the authority section", func(m *dns.Msg) { m.Ns = []dns.RR{opt()} }},
		{"OPT in the answer section", func(m *dns.Msg) { m.Answer = []dns.RR{opt()} }},
	} {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(tc.name+"/"+network, func(t *testing.T) {
				q := new(dns.Msg)
				q.SetQuestion(part42, dns.TypeTXT)
				tc.build(q)
				c := &dns.Client{Net: network, Timeout: 2 * time.Second}
				r, _, err := c.Exchange(q, b.addr)
				if err != nil {
					t.Fatal(err)
				}
				if r.Rcode != dns.RcodeFormatError || r.Id != q.Id {
					t.Fatalf("rcode %s id %d, want FORMERR id %d", dns.RcodeToString[r.Rcode], r.Id, q.Id)
				}
				if len(r.Answer) != 0 {
					t.Fatalf("answer %v to a malformed query", r.Answer)
				}
			})
		}
	}
}
