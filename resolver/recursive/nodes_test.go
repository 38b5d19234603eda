package recursive_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/cache"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/recursive"
)

// Package-level helpers: real nodes on loopback, an admin client for
// each, the demo hierarchy, and a walker whose upstream calls are counted.

// authNode is a running authoritative node with an admin client.
type authNode struct {
	*node.Node
	admin *client.Client
}

func startNode(t testing.TB) *authNode {
	t.Helper()
	dir := t.TempDir()
	n, err := node.Start(node.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0", Logger: quiet()})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	tok, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatalf("read admin token: %v", err)
	}
	c, err := client.Dial(n.GRPCAddr(), client.Options{Token: strings.TrimSpace(string(tok))})
	if err != nil {
		t.Fatalf("dial %s: %v", n.GRPCAddr(), err)
	}
	t.Cleanup(func() { c.Close() })
	return &authNode{Node: n, admin: c}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (a *authNode) hold(t testing.TB, prefix string, negTTL uint32) {
	t.Helper()
	_, err := a.admin.CreatePrefix(context.Background(), &idresv1.CreatePrefixRequest{
		Prefix: &idresv1.Prefix{Prefix: prefix, NegativeTtl: proto.Uint32(negTTL)},
	})
	if err != nil {
		t.Fatalf("%s: create prefix %q: %v", a.GRPCAddr(), prefix, err)
	}
}

func (a *authNode) delegate(t testing.TB, prefix string, ttl uint32, grpcAddrs ...string) {
	t.Helper()
	_, err := a.admin.SetDelegation(context.Background(), &idresv1.SetDelegationRequest{
		Delegation: &idresv1.Delegation{Prefix: prefix, Grpc: grpcAddrs, Ttl: proto.Uint32(ttl)},
	})
	if err != nil {
		t.Fatalf("%s: delegate %q: %v", a.GRPCAddr(), prefix, err)
	}
}

func (a *authNode) register(t testing.TB, id string, ttl uint32, kv ...string) {
	t.Helper()
	var vals []*idresv1.Value
	for i := 0; i+1 < len(kv); i += 2 {
		vals = append(vals, &idresv1.Value{Index: uint32(len(vals) + 1), Type: kv[i], Data: []byte(kv[i+1]), Ttl: proto.Uint32(ttl)})
	}
	if _, err := a.admin.CreateIdentifier(context.Background(), &idresv1.CreateIdentifierRequest{Identifier: id, Values: vals}); err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
}

// hierarchy is the four-level tree of the tests and the demo.
type hierarchy struct {
	root, national, secondary, enterprise *authNode
}

// TTLs of the hierarchy, distinct so tests can tell which record a TTL
// came from.
const (
	refTTL   = 7200 // every delegation
	valueTTL = 600  // every value of a part
	negTTL   = 300  // the negative TTL of every zone
)

// startHierarchy: root holds "" and delegates 88; national holds 88 and
// delegates 88.100; secondary holds 88.100 and delegates 88.100.1;
// enterprise holds 88.100.1 with two parts.
func startHierarchy(t testing.TB) *hierarchy {
	t.Helper()
	h := &hierarchy{root: startNode(t), national: startNode(t), secondary: startNode(t), enterprise: startNode(t)}
	h.root.hold(t, "", negTTL)
	h.national.hold(t, "88", negTTL)
	h.secondary.hold(t, "88.100", negTTL)
	h.enterprise.hold(t, "88.100.1", negTTL)
	h.root.delegate(t, "88", refTTL, h.national.GRPCAddr())
	h.national.delegate(t, "88.100", refTTL, h.secondary.GRPCAddr())
	h.secondary.delegate(t, "88.100.1", refTTL, h.enterprise.GRPCAddr())
	h.enterprise.register(t, "88.100.1/Pump-001", valueTTL,
		"URL", "https://example.com/pumps/001", "manufacturer", "Acme Pumps", "batch", "2026-11")
	h.enterprise.register(t, "88.100.1/valve-7", valueTTL, "URL", "https://example.com/valves/7")
	return h
}

// counter counts upstream Resolve calls per target address.
type counter struct {
	total atomic.Int64
	mu    sync.Mutex
	by    map[string]int
}

func (c *counter) interceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if method == idresv1.Resolver_Resolve_FullMethodName {
			c.total.Add(1)
			c.mu.Lock()
			c.by[cc.Target()]++
			c.mu.Unlock()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

func (c *counter) reset() int64 { return c.total.Swap(0) }

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// walkerOpts tune newWalker.
type walkerOpts struct {
	cacheSize int
	timeout   time.Duration
	trace     func(recursive.Step)
	noCache   bool
	// dialOpts are added to the walker's upstream connections.
	dialOpts []grpc.DialOption
	// dial is the walker's dial policy; nil for the default.
	dial *recursive.DialPolicy
}

// newWalker returns a walker over roots with a cache on clk, counting its
// upstream calls.
func newWalker(t testing.TB, clk *clock, o walkerOpts, roots ...string) (*recursive.Walker, *counter) {
	t.Helper()
	cnt := &counter{by: map[string]int{}}
	cfg := recursive.Config{
		Roots:           roots,
		UpstreamTimeout: o.timeout,
		DialOptions:     append([]grpc.DialOption{grpc.WithChainUnaryInterceptor(cnt.interceptor())}, o.dialOpts...),
		Trace:           o.trace,
		Dial:            o.dial,
	}
	if !o.noCache {
		cfg.Cache = cache.New(o.cacheSize, clk.Now)
	}
	w, err := recursive.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, cnt
}

func resolve(t testing.TB, r interface {
	Resolve(context.Context, *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error)
}, id string) *idresv1.ResolveResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := r.Resolve(ctx, &idresv1.ResolveRequest{Identifier: id, Recursive: true})
	if err != nil {
		t.Fatalf("resolve %s: %v", id, err)
	}
	return resp
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// hangingAddr accepts TCP connections and never says a word.
func hangingAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// remote adapts a client to the Resolver shape resolve takes.
type remote struct{ c *client.Client }

func (r remote) Resolve(ctx context.Context, req *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error) {
	return r.c.Resolve(ctx, req)
}
