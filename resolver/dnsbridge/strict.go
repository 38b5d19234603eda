package dnsbridge

import (
	"encoding/binary"
	"net"
	"time"

	"github.com/miekg/dns"
)

// strictReader makes the server refuse messages whose sections hold fewer
// records than the header counts claim. miekg/dns stops unpacking quietly
// where such a message ends; RFC 1035 makes it malformed. The reader marks
// it by zeroing QDCOUNT, which the server's accept check answers with
// FORMERR (keeping the id), so no malformed message reaches the handler.
type strictReader struct{ dns.Reader }

func strict(r dns.Reader) dns.Reader { return strictReader{r} }

func (r strictReader) ReadTCP(conn net.Conn, timeout time.Duration) ([]byte, error) {
	m, err := r.Reader.ReadTCP(conn, timeout)
	if err == nil {
		markShortSections(m)
	}
	return m, err
}

func (r strictReader) ReadUDP(conn *net.UDPConn, timeout time.Duration) ([]byte, *dns.SessionUDP, error) {
	m, s, err := r.Reader.ReadUDP(conn, timeout)
	if err == nil {
		markShortSections(m)
	}
	return m, s, err
}

// markShortSections zeroes QDCOUNT of a message that unpacks but has fewer
// records than its header counts. Messages that do not unpack at all are
// left to the server, which answers them FORMERR itself.
func markShortSections(m []byte) {
	if len(m) < 12 {
		return
	}
	var msg dns.Msg
	if err := msg.Unpack(m); err != nil {
		return
	}
	counts := [4]int{len(msg.Question), len(msg.Answer), len(msg.Ns), len(msg.Extra)}
	for i, n := range counts {
		if int(binary.BigEndian.Uint16(m[4+2*i:])) != n {
			binary.BigEndian.PutUint16(m[4:], 0)
			return
		}
	}
}
