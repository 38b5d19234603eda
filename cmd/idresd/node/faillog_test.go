package node_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/grpcserver"
)

// TestFailedCallsAreLogged: every call that fails is logged (README:
// "every failed call") with its method, code and caller, never with a
// token's secret; and the lines are rate-limited, the ones dropped counted
// in the next line written, so a flood of bad calls cannot flood the log.
func TestFailedCallsAreLogged(t *testing.T) {
	var out syncBuffer
	clock := &grpcClock{t: time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)} // stands still: no bucket refills
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Now: clock.Now,
		Logger: slog.New(slog.NewJSONHandler(&out, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	dial := func(token string) *client.Client {
		c, err := client.Dial(n.GRPCAddr(), client.Options{Token: token})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	const secret = "s3cr3tS3cr3tS3cr3tS3cr3t"
	bad := dial("0123456789abcdef." + secret)
	if _, err := bad.ListPrefixes(ctxT(t), &idresv1.ListPrefixesRequest{}); err == nil {
		t.Fatal("a wrong token was accepted")
	}
	anon := dial("")
	if _, err := anon.ListPrefixes(ctxT(t), &idresv1.ListPrefixesRequest{}); err == nil {
		t.Fatal("no token was accepted")
	}
	if _, err := anon.Resolve(ctxT(t), &idresv1.ResolveRequest{Identifier: "88/x", Indexes: []uint32{0}}); err == nil {
		t.Fatal("index 0 was accepted")
	}

	type line struct {
		Msg, Method, Code, Credential, Peer string
		Suppressed                          int
	}
	lines := func() (ls []line) {
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var v line
			if json.Unmarshal([]byte(l), &v) == nil && v.Msg == "call failed" {
				ls = append(ls, v)
			}
		}
		return ls
	}
	got := lines()
	want := []line{
		{Method: idresv1.Registry_ListPrefixes_FullMethodName, Code: "Unauthenticated", Credential: "0123456789abcdef"},
		{Method: idresv1.Registry_ListPrefixes_FullMethodName, Code: "Unauthenticated"},
		{Method: idresv1.Resolver_Resolve_FullMethodName, Code: "InvalidArgument"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d failure lines, want %d:\n%s", len(got), len(want), out.String())
	}
	for i, w := range want {
		g := got[i]
		if g.Method != w.Method || g.Code != w.Code || g.Credential != w.Credential || !strings.HasPrefix(g.Peer, "127.0.0.1:") {
			t.Errorf("line %d: %+v, want %+v from 127.0.0.1", i, g, w)
		}
	}
	if strings.Contains(out.String(), secret) {
		t.Errorf("a token's secret is in the log:\n%s", out.String())
	}

	// A flood: at most the burst is written, and the next line written
	// after the bucket refills counts what was dropped.
	const flood = 2 * grpcserver.DefaultFailureLogBurst
	for range flood {
		anon.ListPrefixes(ctxT(t), &idresv1.ListPrefixesRequest{})
	}
	if n := len(lines()) - len(want); n >= flood || n > grpcserver.DefaultFailureLogBurst {
		t.Errorf("%d lines for %d failed calls; want at most the burst, %d", n, flood, grpcserver.DefaultFailureLogBurst)
	}
	clock.Advance(time.Minute)
	anon.ListPrefixes(ctxT(t), &idresv1.ListPrefixesRequest{})
	ls := lines()
	if last := ls[len(ls)-1]; last.Suppressed == 0 || last.Suppressed+len(ls) != len(want)+flood+1 {
		t.Errorf("after the flood: %d lines, the last %+v; want it to count the %d dropped", len(ls), last, len(want)+flood+1-len(ls))
	}
}
