package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/dnsname"
	"github.com/idres/idres/resolver/handlewire"
	"github.com/idres/idres/resolver/httpgw"
)

// The ordinary clients of TestSoakAbuse: stock clients (resolver/client,
// miekg/dns as a stub resolver asks, net/http with a new connection per
// request as phones scanning QR codes make, the Handle protocol as hdllib
// frames it) from addresses of 127.0.1.0/24, not 127.0.0.1, which the
// node's connection caps favour for health probes; /healthz alone is
// probed from 127.0.0.1, as a local health checker would. They resolve
// known identifiers at a fixed modest rate; every failure to get the right
// answer within ordinaryDeadline is an error. The attackers come from
// other /24s of 127/8, as an attacker on the internet comes from other
// networks than the node's users.

const (
	ordinaryWorkers  = 2                      // goroutines per protocol
	ordinaryPeriod   = 100 * time.Millisecond // per goroutine: 10 requests/s
	ordinaryDeadline = 2 * time.Second
	knownIDs         = 100 // 88.100/K0 .. K99
)

// ordinaryProtocols in report order.
var ordinaryProtocols = []string{"grpc", "grpc-recursive", "dns-udp", "http", "http-healthz", "handle-tcp", "handle-udp"}

// latencyStats is one protocol's record in one phase.
type latencyStats struct {
	n, errs int
	d       []time.Duration
	samples []string // the first few errors
}

func (s *latencyStats) add(d time.Duration, err error) {
	s.n++
	s.d = append(s.d, d)
	if err != nil {
		s.errs++
		if len(s.samples) < 3 {
			s.samples = append(s.samples, err.Error())
		}
	}
}

func (s *latencyStats) merge(o *latencyStats) {
	s.n += o.n
	s.errs += o.errs
	s.d = append(s.d, o.d...)
	for _, e := range o.samples {
		if len(s.samples) < 3 {
			s.samples = append(s.samples, e)
		}
	}
}

// quantile of the recorded latencies, 0 when none.
func (s *latencyStats) quantile(q float64) time.Duration {
	if len(s.d) == 0 {
		return 0
	}
	d := slices.Clone(s.d)
	slices.Sort(d)
	i := int(q*float64(len(d)) + 0.5)
	return d[min(max(i-1, 0), len(d)-1)]
}

// ordinaryLoad records the ordinary clients' requests by protocol and by
// the phase they were made in.
type ordinaryLoad struct {
	phase *atomic.Pointer[string]
	mu    sync.Mutex
	stats map[string]map[string]*latencyStats // protocol -> phase -> stats
}

func (o *ordinaryLoad) record(proto string, start time.Time, err error) {
	d := time.Since(start)
	phase := *o.phase.Load()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stats[proto] == nil {
		o.stats[proto] = map[string]*latencyStats{}
	}
	s := o.stats[proto][phase]
	if s == nil {
		s = &latencyStats{}
		o.stats[proto][phase] = s
	}
	s.add(d, err)
}

// total is one protocol's record over every phase.
func (o *ordinaryLoad) total(proto string) *latencyStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := &latencyStats{}
	for _, s := range o.stats[proto] {
		t.merge(s)
	}
	return t
}

func (o *ordinaryLoad) get(proto, phase string) *latencyStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	if s := o.stats[proto][phase]; s != nil {
		return s
	}
	return &latencyStats{}
}

// knownID is the i-th ordinary identifier and its values.
func knownID(i int) string { return fmt.Sprintf("88.100/K%d", i%knownIDs) }

func knownValues(id string) []*idresv1.Value {
	pub := func(v *idresv1.Value) *idresv1.Value { v.PublicRead = ptr(true); return v }
	return []*idresv1.Value{
		pub(&idresv1.Value{Index: 1, Type: "URL", Data: []byte("https://parts.example.com/" + id)}),
		pub(&idresv1.Value{Index: 2, Type: "manufacturer", Data: []byte("ACME Pumps GmbH")}),
		pub(&idresv1.Value{Index: 3, Type: "batch", Data: []byte("B-" + id)}),
	}
}

// endpoints of an idresd from its ready file.
func readyEndpoints(dir string) (map[string]string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "ready.json"))
	if err != nil {
		return nil, err
	}
	eps := map[string]string{}
	return eps, json.Unmarshal(raw, &eps)
}

// runOrdinary starts the ordinary clients; they stop when ctx ends and
// the returned function has waited for them.
func runOrdinary(ctx context.Context, o *ordinaryLoad, leaf, rec map[string]string, zone string) (wait func(), err error) {
	var wg sync.WaitGroup
	leafC, err := grpcFrom(leaf["grpc"], src(1, 1), "")
	if err != nil {
		return nil, err
	}
	recC, err := grpcFrom(rec["grpc"], src(1, 2), "")
	if err != nil {
		return nil, err
	}
	httpC := &http.Client{Timeout: ordinaryDeadline, Transport: &http.Transport{DisableKeepAlives: true, DialContext: dialerFrom(src(1, 4)).DialContext}}
	probeC := &http.Client{Timeout: ordinaryDeadline}
	resolveGRPC := func(c *client.Client, id string, recursive bool) error {
		cctx, cancel := context.WithTimeout(ctx, ordinaryDeadline)
		defer cancel()
		resp, err := c.Resolve(cctx, &idresv1.ResolveRequest{Identifier: id, Recursive: recursive})
		if err != nil {
			return err
		}
		if resp.Outcome != idresv1.Outcome_OUTCOME_OK || len(resp.Values) != 3 {
			return fmt.Errorf("%s: %v with %d values: %s", id, resp.Outcome, len(resp.Values), resp.Message)
		}
		return nil
	}
	loop := func(proto string, f func(i int) error) {
		for w := range ordinaryWorkers {
			wg.Go(func() {
				tick := time.NewTicker(ordinaryPeriod)
				defer tick.Stop()
				for i := w; ; i += ordinaryWorkers {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
					}
					start := time.Now()
					err := f(i)
					if ctx.Err() != nil {
						return // the run ended under this request
					}
					if err != errRecorded {
						o.record(proto, start, err)
					}
				}
			})
		}
	}
	loop("grpc", func(i int) error { return resolveGRPC(leafC, knownID(i), false) })
	loop("grpc-recursive", func(i int) error { return resolveGRPC(recC, knownID(i), true) })
	loop("dns-udp", func(i int) error {
		name, err := dnsname.Identifier(zone, ident.MustParse(knownID(i)))
		if err != nil {
			return err
		}
		return stubQuery(ctx, src(1, 3), leaf["dns"], name, "manufacturer ACME Pumps GmbH")
	})
	loop("http", func(i int) error {
		start := time.Now()
		if err := httpGetWant(ctx, httpC, httpgw.APIURL("http://"+leaf["http"], knownID(i)), "ACME Pumps GmbH"); err != nil {
			return err
		}
		// /healthz is what a load balancer probes: it must answer while
		// the connection slots are under attack.
		o.record("http", start, nil)
		start = time.Now()
		err := httpGetWant(ctx, probeC, "http://"+leaf["http"]+"/healthz", "")
		if ctx.Err() == nil {
			o.record("http-healthz", start, err)
		}
		return errRecorded
	})
	loop("handle-tcp", func(i int) error { return handleTCPOnce(ctx, src(1, 5), leaf["handle"], knownID(i)) })
	loop("handle-udp", func(i int) error { return handleUDP(ctx, src(1, 6), leaf["handle"], knownID(i)) })
	return func() {
		wg.Wait()
		leafC.Close()
		recC.Close()
		probeC.CloseIdleConnections()
	}, nil
}

// errRecorded: the loop's function has recorded its requests itself.
var errRecorded = fmt.Errorf("recorded")

// stubQuery asks for name's TXT records as a stub resolver would: over
// UDP with EDNS0, one second a try, twice, then over TCP when the answer
// comes back truncated. The answer must hold a TXT string with want.
func stubQuery(ctx context.Context, source, server, name, want string) error {
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeTXT)
	q.SetEdns0(1232, false)
	udp := &dns.Client{Net: "udp", Timeout: time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(source)}}}
	var r *dns.Msg
	var err error
	for range 2 {
		if r, _, err = udp.ExchangeContext(ctx, q, server); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("%s over UDP, two tries: %w", name, err)
	}
	if r.Truncated {
		tcp := &dns.Client{Net: "tcp", Timeout: time.Second, Dialer: dialerFrom(source)}
		if r, _, err = tcp.ExchangeContext(ctx, q, server); err != nil {
			return fmt.Errorf("%s over TCP after TC: %w", name, err)
		}
	}
	if r.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("%s: %s", name, dns.RcodeToString[r.Rcode])
	}
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok && strings.Contains(strings.Join(txt.Txt, ""), want) {
			return nil
		}
	}
	return fmt.Errorf("%s: no TXT with %q in %d answers", name, want, len(r.Answer))
}

// httpGetWant GETs url and wants 200 with want in the body.
func httpGetWant(ctx context.Context, c *http.Client, url, want string) error {
	cctx, cancel := context.WithTimeout(ctx, ordinaryDeadline)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("GET %s: %d %.80q", url, resp.StatusCode, body)
	}
	return nil
}

// fmtDur prints a latency in ms with three significant digits.
func fmtDur(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	case ms >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(ms, 'f', 2, 64) + "ms"
}

// handleTCPOnce resolves id over a TCP connection of its own, as hdllib
// does by default, and wants its three values.
func handleTCPOnce(ctx context.Context, source, server, id string) error {
	cctx, cancel := context.WithTimeout(ctx, ordinaryDeadline)
	defer cancel()
	conn, err := dialerFrom(source).DialContext(cctx, "tcp", server)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, _ := cctx.Deadline()
	conn.SetDeadline(deadline)
	reqID := rand.Uint32()&0x7fffffff | 1
	if _, err := conn.Write(handleRequest(reqID, id, false)); err != nil {
		return err
	}
	env := make([]byte, handlewire.EnvelopeSize)
	if _, err := io.ReadFull(conn, env); err != nil {
		return fmt.Errorf("%s over TCP: %w", id, err)
	}
	e, err := handlewire.DecodeEnvelope(env)
	if err != nil {
		return err
	}
	msg := make([]byte, e.MessageLength)
	if _, err := io.ReadFull(conn, msg); err != nil {
		return fmt.Errorf("%s over TCP: %w", id, err)
	}
	return handleAnswerOK(id, reqID, e, msg)
}

// handleUDP resolves id in one datagram, resent after 500 ms, and over TCP
// when the answer comes back truncated, as hdllib does.
func handleUDP(ctx context.Context, source, server, id string) error {
	cctx, cancel := context.WithTimeout(ctx, ordinaryDeadline)
	defer cancel()
	conn, err := udpFrom(source, server)
	if err != nil {
		return err
	}
	defer conn.Close()
	reqID := rand.Uint32()&0x7fffffff | 1
	req := handleRequest(reqID, id, false)
	buf := make([]byte, 65536)
	for cctx.Err() == nil {
		conn.Write(req)
		resend := time.Now().Add(500 * time.Millisecond)
		if d, _ := cctx.Deadline(); d.Before(resend) {
			resend = d
		}
		conn.SetReadDeadline(resend)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				break // resend, or the deadline
			}
			e, err := handlewire.DecodeEnvelope(buf[:n])
			if err != nil || e.RequestID != reqID {
				continue
			}
			if e.Flags&handlewire.EnvTruncated != 0 {
				return handleTCPOnce(ctx, source, server, id)
			}
			if e.SequenceNumber != 0 || int(e.MessageLength) != n-handlewire.EnvelopeSize {
				return fmt.Errorf("%s over UDP: a multi-datagram answer to a small record", id)
			}
			return handleAnswerOK(id, reqID, e, buf[handlewire.EnvelopeSize:n])
		}
	}
	return fmt.Errorf("%s over UDP: no answer within %s", id, ordinaryDeadline)
}

func handleAnswerOK(id string, reqID uint32, e handlewire.Envelope, msg []byte) error {
	if e.RequestID != reqID {
		return fmt.Errorf("%s: answer to request %d, asked %d", id, e.RequestID, reqID)
	}
	m, err := handlewire.DecodeMessage(msg)
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	if m.ResponseCode != handlewire.RCSuccess {
		return fmt.Errorf("%s: %s %s", id, handlewire.RCName(m.ResponseCode), handlewire.DecodeError(m.Body))
	}
	_, body, err := handlewire.SplitDigest(&m)
	if err != nil {
		return err
	}
	hv, err := handlewire.DecodeHandleValues(body)
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	if len(hv.Values) != 3 {
		return fmt.Errorf("%s: %d values, want 3", id, len(hv.Values))
	}
	return nil
}
