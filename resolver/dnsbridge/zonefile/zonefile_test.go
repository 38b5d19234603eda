package dnsbridge

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestZoneFileMatchesAnswers: the exported zone file parses as RFC 1035,
// has one SOA per held prefix, leaves out private values, and every record
// in it is what the bridge serves for that name and type.
func TestZoneFileMatchesAnswers(t *testing.T) {
	b := startBridge(t)
	var out strings.Builder
	if err := b.h.WriteZoneFile(&out, nil); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.Contains(text, "only for registrars") {
		t.Fatalf("private value in the zone file:\n%s", text)
	}
	zp := dns.NewZoneParser(strings.NewReader(text), "", "export")
	soas, n := 0, 0
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		n++
		h := rr.Header()
		if h.Rrtype == dns.TypeSOA {
			soas++
		}
		r := exchange(t, b.addr, "tcp", h.Name, h.Rrtype, 1232)
		var served []string
		for _, s := range [][]dns.RR{r.Answer, r.Ns, r.Extra} {
			served = append(served, rrStrings(s)...)
		}
		found := false
		for _, s := range served {
			found = found || s == rr.String()
		}
		if !found {
			t.Errorf("zone file record not served:\n %s\nserved: %q", rr, served)
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone file does not parse: %v\n%s", err, text)
	}
	if soas != 2 || n < 20 {
		t.Fatalf("%d SOA records (want 2: prefixes 88.100 and 99), %d records:\n%s", soas, n, text)
	}

	out.Reset()
	if err := b.h.WriteZoneFile(&out, []string{"99"}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "\tSOA\t") != 1 || !strings.Contains(out.String(), "$ORIGIN 99.id.example.") {
		t.Fatalf("only prefix 99 wanted:\n%s", out.String())
	}
}
