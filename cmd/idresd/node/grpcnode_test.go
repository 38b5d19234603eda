package node_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

// quietLog keeps node logs out of test output; failures say enough.
var quietLog = slog.New(slog.DiscardHandler)

// grpcNode is a real node on a loopback port with clients for the
// administrator and for an anonymous caller.
type grpcNode struct {
	n     *node.Node
	dir   string
	token string         // the administrator token from admin.token
	admin *client.Client // sends the administrator token
	anon  *client.Client // sends no token
	clock *grpcClock
}

// grpcClock is a settable clock for node.Config.Now.
type grpcClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *grpcClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *grpcClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// startGRPCNode starts a node on a fresh data directory. It reads the
// administrator token from the file the node reports, as an operator would.
func startGRPCNode(t testing.TB) *grpcNode {
	t.Helper()
	g := &grpcNode{dir: t.TempDir(), clock: &grpcClock{t: time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)}}
	n, err := node.Start(node.Config{DataDir: g.dir, GRPCAddr: "127.0.0.1:0", Now: g.clock.Now, Logger: quietLog})
	if err != nil {
		t.Fatalf("node.Start: %v", err)
	}
	g.n = n
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Errorf("node.Stop: %v", err)
		}
	})
	if n.AdminTokenPath == "" {
		t.Fatal("first start reported no AdminTokenPath")
	}
	info, err := os.Stat(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("%s has mode %o, want 600", n.AdminTokenPath, perm)
	}
	raw, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	g.token = strings.TrimSpace(string(raw))
	g.admin = g.dial(t, g.token)
	g.anon = g.dial(t, "")
	return g
}

// dial returns a client of the node sending token ("" for none).
func (g *grpcNode) dial(t testing.TB, token string) *client.Client {
	t.Helper()
	c, err := client.Dial(g.n.GRPCAddr(), client.Options{Token: token})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (g *grpcNode) mustCreatePrefix(t testing.TB, p *idresv1.Prefix) {
	t.Helper()
	if _, err := g.admin.CreatePrefix(ctxT(t), &idresv1.CreatePrefixRequest{Prefix: p}); err != nil {
		t.Fatalf("CreatePrefix(%q): %v", p.Prefix, err)
	}
}

func (g *grpcNode) mustCreateID(t testing.TB, id string, vals ...*idresv1.Value) *idresv1.Identifier {
	t.Helper()
	rec, err := g.admin.CreateIdentifier(ctxT(t), &idresv1.CreateIdentifierRequest{Identifier: id, Values: vals})
	if err != nil {
		t.Fatalf("CreateIdentifier(%q): %v", id, err)
	}
	return rec
}

// val builds a value; ttl 0 leaves the TTL unset (the default applies).
func val(index uint32, typ, data string, ttl uint32) *idresv1.Value {
	v := &idresv1.Value{Index: index, Type: typ, Data: []byte(data)}
	if ttl != 0 {
		v.Ttl = proto.Uint32(ttl)
	}
	return v
}

func privateVal(v *idresv1.Value) *idresv1.Value { v.PublicRead = proto.Bool(false); return v }

func indexesOf(vals []*idresv1.Value) []uint32 {
	out := []uint32{}
	for _, v := range vals {
		out = append(out, v.Index)
	}
	return out
}

// wantCode checks err's gRPC code and that its message contains want.
func wantCode(t *testing.T, err error, code codes.Code, want string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), code)
	}
	if !strings.Contains(st.Message(), want) {
		t.Fatalf("message %q does not contain %q", st.Message(), want)
	}
}

// startOn starts a node on an existing data directory, stopped at the end
// of the test.
func startOn(t *testing.T, dir string) (*node.Node, error) {
	t.Helper()
	n, err := node.Start(node.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0", Logger: quietLog})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	return n, nil
}
