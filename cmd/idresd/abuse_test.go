package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

// rssBound is the most anonymous resident memory (RssAnon: heap, stacks,
// buffers; not the store's memory-mapped file, whose pages the kernel
// may drop) any idresd of the test may reach. It is the memory limit
// idresd sets its own collector to (gctune.go, GOMEMLIMIT 1 GiB, with
// GOGC 1000, so a healthy node's heap may grow towards it): a node that
// keeps to its own limit passes, one whose live memory the abuse drives
// past it fails. The nodes' baseline is in the report.
const rssBound = 1 << 30

// rssGuard is where the sampler kills a node with SIGKILL, to keep a
// runaway node from taking the shared machine down with it; the report
// says so, the RSS check fails, and the node is restarted for the next
// phase.
const rssGuard = 4 << 30

// TestSoakAbuse runs only under `make soak` (IDRES_SOAK_ABUSE=duration):
// the abuse patterns of issue 19 against real idresd processes (a root, a
// leaf serving gRPC, DNS, HTTP and the Handle protocol, and a recursive
// node), one after the other after a baseline, while ordinary clients
// resolve known identifiers over every protocol. It appends its report to
// IDRES_SOAK_REPORT and fails when an ordinary client saw an error, when
// a node's peak RSS passed rssBound, or when an abuse pattern's own check
// fails.
func TestSoakAbuse(t *testing.T) {
	raw := os.Getenv("IDRES_SOAK_ABUSE")
	if raw == "" {
		t.Skip("set IDRES_SOAK_ABUSE=2m (make soak) to run the abuse soak")
	}
	total, err := time.ParseDuration(raw)
	if err != nil || total <= 0 {
		t.Fatalf("IDRES_SOAK_ABUSE=%q: want a positive duration", raw)
	}
	fdLimit := raiseNofile(t)
	bin := buildIdresd(t)
	defaults := idresdFlags(t, bin)

	// The upstream endpoints a hostile delegation names.
	var bhCalls, silentConns, silentBytes atomic.Int64
	blackhole := blackholeGRPC(t, &bhCalls)
	silent := silentTCP(t, &silentConns, &silentBytes)

	// An operator facing the internet: per-network limits on, every
	// resource limit the build has at its default (listed in the report).
	const zone = "id.example."
	public := []string{"--anon-rate-limit", "100", "--anon-rate-burst", "200"}
	leafArgs := append(slices.Clone(public), "--dns", "127.0.0.1:0", "--dns-zone", zone, "--dns-rrl", "100",
		"--http", "127.0.0.1:0", "--handle", "127.0.0.1:0", "--handle-rrl", "100")
	rootDir, leafDir, recDir := t.TempDir(), t.TempDir(), t.TempDir()
	root, rootAddr := startAbuseNode(t, bin, rootDir, public...)
	leaf, _ := startAbuseNode(t, bin, leafDir, leafArgs...)
	rootEP, err := readyEndpoints(rootDir)
	if err != nil {
		t.Fatal(err)
	}
	leafEP, err := readyEndpoints(leafDir)
	if err != nil {
		t.Fatal(err)
	}
	env := &abuseEnv{zone: zone, root: rootEP, leaf: leafEP, fdLimit: fdLimit,
		blackholeCalls: &bhCalls, silentConns: &silentConns, silentBytes: &silentBytes, badEndpoints: map[string]string{}}
	env.rootTok, env.leafTok = readToken(t, rootDir), readToken(t, leafDir)
	env.signRate, _ = strconv.ParseFloat(defaults["handle-sign-rate"], 64)
	setupNotes := setupHierarchy(t, env, blackhole, silent)

	// The recursive node allows loopback, where this test's hierarchy
	// lives; in production it would deny it too.
	recArgs := append(slices.Clone(public), "--recursive", "--root", rootAddr, "--http", "127.0.0.1:0", "--recursive-deny", "default,private")
	rec, _ := startAbuseNode(t, bin, recDir, recArgs...)
	if env.rec, err = readyEndpoints(recDir); err != nil {
		t.Fatal(err)
	}
	procs := []*proc{
		{name: "root", bin: bin, dir: rootDir, cmd: root, args: fixedPorts(public, rootEP)},
		{name: "leaf", bin: bin, dir: leafDir, cmd: leaf, args: fixedPorts(leafArgs, leafEP), metrics: "http://" + leafEP["http"] + "/metrics"},
		{name: "recursive", bin: bin, dir: recDir, cmd: rec, args: fixedPorts(recArgs, env.rec), metrics: "http://" + env.rec["http"] + "/metrics"},
	}
	var phase atomic.Pointer[string]
	setPhase := func(s string) { phase.Store(&s) }
	setPhase("setup")
	stopSampler := sample(procs, &phase)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	load := &ordinaryLoad{phase: &phase, stats: map[string]map[string]*latencyStats{}}
	// The recursive node's cache is warm before the clock starts, as a
	// running node's would be.
	if err := warm(env); err != nil {
		t.Fatal(err)
	}
	waitOrdinary, err := runOrdinary(ctx, load, env.leaf, env.rec, zone)
	if err != nil {
		t.Fatal(err)
	}

	patterns := []struct {
		name string
		run  func(context.Context, *abuseEnv) patternResult
	}{
		{"1 DNS for a huge record, UDP+TCP", abuseDNSBigRecord},
		{"2 idle TCP connections, gRPC+HTTP", abuseIdleConns},
		{"3 idle and unread ResolveStreams", abuseStreams},
		{"4 revoked credential's open streams", abuseRevoked},
		{"5 recursive: silent and forbidden delegations", abuseRecursive},
		{"6 Handle floods: amplification, certified, garbage", abuseHandle},
		{"7 garbage and oversized inputs", abuseGarbage},
	}
	// IDRES_SOAK_ABUSE_ONLY=3,4 runs those patterns alone (to tell which
	// one hurts); make soak runs them all.
	if only := os.Getenv("IDRES_SOAK_ABUSE_ONLY"); only != "" {
		keep := patterns[:0:0]
		for _, p := range patterns {
			if slices.Contains(strings.Split(only, ","), strings.Fields(p.name)[0]) {
				keep = append(keep, p)
			}
		}
		patterns = keep
	}
	unit := total / time.Duration(1+2*len(patterns))
	phaseLen := max(2*unit, 8*time.Second)
	phases := []string{"0 baseline (no abuse)"}
	setPhase(phases[0])
	time.Sleep(max(unit, 4*time.Second))
	results := make([]patternResult, len(patterns))
	for i, p := range patterns {
		phases = append(phases, p.name)
		setPhase(p.name)
		t.Logf("phase %s (%s)", p.name, phaseLen)
		pctx, pcancel := context.WithTimeout(ctx, phaseLen)
		results[i] = p.run(pctx, env)
		<-pctx.Done()
		pcancel()
		restarted := false
		for _, pr := range procs {
			restarted = pr.restartIfDead(t, p.name) || restarted
		}
		if restarted {
			// The ordinary clients reconnect before the next pattern
			// starts; what they see meanwhile is the dead node's, not
			// the next pattern's.
			ph := "  (restart after " + strings.Fields(p.name)[0] + ")"
			phases = append(phases, ph)
			setPhase(ph)
			time.Sleep(5 * time.Second)
		}
	}
	setPhase("end")
	cancel()
	waitOrdinary()
	// Stopped while the guard still watches: a node that does not stop
	// after the abuse is a finding too.
	for _, p := range procs {
		p.stop()
	}
	samples := stopSampler()

	// The report.
	var b strings.Builder
	var checks []check
	head, _ := exec.Command("git", "log", "-1", "--format=%h %s").Output()
	dirty, _ := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--", "..", "../..").Output()
	fmt.Fprintf(&b, "\n== abuse soak (IDRES_SOAK_ABUSE=%s): issue 19's abuse patterns while ordinary clients resolve\n", total)
	fmt.Fprintf(&b, "HEAD %.100s\n", strings.TrimSpace(string(head)))
	if len(bytes.TrimSpace(dirty)) > 0 {
		fmt.Fprintf(&b, "(working tree differs from HEAD in: %s)\n", strings.Join(strings.Fields(string(dirty)), " "))
	}
	fmt.Fprintf(&b, "machine: %d CPUs shared by nodes, attackers and clients; RLIMIT_NOFILE %d\n", runtimeCPUs(), fdLimit)
	fmt.Fprintf(&b, "\nnode configuration (an internet-facing operator's; ports from 0 on loopback):\n")
	fmt.Fprintf(&b, "  root:      idresd %s\n", strings.Join(public, " "))
	fmt.Fprintf(&b, "  leaf:      idresd %s\n", strings.Join(leafArgs, " "))
	fmt.Fprintf(&b, "  recursive: idresd %s   (loopback allowed: the test's hierarchy is there)\n", strings.Join(recArgs, " "))
	fmt.Fprintf(&b, "  limits at their defaults: %s\n", hardeningDefaults(defaults))
	if len(setupNotes) > 0 {
		fmt.Fprintf(&b, "  setup: %s\n", strings.Join(setupNotes, "; "))
	}
	fmt.Fprintf(&b, "\nphases: baseline %s, then each pattern %s, in turn\n", max(unit, 4*time.Second), phaseLen)
	fmt.Fprintf(&b, "ordinary clients: %d goroutines x %d/s per protocol from 127.0.1.0/24 (/healthz from 127.0.0.1), deadline %s, known identifiers 88.100/K0-K%d\n",
		ordinaryWorkers, int(time.Second/ordinaryPeriod), ordinaryDeadline, knownIDs-1)
	fmt.Fprintf(&b, "  %-15s %9s %7s %9s %9s %9s\n", "protocol", "requests", "errors", "err rate", "p50", "p99")
	ordinaryErrs := 0
	for _, p := range ordinaryProtocols {
		s := load.total(p)
		ordinaryErrs += s.errs
		fmt.Fprintf(&b, "  %-15s %9d %7d %8.3f%% %9s %9s\n", p, s.n, s.errs, 100*ratio(int64(s.errs), int64(s.n)), fmtDur(s.quantile(.5)), fmtDur(s.quantile(.99)))
	}
	fmt.Fprintf(&b, "per phase (errors/requests, p99):\n  %-52s", "phase")
	for _, p := range ordinaryProtocols {
		fmt.Fprintf(&b, " %-16s", p)
	}
	b.WriteString("\n")
	var hurt []string
	for _, ph := range phases {
		fmt.Fprintf(&b, "  %-52s", ph)
		for _, p := range ordinaryProtocols {
			s := load.get(p, ph)
			fmt.Fprintf(&b, " %-16s", fmt.Sprintf("%d/%d %s", s.errs, s.n, fmtDur(s.quantile(.99))))
			if s.errs > 0 {
				hurt = append(hurt, fmt.Sprintf("%s in %q: %d of %d failed, e.g. %s", p, ph, s.errs, s.n, strings.Join(s.samples, " | ")))
			}
		}
		b.WriteString("\n")
	}
	for _, h := range hurt {
		fmt.Fprintf(&b, "  ! %.400s\n", h)
	}
	fmt.Fprintf(&b, "\nnodes (sampled every 250 ms from /proc; goroutines from /metrics every 2 s; RSS setup is VmRSS after loading the records):\n")
	fmt.Fprintf(&b, "  %-10s %12s %14s %14s %9s %8s %11s %7s\n", "node", "RSS setup", "peak RssAnon", "peak VmHWM", "peak fds", "threads", "goroutines", "CPU s")
	rssOK := true
	var rssDetail []string
	for _, p := range procs {
		s := samples[p.name]
		fmt.Fprintf(&b, "  %-10s %8d KiB %10d KiB %10d KiB %9d %8d %11d %7.1f\n", p.name, s.setupRSS, s.anon, s.hwm, s.fds, s.threads, s.goroutines, s.cpu)
		for _, inc := range p.incidents {
			fmt.Fprintf(&b, "    ! %s: %s\n", p.name, inc)
		}
		if s.anon*1024 > rssBound || len(p.incidents) > 0 {
			rssOK = false
		}
		rssDetail = append(rssDetail, fmt.Sprintf("%s %d MiB", p.name, s.anon/1024))
		for _, inc := range p.incidents {
			rssDetail = append(rssDetail, p.name+" "+inc)
		}
	}
	fmt.Fprintf(&b, "  peak RssAnon by phase (MiB):")
	for _, ph := range phases {
		var per []string
		for _, p := range procs {
			per = append(per, fmt.Sprintf("%s %d", p.name, samples[p.name].byPhase[ph]/1024))
		}
		fmt.Fprintf(&b, "\n    %-52s %s", ph, strings.Join(per, ", "))
	}
	b.WriteString("\n\nabuse patterns:\n")
	for i, p := range patterns {
		fmt.Fprintf(&b, "  %s\n", p.name)
		for _, l := range results[i].lines {
			fmt.Fprintf(&b, "    %s\n", l)
		}
		checks = append(checks, results[i].checks...)
	}
	checks = append([]check{
		{"ordinary clients: no errors", ordinaryErrs == 0, fmt.Sprintf("%d errors", ordinaryErrs)},
		{fmt.Sprintf("peak RssAnon of every node <= %d MiB, none died", rssBound>>20), rssOK, strings.Join(rssDetail, ", ")},
	}, checks...)
	b.WriteString("\nchecks:\n")
	failed := 0
	for _, c := range checks {
		v := "PASS"
		if !c.ok {
			v = "FAIL"
			failed++
		}
		fmt.Fprintf(&b, "  %s  %s: %.300s\n", v, c.name, c.detail)
	}
	report := b.String()
	t.Log(report)
	if p := os.Getenv("IDRES_SOAK_REPORT"); p != "" {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			f.WriteString(report)
			f.Close()
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d abuse soak checks failed (report above)", failed, len(checks))
	}
}

// raiseNofile sets RLIMIT_NOFILE's soft limit to its hard one (the idresd
// processes inherit it) and returns it.
func raiseNofile(t *testing.T) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < 10000 {
		t.Fatalf("RLIMIT_NOFILE hard limit %d: the idle-connection pattern needs 10000", lim.Cur)
	}
	return lim.Cur
}

func runtimeCPUs() int {
	out, _ := exec.Command("nproc").Output()
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

// idresdFlags are the binary's flags and their defaults, from -h.
func idresdFlags(t *testing.T, bin string) map[string]string {
	out, _ := exec.Command(bin, "-h").CombinedOutput()
	flags := map[string]string{}
	name := ""
	def := regexp.MustCompile(`\(default "?([^")]*)"?\)`)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "  -") {
			name = strings.Fields(strings.TrimPrefix(line, "  -"))[0]
			flags[name] = ""
		}
		if m := def.FindStringSubmatch(line); m != nil && name != "" {
			flags[name] = m[1]
		}
	}
	if len(flags) == 0 {
		t.Fatalf("%s -h listed no flags:\n%s", bin, out)
	}
	return flags
}

// hardeningDefaults lists the resource limits the build has, as it
// ships them.
func hardeningDefaults(flags map[string]string) string {
	var out []string
	for _, f := range []string{"max-conns", "max-conns-per-source", "idle-timeout", "max-streams", "stream-window", "stream-buffer", "stream-buffer-total",
		"max-stream-calls", "max-stream-calls-per-source", "max-msg-size", "max-values", "max-value-size", "max-identifier-bytes",
		"rate-limit", "rate-burst", "handle-sign-rate", "handle-rrl-slip", "dns-rrl-slip", "upstream-timeout", "walk-timeout", "walk-max-queries", "cache-failure-ttl", "cache-bytes"} {
		if v, ok := flags[f]; ok {
			out = append(out, "--"+f+"="+v)
		}
	}
	var missing []string
	for _, f := range []string{"max-conns", "max-streams", "max-identifier-bytes", "handle-rrl", "handle-sign-rate", "recursive-deny"} {
		if _, ok := flags[f]; !ok {
			missing = append(missing, "--"+f)
		}
	}
	s := strings.Join(out, " ")
	if len(missing) > 0 {
		s += "; not in this build: " + strings.Join(missing, " ")
	}
	return s
}

// setupHierarchy makes the root delegate 88.100 to the leaf and the 66.x
// prefixes to hostile endpoints, and fills the leaf: 88.100/K0-K99, the
// huge record 88.100/BIG, 88.100/AMP for Handle amplification and
// 88.100/PRIV with a private value. It returns notes for the report.
func setupHierarchy(t *testing.T, env *abuseEnv, blackhole, silent string) []string {
	ctx := context.Background()
	var notes []string
	rc := dial(t, env.root["grpc"], env.rootTok)
	defer rc.Close()
	mustOK(t, func() error {
		_, err := rc.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: ""}})
		return err
	})
	mustOK(t, func() error {
		_, err := rc.SetDelegation(ctx, &idresv1.SetDelegationRequest{Delegation: &idresv1.Delegation{Prefix: "88.100", Grpc: []string{env.leaf["grpc"]}, Ttl: ptr(uint32(300))}})
		return err
	})
	for _, d := range []struct{ prefix, eps string }{
		{"66.1", blackhole},            // answers TCP and HTTP/2, never a call
		{"66.2", silent},               // accepts TCP, never says a word
		{"66.3", "169.254.169.254:80"}, // cloud metadata
		{"66.4", "10.255.255.1:7420"},  // a private network
		{"66.5", "169.254.169.254:80," + blackhole + "," + silent + ",[fe80::1]:80"}, // all at once
	} {
		_, err := rc.SetDelegation(ctx, &idresv1.SetDelegationRequest{Delegation: &idresv1.Delegation{Prefix: d.prefix, Grpc: strings.Split(d.eps, ","), Ttl: ptr(uint32(300))}})
		if err != nil {
			notes = append(notes, fmt.Sprintf("root refused delegation %s -> %s: %v", d.prefix, d.eps, status.Convert(err).Message()))
			continue
		}
		env.badEndpoints[d.prefix] = d.eps
	}
	if len(env.badEndpoints) == 0 {
		t.Fatal("the root refused every hostile delegation: nothing for the recursive pattern to ask")
	}

	lc := dial(t, env.leaf["grpc"], env.leafTok)
	defer lc.Close()
	mustOK(t, func() error {
		_, err := lc.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100", NegativeTtl: ptr(uint32(60))}})
		return err
	})
	create := func(id string, vals []*idresv1.Value) error {
		_, err := lc.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: id, Values: vals})
		return err
	}
	for i := range knownIDs {
		mustOK(t, func() error { return create(knownID(i), knownValues(knownID(i))) })
	}
	var amp []*idresv1.Value
	for i := range ampSize / 512 {
		amp = append(amp, &idresv1.Value{Index: uint32(i + 1), Type: "note", Data: bytes.Repeat([]byte{'a' + byte(i)}, 512), PublicRead: ptr(true)})
	}
	mustOK(t, func() error { return create("88.100/AMP", amp) })
	mustOK(t, func() error {
		return create("88.100/PRIV", []*idresv1.Value{
			{Index: 1, Type: "URL", Data: []byte("https://parts.example.com/priv"), PublicRead: ptr(true)},
			{Index: 2, Type: "price", Data: []byte("EUR 412.00"), PublicRead: ptr(false)}})
	})

	// The huge record: as many values of the largest size as the node
	// takes, at most what fits one gRPC message of the default limit.
	size := 64 << 10
	big := func(n int) []*idresv1.Value {
		vals := make([]*idresv1.Value, n)
		for i := range vals {
			vals[i] = &idresv1.Value{Index: uint32(i + 1), Type: "blob", Data: bytes.Repeat([]byte{'A' + byte(i%26)}, size), PublicRead: ptr(true)}
		}
		return vals
	}
	refused := func(err error) bool {
		c := status.Code(err)
		return c == codes.InvalidArgument || c == codes.ResourceExhausted || c == codes.FailedPrecondition
	}
	lo, hi := 0, 250 // lo is taken (0: nothing yet), hi the next to try
	var lastRefusal string
	for lo < hi {
		n := hi
		if lo > 0 || lastRefusal != "" {
			n = (lo + hi + 1) / 2
		}
		try := fmt.Sprintf("88.100/BIG-TRY-%d-%d", n, size)
		err := create(try, big(n))
		t.Logf("huge record: %d values of %d B: %v", n, size, err)
		switch {
		case err == nil:
			lo = n
			if _, err = lc.DeleteIdentifier(ctx, &idresv1.DeleteIdentifierRequest{Identifier: try}); err != nil {
				t.Fatal(err)
			}
		case refused(err):
			lastRefusal = status.Convert(err).Message()
			hi = n - 1
		default:
			t.Fatalf("create the huge record with %d values: %v", n, err)
		}
		if lo == 0 && hi == 0 && size > 1024 {
			size /= 2 // not even one value of this size: a smaller one
			hi = 250
		}
	}
	if lo == 0 {
		t.Fatalf("the node took no huge record at all: %s", lastRefusal)
	}
	mustOK(t, func() error { return create("88.100/BIG", big(lo)) })
	env.bigValues, env.bigSize = lo, size
	if lastRefusal != "" {
		notes = append(notes, fmt.Sprintf("88.100/BIG: %d values of %d B taken; %d refused: %.160s", lo, size, lo+1, lastRefusal))
	}
	return notes
}

// warm resolves every known identifier once through the recursive node.
func warm(env *abuseEnv) error {
	c, err := client.Dial(env.rec["grpc"], client.Options{})
	if err != nil {
		return err
	}
	defer c.Close()
	for i := range knownIDs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := c.Resolve(ctx, &idresv1.ResolveRequest{Identifier: knownID(i), Recursive: true})
		cancel()
		if err != nil {
			return fmt.Errorf("warm %s: %w", knownID(i), err)
		}
		if resp.Outcome != idresv1.Outcome_OUTCOME_OK {
			return fmt.Errorf("warm %s: %v %s", knownID(i), resp.Outcome, resp.Message)
		}
		time.Sleep(20 * time.Millisecond) // the anonymous rate limit
	}
	return nil
}

// blackholeGRPC is a gRPC endpoint that takes every call and never
// answers: each call a recursive node makes there is counted.
func blackholeGRPC(t *testing.T, calls *atomic.Int64) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		calls.Add(1)
		<-ss.Context().Done()
		return ss.Context().Err()
	}))
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

// silentTCP accepts connections and never writes; it counts them and the
// bytes the dialler sends.
func silentTCP(t *testing.T, conns, received *atomic.Int64) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var open []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			go func() {
				n, _ := io.Copy(io.Discard, c)
				received.Add(n)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range open {
			c.Close()
		}
	})
	return l.Addr().String()
}

// proc is an idresd the sampler watches, restarted on its ports when it
// dies (or the guard kills it), so the later phases still have a node.
type proc struct {
	name, bin, dir string
	args           []string // with the ports it first bound: a restart takes them again
	metrics        string   // its /metrics URL, "" when it serves none
	mu             sync.Mutex
	cmd            *exec.Cmd
	incidents      []string
}

func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

func (p *proc) note(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.incidents = append(p.incidents, fmt.Sprintf(format, args...))
}

// alive reports whether the process still runs (a zombie does not).
func (p *proc) alive() bool {
	_, err := procStatus(p.pid())
	return err == nil
}

// restartIfDead reaps a dead process and starts it again on its ports.
func (p *proc) restartIfDead(t *testing.T, phase string) bool {
	if p.alive() {
		return false
	}
	p.mu.Lock()
	old := p.cmd
	p.mu.Unlock()
	old.Wait()
	cmd, _ := startAbuseNode(t, p.bin, p.dir, p.args...)
	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()
	p.note("died during %q (%v); restarted on its ports", phase, old.ProcessState)
	return true
}

// stop ends the process with SIGTERM, and with SIGKILL when it has not
// exited 15 s later (its drain timeout is 10 s), which is an incident.
func (p *proc) stop() {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd.ProcessState != nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-exited
		p.note("did not exit within 15 s of SIGTERM: killed")
	}
}

// startAbuseNode is startIdresd with the node tied to this test's life
// (PR_SET_PDEATHSIG): a node the abuse drove into a runaway must not
// outlive a test killed on a deadline, as a startIdresd node would.
func startAbuseNode(t *testing.T, bin, dir string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	ready := filepath.Join(dir, "ready.json")
	os.Remove(ready)
	args := append([]string{"--data", dir, "--grpc", "127.0.0.1:0", "--ready-file", ready, "--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if eps, err := readyEndpoints(dir); err == nil {
			return cmd, eps["grpc"]
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("idresd did not become ready:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fixedPorts replaces the port-0 listen addresses of args with the ones
// the node bound (its ready file's endpoints), for a restart.
func fixedPorts(args []string, eps map[string]string) []string {
	out := slices.Clone(args)
	for i := 0; i+1 < len(out); i++ {
		if kind := strings.TrimPrefix(out[i], "--"); eps[kind] != "" && out[i+1] == "127.0.0.1:0" {
			out[i+1] = eps[kind]
		}
	}
	return append(out, "--grpc", eps["grpc"])
}

// procSamples are one process's peaks over its restarts.
type procSamples struct {
	setupRSS, hwm, anon int64 // KiB: VmRSS after setup, VmHWM, RssAnon
	fds, threads        int
	goroutines          int
	cpu                 float64          // seconds of user+system time, summed over restarts
	byPhase             map[string]int64 // peak RssAnon, KiB
}

// sample reads each process's /proc every 250 ms until the returned
// function is called, which returns the peaks. A process whose RssAnon
// passes rssGuard is killed with SIGKILL.
func sample(procs []*proc, phase *atomic.Pointer[string]) func() map[string]*procSamples {
	out := map[string]*procSamples{}
	for _, p := range procs {
		out[p.name] = &procSamples{byPhase: map[string]int64{}, setupRSS: rss(p.pid())}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		hc := &http.Client{Timeout: time.Second}
		cpuBefore := map[string]float64{} // CPU of earlier incarnations
		lastPid := map[string]int{}
		lastCPU := map[string]float64{}
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			ph := *phase.Load()
			for _, p := range procs {
				s, pid := out[p.name], p.pid()
				st, err := procStatus(pid)
				if err != nil {
					continue // dead; restarted between phases
				}
				if lastPid[p.name] != pid {
					cpuBefore[p.name] += lastCPU[p.name]
					lastPid[p.name] = pid
				}
				lastCPU[p.name] = procCPU(pid)
				fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
				s.hwm = max(s.hwm, st["VmHWM"])
				s.anon = max(s.anon, st["RssAnon"])
				s.threads = max(s.threads, int(st["Threads"]))
				s.fds = max(s.fds, len(fds))
				s.byPhase[ph] = max(s.byPhase[ph], st["RssAnon"])
				s.cpu = cpuBefore[p.name] + lastCPU[p.name]
				if st["RssAnon"]*1024 > rssGuard {
					syscall.Kill(pid, syscall.SIGKILL)
					p.note("killed by the guard (SIGKILL) at RssAnon %d MiB during %q", st["RssAnon"]/1024, ph)
				}
				if n%8 == 0 && p.metrics != "" {
					s.goroutines = max(s.goroutines, scrapeGoroutines(hc, p.metrics))
				}
			}
		}
	}()
	return func() map[string]*procSamples {
		close(done)
		<-finished
		return out
	}
}

// procStatus is /proc/PID/status's numeric fields (kB values in KiB).
func procStatus(pid int) (map[string]int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	m := map[string]int64{}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				m[strings.TrimSuffix(f[0], ":")] = n
			}
		}
	}
	if m["VmRSS"] == 0 {
		return nil, errors.New("no VmRSS: a zombie")
	}
	return m, nil
}

// procCPU is a process's user+system CPU seconds.
func procCPU(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100 // USER_HZ
}

func scrapeGoroutines(hc *http.Client, url string) int {
	resp, err := hc.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return 0
}
