package node_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"google.golang.org/protobuf/proto"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/dnsname"
)

// chainAddrs are the loopback addresses of the root, national, secondary
// and enterprise bridges. Glue carries no port, so each bridge that a
// stock resolver walks listens on port 53 of its own address (design §7).
var chainAddrs = []string{"127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"}

// canBind53 reports why port 53 on addr is unusable, or "" when it is free.
func canBind53(addr string) string {
	if os.Geteuid() != 0 {
		return "not root: binding port 53 needs root (or CAP_NET_BIND_SERVICE)"
	}
	for _, network := range []string{"udp", "tcp"} {
		var err error
		if network == "udp" {
			var pc net.PacketConn
			if pc, err = net.ListenPacket("udp", net.JoinHostPort(addr, "53")); err == nil {
				pc.Close()
			}
		} else {
			var l net.Listener
			if l, err = net.Listen("tcp", net.JoinHostPort(addr, "53")); err == nil {
				l.Close()
			}
		}
		if err != nil {
			return fmt.Sprintf("cannot bind %s %s:53: %v", network, addr, err)
		}
	}
	return ""
}

// freeUDPPort returns a port that was free on 127.0.0.1 for UDP and TCP.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 20; i++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		pc.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port for unbound")
	return 0
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startUnbound runs unbound in the foreground with a config that knows
// only the root bridge (a stub zone), and stops it by its PID at cleanup.
func startUnbound(t *testing.T, bin, zone, rootBridge string) (addr string, log *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	port := freeUDPPort(t)
	conf := fmt.Sprintf(`server:
	interface: 127.0.0.1
	port: %d
	do-ip6: no
	do-not-query-localhost: no
	access-control: 127.0.0.0/8 allow
	chroot: ""
	username: ""
	directory: %q
	pidfile: %q
	use-syslog: no
	logfile: ""
	verbosity: 2
	log-queries: yes
	log-replies: yes
	num-threads: 1
	module-config: "iterator"
	qname-minimisation: yes
	harden-referral-path: no
	target-fetch-policy: "0 0 0 0 0"
	so-reuseport: no
	trust-anchor-signaling: no
	root-key-sentinel: no
remote-control:
	control-enable: no
stub-zone:
	name: %q
	stub-addr: %s@53
`, port, dir, dir+"/unbound.pid", zone, rootBridge)
	path := writeFile(t, dir, "unbound.conf", conf)
	if out, err := exec.Command(bin+"-checkconf", path).CombinedOutput(); err != nil && !os.IsNotExist(err) {
		if _, lookErr := exec.LookPath(bin + "-checkconf"); lookErr == nil {
			t.Fatalf("unbound-checkconf: %v\n%s\n%s", err, out, conf)
		}
	}
	log = &syncBuffer{}
	cmd := exec.Command(bin, "-d", "-c", path)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start unbound: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		// Kill unbound by its PID only.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// Wait until unbound answers (it may take a moment to bind).
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("unbound exited: %v\n%s", err, log.String())
		default:
		}
		q := new(dns.Msg)
		q.SetQuestion("localhost.", dns.TypeA)
		if _, _, err := (&dns.Client{Timeout: 300 * time.Millisecond}).Exchange(q, addr); err == nil {
			return addr, log
		}
		if time.Now().After(deadline) {
			t.Fatalf("unbound did not answer on %s:\n%s", addr, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// longChainID's name has three suffix labels, so a resolver that minimises
// query names meets empty non-terminals below "_id".
var longChainID = "88.100.1/" + strings.Repeat("编", 30)

func dnsName(t *testing.T, zone, id string) string {
	t.Helper()
	name, err := dnsname.Identifier(zone, ident.MustParse(id))
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// TestUnboundWalksTheChain: four nodes (root "", national 88, secondary
// 88.100, enterprise 88.100.1), each with a bridge on port 53 of its own
// loopback address, delegations with DNS endpoints, and a stock unbound
// that knows only the root bridge resolves an enterprise identifier.
func TestUnboundWalksTheChain(t *testing.T) {
	bin := needTool(t, "unbound", "unbound")
	for _, a := range chainAddrs {
		if why := canBind53(a); why != "" {
			t.Skipf("DNS chain test needs port 53 on %v: %s", chainAddrs, why)
		}
	}
	const zone = "id.example."
	prefixes := []string{"", "88", "88.100", "88.100.1"}
	nodes := make([]*node.Node, len(prefixes))
	for i, p := range prefixes {
		nodes[i] = startDNSNode(t, chainAddrs[i]+":53")
		ids := map[string][]*idresv1.Value{}
		if p == "88.100.1" {
			ids["88.100.1/demo-part"] = demoValues()
			ids["88.100.1/产品 7"] = []*idresv1.Value{{Index: 1, Type: "name", Data: []byte("产品 7"), PublicRead: proto.Bool(true)}}
			ids[longChainID] = []*idresv1.Value{{Index: 1, Type: "name", Data: []byte("long"), PublicRead: proto.Bool(true)}}
		}
		hold(t, nodes[i], p, ids)
	}
	// Each node delegates the next prefix to the next node's bridge.
	for i := 0; i < len(nodes)-1; i++ {
		child := &idresv1.Delegation{
			Prefix: prefixes[i+1],
			Grpc:   []string{nodes[i+1].GRPCAddr()},
			Dns:    []string{nodes[i+1].DNSAddr()},
			Ttl:    proto.Uint32(3600),
		}
		if err := nodes[i].Store().Update(func(tx *store.Tx) error { return tx.PutDelegation(child) }); err != nil {
			t.Fatal(err)
		}
	}
	addr, log := startUnbound(t, bin, zone, chainAddrs[0])

	cases := []struct {
		name  string
		qname string
		qtype uint16
		rcode int
		want  []string // answer RR texts after the TTL
	}{
		{"enterprise identifier TXT", "demo-part._id.1.100.88." + zone, dns.TypeTXT, dns.RcodeSuccess,
			[]string{`TXT "1 URL https://enterprise.example/parts/demo-part"`, `TXT "2 manufacturer ACME Components"`}},
		{"enterprise identifier URI", "demo-part._id.1.100.88." + zone, dns.TypeURI, dns.RcodeSuccess,
			[]string{`URI 1 1 "https://enterprise.example/parts/demo-part"`}},
		{"encoded suffix through the chain", dnsName(t, zone, "88.100.1/产品 7"), dns.TypeTXT, dns.RcodeSuccess,
			[]string{`TXT "1 name \228\186\167\229\147\129 7"`}},
		{"three-label encoded suffix (empty non-terminals on the way)", dnsName(t, zone, longChainID), dns.TypeTXT, dns.RcodeSuccess,
			[]string{`TXT "1 name long"`}},
		{"missing identifier: NXDOMAIN from the enterprise", "nothing._id.1.100.88." + zone, dns.TypeTXT, dns.RcodeNameError, nil},
		{"secondary's apex SOA", "100.88." + zone, dns.TypeSOA, dns.RcodeSuccess, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := new(dns.Msg)
			q.SetQuestion(c.qname, c.qtype)
			q.SetEdns0(1232, false)
			r, _, err := (&dns.Client{Timeout: 10 * time.Second}).Exchange(q, addr)
			if err != nil {
				t.Fatalf("ask unbound: %v\n%s", err, log.String())
			}
			if r.Rcode != c.rcode {
				t.Fatalf("rcode %s, want %s\n%v\nunbound log:\n%s", dns.RcodeToString[r.Rcode], dns.RcodeToString[c.rcode], r, log.String())
			}
			if !r.RecursionAvailable || r.Authoritative {
				t.Errorf("want a recursive answer (RA set, AA clear): %v", r)
			}
			if c.rcode == dns.RcodeSuccess && len(r.Answer) == 0 {
				t.Fatalf("no answer\n%v\nunbound log:\n%s", r, log.String())
			}
			var got []string
			for _, rr := range r.Answer {
				f := strings.Fields(rr.String())
				got = append(got, strings.Join(append([]string{f[3]}, f[4:]...), " "))
			}
			for _, w := range c.want {
				found := false
				for _, g := range got {
					found = found || g == w
				}
				if !found {
					t.Errorf("answer %q lacks %q", got, w)
				}
			}
		})
	}
	// The walk: unbound followed the referrals from bridge to bridge (the
	// log lines are unbound's at verbosity 2).
	for i, a := range chainAddrs {
		apex := zone
		for _, seg := range strings.Split(prefixes[i], ".") {
			if seg != "" {
				apex = seg + "." + apex
			}
		}
		if want := fmt.Sprintf("reply from <%s> %s#53", apex, a); !strings.Contains(log.String(), want) {
			t.Errorf("unbound log lacks %q:\n%s", want, log.String())
		}
	}
	t.Logf("unbound log:\n%s", log.String())
}
