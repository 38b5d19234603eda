package node_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"google.golang.org/protobuf/proto"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
)

// TestRecursiveNodeAnswersDNSThroughTheWalk: a recursive node started
// with a DNS bridge answers a name held four levels down the hierarchy
// (root "", 88, 88.100, 88.100.1, linked by gRPC delegations) with what
// the enterprise node's own bridge serves, but not authoritatively
// (AA=0, RA=1), its denials included. Its store is empty: a bridge that
// answered from the store would refuse every name.
func TestRecursiveNodeAnswersDNSThroughTheWalk(t *testing.T) {
	const zone = "id.example."
	prefixes := []string{"", "88", "88.100", "88.100.1"}
	nodes := make([]*node.Node, len(prefixes))
	for i, p := range prefixes {
		nodes[i] = startDNSNode(t, "127.0.0.1:0")
		ids := map[string][]*idresv1.Value{}
		if p == "88.100.1" {
			ids["88.100.1/demo-part"] = demoValues()
		}
		hold(t, nodes[i], p, ids)
	}
	for i := 0; i < len(nodes)-1; i++ {
		child := &idresv1.Delegation{Prefix: prefixes[i+1], Grpc: []string{nodes[i+1].GRPCAddr()}, Ttl: proto.Uint32(3600)}
		if err := nodes[i].Store().Update(func(tx *store.Tx) error { return tx.PutDelegation(child) }); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := node.Start(node.Config{
		DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", DNSAddr: "127.0.0.1:0", DNSZone: zone, Logger: quietLog,
		Recursive: node.RecursiveConfig{Roots: []string{nodes[0].GRPCAddr()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rec.Stop(ctx)
	})
	ask := func(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
		t.Helper()
		q := new(dns.Msg)
		q.SetQuestion(name, qtype)
		q.SetEdns0(1232, false)
		r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(q, addr)
		if err != nil {
			t.Fatalf("%s %s at %s: %v", name, dns.TypeToString[qtype], addr, err)
		}
		return r
	}
	// rdata is a section without TTLs (the recursive node's count down),
	// sorted; ttls are the TTLs in the same order.
	rdata := func(rrs []dns.RR) (out []string, ttls []uint32) {
		rrs = slices.Clone(rrs)
		slices.SortFunc(rrs, func(a, b dns.RR) int { return strings.Compare(a.String(), b.String()) })
		for _, rr := range rrs {
			ttls = append(ttls, rr.Header().Ttl)
			rr = dns.Copy(rr)
			rr.Header().Ttl = 0
			out = append(out, rr.String())
		}
		return out, ttls
	}
	enterprise := nodes[3].DNSAddr()
	for _, c := range []struct {
		name  string
		qname string
		qtype uint16
		rcode int
	}{
		{"TXT four levels down", "demo-part._id.1.100.88." + zone, dns.TypeTXT, dns.RcodeSuccess},
		{"URI four levels down", "demo-part._id.1.100.88." + zone, dns.TypeURI, dns.RcodeSuccess},
		{"NODATA: no such type", "demo-part._id.1.100.88." + zone, dns.TypeAAAA, dns.RcodeSuccess},
		{"NXDOMAIN with the enterprise zone's SOA", "nothing._id.1.100.88." + zone, dns.TypeTXT, dns.RcodeNameError},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := ask(t, enterprise, c.qname, c.qtype)
			got := ask(t, rec.DNSAddr(), c.qname, c.qtype)
			if want.Rcode != c.rcode || !want.Authoritative {
				t.Fatalf("the enterprise bridge answered %s AA=%v, want %s AA=1:\n%v", dns.RcodeToString[want.Rcode], want.Authoritative, dns.RcodeToString[c.rcode], want)
			}
			if got.Rcode != c.rcode {
				t.Fatalf("recursive bridge: rcode %s, want %s:\n%v", dns.RcodeToString[got.Rcode], dns.RcodeToString[c.rcode], got)
			}
			if got.Authoritative || !got.RecursionAvailable {
				t.Errorf("recursive bridge: AA=%v RA=%v, want AA=0 RA=1", got.Authoritative, got.RecursionAvailable)
			}
			for _, s := range []struct {
				name      string
				got, want []dns.RR
			}{{"answer", got.Answer, want.Answer}, {"authority", got.Ns, want.Ns}} {
				g, gt := rdata(s.got)
				w, wt := rdata(s.want)
				if !slices.Equal(g, w) {
					t.Errorf("%s section:\n got  %q\n want %q", s.name, g, w)
					continue
				}
				for i := range gt {
					if gt[i] > wt[i] || gt[i] == 0 {
						t.Errorf("%s %s: TTL %d, want 1..%d (what remains of the authority's)", s.name, g[i], gt[i], wt[i])
					}
				}
			}
			if c.rcode == dns.RcodeSuccess && c.qtype != dns.TypeAAAA && len(got.Answer) == 0 {
				t.Errorf("recursive bridge: empty answer:\n%v", got)
			}
		})
	}
}
