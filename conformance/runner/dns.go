package runner

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
	"gopkg.in/yaml.v3"
)

// dnsQuery is a DNS step's request.
type dnsQuery struct {
	Name    string
	Type    uint16
	TCP     bool
	Bufsize uint16 // EDNS0 UDP size; 0 sends no OPT record
	DO      bool
	RD      bool
	Class   uint16
	// Walk follows referrals (NS in authority, A/AAAA glue) from the
	// step's node down to the answer, as a stub-zone resolver would. Glue
	// has no port (DNS-009), so every bridge on the way must listen on the
	// port of the first one, each on its own address (DNS-017).
	Walk bool
	// Raw, when set, is sent as the whole UDP datagram instead of a
	// question (malformed-query cases); the answer, if any within a
	// second, is parsed only for its header.
	Raw []byte
}

// maxWalk bounds the referrals a walk follows (a prefix has at most 16
// segments, REC-003).
const maxWalk = 16

func parseDNSQuery(t any) (dnsQuery, error) {
	m, _ := t.(map[string]any)
	q := dnsQuery{}
	if raw, ok := m["raw"].(string); ok {
		b, err := hex.DecodeString(strings.ReplaceAll(raw, " ", ""))
		if err != nil || len(b) == 0 {
			return q, fmt.Errorf("dns: raw must be hex bytes")
		}
		q.Raw = b
		return q, nil
	}
	q.Name, _ = m["name"].(string)
	if q.Name == "" {
		return q, fmt.Errorf("dns: name (or raw) is required")
	}
	q.Name = dns.Fqdn(q.Name)
	typ, _ := m["type"].(string)
	if typ == "" {
		typ = "TXT"
	}
	t16, ok := dns.StringToType[strings.ToUpper(typ)]
	if !ok {
		return q, fmt.Errorf("dns: unknown type %q", typ)
	}
	q.Type = t16
	q.Class = dns.ClassINET
	if cl, _ := m["class"].(string); cl != "" {
		c, ok := dns.StringToClass[strings.ToUpper(cl)]
		if !ok {
			return q, fmt.Errorf("dns: unknown class %q", cl)
		}
		q.Class = c
	}
	q.TCP, _ = m["tcp"].(bool)
	q.DO, _ = m["do"].(bool)
	q.RD, _ = m["rd"].(bool)
	q.Walk, _ = m["walk"].(bool)
	if b, ok := m["bufsize"].(int); ok {
		if b < 512 || b > 65535 {
			return q, fmt.Errorf("dns: bufsize %d out of range 512..65535", b)
		}
		q.Bufsize = uint16(b)
	}
	return q, nil
}

func (r *run) dnsStep(ctx context.Context, s *Step, req any, v *vars) (any, []string, error) {
	q, err := parseDNSQuery(req)
	if err != nil {
		return nil, nil, err
	}
	if q.Raw != nil {
		got, err := rawExchange(ctx, r.t.Nodes[s.Node].DNS, q.Raw)
		if err != nil {
			return nil, nil, err
		}
		want, err := v.expand(s.Expect)
		if err != nil {
			return nil, nil, err
		}
		wm, _ := want.(map[string]any)
		return got, match("", wm, got), nil
	}
	msg := new(dns.Msg)
	msg.SetQuestion(q.Name, q.Type)
	msg.Question[0].Qclass = q.Class
	msg.RecursionDesired = q.RD
	if q.Bufsize > 0 || q.DO {
		size := q.Bufsize
		if size == 0 {
			size = 1232
		}
		msg.SetEdns0(size, q.DO)
	}
	c := &dns.Client{Net: "udp"}
	if q.TCP {
		c.Net = "tcp"
	}
	server := r.t.Nodes[s.Node].DNS
	var path []any
	var resp *dns.Msg
	for {
		path = append(path, server)
		resp, _, err = c.ExchangeContext(ctx, msg, server)
		if err != nil {
			return nil, nil, fmt.Errorf("dns %s %s at %s: %w", q.Name, dns.TypeToString[q.Type], server, err)
		}
		if !q.Walk {
			break
		}
		next, ok := referralTarget(resp, server)
		if !ok {
			break
		}
		if len(path) > maxWalk {
			return nil, nil, fmt.Errorf("dns walk for %s: more than %d referrals: %v", q.Name, maxWalk, path)
		}
		server = next
	}
	got := dnsTree(resp)
	if q.Walk {
		// path: the servers asked, first to last.
		got["path"] = path
	}
	want, err := v.expand(s.Expect)
	if err != nil {
		return nil, nil, err
	}
	wm, _ := want.(map[string]any)
	return got, match("", wm, got), nil
}

// rawExchange sends one raw UDP datagram and waits a second for an
// answer: {answered: false} when none comes, else {answered: true, rcode}
// from the answer's header (which is all a malformed query can expect).
func rawExchange(ctx context.Context, addr string, raw []byte) (map[string]any, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("dns raw to %s: %w", addr, err)
	}
	defer conn.Close()
	if _, err := conn.Write(raw); err != nil {
		return nil, fmt.Errorf("dns raw to %s: %w", addr, err)
	}
	conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 65535)
	n, err := conn.Read(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return map[string]any{"answered": false}, nil
		}
		return nil, fmt.Errorf("dns raw from %s: %w", addr, err)
	}
	if n < 12 {
		return map[string]any{"answered": true, "rcode": "short answer"}, nil
	}
	return map[string]any{"answered": true, "rcode": dns.RcodeToString[int(buf[3]&0x0f)]}, nil
}

// referralTarget returns the next server of a referral answer (NOERROR,
// AA clear, no answer, NS in authority with glue): the first NS target's
// glue address with the port of the server that referred.
func referralTarget(m *dns.Msg, from string) (string, bool) {
	if m.Rcode != dns.RcodeSuccess || m.Authoritative || len(m.Answer) > 0 {
		return "", false
	}
	_, port, err := net.SplitHostPort(from)
	if err != nil {
		return "", false
	}
	for _, rr := range m.Ns {
		ns, ok := rr.(*dns.NS)
		if !ok {
			continue
		}
		for _, g := range m.Extra {
			if !strings.EqualFold(g.Header().Name, ns.Ns) {
				continue
			}
			switch a := g.(type) {
			case *dns.A:
				return net.JoinHostPort(a.A.String(), port), true
			case *dns.AAAA:
				return net.JoinHostPort(a.AAAA.String(), port), true
			}
		}
	}
	return "", false
}

// dnsTree renders a DNS response for matching: rcode by name, header
// flags, and each section as a list of {name, type, class, ttl, data}
// (data: the record's presentation form after the header; TXT records
// also have txt, the list of character-strings). The OPT record is
// shown as edns {bufsize, do} rather than in additional.
func dnsTree(m *dns.Msg) map[string]any {
	t := map[string]any{
		"rcode":      dns.RcodeToString[m.Rcode],
		"aa":         m.Authoritative,
		"tc":         m.Truncated,
		"ra":         m.RecursionAvailable,
		"answer":     rrList(m.Answer),
		"authority":  rrList(m.Ns),
		"additional": rrList(m.Extra),
	}
	if opt := m.IsEdns0(); opt != nil {
		t["edns"] = map[string]any{"bufsize": int(opt.UDPSize()), "do": opt.Do()}
		t["rcode"] = dns.RcodeToString[m.Rcode|int(opt.ExtendedRcode())]
	}
	return t
}

func rrList(rrs []dns.RR) []any {
	out := []any{}
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		h := rr.Header()
		e := map[string]any{
			"name":  strings.ToLower(h.Name),
			"type":  dns.TypeToString[h.Rrtype],
			"class": dns.ClassToString[h.Class],
			"ttl":   int(h.Ttl),
			"data":  strings.TrimPrefix(rr.String(), h.String()),
		}
		if txt, ok := rr.(*dns.TXT); ok {
			l := make([]any, len(txt.Txt))
			for i, s := range txt.Txt {
				l[i] = s
			}
			e["txt"] = l
			e["text"] = strings.Join(txt.Txt, "")
		}
		out = append(out, e)
	}
	return out
}

// checkDNS validates a DNS step at load time.
func (l *loader) checkDNS(s *Step, req, expect *yaml.Node) {
	l.allowKeys(req, "dns", "name", "type", "class", "tcp", "bufsize", "do", "rd", "walk", "raw")
	if _, err := parseDNSQuery(s.Request); err != nil {
		l.fail(req, "%v", err)
	}
	if expect == nil {
		return
	}
	l.allowKeys(expect, "dns expect", "rcode", "aa", "tc", "ra", "answer", "authority", "additional", "edns", "path", "answered")
	if rc, ok := s.Expect["rcode"].(string); ok {
		if _, known := dns.StringToRcode[rc]; !known {
			l.fail(keysOf(expect)["rcode"], "unknown rcode %q", rc)
		}
	}
}
