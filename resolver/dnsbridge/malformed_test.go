package dnsbridge

import (
	"encoding/binary"
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
