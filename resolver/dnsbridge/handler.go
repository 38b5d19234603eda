package dnsbridge

import (
	"context"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/idres/idres/resolver"
	"github.com/idres/idres/resolver/ratelimit"
)

// EDNS0 sizes. The bridge advertises 1232 bytes (DNS flag day 2020: no
// fragmentation on common paths) and sends a UDP answer of at most the
// smaller of that and the client's advertised size; 512 without EDNS0.
const (
	AdvertisedUDPSize = 1232
	minUDPSize        = dns.MinMsgSize
	maxTCPSize        = dns.MaxMsgSize
)

// Handler answers DNS queries from a node's Resolver. It is safe for
// concurrent use.
type Handler struct {
	zone      string // canonical zone, e.g. "id.example."
	res       resolver.Resolver
	prefixes  resolver.PrefixResolver // res, when it is one; else nil
	recursive bool
	log       *slog.Logger
	warned    sync.Map // delegation endpoint keys already warned about

	observe func(transport string, rcode int, took time.Duration)
	rrl     *ratelimit.RRL // nil: no rate limit

	// rendered counts the bytes of record data built for answers (TXT
	// strings, URI targets, NAPTR regexps, as presented): the work a
	// question costs beyond its resolution, which tests bound.
	rendered atomic.Int64
}

// ServeDNS implements dns.Handler. The response-rate limit is decided
// first, so a limited query costs a table lookup and no resolution; the
// answer is then built for the transport's size (UDPSize, or 65535 over
// TCP), so a question costs at most what that message can carry however
// large the identifier: records that do not fit are not built, and the
// reply has TC set. Over TCP an RRset beyond 65535 bytes is answered the
// same way, the records that fit with TC (DNS-005): DNS has no larger
// transport, and gRPC and HTTP serve the identifier whole.
func (h *Handler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	start := time.Now()
	size, transport := maxTCPSize, "tcp"
	if w.RemoteAddr() != nil && w.RemoteAddr().Network() == "udp" {
		size, transport = UDPSize(req), "udp"
	}
	var m *dns.Msg
	if transport == "udp" && h.rrl != nil {
		switch h.rrl.Check(w.RemoteAddr()) {
		case ratelimit.Drop:
			return
		case ratelimit.SendTruncated:
			m = new(dns.Msg)
			m.SetReply(req)
			m.Truncated = true
		}
	}
	if m == nil {
		m = h.answer(req, size)
	}
	fit(m, size)
	// Observed before the write, so a client that has its answer also
	// finds it counted.
	if h.observe != nil {
		h.observe(transport, m.Rcode, time.Since(start))
	}
	if err := w.WriteMsg(m); err != nil {
		h.log.Debug("DNS write failed", "remote", w.RemoteAddr(), "err", err)
	}
}

// fit makes m at most size bytes on the wire. miekg's Truncate counts an
// escaped byte of a character-string (\000) as four, so it would drop
// records that fit: a message it deems too long is packed first, and
// truncated only when the packed form is too long.
func fit(m *dns.Msg, size int) {
	if m.Len() <= size {
		return
	}
	if raw, err := m.Pack(); err == nil && len(raw) <= size {
		return
	}
	m.Truncate(size)
}

// UDPSize is the largest UDP answer to req: 512 without EDNS0, else the
// client's size clamped to 512..AdvertisedUDPSize.
func UDPSize(req *dns.Msg) int {
	opt := req.IsEdns0()
	if opt == nil {
		return minUDPSize
	}
	return min(max(int(opt.UDPSize()), minUDPSize), AdvertisedUDPSize)
}

// Answer builds the reply to req as TCP carries it: records beyond 65535
// bytes are not built (TC is set instead), and the caller truncates to a
// smaller size. It never panics: a failure inside is logged and answered
// SERVFAIL.
func (h *Handler) Answer(req *dns.Msg) *dns.Msg { return h.answer(req, maxTCPSize) }

// answer builds the reply to req with answer records up to size bytes.
func (h *Handler) answer(req *dns.Msg, size int) (m *dns.Msg) {
	m = new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = h.recursive
	m.Compress = true
	if !oneOPTAtMost(req) {
		// RFC 6891 §6.1.1: more than one OPT, or one outside the
		// additional section, is FORMERR (answered without OPT).
		m.Rcode = dns.RcodeFormatError
		return m
	}
	opt := req.IsEdns0()
	if opt != nil {
		m.SetEdns0(AdvertisedUDPSize, opt.Do())
	}
	defer func() {
		if r := recover(); r != nil {
			h.log.Error("DNS handler panic", "panic", r, "stack", string(debug.Stack()))
			m = failure(req, dns.RcodeServerFailure)
		}
	}()
	switch {
	case req.Opcode != dns.OpcodeQuery:
		m.Rcode = dns.RcodeNotImplemented
		return m
	case len(req.Question) != 1:
		m.Rcode = dns.RcodeFormatError
		return m
	case opt != nil && opt.Version() != 0:
		m.Rcode = dns.RcodeBadVers // RFC 6891 §6.1.3
		return m
	}
	q := req.Question[0]
	switch {
	case q.Qclass == 0 || q.Qtype == 0:
		// Reserved values (RFC 6895), and what miekg/dns leaves in a
		// question cut short.
		m.Rcode = dns.RcodeFormatError
		return m
	case q.Qclass != dns.ClassINET:
		m.Rcode = dns.RcodeRefused
		return m
	case q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR:
		// No zone transfers: idresd zonefile writes the zone.
		m.Rcode = dns.RcodeRefused
		return m
	case q.Qtype == dns.TypeOPT || q.Qtype == dns.TypeTSIG || q.Qtype == dns.TypeTKEY:
		m.Rcode = dns.RcodeFormatError
		return m
	}
	if err := h.lookup(context.Background(), q, m, size); err != nil {
		h.log.Error("DNS lookup failed", "name", q.Name, "type", dns.TypeToString[q.Qtype], "err", err)
		return failure(req, dns.RcodeServerFailure)
	}
	return m
}

// oneOPTAtMost reports whether req has at most one OPT record, in its
// additional section.
func oneOPTAtMost(req *dns.Msg) bool {
	isOPT := func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeOPT }
	if slices.ContainsFunc(req.Answer, isOPT) || slices.ContainsFunc(req.Ns, isOPT) {
		return false
	}
	n := 0
	for _, rr := range req.Extra {
		if isOPT(rr) {
			n++
		}
	}
	return n <= 1
}

// failure is a bare reply with rcode.
func failure(req *dns.Msg, rcode int) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(req, rcode)
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(AdvertisedUDPSize, opt.Do())
	}
	return m
}
