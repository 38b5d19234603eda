package main

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/dnsname"
	"github.com/idres/idres/resolver/handlewire"
	"github.com/idres/idres/resolver/httpgw"
)

// The abuse patterns of issue 19, each as an attacker would run it: from
// outside the node, with real sockets, from source addresses of their own
// (127.0.N.x, a /24 per role, so that per-network limits see attackers
// apart from the ordinary clients on 127.0.0.1). Each runs until its
// context ends and returns what it achieved and its checks.

// abuseEnv is what the patterns attack.
type abuseEnv struct {
	zone               string
	leaf, root, rec    map[string]string // endpoints by kind
	leafTok, rootTok   string
	bigValues, bigSize int // the huge record 88.100/BIG as the node took it
	fdLimit            uint64
	signRate           float64 // the leaf's --handle-sign-rate
	blackholeCalls     *atomic.Int64
	silentConns        *atomic.Int64
	silentBytes        *atomic.Int64
	badEndpoints       map[string]string // prefix -> what its delegation names
}

// check is one pass/fail condition of the report.
type check struct {
	name   string
	ok     bool
	detail string
}

// patternResult is one abuse pattern's lines of the report.
type patternResult struct {
	lines  []string
	checks []check
}

func (r *patternResult) linef(format string, args ...any) {
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *patternResult) check(name string, ok bool, format string, args ...any) {
	r.checks = append(r.checks, check{name, ok, fmt.Sprintf(format, args...)})
}

// src is an attacker's source address 127.0.net.host.
func src(netw, host int) string { return fmt.Sprintf("127.0.%d.%d", netw, host) }

func dialerFrom(source string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 3 * time.Second}
}

func udpFrom(source, dst string) (*net.UDPConn, error) {
	raddr, err := net.ResolveUDPAddr("udp", dst)
	if err != nil {
		return nil, err
	}
	return net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(source)}, raddr)
}

// grpcFrom is a client of addr whose connection comes from source.
func grpcFrom(addr, source, token string, opts ...grpc.DialOption) (*client.Client, error) {
	d := dialerFrom(source)
	opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", a)
	}))
	return client.Dial(addr, client.Options{Token: token, DialOptions: opts})
}

// counters is a set of named counts, printed sorted.
type counters struct{ m sync.Map }

func (c *counters) add(k string, n int64) {
	v, _ := c.m.LoadOrStore(k, new(atomic.Int64))
	v.(*atomic.Int64).Add(n)
}

func (c *counters) get(k string) int64 {
	if v, ok := c.m.Load(k); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

func (c *counters) String() string {
	var kv []string
	c.m.Range(func(k, v any) bool {
		kv = append(kv, fmt.Sprintf("%s=%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(kv)
	if len(kv) == 0 {
		return "none"
	}
	return strings.Join(kv, " ")
}

// countingConn counts the bytes through a connection.
type countingConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in.Add(int64(n))
	return n, err
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.out.Add(int64(n))
	return n, err
}

// mib prints a byte count in B, KiB or MiB.
func mib(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// ---- 1. DNS queries for the huge record, UDP and TCP in parallel ----

func abuseDNSBigRecord(ctx context.Context, env *abuseEnv) patternResult {
	var r patternResult
	name, err := dnsname.Identifier(env.zone, ident.MustParse("88.100/BIG"))
	if err != nil {
		r.check("dns-big: name", false, "%v", err)
		return r
	}
	var udpOut, udpIn, tcpOut, tcpIn atomic.Int64
	var c counters
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() { // UDP: EDNS0 4096, 65535 and none, in turn
			conn, err := udpFrom(src(2, 10+w), env.leaf["dns"])
			if err != nil {
				c.add("udp-socket-error", 1)
				return
			}
			defer conn.Close()
			buf := make([]byte, 65536)
			for i := 0; ctx.Err() == nil; i++ {
				q := new(dns.Msg)
				q.SetQuestion(name, dns.TypeTXT)
				if size := []uint16{4096, 65535, 0}[i%3]; size > 0 {
					q.SetEdns0(size, false)
				}
				wire, _ := q.Pack()
				n, _ := conn.Write(wire)
				udpOut.Add(int64(n))
				c.add("udp-queries", 1)
				conn.SetReadDeadline(time.Now().Add(time.Second))
				n, err := conn.Read(buf)
				if err != nil {
					c.add("udp-unanswered", 1)
					continue
				}
				udpIn.Add(int64(n))
				var a dns.Msg
				if a.Unpack(buf[:n]) != nil {
					c.add("udp-unparsable", 1)
					continue
				}
				c.add("udp-"+dns.RcodeToString[a.Rcode], 1)
				if a.Truncated {
					c.add("udp-TC", 1)
				}
			}
		})
		wg.Go(func() { // TCP: a connection kept for many queries
			var conn *dns.Conn
			defer func() {
				if conn != nil {
					conn.Close()
				}
			}()
			for ctx.Err() == nil {
				if conn == nil {
					raw, err := dialerFrom(src(2, 20+w)).DialContext(ctx, "tcp", env.leaf["dns"])
					if err != nil {
						c.add("tcp-dial-error", 1)
						time.Sleep(50 * time.Millisecond)
						continue
					}
					conn = &dns.Conn{Conn: countingConn{raw, &tcpIn, &tcpOut}}
				}
				q := new(dns.Msg)
				q.SetQuestion(name, dns.TypeTXT)
				q.SetEdns0(65535, false)
				c.add("tcp-queries", 1)
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				if err := conn.WriteMsg(q); err != nil {
					c.add("tcp-write-error", 1)
					conn.Close()
					conn = nil
					continue
				}
				a, err := conn.ReadMsg()
				if err != nil {
					c.add("tcp-read-error", 1)
					conn.Close()
					conn = nil
					continue
				}
				c.add("tcp-"+dns.RcodeToString[a.Rcode], 1)
				if a.Truncated {
					c.add("tcp-TC", 1)
				}
				c.add("tcp-answer-rrs", int64(len(a.Answer)))
			}
		})
	}
	wg.Wait()
	r.linef("record 88.100/BIG: %d values of %d bytes (%s), the largest this node took", env.bigValues, env.bigSize, mib(int64(env.bigValues*env.bigSize)))
	r.linef("UDP (8 sockets, EDNS0 4096/65535/none): %s out, %s in (%.2fx); TCP (8 connections, EDNS0 65535): %s out, %s in",
		mib(udpOut.Load()), mib(udpIn.Load()), ratio(udpIn.Load(), udpOut.Load()), mib(tcpOut.Load()), mib(tcpIn.Load()))
	r.linef("outcomes: %s", &c)
	return r
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// ---- 2. Many idle TCP connections to the gRPC and HTTP ports ----

func abuseIdleConns(ctx context.Context, env *abuseEnv) patternResult {
	var r patternResult
	// The test process holds one end of each connection and the leaf the
	// other; both have env.fdLimit descriptors.
	perPort := int(min(4000, (env.fdLimit-4000)/2))
	const sources = 16
	type held struct {
		c    net.Conn
		port string
	}
	var (
		mu    sync.Mutex
		conns []held
		c     counters
		wg    sync.WaitGroup
	)
	start := time.Now()
	const dialers = 32
	for w := range dialers {
		wg.Go(func() {
			for j := w; j < 2*perPort && ctx.Err() == nil; j += dialers {
				port, addr := "grpc", env.leaf["grpc"]
				if j%2 == 1 {
					port, addr = "http", env.leaf["http"]
				}
				conn, err := dialerFrom(src(3, 1+j%sources)).DialContext(ctx, "tcp", addr)
				if err != nil {
					c.add(port+"-dial-failed", 1)
					continue
				}
				c.add(port+"-opened", 1)
				// Half stay silent; half start and stall: the HTTP/2
				// preface without SETTINGS, half a request's headers.
				if j%4 >= 2 {
					if port == "grpc" {
						conn.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
					} else {
						conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "))
					}
				}
				mu.Lock()
				conns = append(conns, held{conn, port})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	opened := time.Since(start)
	<-ctx.Done()
	// Which are still open? Drain what the node sent; a timeout means the
	// node still holds the connection, EOF or a reset that it let go.
	var probe sync.WaitGroup
	sem := make(chan struct{}, 64)
	buf := make([][]byte, 64)
	for i := range buf {
		buf[i] = make([]byte, 4096)
	}
	slot := make(chan int, 64)
	for i := range 64 {
		slot <- i
	}
	for _, h := range conns {
		sem <- struct{}{}
		s := <-slot
		probe.Go(func() {
			defer func() { slot <- s; <-sem }()
			for {
				h.c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
				_, err := h.c.Read(buf[s])
				var ne net.Error
				switch {
				case err == nil:
					continue
				case errors.As(err, &ne) && ne.Timeout():
					c.add(h.port+"-held-at-end", 1)
				default:
					c.add(h.port+"-closed-by-node", 1)
				}
				h.c.Close()
				return
			}
		})
	}
	probe.Wait()
	r.linef("%d connections per port asked from %d source addresses (127.0.3.1-%d) in %s; half silent, half stalled mid-preface/mid-headers",
		perPort, sources, sources, opened.Round(time.Millisecond))
	r.linef("gRPC: %d opened, %d refused, %d held at the phase's end, %d closed by the node", c.get("grpc-opened"), c.get("grpc-dial-failed"), c.get("grpc-held-at-end"), c.get("grpc-closed-by-node"))
	r.linef("HTTP: %d opened, %d refused, %d held at the phase's end, %d closed by the node", c.get("http-opened"), c.get("http-dial-failed"), c.get("http-held-at-end"), c.get("http-closed-by-node"))
	return r
}

// ---- 3. Many idle ResolveStreams on one connection; big unread ones ----

func abuseStreams(ctx context.Context, env *abuseEnv) patternResult {
	var r patternResult
	var c counters
	var wg sync.WaitGroup
	const idle = 10000
	idleC, err := grpcFrom(env.leaf["grpc"], src(4, 1), "")
	if err != nil {
		r.check("streams: dial", false, "%v", err)
		return r
	}
	defer idleC.Close()
	for range idle {
		wg.Go(func() {
			st, err := idleC.ResolveStream(ctx)
			if err != nil {
				if ctx.Err() != nil {
					c.add("idle-still-waiting-to-open", 1)
				} else {
					c.add("idle-open-"+status.Code(err).String(), 1)
				}
				return
			}
			c.add("idle-opened", 1)
			_, err = st.Recv()
			if ctx.Err() != nil {
				c.add("idle-open-at-end", 1)
			} else {
				c.add("idle-ended-by-node-"+status.Code(err).String(), 1)
			}
		})
	}
	// Streams that send large requests and never read an answer: half ask
	// for the huge record, half for ordinary ones.
	bigC, err := grpcFrom(env.leaf["grpc"], src(4, 2), "")
	if err != nil {
		r.check("streams: dial", false, "%v", err)
		return r
	}
	defer bigC.Close()
	var sent, sentBytes atomic.Int64
	for s := range 16 {
		wg.Go(func() {
			st, err := bigC.ResolveStream(ctx)
			if err != nil {
				c.add("unread-open-"+status.Code(err).String(), 1)
				return
			}
			msg := &idresv1.ResolveStreamRequest{}
			for i := range 1000 {
				id := "88.100/BIG"
				if s%2 == 1 {
					id = knownID(i)
				}
				msg.Requests = append(msg.Requests, &idresv1.TaggedResolveRequest{RequestId: uint64(i), Request: &idresv1.ResolveRequest{Identifier: id}})
			}
			size := int64(proto.Size(msg))
			for ctx.Err() == nil {
				if err := st.Send(msg); err != nil {
					if ctx.Err() == nil {
						_, err = st.Recv() // the status
						c.add("unread-ended-by-node-"+status.Code(err).String(), 1)
					}
					return
				}
				sent.Add(1000)
				sentBytes.Add(size)
			}
			c.add("unread-open-at-end", 1)
		})
	}
	wg.Wait()
	r.linef("idle: %d ResolveStreams asked on one connection: %s", idle, filterCounters(&c, "idle-"))
	r.linef("unread: 16 streams on one connection sending 1000-request messages (8 for 88.100/BIG), never reading: %d requests (%s) sent; %s",
		sent.Load(), mib(sentBytes.Load()), filterCounters(&c, "unread-"))
	return r
}

func filterCounters(c *counters, prefix string) string {
	var kv []string
	c.m.Range(func(k, v any) bool {
		if s := k.(string); strings.HasPrefix(s, prefix) {
			kv = append(kv, fmt.Sprintf("%s=%d", strings.TrimPrefix(s, prefix), v.(*atomic.Int64).Load()))
		}
		return true
	})
	sort.Strings(kv)
	return strings.Join(kv, " ")
}

// ---- 4. A revoked credential's open Import stream and ResolveStream ----

func abuseRevoked(ctx context.Context, env *abuseEnv) patternResult {
	var r patternResult
	admin, err := client.Dial(env.leaf["grpc"], client.Options{Token: env.leafTok})
	if err != nil {
		r.check("revoked: dial", false, "%v", err)
		return r
	}
	defer admin.Close()
	cred, err := admin.IssueCredential(ctx, &idresv1.IssueCredentialRequest{Prefix: "88.100", Role: "write"})
	if err != nil {
		r.check("revoked: issue credential", false, "%v", err)
		return r
	}
	thief, err := grpcFrom(env.leaf["grpc"], src(5, 1), cred.Token)
	if err != nil {
		r.check("revoked: dial", false, "%v", err)
		return r
	}
	defer thief.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	imp, err := thief.Import(sctx)
	if err != nil {
		r.check("revoked: open Import", false, "%v", err)
		return r
	}
	res, err := thief.ResolveStream(sctx)
	if err != nil {
		r.check("revoked: open ResolveStream", false, "%v", err)
		return r
	}
	item := func(seq int, name string) *idresv1.ImportItem {
		return &idresv1.ImportItem{Sequence: uint64(seq), Identifier: name, Values: knownValues(name)}
	}
	// Before the revocation both streams work: one committed item, one
	// answer with the private value.
	if err := imp.Send(&idresv1.ImportRequest{Options: &idresv1.ImportOptions{Mode: idresv1.ImportMode_IMPORT_MODE_CREATE_OR_REPLACE, BatchSize: 1},
		Items: []*idresv1.ImportItem{item(1, "88.100/REVOKE-BEFORE")}}); err != nil {
		r.check("revoked: import before", false, "%v", err)
		return r
	}
	if a, err := imp.Recv(); err != nil || a.Created+a.Replaced != 1 {
		r.check("revoked: import before", false, "%v %v", a, err)
		return r
	}
	ask := func(n int) error {
		return res.Send(&idresv1.ResolveStreamRequest{Requests: []*idresv1.TaggedResolveRequest{{RequestId: uint64(n), Request: &idresv1.ResolveRequest{Identifier: "88.100/PRIV"}}}})
	}
	if err := ask(0); err != nil {
		r.check("revoked: resolve before", false, "%v", err)
		return r
	}
	if a, err := res.Recv(); err != nil || len(a.Responses[0].GetResponse().GetValues()) != 2 {
		r.check("revoked: resolve before", false, "want the private value before revocation: %v %v", a, err)
		return r
	}

	if _, err := admin.RevokeCredential(ctx, &idresv1.RevokeCredentialRequest{Id: cred.Credential.Id}); err != nil {
		r.check("revoked: revoke", false, "%v", err)
		return r
	}
	revoked := time.Now()
	// Keep both streams busy: an import item every 20 ms (each its own
	// batch), a resolve every 20 ms, until the node ends them or 10 s.
	var (
		wg                            sync.WaitGroup
		itemsSent, acks, privAnswers  atomic.Int64
		lastPriv                      atomic.Int64 // ns after revocation
		importEnd, resolveEnd         atomic.Value // string
		importEndedAt, resolveEndedAt atomic.Int64
	)
	limit := time.After(10 * time.Second)
	stop := make(chan struct{})
	go func() {
		select {
		case <-limit:
		case <-ctx.Done():
		}
		close(stop)
	}()
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if imp.Send(&idresv1.ImportRequest{Items: []*idresv1.ImportItem{item(i+2, fmt.Sprintf("88.100/REVOKE-AFTER-%d", i))}}) != nil {
				return
			}
			itemsSent.Add(1)
		}
	})
	wg.Go(func() {
		for {
			a, err := imp.Recv()
			if err != nil {
				importEnd.Store(status.Code(err).String())
				importEndedAt.Store(int64(time.Since(revoked)))
				return
			}
			acks.Add(int64(a.Created + a.Replaced))
		}
	})
	wg.Go(func() {
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if ask(i) != nil {
				return
			}
		}
	})
	wg.Go(func() {
		for {
			a, err := res.Recv()
			if err != nil {
				resolveEnd.Store(status.Code(err).String())
				resolveEndedAt.Store(int64(time.Since(revoked)))
				return
			}
			for _, x := range a.Responses {
				if len(x.GetResponse().GetValues()) == 2 {
					privAnswers.Add(1)
					lastPriv.Store(int64(time.Since(revoked)))
				}
			}
		}
	})
	// Both receivers end when the node ends the streams; the senders when
	// a send fails or at the limit.
	go func() {
		for importEnd.Load() == nil || resolveEnd.Load() == nil {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		select {
		case <-stop:
		default:
			// Both ended: let the senders go.
			cancel()
		}
	}()
	<-stop
	cancel()
	wg.Wait()

	// What got in after the revocation, as the store says.
	commits := 0
	page := ""
	for {
		lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
		lr, err := admin.ListIdentifiers(lctx, &idresv1.ListIdentifiersRequest{Prefix: "88.100", PageSize: 1000, PageToken: page})
		lcancel()
		if err != nil {
			r.check("revoked: list", false, "%v", err)
			return r
		}
		for _, id := range lr.Identifiers {
			if strings.HasPrefix(id.Identifier, "88.100/REVOKE-AFTER-") {
				commits++
			}
		}
		if page = lr.NextPageToken; page == "" {
			break
		}
	}
	end := func(v *atomic.Value, at *atomic.Int64) string {
		if s, ok := v.Load().(string); ok {
			return fmt.Sprintf("ended %s %s after the revocation", s, time.Duration(at.Load()).Round(time.Millisecond))
		}
		return "still open 10 s after the revocation"
	}
	r.linef("Import (batch size 1, an item every 20 ms): %d items sent after the revocation, %d acknowledged, %d committed (store listing); %s",
		itemsSent.Load(), acks.Load(), commits, end(&importEnd, &importEndedAt))
	r.linef("ResolveStream (88.100/PRIV every 20 ms): %d answers with the private value after the revocation (last %s after it); %s",
		privAnswers.Load(), time.Duration(lastPriv.Load()).Round(time.Millisecond), end(&resolveEnd, &resolveEndedAt))
	r.check("revoked credential: commits after revocation", commits == 0 && acks.Load() == 0, "%d committed, %d acknowledged (want 0)", commits, acks.Load())
	r.check("revoked credential: streams ended", importEnd.Load() != nil && resolveEnd.Load() != nil, "Import %s; ResolveStream %s", end(&importEnd, &importEndedAt), end(&resolveEnd, &resolveEndedAt))
	return r
}

// ---- 5. A recursive node asked for names under bad delegations ----

// leakMarkers are what a caller must not learn of the recursive node's
// dials: addresses, and what the dial met.
func leakMarkers(env *abuseEnv) []string {
	m := []string{"169.254", "fe80", "10.255.255.1", "127.0.0.1", "refused", "dial", "i/o timeout", "connection", "unreachable", "no route", "denied", "deny", "metadata", "link-local", "EOF"}
	for _, ep := range env.badEndpoints {
		for _, e := range strings.Split(ep, ",") {
			if _, port, err := net.SplitHostPort(e); err == nil {
				m = append(m, ":"+port)
			}
		}
	}
	return m
}

func leaks(s string, markers []string) string {
	for _, m := range markers {
		if strings.Contains(strings.ToLower(s), strings.ToLower(m)) {
			return m
		}
	}
	return ""
}

func abuseRecursive(ctx context.Context, env *abuseEnv) patternResult {
	var r patternResult
	var c counters
	var wg sync.WaitGroup
	var leaked atomic.Int64
	var leakSample atomic.Value
	markers := leakMarkers(env)
	var prefixes []string
	for p := range env.badEndpoints {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	calls0, conns0 := env.blackholeCalls.Load(), env.silentConns.Load()
	note := func(where, msg string) {
		if m := leaks(msg, markers); m != "" {
			leaked.Add(1)
			leakSample.CompareAndSwap(nil, fmt.Sprintf("%s: %q (%q)", where, msg, m))
		}
	}
	// Four source addresses, eight callers each, over gRPC; two more over
	// HTTP. Every identifier is new, so no cached failure answers it.
	var seq atomic.Int64
	for s := range 4 {
		cl, err := grpcFrom(env.rec["grpc"], src(6, 1+s), "")
		if err != nil {
			r.check("recursive: dial", false, "%v", err)
			return r
		}
		defer cl.Close()
		for range 8 {
			wg.Go(func() {
				for ctx.Err() == nil {
					n := seq.Add(1)
					id := fmt.Sprintf("%s/X%d", prefixes[int(n)%len(prefixes)], n)
					cctx, cancel := context.WithTimeout(ctx, time.Second)
					resp, err := cl.Resolve(cctx, &idresv1.ResolveRequest{Identifier: id, Recursive: true})
					cancel()
					if ctx.Err() != nil {
						return
					}
					c.add("grpc-requests", 1)
					if err != nil {
						st := status.Convert(err)
						c.add("grpc-"+st.Code().String(), 1)
						// The caller's own deadline ("context deadline
						// exceeded", or the node's "deadline exceeded")
						// tells nothing of the dials.
						note("gRPC "+id, st.Message())
						if st.Code() == codes.ResourceExhausted {
							time.Sleep(100 * time.Millisecond) // as a client told to slow down
						}
						continue
					}
					c.add("grpc-"+strings.TrimPrefix(resp.Outcome.String(), "OUTCOME_"), 1)
					note("gRPC "+id, resp.Message)
				}
			})
		}
	}
	for s := range 2 {
		hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DialContext: dialerFrom(src(6, 10+s)).DialContext}}
		wg.Go(func() {
			defer hc.CloseIdleConnections()
			for ctx.Err() == nil {
				n := seq.Add(1)
				id := fmt.Sprintf("%s/H%d", prefixes[int(n)%len(prefixes)], n)
				resp, err := hc.Get(httpgw.APIURL("http://"+env.rec["http"], id))
				if ctx.Err() != nil {
					return
				}
				c.add("http-requests", 1)
				if err != nil {
					c.add("http-error", 1)
					continue
				}
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
				c.add(fmt.Sprintf("http-%d", resp.StatusCode), 1)
				note("HTTP "+id, string(body))
				if resp.StatusCode == http.StatusTooManyRequests {
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	time.Sleep(200 * time.Millisecond) // the last walks' dials land
	calls, conns := env.blackholeCalls.Load()-calls0, env.silentConns.Load()-conns0
	asked := c.get("grpc-requests") + c.get("http-requests")
	var dels []string
	for _, p := range prefixes {
		dels = append(dels, p+" -> "+env.badEndpoints[p])
	}
	r.linef("delegations: %s", strings.Join(dels, "; "))
	r.linef("%d anonymous requests (1 s deadlines; 32 gRPC callers on 127.0.6.1-4, 2 HTTP on 127.0.6.10-11), every identifier new", asked)
	r.linef("upstream: %d calls reached the black-hole gRPC endpoint, %d connections the silent TCP endpoint (%d bytes sent to it); %.2f upstream contacts per request",
		calls, conns, env.silentBytes.Load(), ratio(calls+conns, asked))
	r.linef("answers: %s", &c)
	sample, _ := leakSample.Load().(string)
	r.check("recursive: no upstream error text reaches the caller", leaked.Load() == 0, "%d answers leaked; first: %s", leaked.Load(), sample)
	return r
}

// ---- 6. Handle-protocol floods ----

// handleRequest is a resolution request as hdllib frames it.
func handleRequest(id uint32, handle string, certify bool) []byte {
	flags := handlewire.FlagRecursive | handlewire.FlagCacheCertify | handlewire.FlagPublicOnly
	if certify {
		flags |= handlewire.FlagCertify | handlewire.FlagRequestDigest
	}
	f := handlewire.Frame{
		Envelope: handlewire.Envelope{Version: handlewire.Latest, RequestID: id},
		Header: handlewire.Header{OpCode: handlewire.OpResolution, OpFlags: flags, SiteInfoSerial: 0xffff,
			Expiration: uint32(time.Now().Add(time.Hour).Unix())},
		Body: handlewire.ResolutionRequest{Handle: []byte(handle)}.Append(nil),
	}
	return handlewire.AppendFrame(nil, &f)
}

// handleRC is the response code of an answer's first datagram or frame,
// ok false for a later datagram of a multi-packet answer.
func handleRC(b []byte) (rc uint32, ok bool) {
	if len(b) < handlewire.EnvelopeSize+8 || binary.BigEndian.Uint32(b[12:]) != 0 {
		return 0, false
	}
	return binary.BigEndian.Uint32(b[handlewire.EnvelopeSize+4:]), true
}

// udpFlood sends req() from conn every period (0: as fast as the socket
// takes them) until ctx ends, counting what goes out and what comes back;
// it reads for 300 ms more, for late answers.
func udpFlood(ctx context.Context, conn *net.UDPConn, period time.Duration, req func() []byte, out, in *atomic.Int64, c *counters, label string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			if ctx.Err() != nil {
				conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			}
			n, err := conn.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
					continue
				}
				if ctx.Err() != nil {
					return
				}
				continue // ICMP unreachable and the like
			}
			in.Add(int64(n))
			c.add(label+"-datagrams-in", 1)
			if rc, ok := handleRC(buf[:n]); ok {
				c.add(label+"-"+handlewire.RCName(rc), 1)
			}
		}
	}()
	var tick *time.Ticker
	if period > 0 {
		tick = time.NewTicker(period)
		defer tick.Stop()
	}
	for ctx.Err() == nil {
		if tick != nil {
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		b := req()
		if n, err := conn.Write(b); err == nil {
			out.Add(int64(n))
			c.add(label+"-sent", 1)
		}
	}
	<-done
	conn.Close()
}

func abuseHandle(ctx context.Context, env *abuseEnv) patternResult {
	var r patternResult
	var c counters
	var wg sync.WaitGroup
	var ids atomic.Uint32
	addr := env.leaf["handle"]
	type io2 struct{ out, in atomic.Int64 }
	var slow, fast, cert, garbage io2
	big := func(i uint32) string {
		if i%2 == 0 {
			return "88.100/AMP"
		}
		return "88.100/BIG"
	}
	// Amplification, slowly (under any per-network limit: 50/s from each
	// of four /24s) and as fast as the socket goes (one /24).
	for s := range 4 {
		conn, err := udpFrom(src(70+s, 1), addr)
		if err != nil {
			r.check("handle: socket", false, "%v", err)
			return r
		}
		wg.Go(func() {
			udpFlood(ctx, conn, 20*time.Millisecond, func() []byte { i := ids.Add(1); return handleRequest(i, big(i), false) }, &slow.out, &slow.in, &c, "slow")
		})
	}
	for range 2 {
		conn, err := udpFrom(src(74, 1), addr)
		if err != nil {
			r.check("handle: socket", false, "%v", err)
			return r
		}
		wg.Go(func() {
			udpFlood(ctx, conn, 200*time.Microsecond, func() []byte { i := ids.Add(1); return handleRequest(i, big(i), false) }, &fast.out, &fast.in, &c, "fast")
		})
	}
	// Certified requests from twenty /24s over UDP (100/s each, 2000/s in
	// all) and four over TCP, back to back: the signing budget.
	var signedUDP, signedTCP atomic.Int64
	for s := range 20 {
		conn, err := udpFrom(src(80+s, 1), addr)
		if err != nil {
			r.check("handle: socket", false, "%v", err)
			return r
		}
		wg.Go(func() {
			udpFlood(ctx, conn, 10*time.Millisecond, func() []byte { return handleRequest(ids.Add(1), knownID(int(ids.Load())), true) }, &cert.out, &cert.in, &c, "certified-udp")
		})
	}
	for s := range 4 {
		wg.Go(func() {
			var conn net.Conn
			hdr := make([]byte, handlewire.EnvelopeSize)
			for ctx.Err() == nil {
				if conn == nil {
					var err error
					if conn, err = dialerFrom(src(100+s, 1)).DialContext(ctx, "tcp", addr); err != nil {
						c.add("certified-tcp-dial-error", 1)
						time.Sleep(50 * time.Millisecond)
						continue
					}
				}
				req := handleRequest(ids.Add(1), knownID(s), true)
				// The keep-alive flag, so one connection carries them all.
				binary.BigEndian.PutUint32(req[handlewire.EnvelopeSize+8:], binary.BigEndian.Uint32(req[handlewire.EnvelopeSize+8:])|handlewire.FlagKeepAlive)
				conn.SetDeadline(time.Now().Add(3 * time.Second))
				_, err := conn.Write(req)
				if err == nil {
					_, err = io.ReadFull(conn, hdr)
				}
				var body []byte
				if err == nil {
					body = make([]byte, binary.BigEndian.Uint32(hdr[16:]))
					_, err = io.ReadFull(conn, body)
				}
				if err != nil {
					c.add("certified-tcp-conn-lost", 1)
					conn.Close()
					conn = nil
					continue
				}
				c.add("certified-tcp-sent", 1)
				rc, _ := handleRC(append(hdr, body...))
				c.add("certified-tcp-"+handlewire.RCName(rc), 1)
				if rc == handlewire.RCSuccess {
					signedTCP.Add(1)
				}
			}
			if conn != nil {
				conn.Close()
			}
		})
	}
	// Garbage datagrams: random lengths, random bytes, some with a valid
	// envelope in front.
	for g := range 2 {
		conn, err := udpFrom(src(75, 1+g), addr)
		if err != nil {
			r.check("handle: socket", false, "%v", err)
			return r
		}
		wg.Go(func() {
			udpFlood(ctx, conn, 500*time.Microsecond, func() []byte {
				b := make([]byte, 1+rand.IntN(1500))
				for i := range b {
					b[i] = byte(rand.Uint32())
				}
				if len(b) > 40 && rand.IntN(2) == 0 {
					copy(b, handleRequest(ids.Add(1), "x", false)[:handlewire.EnvelopeSize])
				}
				return b
			}, &garbage.out, &garbage.in, &c, "garbage")
		})
	}
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	signedUDP.Store(c.get("certified-udp-SUCCESS"))
	signed := signedUDP.Load() + signedTCP.Load()
	r.linef("amplification, slow (4 /24s at 50/s, for 88.100/AMP %d B and 88.100/BIG): %d requests, %d B out, %d B in: %.3fx; answers %s",
		ampSize, c.get("slow-sent"), slow.out.Load(), slow.in.Load(), ratio(slow.in.Load(), slow.out.Load()), filterCounters(&c, "slow-"))
	r.linef("amplification, fast (one /24, two sockets): %d requests, %d B out, %d B in: %.3fx; answers %s",
		c.get("fast-sent"), fast.out.Load(), fast.in.Load(), ratio(fast.in.Load(), fast.out.Load()), filterCounters(&c, "fast-"))
	r.linef("certified: UDP %d requests from 20 /24s, %d signed; TCP %d requests on 4 connections, %d signed; %.0f signed/s against a budget of %.0f/s",
		c.get("certified-udp-sent"), signedUDP.Load(), c.get("certified-tcp-sent"), signedTCP.Load(), float64(signed)/elapsed, env.signRate)
	r.linef("certified answers: %s", filterCounters(&c, "certified-"))
	r.linef("garbage: %d datagrams (%s) from two sources, %d datagrams (%d B) back", c.get("garbage-sent"), mib(garbage.out.Load()), c.get("garbage-datagrams-in"), garbage.in.Load())
	const ampBound = 1.0
	r.check("handle: UDP amplification (bytes in / bytes out at the attacker) <= 1.0", ratio(slow.in.Load(), slow.out.Load()) <= ampBound && ratio(fast.in.Load(), fast.out.Load()) <= ampBound,
		"slow %.3fx, fast %.3fx", ratio(slow.in.Load(), slow.out.Load()), ratio(fast.in.Load(), fast.out.Load()))
	// The budget may allow a burst of a second's worth on top.
	r.check("handle: signing budget holds", float64(signed) <= env.signRate*(elapsed+1)*1.05,
		"%d signed in %.1f s (%.0f/s; budget %.0f/s)", signed, elapsed, float64(signed)/elapsed, env.signRate)
	return r
}

// ampSize is the Handle answer size of 88.100/AMP's values.
const ampSize = 16 * 512

// ---- 7. Oversized and garbage inputs ----

// rawBytes is a gRPC codec that sends bytes as they are.
type rawBytes struct{}

func (rawBytes) Marshal(v any) ([]byte, error)      { return *v.(*[]byte), nil }
func (rawBytes) Unmarshal(data []byte, v any) error { *v.(*[]byte) = data; return nil }
func (rawBytes) Name() string                       { return "proto" }

func abuseGarbage(ctx context.Context, env *abuseEnv) patternResult {
	var r patternResult
	var c counters
	conn, err := grpc.NewClient("passthrough:///"+env.leaf["grpc"], grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
			return dialerFrom(src(8, 1)).DialContext(ctx, "tcp", a)
		}),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawBytes{})))
	if err != nil {
		r.check("garbage: dial", false, "%v", err)
		return r
	}
	defer conn.Close()
	typed, err := grpcFrom(env.leaf["grpc"], src(8, 2), "")
	if err != nil {
		r.check("garbage: dial", false, "%v", err)
		return r
	}
	defer typed.Close()
	serverErr := func(kind string, bad bool, what string) {
		c.add(kind+"-"+what, 1)
		if bad {
			c.add("SERVER-ERROR", 1)
			c.add("server-error-"+kind+"-"+what, 1)
		}
	}
	grpcOutcome := func(kind string, err error) {
		code := status.Code(err)
		serverErr(kind, code == codes.Internal || code == codes.Unknown || code == codes.Unavailable, code.String())
	}
	rtlo := "88.100/K1\u202Eevil"
	dnsName, _ := dnsname.Identifier(env.zone, ident.MustParse("88.100/K1"))
	// The name the DNS mapping gives the U+202E identifier's suffix
	// (ie-- and base32hex), built here whether or not the node's
	// identifier syntax takes the character.
	rtloName := "ie--" + strings.ToLower(base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("K1\u202Eevil"))) + "._id.100.88." + env.zone
	httpc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: dialerFrom(src(8, 3)).DialContext}}
	defer httpc.CloseIdleConnections()
	dnsUDP := &dns.Client{Net: "udp", Timeout: time.Second, Dialer: dialerFrom(src(8, 4))}
	dnsUDP.Dialer.LocalAddr = &net.UDPAddr{IP: net.ParseIP(src(8, 4))}
	dnsTCP := &dns.Client{Net: "tcp", Timeout: time.Second, Dialer: dialerFrom(src(8, 5))}
	for i := 0; ctx.Err() == nil; i++ {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		// Invalid UTF-8 in gRPC strings, unary and streamed.
		req, resp := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("88.100/\xff\xfe\xc0\xaf")), []byte(nil)
		grpcOutcome("grpc-utf8-unary", conn.Invoke(cctx, idresv1.Resolver_Resolve_FullMethodName, &req, &resp))
		if st, err := conn.NewStream(cctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, idresv1.Resolver_ResolveStream_FullMethodName); err == nil {
			tagged := protowire.AppendBytes(protowire.AppendTag(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 7), 2, protowire.BytesType), req)
			msg := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), tagged)
			st.SendMsg(&msg)
			grpcOutcome("grpc-utf8-stream", st.RecvMsg(&resp))
		}
		// U+202E over gRPC, HTTP, DNS and the Handle protocol.
		if a, err := typed.Resolve(cctx, &idresv1.ResolveRequest{Identifier: rtlo}); err != nil {
			grpcOutcome("grpc-u202e", err)
		} else {
			serverErr("grpc-u202e", a.Outcome == idresv1.Outcome_OUTCOME_SERVER_FAILURE, strings.TrimPrefix(a.Outcome.String(), "OUTCOME_"))
		}
		if hr, err := httpc.Get(httpgw.APIURL("http://"+env.leaf["http"], rtlo)); err != nil {
			serverErr("http-u202e", true, "no-answer")
		} else {
			io.Copy(io.Discard, hr.Body)
			hr.Body.Close()
			serverErr("http-u202e", hr.StatusCode >= 500, fmt.Sprint(hr.StatusCode))
		}
		// Two OPT records; a name with U+202E's encoding.
		q := new(dns.Msg)
		q.SetQuestion(dnsName, dns.TypeTXT)
		q.SetEdns0(1232, false)
		q.Extra = append(q.Extra, &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 512}})
		for _, cl := range []*dns.Client{dnsUDP, dnsTCP} {
			if a, _, err := cl.ExchangeContext(cctx, q, env.leaf["dns"]); err != nil {
				serverErr("dns-two-opt-"+cl.Net, true, "no-answer")
			} else {
				serverErr("dns-two-opt-"+cl.Net, a.Rcode == dns.RcodeServerFailure, dns.RcodeToString[a.Rcode])
			}
		}
		q = new(dns.Msg)
		q.SetQuestion(rtloName, dns.TypeTXT)
		if a, _, err := dnsUDP.ExchangeContext(cctx, q, env.leaf["dns"]); err != nil {
			serverErr("dns-u202e", true, "no-answer")
		} else {
			serverErr("dns-u202e", a.Rcode == dns.RcodeServerFailure, dns.RcodeToString[a.Rcode])
		}
		if hc, err := udpFrom(src(8, 6), env.leaf["handle"]); err == nil {
			hc.Write(handleRequest(uint32(i+1), rtlo, false))
			hc.SetReadDeadline(time.Now().Add(time.Second))
			buf := make([]byte, 2048)
			if n, err := hc.Read(buf); err != nil {
				serverErr("handle-u202e", true, "no-answer")
			} else if rc, ok := handleRC(buf[:n]); ok {
				serverErr("handle-u202e", false, handlewire.RCName(rc))
			}
			hc.Close()
		}
		// Oversized: a gRPC message over the node's limit, a URL of
		// 1 MiB, a DNS TCP frame of 65535 random bytes (once a second).
		if i%10 == 0 {
			huge := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), bytes.Repeat([]byte("A"), 17<<20))
			grpcOutcome("grpc-17MiB", conn.Invoke(cctx, idresv1.Resolver_Resolve_FullMethodName, &huge, &resp))
			if tc, err := dialerFrom(src(8, 7)).DialContext(cctx, "tcp", env.leaf["http"]); err == nil {
				tc.SetDeadline(time.Now().Add(3 * time.Second))
				go tc.Write([]byte("GET /api/handles/88.100/" + strings.Repeat("A", 1<<20) + " HTTP/1.1\r\nHost: x\r\n\r\n"))
				line := make([]byte, 12)
				if _, err := io.ReadFull(tc, line); err != nil {
					serverErr("http-1MiB-url", false, "closed")
				} else {
					code := string(line[9:12])
					serverErr("http-1MiB-url", code[0] == '5', code)
				}
				tc.Close()
			}
			if tc, err := dialerFrom(src(8, 8)).DialContext(cctx, "tcp", env.leaf["dns"]); err == nil {
				tc.SetDeadline(time.Now().Add(2 * time.Second))
				frame := make([]byte, 2+65535)
				binary.BigEndian.PutUint16(frame, 65535)
				for j := 2; j < len(frame); j++ {
					frame[j] = byte(rand.Uint32())
				}
				tc.Write(frame)
				var n [2]byte
				if _, err := io.ReadFull(tc, n[:]); err != nil {
					serverErr("dns-tcp-garbage", false, "closed")
				} else {
					a := make([]byte, binary.BigEndian.Uint16(n[:]))
					io.ReadFull(tc, a)
					var m dns.Msg
					if m.Unpack(a) == nil {
						serverErr("dns-tcp-garbage", m.Rcode == dns.RcodeServerFailure, dns.RcodeToString[m.Rcode])
					} else {
						serverErr("dns-tcp-garbage", false, "unparsable-answer")
					}
				}
				tc.Close()
			}
		}
		cancel()
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	var kinds []string
	c.m.Range(func(k, _ any) bool {
		if s := k.(string); !strings.HasPrefix(s, "server-error-") && s != "SERVER-ERROR" {
			kinds = append(kinds, s)
		}
		return true
	})
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s=%d", k, c.get(k)))
	}
	r.linef("answers (kind-outcome=count): %s", strings.Join(parts, " "))
	r.check("garbage inputs: answered as the caller's mistake (no Internal/Unknown, 5xx, SERVFAIL or silence)", c.get("SERVER-ERROR") == 0,
		"%d server-side failures: %s", c.get("SERVER-ERROR"), filterCounters(&c, "server-error-"))
	return r
}
