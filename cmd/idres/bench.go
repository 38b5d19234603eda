package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/bulkfile"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/resolver/client"
	"github.com/idres/idres/resolver/dnsname"
)

func init() {
	register(&command{
		Name:    "bench",
		Usage:   "resolve|stream|import|dns|handle|gen [flags]",
		Summary: "load generator: throughput and latency percentiles of a node (see idres bench MODE -h)",
		Run:     runBench,
	})
}

// benchReport is what a bench run prints (text, or JSON with --json).
type benchReport struct {
	Mode        string  `json:"mode"`
	Target      string  `json:"target"`
	Conns       int     `json:"conns"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	// Ops counts what Unit names: requests (resolve, dns) or identifiers
	// (stream, import).
	Ops       uint64  `json:"ops"`
	Unit      string  `json:"unit"`
	Errors    uint64  `json:"errors"`
	PerSecond float64 `json:"per_second"`
	// Latency of what Sample names, in milliseconds.
	Sample string     `json:"sample"`
	Lat    benchLatMS `json:"latency_ms"`
	// Outcomes counts answers by outcome (resolve, stream) or rcode (dns).
	Outcomes map[string]uint64 `json:"outcomes,omitempty"`
	// FirstError is the first failed call's error, when any failed.
	FirstError string `json:"first_error,omitempty"`
}

type benchLatMS struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func latOf(h *latencyHist) benchLatMS {
	return benchLatMS{P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)), P99: ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)), Max: ms(h.Max()), Mean: ms(h.Mean())}
}

// benchOpts are the flags every mode shares.
type benchOpts struct {
	duration    time.Duration
	count       uint64
	rate        float64
	conns       int
	concurrency int
	prefix      string
	ids         int
	seq         bool
	recursive   bool
	batch       int
	file        string
	dnsServer   string
	replace     bool
	sortWindow  int
	udp         bool
}

func runBench(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" {
		return e.usageError("want a mode: resolve, stream, import, dns, handle or gen")
	}
	mode := args[0]
	if mode == "-h" || mode == "--help" {
		fmt.Fprintln(e.Stdout, "usage: idres bench resolve|stream|import|dns|handle|gen [flags]; idres bench MODE -h lists a mode's flags")
		return exitOK
	}
	fs := e.flags()
	var o benchOpts
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to run (ignored when --count is reached first)")
	fs.Uint64Var(&o.count, "count", 0, "stop after this many operations (0: run for --duration)")
	fs.Float64Var(&o.rate, "rate", 0, "target operations per second over all workers (0: as fast as possible)")
	fs.IntVar(&o.conns, "conns", 1, "connections (gRPC) or sockets (dns); streams for stream mode")
	fs.IntVar(&o.concurrency, "concurrency", 8, "concurrent calls per connection (handle: connections, one call at a time each)")
	fs.IntVar(&o.concurrency, "c", 8, "short for --concurrency")
	fs.StringVar(&o.prefix, "prefix", "88.100", "prefix of the generated identifiers PREFIX/item-N")
	fs.IntVar(&o.ids, "ids", 1000, "identifiers to draw from: PREFIX/item-0 .. item-(ids-1)")
	fs.BoolVar(&o.seq, "seq", false, "ask item-0, item-1, ... in turn instead of at random (each once with --count ids)")
	fs.BoolVar(&o.recursive, "recursive", false, "set recursive on each request")
	fs.IntVar(&o.batch, "batch", 100, "stream: identifiers per message; import: identifiers per transaction")
	fs.StringVar(&o.file, "file", "", "import: JSONL or CSV file to import (default: generate); dns: query file (\"NAME TYPE\" lines, dnsperf format); handle: identifiers, one a line, or bench gen's JSON lines (default: --prefix/--ids)")
	fs.StringVar(&o.file, "f", "", "short for --file")
	fs.BoolVar(&o.udp, "udp", false, "handle: ask over UDP (--server is the Handle server's host:port)")
	fs.StringVar(&o.dnsServer, "dns-server", "127.0.0.1:53", "dns: server address host:port")
	fs.BoolVar(&o.replace, "replace", false, "import: create-or-replace")
	fs.IntVar(&o.sortWindow, "sort-window", client.DefaultSortWindow, "import: as for idres import")
	out := fs.String("o", "-", "gen: output `file`")
	dnsperf := fs.String("dnsperf", "", "gen: also write a dnsperf query `file` (\"NAME TXT\" lines) for the identifiers")
	zone := fs.String("zone", "id.example.", "gen: the DNS bridge's zone, for --dnsperf")
	cpuProfile := fs.String("cpuprofile", "", "write the load generator's own CPU profile to `file` (it shares the machine with the node)")
	pos, code, ok := e.parseArgs(fs, args[1:], mode+" [flags]")
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return e.usageError("unexpected argument %q", pos[0])
	}
	if o.conns < 1 || o.concurrency < 1 || o.ids < 1 || o.batch < 1 {
		return e.usageError("--conns, --concurrency, --ids and --batch must be at least 1")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return e.fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return e.fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	var rep *benchReport
	var err error
	switch mode {
	case "gen":
		return e.benchGen(o, *out, *dnsperf, *zone)
	case "resolve":
		rep, err = e.benchResolve(ctx, o)
	case "stream":
		rep, err = e.benchStream(ctx, o)
	case "import":
		rep, err = e.benchImport(ctx, o)
	case "dns":
		rep, err = e.benchDNS(ctx, o)
	case "handle":
		if !e.serverSet {
			return e.usageError("handle: --server HOST:PORT of the Handle server is required")
		}
		rep, err = e.benchHandle(ctx, o)
	default:
		return e.usageError("unknown mode %q (resolve, stream, import, dns, handle or gen)", mode)
	}
	if err != nil {
		return e.fail(err)
	}
	if e.JSON {
		raw, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintf(e.Stdout, "%s\n", raw)
	} else {
		printBench(e.Stdout, rep)
	}
	if rep.Errors > 0 && rep.Errors == rep.Ops {
		return exitServer
	}
	return exitOK
}

func printBench(w io.Writer, r *benchReport) {
	fmt.Fprintf(w, "%s against %s: %d conns x %d concurrent, %.1fs\n", r.Mode, r.Target, r.Conns, r.Concurrency, r.Seconds)
	fmt.Fprintf(w, "  %d %s, %d errors, %.0f %s/s\n", r.Ops, r.Unit, r.Errors, r.PerSecond, r.Unit)
	fmt.Fprintf(w, "  %s latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", r.Sample, r.Lat.P50, r.Lat.P90, r.Lat.P99, r.Lat.P999, r.Lat.Max)
	if r.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
	}
	if len(r.Outcomes) > 0 {
		fmt.Fprintf(w, "  outcomes:")
		for k, v := range r.Outcomes {
			fmt.Fprintf(w, " %s=%d", k, v)
		}
		fmt.Fprintln(w)
	}
}

func benchID(prefix string, i int) string { return fmt.Sprintf("%s/item-%d", prefix, i) }

// pacer hands out start times: now when unlimited, else the next slot of
// a fixed schedule. A worker still busy when its slot comes measures from
// the slot, so a stalled server cannot hide its queueing; one that slept
// measures from its wake-up, since Go's timers wake up to a millisecond
// late on an idle machine and that lateness is the load generator's.
type pacer struct {
	start    time.Time
	interval time.Duration
	next     atomic.Int64
}

func newPacer(rate float64) *pacer {
	p := &pacer{start: time.Now()}
	if rate > 0 {
		p.interval = time.Duration(float64(time.Second) / rate)
	}
	return p
}

// wait blocks until the caller's slot and returns its intended start.
func (p *pacer) wait(ctx context.Context) (time.Time, bool) {
	if p.interval == 0 {
		return time.Now(), ctx.Err() == nil
	}
	k := p.next.Add(1) - 1
	at := p.start.Add(time.Duration(k) * p.interval)
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return at, false
		}
		return time.Now(), ctx.Err() == nil
	}
	return at, ctx.Err() == nil
}

// budget hands out operations up to --count (or unlimited).
type budget struct {
	limit uint64
	used  atomic.Uint64
}

func (b *budget) take(n uint64) uint64 {
	if b.limit == 0 {
		return n
	}
	after := b.used.Add(n)
	if after <= b.limit {
		return n
	}
	if after-n >= b.limit {
		return 0
	}
	return b.limit - (after - n)
}

// picker chooses identifiers, those of list or else PREFIX/item-N below
// --ids: at random, or in turn with --seq.
type picker struct {
	o    benchOpts
	list []string
	next atomic.Uint64
}

func (p *picker) pick(r *rand.Rand) string {
	n := p.o.ids
	if p.list != nil {
		n = len(p.list)
	}
	var i int
	if p.o.seq {
		i = int(p.next.Add(1)-1) % n
	} else {
		i = r.IntN(n)
	}
	if p.list != nil {
		return p.list[i]
	}
	return benchID(p.o.prefix, i)
}

// worker results, merged at the end.
type benchPart struct {
	hist     latencyHist
	ops      uint64
	errs     uint64
	outcomes map[string]uint64
	firstErr error
}

func mergeParts(parts []*benchPart, rep *benchReport) (*latencyHist, error) {
	h := &latencyHist{}
	rep.Outcomes = map[string]uint64{}
	var first error
	for _, p := range parts {
		h.Merge(&p.hist)
		rep.Ops += p.ops
		rep.Errors += p.errs
		for k, v := range p.outcomes {
			rep.Outcomes[k] += v
		}
		if first == nil {
			first = p.firstErr
		}
	}
	rep.Lat = latOf(h)
	if first != nil {
		rep.FirstError = first.Error()
	}
	return h, first
}

func (e *env) benchClients(n int) ([]*client.Client, func(), error) {
	tok, err := e.token()
	if err != nil {
		return nil, nil, err
	}
	var cs []*client.Client
	closeAll := func() {
		for _, c := range cs {
			c.Close()
		}
	}
	for range n {
		c, err := client.Dial(e.Server, client.Options{Token: tok})
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		cs = append(cs, c)
	}
	// Connect before any clock starts: a paced run's first slots would
	// otherwise wait for the handshakes and count them as latency.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range cs {
		if err := awaitReady(ctx, c.Conn()); err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("connect %s: %w", e.Server, err)
		}
	}
	return cs, closeAll, nil
}

func awaitReady(ctx context.Context, conn *grpc.ClientConn) error {
	conn.Connect()
	for {
		s := conn.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure:
			return errors.New("cannot reach the node")
		}
		if !conn.WaitForStateChange(ctx, s) {
			return fmt.Errorf("%w (last state %s)", ctx.Err(), s)
		}
	}
}

func (e *env) benchResolve(ctx context.Context, o benchOpts) (*benchReport, error) {
	cs, closeAll, err := e.benchClients(o.conns)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	// stop ends the run; calls use ctx, so a call in flight when time is
	// up completes (and counts) instead of failing with the deadline.
	stop, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	pace, bud, pk := newPacer(o.rate), &budget{limit: o.count}, &picker{o: o}
	parts := make([]*benchPart, 0, o.conns*o.concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for ci, c := range cs {
		for wi := range o.concurrency {
			p := &benchPart{outcomes: map[string]uint64{}}
			parts = append(parts, p)
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(ci), uint64(wi)))
				req := &idresv1.ResolveRequest{Recursive: o.recursive}
				for bud.take(1) == 1 {
					at, ok := pace.wait(stop)
					if !ok {
						return
					}
					req.Identifier = pk.pick(r)
					resp, err := c.Resolve(ctx, req)
					if err != nil {
						if ctx.Err() != nil {
							return
						}
						p.errs++
						p.firstErr = cmpErr(p.firstErr, err)
					} else {
						p.outcomes[outcomeName(resp.GetOutcome())]++
					}
					p.hist.Record(time.Since(at))
					p.ops++
				}
			}()
		}
	}
	wg.Wait()
	rep := &benchReport{Mode: "resolve", Target: e.Server, Conns: o.conns, Concurrency: o.concurrency, Unit: "requests", Sample: "request"}
	rep.Seconds = time.Since(start).Seconds()
	_, first := mergeParts(parts, rep)
	rep.PerSecond = float64(rep.Ops) / rep.Seconds
	if rep.Ops > 0 && rep.Errors == rep.Ops {
		return nil, first
	}
	return rep, nil
}

func cmpErr(old, err error) error {
	if old != nil {
		return old
	}
	return err
}

// benchStream runs --conns streams; each sends --batch identifiers per
// message as fast as flow control allows (or at --rate identifiers/s) and
// records, per message, the time from its send to its last answer.
func (e *env) benchStream(ctx context.Context, o benchOpts) (*benchReport, error) {
	cs, closeAll, err := e.benchClients(o.conns)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var pace *pacer
	if o.rate > 0 {
		pace = newPacer(o.rate / float64(o.batch))
	}
	bud, pk := &budget{limit: o.count}, &picker{o: o}
	parts := make([]*benchPart, len(cs))
	var wg sync.WaitGroup
	start := time.Now()
	for ci, c := range cs {
		p := &benchPart{outcomes: map[string]uint64{}}
		parts[ci] = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := streamWorker(ctx, c, o, pace, bud, pk, uint64(ci), p); err != nil {
				p.firstErr = err
			}
		}()
	}
	wg.Wait()
	rep := &benchReport{Mode: "stream", Target: e.Server, Conns: o.conns, Concurrency: o.batch, Unit: "identifiers", Sample: fmt.Sprintf("message of %d", o.batch)}
	rep.Seconds = time.Since(start).Seconds()
	_, first := mergeParts(parts, rep)
	rep.PerSecond = float64(rep.Ops) / rep.Seconds
	if rep.Ops == 0 && first != nil {
		return nil, first
	}
	return rep, nil
}

var errAnswerOrder = errors.New("answer out of request order")

type sentBatch struct {
	at time.Time
	n  int
}

func streamWorker(ctx context.Context, c *client.Client, o benchOpts, pace *pacer, bud *budget, pk *picker, seed uint64, p *benchPart) error {
	// The stream outlives ctx by a drain: when time is up the sender
	// stops and closes, and the answers in flight still arrive.
	sctx, scancel := context.WithCancel(context.WithoutCancel(ctx))
	defer scancel()
	st, err := c.ResolveStream(sctx, grpc.ForceCodecV2(tagCodec{}))
	if err != nil {
		return err
	}
	sent := make(chan sentBatch, 1<<16)
	go func() {
		defer close(sent)
		defer st.CloseSend()
		r := rand.New(rand.NewPCG(seed, 99))
		id := uint64(0)
		for ctx.Err() == nil {
			n := int(bud.take(uint64(o.batch)))
			if n == 0 {
				return
			}
			at := time.Now()
			if pace != nil {
				var ok bool
				if at, ok = pace.wait(ctx); !ok {
					return
				}
			}
			msg := &idresv1.ResolveStreamRequest{Requests: make([]*idresv1.TaggedResolveRequest, n)}
			for i := range msg.Requests {
				id++
				msg.Requests[i] = &idresv1.TaggedResolveRequest{RequestId: id, Request: &idresv1.ResolveRequest{Identifier: pk.pick(r), Recursive: o.recursive}}
			}
			if err := st.Send(msg); err != nil {
				return
			}
			sent <- sentBatch{at: at, n: n}
		}
	}()
	var cur sentBatch
	left := 0
	want := uint64(0) // the tag the next answer must carry
	var resp tagAnswers
	for {
		err := st.RecvMsg(&resp)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, a := range resp.items {
			if left == 0 {
				cur = <-sent
				left = cur.n
			}
			if want++; a.requestID != want {
				p.errs++
				p.firstErr = cmpErr(p.firstErr, fmt.Errorf("%w: tag %d where %d was due", errAnswerOrder, a.requestID, want))
				want = a.requestID
			}
			p.outcomes[outcomeName(a.outcome)]++
			p.ops++
			if left--; left == 0 {
				p.hist.Record(time.Since(cur.at))
			}
		}
	}
}

// benchImport imports --file, or --count generated identifiers (default
// 100000) under --prefix named bench-<time>-N, and reports identifiers/s
// and the time between batch acknowledgements.
func (e *env) benchImport(ctx context.Context, o benchOpts) (*benchReport, error) {
	cs, closeAll, err := e.benchClients(1)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	var rd bulkfile.Reader
	if o.file != "" {
		f, err := os.Open(o.file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if rd, err = bulkfile.NewReader(f, bulkfile.FormatOf(o.file)); err != nil {
			return nil, err
		}
	} else {
		n := o.count
		if n == 0 {
			n = 100000
		}
		rd = &genReader{prefix: o.prefix, name: fmt.Sprintf("bench-%d-", time.Now().UnixNano()), n: int(n), r: rand.New(rand.NewPCG(1, 2))}
	}
	ctx, cancel := context.WithTimeout(ctx, max(o.duration, time.Hour))
	defer cancel()
	h := &latencyHist{}
	last := time.Now()
	start := last
	tot, err := cs[0].ImportFrom(ctx, rd, client.ImportOptions{Replace: o.replace, Batch: o.batch, SortWindow: o.sortWindow,
		Progress: func(client.ImportTotals) {
			now := time.Now()
			h.Record(now.Sub(last))
			last = now
		}})
	if err != nil {
		return nil, err
	}
	rep := &benchReport{Mode: "import", Target: e.Server, Conns: 1, Concurrency: o.batch, Unit: "identifiers",
		Sample: fmt.Sprintf("interval between acks of %d-item batches", o.batch)}
	rep.Seconds = time.Since(start).Seconds()
	rep.Ops = tot.Created + tot.Replaced
	rep.Errors = tot.Failed
	rep.PerSecond = float64(rep.Ops) / rep.Seconds
	rep.Lat = latOf(h)
	rep.Outcomes = map[string]uint64{"created": tot.Created, "replaced": tot.Replaced, "failed": tot.Failed}
	return rep, nil
}

// benchDNS sends the queries of --file (dnsperf's "NAME TYPE" lines) over
// UDP, --conns sockets with --concurrency outstanding queries each.
func (e *env) benchDNS(ctx context.Context, o benchOpts) (*benchReport, error) {
	if o.file == "" {
		return nil, fmt.Errorf("dns mode needs --file with \"NAME TYPE\" lines (see idres bench gen --dnsperf)")
	}
	qs, err := readQueries(o.file)
	if err != nil {
		return nil, err
	}
	stop, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	pace, bud := newPacer(o.rate), &budget{limit: o.count}
	var next atomic.Uint64
	parts := make([]*benchPart, 0, o.conns*o.concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for range o.conns * o.concurrency {
		p := &benchPart{outcomes: map[string]uint64{}}
		parts = append(parts, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
			conn, err := cl.DialContext(ctx, o.dnsServer)
			if err != nil {
				p.firstErr = err
				return
			}
			defer conn.Close()
			m := new(dns.Msg)
			for bud.take(1) == 1 {
				at, ok := pace.wait(stop)
				if !ok {
					return
				}
				q := qs[int(next.Add(1)-1)%len(qs)]
				m.SetQuestion(q.name, q.qtype)
				m.RecursionDesired = false
				resp, _, err := cl.ExchangeWithConnContext(ctx, m, conn)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					p.errs++
					p.firstErr = cmpErr(p.firstErr, err)
				} else {
					p.outcomes[dns.RcodeToString[resp.Rcode]]++
				}
				p.hist.Record(time.Since(at))
				p.ops++
			}
		}()
	}
	wg.Wait()
	rep := &benchReport{Mode: "dns", Target: o.dnsServer, Conns: o.conns, Concurrency: o.concurrency, Unit: "queries", Sample: "query"}
	rep.Seconds = time.Since(start).Seconds()
	_, first := mergeParts(parts, rep)
	rep.PerSecond = float64(rep.Ops) / rep.Seconds
	if rep.Ops == 0 || rep.Errors == rep.Ops {
		return nil, cmpErr(first, errors.New("no query answered"))
	}
	return rep, nil
}

type dnsQuery struct {
	name  string
	qtype uint16
}

func readQueries(path string) ([]dnsQuery, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var qs []dnsQuery
	s := bufio.NewScanner(f)
	for line := 1; s.Scan(); line++ {
		fields := strings.Fields(s.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		qt := dns.TypeA
		if len(fields) > 1 {
			t, ok := dns.StringToType[strings.ToUpper(fields[1])]
			if !ok {
				return nil, fmt.Errorf("%s:%d: unknown query type %q", path, line, fields[1])
			}
			qt = t
		}
		qs = append(qs, dnsQuery{name: dns.Fqdn(fields[0]), qtype: qt})
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("%s: no queries", path)
	}
	return qs, nil
}

// genReader generates identifiers PREFIX/NAMEi for i in a random order.
type genReader struct {
	prefix, name string
	n, i         int
	r            *rand.Rand
	perm         []int32
}

func (g *genReader) Next() (*bulkfile.Item, error) {
	if g.perm == nil {
		g.perm = make([]int32, g.n)
		for i := range g.perm {
			g.perm[i] = int32(i)
		}
		g.r.Shuffle(len(g.perm), func(i, j int) { g.perm[i], g.perm[j] = g.perm[j], g.perm[i] })
	}
	if g.i >= g.n {
		return nil, io.EOF
	}
	k := int(g.perm[g.i])
	g.i++
	return &bulkfile.Item{Line: g.i, Identifier: fmt.Sprintf("%s/%s%d", g.prefix, g.name, k), Values: genValues(k)}, nil
}

// genValues are the values of generated identifier k: what a factory
// registers for one product (about 200 bytes).
func genValues(k int) []*idresv1.Value {
	return []*idresv1.Value{
		{Index: 1, Type: "URL", Data: fmt.Appendf(nil, "https://products.example.com/p/%08d", k)},
		{Index: 2, Type: "manufacturer", Data: []byte("Example Manufacturing Co., Ltd.")},
		{Index: 3, Type: "batch", Data: fmt.Appendf(nil, "B-%06d", k/1000)},
		{Index: 4, Type: "production_date", Data: fmt.Appendf(nil, "2026-%02d-%02d", 1+k%12, 1+k%28)},
	}
}

// benchGen writes the data set of `make bench`: --ids identifiers
// PREFIX/item-N in random order as JSON lines; with --dnsperf also a
// dnsperf query file of their DNS names under --zone, in the same order.
func (e *env) benchGen(o benchOpts, out, dnsperf, zone string) int {
	var w io.Writer = e.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return e.usageError("%v", err)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var qw *bufio.Writer
	if dnsperf != "" {
		f, err := os.Create(dnsperf)
		if err != nil {
			return e.usageError("%v", err)
		}
		defer f.Close()
		qw = bufio.NewWriterSize(f, 1<<20)
	}
	g := &genReader{prefix: o.prefix, name: "item-", n: o.ids, r: rand.New(rand.NewPCG(42, 42))}
	var buf []byte
	for {
		it, err := g.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		buf, err = bulkfile.AppendJSONL(buf[:0], &idresv1.Identifier{Identifier: it.Identifier, Values: it.Values})
		if err != nil {
			return e.fail(err)
		}
		bw.Write(buf)
		if qw != nil {
			id, err := ident.Parse(it.Identifier)
			if err != nil {
				return e.fail(err)
			}
			name, err := dnsname.Identifier(zone, id)
			if err != nil {
				return e.fail(err)
			}
			fmt.Fprintf(qw, "%s TXT\n", name)
		}
	}
	if err := bw.Flush(); err != nil {
		return e.fail(err)
	}
	if qw != nil {
		if err := qw.Flush(); err != nil {
			return e.fail(err)
		}
	}
	return exitOK
}
