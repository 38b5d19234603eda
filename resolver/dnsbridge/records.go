package dnsbridge

import (
	"encoding/base64"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/miekg/dns"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/value"
)

// SOA timers other than the serial and minimum, in seconds. They matter
// only to secondaries that transfer the exported zone file.
const (
	soaRefresh = 3600
	soaRetry   = 600
	soaExpire  = 1209600
)

// maxString is the longest DNS character-string (RFC 1035 §3.3).
const maxString = 255

// TXTText is the text of a value's TXT record: "<index> <type> <data>",
// the data as it is when it is UTF-8, else "base64:" and its base64.
func TXTText(v *idresv1.Value) []byte {
	b := []byte(strconv.FormatUint(uint64(v.Index), 10) + " " + v.Type + " ")
	if utf8.Valid(v.Data) {
		return append(b, v.Data...)
	}
	return append(append(b, "base64:"...), base64.StdEncoding.EncodeToString(v.Data)...)
}

// txtTextLen is len(TXTText(v)), without building it.
func txtTextLen(v *idresv1.Value) int {
	n := len(strconv.FormatUint(uint64(v.Index), 10)) + 1 + len(v.Type) + 1
	if utf8.Valid(v.Data) {
		return n + len(v.Data)
	}
	return n + len("base64:") + base64.StdEncoding.EncodedLen(len(v.Data))
}

// txtStrings cuts raw bytes into 255-byte character-strings in miekg's
// presentation form (so packing yields exactly these bytes).
func txtStrings(raw []byte) []string {
	var out []string
	for len(raw) > maxString {
		out = append(out, escapeString(raw[:maxString]))
		raw = raw[maxString:]
	}
	return append(out, escapeString(raw))
}

// escapeString writes bytes the way miekg/dns unpacks a character-string:
// '"' and '\' escaped, bytes outside printable ASCII as \DDD.
func escapeString(raw []byte) string {
	var b strings.Builder
	b.Grow(len(raw))
	for _, c := range raw {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			b.Write([]byte{'\\', '0' + c/100, '0' + c/10%10, '0' + c%10})
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// budget is the room left in a message for answer records, counted as
// the least each record takes on the wire (its owner compressed to a
// pointer, character-strings unescaped). Records are sized before they
// are built, and building stops at the first that cannot fit: what an
// answer costs is bounded by what the transport carries, whatever the
// identifier holds. A nil budget is unbounded (the zone file).
type budget struct {
	room int
	cut  bool // a record was left out
}

// rrFixed is the least a record takes besides its RDATA: a compressed
// owner (2) and type, class, TTL and RDLENGTH (10).
const rrFixed = 2 + 10

// newBudget is the room in m, as it stands, for records up to size bytes.
func newBudget(m *dns.Msg, size int) *budget {
	used := m.Len()
	if raw, err := m.Pack(); err == nil {
		used = len(raw)
	}
	return &budget{room: size - used}
}

// take spends n bytes if they fit; else it records the cut.
func (b *budget) take(n int) bool {
	if b == nil {
		return true
	}
	if b.cut || n > b.room {
		b.cut = true
		return false
	}
	b.room -= n
	return true
}

// over reports whether records were left out.
func (b *budget) over() bool { return b != nil && b.cut }

func ttlOf(v *idresv1.Value) uint32 {
	if v.Ttl == nil {
		return value.DefaultTTL
	}
	return *v.Ttl
}

func hdr(name string, typ uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: typ, Class: dns.ClassINET, Ttl: ttl}
}

// txtRecords is one TXT record per value, as many as b leaves room for.
func txtRecords(owner string, vals []*idresv1.Value, b *budget) []dns.RR {
	out := make([]dns.RR, 0, min(len(vals), 64))
	for _, v := range vals {
		if n := txtTextLen(v); !b.take(rrFixed + n + max(1, (n+maxString-1)/maxString)) {
			break
		}
		out = append(out, &dns.TXT{Hdr: hdr(owner, dns.TypeTXT, ttlOf(v)), Txt: txtStrings(TXTText(v))})
	}
	return out
}

// isURLValue reports whether v's type is URL (ASCII case-insensitively)
// and its data non-empty UTF-8: the values answered as URI and NAPTR.
func isURLValue(v *idresv1.Value) bool {
	return strings.EqualFold(v.Type, "URL") && len(v.Data) > 0 && utf8.Valid(v.Data)
}

// rank is a URL value's 1-based place among the URL values, as a priority
// or order field: lower is preferred, so the first URL value wins as it
// does in the HTTP gateway's redirect.
func rank(i int) uint16 {
	if i+1 > 65535 {
		return 65535
	}
	return uint16(i + 1)
}

// uriRecords are RFC 7553 URI records for URL values: priority = rank,
// weight 1; as many as b leaves room for.
func uriRecords(owner string, vals []*idresv1.Value, b *budget) []dns.RR {
	var out []dns.RR
	i := 0
	for _, v := range vals {
		if !isURLValue(v) {
			continue
		}
		// Priority, weight and the target's bytes.
		if !b.take(rrFixed + 4 + len(v.Data)) {
			break
		}
		out = append(out, &dns.URI{
			Hdr: hdr(owner, dns.TypeURI, ttlOf(v)), Priority: rank(i), Weight: 1,
			Target: strings.ReplaceAll(string(v.Data), `\`, `\\`),
		})
		i++
	}
	return out
}

// naptrRecords are RFC 6116-style terminal NAPTR records for URL values:
// order = rank, preference 10, flag "u", service E2U+web:<scheme> for
// http and https (E2U+web otherwise), regexp "!^.*$!<URL>!"; as many as
// b leaves room for.
func naptrRecords(owner string, vals []*idresv1.Value, b *budget) []dns.RR {
	var out []dns.RR
	i := 0
	for _, v := range vals {
		if !isURLValue(v) {
			continue
		}
		url := string(v.Data)
		service := "E2U+web"
		if c := strings.IndexByte(url, ':'); c > 0 {
			if s := strings.ToLower(url[:c]); s == "http" || s == "https" {
				service += ":" + s
			}
		}
		// Order and preference, then flags, service and regexp as
		// character-strings (escapes not counted), then the root name.
		if !b.take(rrFixed + 4 + 2 + 1 + len(service) + 1 + len("!^.*$!!") + len(url) + 1) {
			break
		}
		// RFC 3402 §3.2: inside the substitution a backslash and the
		// delimiter are escaped with a backslash.
		subst := strings.NewReplacer(`\`, `\\`, `!`, `\!`).Replace(url)
		out = append(out, &dns.NAPTR{
			Hdr: hdr(owner, dns.TypeNAPTR, ttlOf(v)), Order: rank(i), Preference: 10,
			Flags: "u", Service: service, Regexp: escapeString([]byte("!^.*$!" + subst + "!")), Replacement: ".",
		})
		i++
	}
	return out
}

// soa is the SOA record of the zone whose apex is apex.
func soa(apex string, serial uint64, negTTL uint32) *dns.SOA {
	return &dns.SOA{
		Hdr: hdr(apex, dns.TypeSOA, negTTL), Ns: "ns1." + apex, Mbox: "hostmaster." + apex,
		Serial: uint32(serial), Refresh: soaRefresh, Retry: soaRetry, Expire: soaExpire, Minttl: negTTL,
	}
}

// endpoint is a DNS endpoint "host", "host:port" or "[v6]:port".
type endpoint struct {
	host string
	ip   net.IP // nil when host is a name
	port int
}

func parseEndpoint(s string) endpoint {
	host, port := s, 53
	if h, p, err := net.SplitHostPort(s); err == nil {
		host = h
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	host = strings.Trim(host, "[]")
	return endpoint{host: host, ip: net.ParseIP(host), port: port}
}

// usableIP reports whether an endpoint's address can be given to others:
// an unspecified address (0.0.0.0, ::) cannot.
func (e endpoint) usableIP() bool { return e.ip != nil && !e.ip.IsUnspecified() }

// nsSet is the NS records of owner (an apex or a delegation point) for
// DNS endpoints, and the glue: ns<i>.<owner> A/AAAA for address
// endpoints, the host name itself (no glue) for named ones.
func nsSet(owner string, endpoints []string, ttl uint32) (ns []dns.RR, glue []dns.RR) {
	if len(endpoints) == 0 {
		return []dns.RR{&dns.NS{Hdr: hdr(owner, dns.TypeNS, ttl), Ns: "ns1." + owner}}, nil
	}
	for i, raw := range endpoints {
		e := parseEndpoint(raw)
		if e.ip == nil && e.host != "" {
			ns = append(ns, &dns.NS{Hdr: hdr(owner, dns.TypeNS, ttl), Ns: dns.Fqdn(strings.ToLower(e.host))})
			continue
		}
		host := "ns" + strconv.Itoa(i+1) + "." + owner
		ns = append(ns, &dns.NS{Hdr: hdr(owner, dns.TypeNS, ttl), Ns: host})
		if rr := addressRR(host, e, ttl); rr != nil {
			glue = append(glue, rr)
		}
	}
	return ns, glue
}

// addressRR is the A or AAAA record of an address endpoint.
func addressRR(host string, e endpoint, ttl uint32) dns.RR {
	if !e.usableIP() {
		return nil
	}
	if v4 := e.ip.To4(); v4 != nil {
		return &dns.A{Hdr: hdr(host, dns.TypeA, ttl), A: v4}
	}
	return &dns.AAAA{Hdr: hdr(host, dns.TypeAAAA, ttl), AAAA: e.ip}
}

func delegationTTL(d *idresv1.Delegation) uint32 {
	if d.Ttl == nil {
		return value.DefaultTTL
	}
	return *d.Ttl
}
