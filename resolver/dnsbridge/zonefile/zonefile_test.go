package zonefile_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/answer"
	"github.com/idres/idres/resolver/dnsbridge"
	"github.com/idres/idres/resolver/dnsbridge/zonefile"
)

func val(i uint32, typ, data string, public bool) *idresv1.Value {
	return &idresv1.Value{Index: i, Type: typ, Data: []byte(data), Ttl: proto.Uint32(300), PublicRead: proto.Bool(public)}
}

// fixture holds 88.100 (identifiers, delegations, a prefix held below)
// and 99 (empty).
func fixture(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.Update(func(tx *store.Tx) error {
		for _, p := range []*idresv1.Prefix{{Prefix: "88.100", NegativeTtl: proto.Uint32(600)}, {Prefix: "99"}, {Prefix: "88.100.9"}} {
			if err := tx.CreatePrefix(p); err != nil {
				return err
			}
		}
		for s, vals := range map[string][]*idresv1.Value{
			"88.100/Part-42":                    {val(1, "URL", "https://example.com/p/42", true), val(2, "secret", "only for registrars", false)},
			"88.100/产品 编号":                      {val(1, "name", "产品", true)},
			"88.100/" + strings.Repeat("号", 35): {val(1, "name", "long", true)},
		} {
			if err := tx.CreateIdentifier(ident.MustParse(s), &idresv1.Identifier{Values: vals}); err != nil {
				return err
			}
		}
		for _, d := range []*idresv1.Delegation{
			{Prefix: "88.100.1", Dns: []string{"127.0.0.12:53", "[::1]:53"}, Grpc: []string{"127.0.0.12:7420"}, Ttl: proto.Uint32(7200)},
			{Prefix: "88.100.3", Grpc: []string{"127.0.0.14:7420"}, Ttl: proto.Uint32(900)},
		} {
			if err := tx.PutDelegation(d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestZoneFileMatchesAnswers: the exported zone file parses as RFC 1035,
// has one SOA per held prefix, leaves out private values, and every record
// in it is what the bridge serves for that name and type.
func TestZoneFileMatchesAnswers(t *testing.T) {
	st := fixture(t)
	srv, err := dnsbridge.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	self := &idresv1.Delegation{Dns: []string{srv.Addr()}, Grpc: []string{"127.0.0.1:7420"}}
	h, err := dnsbridge.New(dnsbridge.Config{Zone: "id.example.", Resolver: &answer.Authority{Store: st, Self: self}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})

	var out strings.Builder
	if err := zonefile.Write(&out, st, "id.example.", self, nil); err != nil {
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
		hd := rr.Header()
		if hd.Rrtype == dns.TypeSOA {
			soas++
		}
		q := new(dns.Msg)
		q.SetQuestion(hd.Name, hd.Rrtype)
		q.SetEdns0(1232, false)
		r, _, err := (&dns.Client{Net: "tcp", Timeout: 5 * time.Second}).Exchange(q, srv.Addr())
		if err != nil {
			t.Fatalf("%s %s: %v", hd.Name, dns.TypeToString[hd.Rrtype], err)
		}
		found := false
		var served []string
		for _, sec := range [][]dns.RR{r.Answer, r.Ns, r.Extra} {
			for _, s := range sec {
				served = append(served, s.String())
				found = found || s.String() == rr.String()
			}
		}
		if !found {
			t.Errorf("zone file record not served:\n %s\nserved: %q", rr, served)
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone file does not parse: %v\n%s", err, text)
	}
	if soas != 3 || n < 15 {
		t.Fatalf("%d SOA records (want 3: prefixes 88.100, 88.100.9 and 99), %d records:\n%s", soas, n, text)
	}

	out.Reset()
	if err := zonefile.Write(&out, st, "id.example.", self, []string{"99"}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "\tSOA\t") != 1 || !strings.Contains(out.String(), "$ORIGIN 99.id.example.") {
		t.Fatalf("only prefix 99 wanted:\n%s", out.String())
	}
}
