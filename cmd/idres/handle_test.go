package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/handleclient"
	"github.com/idres/idres/resolver/handlewire"
)

// handleCLINode starts a real node with its Handle server, holding
// 88.100, and returns it with a runner of idres commands that carries
// its gRPC address and administrator token.
func handleCLINode(t *testing.T) (*node.Node, func(args ...string) (int, string, string)) {
	t.Helper()
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", HandleAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	tok, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	at := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, nil, append([]string{"--server", n.GRPCAddr(), "--token", strings.TrimSpace(string(tok))}, args...)...)
	}
	if code, _, errs := at("prefix", "create", "88.100"); code != 0 {
		t.Fatalf("prefix create: %d %s", code, errs)
	}
	return n, at
}

func TestHandleResolveCommand(t *testing.T) {
	n, at := handleCLINode(t)
	if code, _, errs := at("create", "88.100/PUMP-0042", "1:URL=https://example.com/p/42", "2:batch=B-7"); code != 0 {
		t.Fatalf("create: %s", errs)
	}
	addr := n.HandleAddr()
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  []string
	}{
		{"found", []string{"resolve", "--handle", addr, "88.100/PUMP-0042"}, exitOK,
			[]string{";; 88.100/PUMP-0042: OK, Handle SUCCESS, protocol 2.5 over tcp", "1  URL    86400  https://example.com/p/42", "2  batch  86400  B-7"}},
		{"udp and a type", []string{"resolve", "88.100/PUMP-0042", "--handle", addr, "--udp", "--type", "batch"}, exitOK,
			[]string{"protocol 2.5 over udp, ttl 86400, 1 value", "2  batch"}},
		{"not found exits as idres resolve does", []string{"resolve", "--handle", addr, "88.100/nope"}, exitNegative,
			[]string{"NOT_FOUND, Handle HANDLE_NOT_FOUND", `;; identifier "88.100/nope" is not registered`}},
		{"values not found", []string{"resolve", "--handle", addr, "88.100/PUMP-0042", "--index", "9"}, exitNegative,
			[]string{"VALUES_NOT_FOUND, Handle VALUES_NOT_FOUND"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, nil, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errs)
			}
			for _, want := range tc.out {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
		})
	}
	// --json: the shape of idres resolve --json.
	code, out, errs := runCLI(t, nil, "--json", "resolve", "--handle", addr, "88.100/nope")
	var r struct{ Outcome, Identifier, Message string }
	if code != exitNegative || json.Unmarshal([]byte(out), &r) != nil || r.Outcome != "OUTCOME_NOT_FOUND" || !strings.Contains(r.Message, "HANDLE_NOT_FOUND") {
		t.Fatalf("--json: exit %d, %+v\n%s%s", code, r, out, errs)
	}
}

func TestHandleCommandUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"resolve", "--handle", "127.0.0.1:1", "x/y", "--trace"}, "not with --stream, --trace or --recursive"},
		{[]string{"resolve", "x/y", "--udp"}, "--udp goes with --handle"},
		{[]string{"handle", "fetch", "x/y"}, "--server HOST:PORT of the Handle server is required"},
		{[]string{"handle", "fetch", "--server", "127.0.0.1:1"}, "want identifiers"},
		{[]string{"handle", "root-info"}, "--server HOST:PORT of the Handle server is required"},
		{[]string{"handle", "root-info", "--server", "127.0.0.1:1", "extra"}, "unexpected argument"},
		{[]string{"bench", "handle", "--count", "1"}, "--server HOST:PORT of the Handle server is required"},
		{[]string{"handle", "frob"}, `unknown subcommand "frob"`},
	} {
		code, _, errs := runCLI(t, map[string]string{"IDRES_SERVER": "127.0.0.1:7420"}, tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errs, exitUsage, tc.want)
		}
	}
	// An unreachable server is a server error, named.
	code, _, errs := runCLI(t, nil, "--timeout", "2s", "resolve", "--handle", "127.0.0.1:1", "x/y")
	if code != exitServer || !strings.Contains(errs, "127.0.0.1:1") {
		t.Errorf("unreachable: exit %d, stderr %q", code, errs)
	}
}

// TestHandleFetchImportRoundTrip: what one node holds, fetched over the
// Handle protocol and imported into another, exports the same, binary
// data included; the prefix handle's reserved types are left out with a
// note each.
func TestHandleFetchImportRoundTrip(t *testing.T) {
	src, at := handleCLINode(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.WriteFile(bin, []byte{0, 0xff, 'x', 1}, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"create", "88.100/PUMP-0042", "1:URL=https://example.com/p/42", "2:batch=B-7", "--ttl", "600"},
		{"create", "88.100/blob", "5:firmware=@" + bin, "7:note=line one\nline two"},
		{"create", "88.100/private", "1:URL=https://example.com/open"},
		{"set", "88.100/private", "2:secret=s3cret", "--private"},
	} {
		if code, _, errs := at(args...); code != 0 {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	ids := filepath.Join(dir, "fetched.jsonl")
	code, _, errs := runCLI(t, nil, "handle", "fetch", "--server", src.HandleAddr(), "-o", ids,
		"88.100/PUMP-0042", "88.100/blob", "88.100/private", "88.100/nope", "0.NA/88.100")
	if code != exitNegative {
		t.Fatalf("fetch with one missing identifier: exit %d, want %d; stderr %s", code, exitNegative, errs)
	}
	for _, want := range []string{
		"88.100/nope: HANDLE_NOT_FOUND",
		"0.NA/88.100: index 1: type IDRES_GRPC is reserved in idres (VAL-003); skipped",
		"type HS_SITE is reserved in idres (VAL-003); skipped",
		"0.NA/88.100: no value idres can hold; not written",
		"3 identifiers written (5 values), 3 values skipped, 2 not fetched",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}

	dst, at2 := handleCLINode(t)
	_ = dst
	if code, _, errs := at2("import", ids, "--quiet"); code != 0 || errs != "" {
		t.Fatalf("import of the fetched file: exit %d, stderr %q", code, errs)
	}
	// The private value is not public, so a Handle client never sees it:
	// the destination has the public values only.
	if code, _, errs := at("rm-value", "88.100/private", "2"); code != 0 {
		t.Fatalf("rm-value: %s", errs)
	}
	_, want, _ := at("export", "88.100")
	_, got, _ := at2("export", "88.100")
	if got != want || strings.Count(got, "\n") != 3 {
		t.Fatalf("export after the round trip:\n%s\nwant\n%s", got, want)
	}
}

// TestHandleRootInfo: the file holds one HS_SITE naming the node's
// Handle address, and hdllib's own resolver (hdl-trace) starts from it.
func TestHandleRootInfo(t *testing.T) {
	n, at := handleCLINode(t)
	if code, _, errs := at("create", "88.100/PUMP-0042", "1:URL=https://example.com/p/42"); code != 0 {
		t.Fatalf("create: %s", errs)
	}
	file := filepath.Join(t.TempDir(), "root_info")
	code, _, errs := runCLI(t, nil, "handle", "root-info", "--server", n.HandleAddr(), "-o", file)
	if code != 0 || !strings.Contains(errs, "site serial 1, protocol 2.5") {
		t.Fatalf("root-info: exit %d, stderr %s", code, errs)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := handlewire.DecodeGlobalValues(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Index != 1 || string(vs[0].Type) != "HS_SITE" || vs[0].TTL != 86400 || vs[0].Permissions&handlewire.PermPublicRead == 0 {
		t.Fatalf("root_info values %+v", vs)
	}
	site, err := handlewire.DecodeSiteInfo(vs[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.AddrPort{netip.MustParseAddrPort(n.HandleAddr())}
	if got := handleclient.SiteAddrs(&site, handlewire.TransportTCP); !slices.Equal(got, want) {
		t.Fatalf("site TCP addresses %v, want %v", got, want)
	}

	trace := "/work/shared/handle-client/hdl-trace"
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("java missing: hdl-trace not run")
	}
	if _, err := os.Stat(trace); err != nil {
		t.Skipf("no %s", trace)
	}
	out, err := exec.Command(trace, file, "88.100/PUMP-0042").CombinedOutput()
	if err != nil {
		t.Fatalf("hdl-trace: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `index=1 type=URL`) || !strings.Contains(string(out), "https://example.com/p/42") {
		t.Fatalf("hdl-trace did not resolve through the root_info:\n%s", out)
	}
}

func TestBenchHandle(t *testing.T) {
	n, at := handleCLINode(t)
	data := filepath.Join(t.TempDir(), "data.jsonl")
	if code, _, errs := at("bench", "gen", "--ids", "50", "-o", data); code != 0 {
		t.Fatalf("gen: %s", errs)
	}
	if code, _, errs := at("import", data, "--quiet"); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	for _, args := range [][]string{
		{"--count", "200", "--ids", "50", "-c", "2"},
		{"--count", "200", "-f", data, "--udp", "--conns", "2", "-c", "2", "--seq"},
		{"--count", "50", "--ids", "50", "--rate", "1000", "-c", "2"},
	} {
		code, out, errs := runCLI(t, nil, append([]string{"--server", n.HandleAddr(), "--json", "bench", "handle"}, args...)...)
		if code != 0 {
			t.Fatalf("bench handle %v: exit %d: %s", args, code, errs)
		}
		var rep benchReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		want := uint64(200)
		if slices.Contains(args, "--rate") {
			want = 50
		}
		if rep.Ops != want || rep.Errors != 0 || rep.Outcomes[outcomeName(idresv1.Outcome_OUTCOME_OK)] != want || rep.Lat.P50 <= 0 {
			t.Fatalf("bench handle %v: %+v", args, rep)
		}
		if slices.Contains(args, "--udp") != (rep.Mode == "handle udp") || rep.Conns != 2 && rep.Conns != 4 {
			t.Fatalf("bench handle %v: mode %q, %d conns", args, rep.Mode, rep.Conns)
		}
	}
}
