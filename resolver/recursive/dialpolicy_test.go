package recursive_test

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/recursive"
)

// putDelegation stores a delegation as it is, past the registrar's checks:
// data written before those checks existed, or by another tool, must not
// make the recursive node dial what its policy denies.
func (a *authNode) putDelegation(t testing.TB, prefix string, grpcAddrs ...string) {
	t.Helper()
	d := &idresv1.Delegation{Prefix: prefix, Grpc: grpcAddrs, Ttl: proto.Uint32(refTTL)}
	if err := a.Store().Update(func(tx *store.Tx) error { return tx.PutDelegation(d) }); err != nil {
		t.Fatalf("put delegation %q: %v", prefix, err)
	}
}

// traced collects a walker's steps.
type traced struct {
	mu    sync.Mutex
	steps []recursive.Step
}

func (tr *traced) add(s recursive.Step) { tr.mu.Lock(); tr.steps = append(tr.steps, s); tr.mu.Unlock() }

// errFor is the error of the first step that asked addr, or "" when none
// asked it or it answered.
func (tr *traced) errFor(addr string) (string, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, s := range tr.steps {
		if s.Addr == addr {
			if s.Err == nil {
				return "", true
			}
			return s.Err.Error(), true
		}
	}
	return "", false
}

// countingListener accepts TCP connections on host, counts them and never
// answers: it tells whether anything was dialled at all.
func countingListener(t testing.TB, host string) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("listen on %s: %v", host, err)
	}
	var n atomic.Int64
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
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
	return l.Addr().String(), &n
}

// TestDialPolicyDeniesByDefault: a delegation naming a cloud metadata
// address, a link-local one, "this network" or a multicast group is not
// dialled by a walker with the default policy: the walk ends in
// SERVER_FAILURE and the trace says the dial policy refused the endpoint.
// The delegations are stored past the registrar, as old data would be.
func TestDialPolicyDeniesByDefault(t *testing.T) {
	for _, addr := range []string{
		"169.254.169.254:80", // the metadata service of most clouds
		"[fd00:ec2::254]:80", // AWS's over IPv6
		"100.100.100.200:80", // Alibaba Cloud's
		"169.254.1.1:22",
		"[fe80::1]:22",
		"0.0.0.0:22",
		"[::]:22",
		"224.0.0.1:80",
		"[::ffff:169.254.169.254]:80", // IPv4-mapped
	} {
		t.Run(addr, func(t *testing.T) {
			root := startNode(t)
			root.hold(t, "", negTTL)
			root.putDelegation(t, "88", addr)
			tr := &traced{}
			w, _ := newWalker(t, newClock(), walkerOpts{timeout: time.Second, trace: tr.add}, root.GRPCAddr())
			if r := resolve(t, w, "88/x"); r.Outcome != idresv1.Outcome_OUTCOME_SERVER_FAILURE {
				t.Fatalf("%v %s, want SERVER_FAILURE", r.Outcome, r.Message)
			}
			msg, asked := tr.errFor(addr)
			if !asked || !strings.Contains(msg, "dial policy") {
				t.Fatalf("step for %s: asked %v, error %q; want a refusal by the dial policy", addr, asked, msg)
			}
		})
	}
}

// TestDialPolicyChecksResolvedAddresses: the policy applies to the
// addresses a host name resolves to, at dial time: with loopback denied,
// "localhost:PORT" is refused and the listener there sees no connection.
// The root hint, which the operator gave, is dialled whatever the policy.
func TestDialPolicyChecksResolvedAddresses(t *testing.T) {
	addr, accepted := countingListener(t, "127.0.0.1")
	_, port, _ := net.SplitHostPort(addr)
	tests := []struct {
		name     string
		policy   recursive.DialPolicy
		endpoint string
	}{
		{"host name resolving to a denied address", recursive.DialPolicy{Deny: mustPrefixes(t, "127.0.0.0/8", "::1/128")}, "localhost:" + port},
		{"address outside the allowed networks", recursive.DialPolicy{Allow: mustPrefixes(t, "10.0.0.0/8")}, addr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := startNode(t)
			root.hold(t, "", negTTL)
			root.delegate(t, "88", refTTL, tc.endpoint)
			tr := &traced{}
			policy := tc.policy
			w, _ := newWalker(t, newClock(), walkerOpts{timeout: time.Second, trace: tr.add, dial: &policy}, root.GRPCAddr())
			if r := resolve(t, w, "88/x"); r.Outcome != idresv1.Outcome_OUTCOME_SERVER_FAILURE {
				t.Fatalf("%v %s, want SERVER_FAILURE", r.Outcome, r.Message)
			}
			if n := accepted.Load(); n != 0 {
				t.Fatalf("the denied endpoint accepted %d connections, want 0", n)
			}
			if msg, _ := tr.errFor(tc.endpoint); !strings.Contains(msg, "dial policy") {
				t.Fatalf("step error %q, want a refusal by the dial policy", msg)
			}
			if msg, asked := tr.errFor(root.GRPCAddr()); !asked || msg != "" {
				t.Fatalf("root hint: asked %v, error %q; the operator's roots are always dialled", asked, msg)
			}
		})
	}
}

func mustPrefixes(t testing.TB, s ...string) []netip.Prefix {
	t.Helper()
	p, err := recursive.ParseNetworks(strings.Join(s, ","))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestParseNetworks: the flag syntax of --recursive-deny and
// --recursive-allow, names of address groups included.
func TestParseNetworks(t *testing.T) {
	tests := []struct {
		in       string
		contains []string
		not      []string
		err      bool
	}{
		{in: "", not: []string{"127.0.0.1", "169.254.169.254"}},
		{in: "default", contains: []string{"169.254.169.254", "fd00:ec2::254", "fe80::1", "0.0.0.0", "224.0.0.1", "ff02::1", "100.100.100.200"}, not: []string{"127.0.0.1", "::1", "10.1.2.3", "8.8.8.8"}},
		{in: "default,loopback", contains: []string{"127.0.0.1", "127.8.9.10", "::1", "169.254.169.254"}, not: []string{"10.1.2.3"}},
		{in: "private", contains: []string{"10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "fd12::1"}, not: []string{"8.8.8.8", "127.0.0.1"}},
		{in: " 10.0.0.0/8 , 2001:db8::/32 ", contains: []string{"10.200.0.1", "2001:db8::5"}, not: []string{"11.0.0.1"}},
		{in: "192.0.2.7", contains: []string{"192.0.2.7"}, not: []string{"192.0.2.8"}},
		{in: "10.0.0.0/33", err: true},
		{in: "example.com", err: true},
	}
	for _, tc := range tests {
		ps, err := recursive.ParseNetworks(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseNetworks(%q) error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		policy := recursive.DialPolicy{Deny: ps}
		for _, a := range tc.contains {
			if policy.Check(mustAddr(t, a)) == nil {
				t.Errorf("ParseNetworks(%q) does not cover %s", tc.in, a)
			}
		}
		for _, a := range tc.not {
			if err := policy.Check(mustAddr(t, a)); err != nil {
				t.Errorf("ParseNetworks(%q) covers %s: %v", tc.in, a, err)
			}
		}
	}
}

// TestDialPolicyAllowsLoopbackByDefault: every test hierarchy, and the
// demo, runs on loopback.
func TestDialPolicyAllowsLoopbackByDefault(t *testing.T) {
	p := recursive.DefaultDialPolicy()
	for _, a := range []string{"127.0.0.1", "::1", "10.0.0.1", "192.0.2.1", "2001:db8::1"} {
		if err := p.Check(mustAddr(t, a)); err != nil {
			t.Errorf("default policy refuses %s: %v", a, err)
		}
	}
	for _, a := range []string{"169.254.169.254", "::ffff:169.254.169.254", "fe80::1", "0.0.0.0", "::", "255.255.255.255", "239.1.2.3"} {
		if p.Check(mustAddr(t, a)) == nil {
			t.Errorf("default policy allows %s", a)
		}
	}
}

func mustAddr(t testing.TB, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
