package node_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// needTool finds a Debian tool the DNS tests drive. Outside CI a missing
// tool skips the test; in CI (.ci/run installs it) it fails.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found; .ci/run installs Debian package %s", name, pkg)
		}
		t.Skipf("%s not found: apt-get install %s to run this test", name, pkg)
	}
	return path
}

// startDNSNode starts a node whose DNS bridge listens on dnsAddr.
func startDNSNode(t *testing.T, dnsAddr string) *node.Node {
	t.Helper()
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", DNSAddr: dnsAddr, DNSZone: "id.example."})
	if err != nil {
		t.Fatalf("start node with DNS on %s: %v", dnsAddr, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Stop(ctx)
	})
	return n
}

// hold makes the node authoritative for prefix and registers ids under it.
func hold(t *testing.T, n *node.Node, prefix string, ids map[string][]*idresv1.Value) {
	t.Helper()
	err := n.Store().Update(func(tx *store.Tx) error {
		if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: prefix, NegativeTtl: proto.Uint32(300)}); err != nil {
			return err
		}
		for id, vals := range ids {
			if err := tx.CreateIdentifier(ident.MustParse(id), &idresv1.Identifier{Values: vals}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func demoValues() []*idresv1.Value {
	return []*idresv1.Value{
		{Index: 1, Type: "URL", Data: []byte("https://enterprise.example/parts/demo-part"), Ttl: proto.Uint32(300), PublicRead: proto.Bool(true)},
		{Index: 2, Type: "manufacturer", Data: []byte("ACME Components"), Ttl: proto.Uint32(600), PublicRead: proto.Bool(true)},
		{Index: 3, Type: "cost", Data: []byte("12.50 EUR"), PublicRead: proto.Bool(false)},
	}
}

func dig(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append([]string{"+time=3", "+tries=2"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDigAgainstNode runs Debian's dig against a running node's bridge and
// checks what it prints.
func TestDigAgainstNode(t *testing.T) {
	bin := needTool(t, "dig", "bind9-dnsutils")
	n := startDNSNode(t, "127.0.0.1:0")
	hold(t, n, "88.100.1", map[string][]*idresv1.Value{"88.100.1/demo-part": demoValues()})
	host, port, err := net.SplitHostPort(n.DNSAddr())
	if err != nil {
		t.Fatal(err)
	}
	server := []string{"@" + host, "-p", port, "+norecurse"}
	const name = "demo-part._id.1.100.88.id.example."
	cases := []struct {
		name string
		args []string
		want []string
		not  []string
	}{
		{"TXT over UDP", []string{name, "TXT"}, []string{
			"status: NOERROR", "flags: qr aa;", "udp: 1232",
			name + "\t\t300\tIN\tTXT\t\"1 URL https://enterprise.example/parts/demo-part\"",
			name + "\t\t600\tIN\tTXT\t\"2 manufacturer ACME Components\"",
		}, []string{"cost", "12.50"}},
		{"TXT over TCP", []string{"+tcp", name, "TXT"}, []string{"status: NOERROR", "\"2 manufacturer ACME Components\"", "(TCP)"}, nil},
		{"URI", []string{name, "URI"}, []string{"status: NOERROR", "URI\t1 1 \"https://enterprise.example/parts/demo-part\""}, nil},
		{"NAPTR", []string{name, "NAPTR"}, []string{"NAPTR\t1 10 \"u\" \"E2U+web:https\" \"!^.*$!https://enterprise.example/parts/demo-part!\" ."}, nil},
		{"NXDOMAIN with SOA", []string{"missing._id.1.100.88.id.example.", "TXT"}, []string{"status: NXDOMAIN", "AUTHORITY: 1", "SOA\tns1.1.100.88.id.example. hostmaster.1.100.88.id.example."}, nil},
		{"NODATA with SOA", []string{name, "AAAA"}, []string{"status: NOERROR", "ANSWER: 0", "AUTHORITY: 1"}, nil},
		{"SOA at the apex", []string{"1.100.88.id.example.", "SOA"}, []string{"status: NOERROR", "ANSWER: 1", " 3600 600 1209600 300 "}, nil},
		{"REFUSED outside the zone", []string{"example.org.", "A"}, []string{"status: REFUSED"}, nil},
		{"ANY is minimal", []string{name, "ANY"}, []string{"status: NOERROR", "ANSWER: 2,"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := dig(t, bin, append(server, c.args...)...)
			flat := strings.Join(strings.Fields(out), " ")
			for _, w := range c.want {
				if !strings.Contains(flat, strings.Join(strings.Fields(w), " ")) {
					t.Errorf("dig output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range c.not {
				if strings.Contains(out, w) {
					t.Errorf("dig output has %q (a private value):\n%s", w, out)
				}
			}
		})
	}
	t.Run("metrics count the answers", func(t *testing.T) {
		for _, c := range []struct {
			transport, rcode string
			min              float64
		}{{"udp", "NOERROR", 5}, {"tcp", "NOERROR", 2}, {"udp", "NXDOMAIN", 1}, {"udp", "REFUSED", 1}} { // dig asks ANY over TCP
			if got := dnsQueries(t, n, c.transport, c.rcode); got < c.min {
				t.Errorf("idres_dns_queries_total{transport=%q,rcode=%q} = %v, want at least %v", c.transport, c.rcode, got, c.min)
			}
		}
	})
}

// dnsQueries reads idres_dns_queries_total{transport,rcode} from the
// node's metrics registry.
func dnsQueries(t *testing.T, n *node.Node, transport, rcode string) float64 {
	t.Helper()
	mfs, err := n.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "idres_dns_queries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["transport"] == transport && labels["rcode"] == rcode {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
