package node_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/handlewire"
)

// The Handle front end against CNRI's own client, hdllib 7.3.1 (the
// launchers in ../shared/handle-client, or $IDRES_HANDLE_CLIENT): what a
// deployed Handle or IDIS client sends, and what it accepts.

// handleClient is the directory of hdl-resolve and hdl-trace. Outside CI
// a missing Java or client skips the test; in CI (.ci/run installs Java)
// it fails.
func handleClient(t *testing.T) string {
	t.Helper()
	needTool(t, "java", "openjdk-17-jre-headless")
	dir := os.Getenv("IDRES_HANDLE_CLIENT")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "..", "shared", "handle-client")
	}
	if _, err := os.Stat(filepath.Join(dir, "hdl-resolve")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the Handle client is missing (%v); set IDRES_HANDLE_CLIENT to its directory", err)
		}
		t.Skipf("the Handle client is missing (%v); set IDRES_HANDLE_CLIENT to its directory", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// hdlRun runs one of the client's launchers; code is its exit status.
func hdlRun(t *testing.T, tool string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(handleClient(t), tool), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
		code = exit.ExitCode()
	default:
		t.Fatalf("%s %s: %v\n%s%s", tool, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String(), code
}

// startHandleNode starts a node with the Handle server on 127.0.0.1:0.
func startHandleNode(t *testing.T, cfg node.Config) *node.Node {
	t.Helper()
	cfg.DataDir, cfg.GRPCAddr, cfg.HandleAddr, cfg.Logger = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0", quietLog
	n, err := node.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Stop(ctx)
	})
	return n
}

// bigValue makes an answer larger than one UDP datagram (512 bytes).
var bigValue = strings.Repeat("0123456789", 80)

func pumpValues() []*idresv1.Value {
	return []*idresv1.Value{
		{Index: 1, Type: "URL", Data: []byte("https://enterprise.example/pumps/0042"), Ttl: proto.Uint32(300), PublicRead: proto.Bool(true)},
		{Index: 2, Type: "manufacturer", Data: []byte("ACME Pumps"), Ttl: proto.Uint32(600), PublicRead: proto.Bool(true)},
		{Index: 3, Type: "cost", Data: []byte("1200 EUR"), PublicRead: proto.Bool(false)},
	}
}

// siteLine is how hdl-resolve prints the HS_SITE of a node's Handle
// address: one server answering resolutions over TCP and UDP.
func siteLine(addr string) string {
	ap := netip.MustParseAddrPort(addr)
	return fmt.Sprintf("version: 2.5; serial:1; primary:y; servers=[1 %s (TCP/%d/qry,UDP/%d/qry)]", ap.Addr(), ap.Port(), ap.Port())
}

// TestHdlResolveAgainstNode: hdllib's own encoder, transports and decoder
// against a node, one request each, straight to its Handle address.
func TestHdlResolveAgainstNode(t *testing.T) {
	handleClient(t)
	n := startHandleNode(t, node.Config{})
	hold(t, n, "88.100.1", map[string][]*idresv1.Value{
		"88.100.1/PUMP-0042": pumpValues(),
		"88.100.1/big":       {{Index: 1, Type: "doc", Data: []byte(bigValue), PublicRead: proto.Bool(true)}},
	})
	host, port, err := net.SplitHostPort(n.HandleAddr())
	if err != nil {
		t.Fatal(err)
	}
	const url, maker = "1\tURL\thttps://enterprise.example/pumps/0042\n", "2\tmanufacturer\tACME Pumps\n"
	for _, c := range []struct {
		name   string
		flags  []string // before HOST PORT
		args   []string // after: HANDLE [TYPE|INDEX ...]
		code   int
		stdout string // exactly, when stderr is ""
		stderr string // a part of the summary line
	}{
		{name: "found over TCP, private value not shown", args: []string{"88.100.1/PUMP-0042"}, stdout: url + maker},
		{name: "found over UDP", flags: []string{"-u"}, args: []string{"88.100.1/PUMP-0042"}, stdout: url + maker},
		{name: "asked in another case, answered in the registrant's", args: []string{"88.100.1/pump-0042"}, stdout: url + maker},
		{name: "long form: relative TTL, public read", flags: []string{"-l"}, args: []string{"88.100.1/PUMP-0042", "1"},
			stderr: "rc=1 (SUCCESS)", stdout: "1\tURL\tttl=0/300\tperm=rwr-\t"},
		{name: "not found", args: []string{"88.100.1/PUMP-9999"}, code: 1, stderr: "rc=100 (HANDLE NOT FOUND)"},
		{name: "type filter", args: []string{"88.100.1/PUMP-0042", "manufacturer"}, stdout: maker},
		{name: "index filter over UDP", flags: []string{"-u"}, args: []string{"88.100.1/PUMP-0042", "1"}, stdout: url},
		{name: "a type or an index, as Handle filters", args: []string{"88.100.1/PUMP-0042", "MANUFACTURER", "1"}, stdout: url + maker},
		{name: "values not found", args: []string{"88.100.1/PUMP-0042", "cost"}, code: 2, stderr: "rc=200"},
		{name: "prefix handle: HS_SITE of the node itself", args: []string{"0.NA/88.100.1", "HS_SITE"},
			stdout: "3\tHS_SITE\tsite{" + siteLine(n.HandleAddr()) + "}\n"},
		{name: "version 2.1 answered in 2.1", flags: []string{"-V", "2.1"}, args: []string{"88.100.1/PUMP-0042"}, stderr: "request v2.1, response v2.1 rc=1"},
		{name: "version 2.0 answered in 2.0 over UDP", flags: []string{"-u", "-V", "2.0"}, args: []string{"88.100.1/PUMP-0042"}, stderr: "request v2.0, response v2.0 rc=1"},
		{name: "site information", flags: []string{"-g"}, stdout: siteLine(n.HandleAddr()) + "\n"},
		{name: "answer over 512 bytes over TCP", args: []string{"88.100.1/big"}, stdout: "1\tdoc\t" + bigValue + "\n"},
		// Truncated over UDP: hdl-resolve asks one transport only, so
		// hdllib's decoding failure is its end (the stock resolver
		// goes on to TCP: TestHdlTraceWalksTheHierarchy).
		{name: "answer over 512 bytes over UDP is truncated", flags: []string{"-u"}, args: []string{"88.100.1/big"}, code: 3, stderr: "EXCEPTION"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append(append(append([]string{}, c.flags...), host, port), c.args...)
			stdout, stderr, code := hdlRun(t, "hdl-resolve", args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, c.code, stderr, stdout)
			}
			if c.stderr != "" && !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr, c.stderr)
			}
			if c.stderr == "" && stdout != c.stdout || c.stderr != "" && !strings.HasPrefix(stdout, c.stdout) {
				t.Errorf("stdout\n%q\nwant\n%q (%s)", stdout, c.stdout, stderr)
			}
		})
	}
	if got := n.Endpoints()["handle"]; got != n.HandleAddr() {
		t.Errorf("Endpoints()[handle] = %q, want %q", got, n.HandleAddr())
	}
	// Every answer above was counted, by transport and response code.
	counts := map[string]float64{}
	mfs, err := n.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "idres_handle_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var transport, rc string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "transport":
					transport = l.GetValue()
				case "rc":
					rc = l.GetValue()
				}
			}
			counts[transport+" "+rc] += m.GetCounter().GetValue()
		}
	}
	for _, k := range []string{"tcp SUCCESS", "udp SUCCESS", "tcp HANDLE_NOT_FOUND", "tcp VALUES_NOT_FOUND"} {
		if counts[k] == 0 {
			t.Errorf("idres_handle_requests_total{%s} not counted: %v", k, counts)
		}
	}
}

// TestHdlTraceWalksTheHierarchy: the stock resolution algorithm (hdllib's
// HDLTrace, what hdl-qresolver runs) knows only the root's HS_SITE (its
// root_info), resolves 0.NA/88.100.1 at the root, follows the prefix
// referrals of 88 and 88.100 to the site of 88.100.1 and resolves the
// identifier there, each node on its own Handle address. A recursive node
// answers the same through its walk.
func TestHdlTraceWalksTheHierarchy(t *testing.T) {
	handleClient(t)
	prefixes := []string{"", "88", "88.100", "88.100.1"}
	nodes := make([]*node.Node, len(prefixes))
	for i, p := range prefixes {
		nodes[i] = startHandleNode(t, node.Config{})
		ids := map[string][]*idresv1.Value{}
		if p == "88.100.1" {
			ids["88.100.1/PUMP-0042"] = pumpValues()
			ids["88.100.1/big"] = []*idresv1.Value{{Index: 1, Type: "doc", Data: []byte(bigValue), PublicRead: proto.Bool(true)}}
		}
		hold(t, nodes[i], p, ids)
	}
	for i := 0; i < len(nodes)-1; i++ {
		child := &idresv1.Delegation{Prefix: prefixes[i+1], Grpc: []string{nodes[i+1].GRPCAddr()}, Handle: []string{nodes[i+1].HandleAddr()}, Ttl: proto.Uint32(3600)}
		if err := nodes[i].Store().Update(func(tx *store.Tx) error { return tx.PutDelegation(child) }); err != nil {
			t.Fatal(err)
		}
	}
	root := handlewire.ResolutionSite(netip.MustParseAddrPort(nodes[0].HandleAddr()), 1, nil, "idres root")
	rootInfo := writeFile(t, t.TempDir(), "root_info", string(handlewire.AppendGlobalValues(nil, []handlewire.Value{{
		Index: 1, Type: []byte("HS_SITE"), Data: handlewire.AppendSiteInfo(nil, &root), TTL: 86400,
		Permissions: handlewire.PermAdminRead | handlewire.PermAdminWrite | handlewire.PermPublicRead,
	}})))

	t.Run("hdl-trace from the root", func(t *testing.T) {
		// Asked in lower case: the answer names the registrant's spelling,
		// which hdllib's resolver and cache accept.
		stdout, stderr, code := hdlRun(t, "hdl-trace", rootInfo, "88.100.1/pump-0042")
		if code != 0 || !strings.Contains(stdout, "https://enterprise.example/pumps/0042") || !strings.Contains(stdout, "ACME Pumps") {
			t.Fatalf("exit %d:\n%s\n%s", code, stdout, stderr)
		}
		if strings.Contains(stdout, "1200 EUR") {
			t.Errorf("a private value reached an anonymous Handle client:\n%s", stdout)
		}
	})
	t.Run("an answer too large for UDP is fetched over TCP", func(t *testing.T) {
		stdout, stderr, code := hdlRun(t, "hdl-trace", rootInfo, "88.100.1/big")
		if code != 0 || !strings.Contains(stdout, bigValue) {
			t.Fatalf("exit %d:\n%s\n%s", code, stdout, stderr)
		}
		// hdllib cannot decode the truncated UDP answer, spends its UDP
		// tries at once and asks again over TCP, its next protocol.
		if !strings.Contains(stderr, "HDL-UDP request") || !strings.Contains(stderr, "received HDL-TCP response") {
			t.Errorf("want the identifier asked over UDP, then answered over TCP:\n%s", stderr)
		}
	})
	t.Run("a recursive node answers through its walk", func(t *testing.T) {
		rec := startHandleNode(t, node.Config{Recursive: node.RecursiveConfig{Roots: []string{nodes[0].GRPCAddr()}}})
		host, port, _ := net.SplitHostPort(rec.HandleAddr())
		stdout, stderr, code := hdlRun(t, "hdl-resolve", "-u", host, port, "88.100.1/PUMP-0042")
		want := "1\tURL\thttps://enterprise.example/pumps/0042\n2\tmanufacturer\tACME Pumps\n"
		if code != 0 || stdout != want {
			t.Fatalf("exit %d, stdout\n%q\nwant\n%q\n%s", code, stdout, want, stderr)
		}
	})
}
