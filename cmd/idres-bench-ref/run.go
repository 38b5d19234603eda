package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// runner orchestrates `make bench`: it starts the servers, runs the load
// generators against idres and its reference side by side, and keeps
// every figure with the command that produced it.
type runner struct {
	bin, work, out string
	n, runs        int
	dur            time.Duration
	conns, conc    int
	corednsBin     string
	dnsperfBin     string
	importBatch    int
	sortWindow     int
	importRuns     int // 0: --runs, or once past bigImport identifiers
	dnsIDs         int // identifiers in CoreDNS's zone (scale.go)

	loadStart string // load average when the run began

	procs   []*exec.Cmd
	results []*result
	notes   []string
	log     *os.File

	mem        []memSample
	storeBytes int64
}

// result is one comparison row of the report.
type result struct {
	Name    string // e.g. "unary Resolve"
	System  string // "idres" or the reference
	Unit    string // "requests/s"
	Runs    []float64
	P99     []float64 // ms, when measured
	P50     []float64
	CPU     []float64 // server CPU µs per request (user+system of its process over the run), when measured
	Command string
}

func (r *result) median() float64    { return median(r.Runs) }
func (r *result) p99Median() float64 { return median(r.P99) }
func (r *result) p50Median() float64 { return median(r.P50) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func runBench(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	r := &runner{}
	fs.StringVar(&r.bin, "bin", "bin", "directory holding idres, idresd and idres-bench-ref")
	fs.StringVar(&r.work, "work", filepath.Join(os.TempDir(), "idres-bench"), "scratch directory (data sets, stores)")
	fs.StringVar(&r.out, "out", "cmd/idres-bench-ref/results/results.md", "report path; the SVG chart is written beside it")
	fs.IntVar(&r.n, "n", 1000000, "identifiers in the data set")
	fs.IntVar(&r.runs, "runs", 3, "runs of each measurement (medians are reported)")
	fs.DurationVar(&r.dur, "duration", 10*time.Second, "length of each timed load run")
	fs.IntVar(&r.conns, "conns", 4, "gRPC connections of the unary load")
	fs.IntVar(&r.conc, "concurrency", 16, "concurrent calls per connection of the unary load")
	fs.StringVar(&r.corednsBin, "coredns", "", "CoreDNS binary (DNS comparison skipped when empty)")
	fs.StringVar(&r.dnsperfBin, "dnsperf", "", "dnsperf binary (DNS comparison skipped when empty)")
	fs.IntVar(&r.importBatch, "import-batch", 10000, "identifiers per import transaction")
	fs.IntVar(&r.sortWindow, "sort-window", 1000000, "idres import --sort-window")
	fs.IntVar(&r.importRuns, "import-runs", 0, fmt.Sprintf("import runs (0: --runs, or 1 above %d identifiers)", bigImport))
	fs.IntVar(&r.dnsIDs, "dns-ids", defaultDNSIDs, "at most this many identifiers in CoreDNS's zone (it holds the zone in memory); 0: all")
	fs.Parse(args)
	if err := os.MkdirAll(r.work, 0o755); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(r.work, "bench.log"))
	if err != nil {
		return err
	}
	r.log = logf
	defer logf.Close()
	defer r.stopAll()
	r.loadStart = loadAvg()
	start := time.Now()
	if err := r.all(); err != nil {
		r.notes = append(r.notes, "stopped early: "+err.Error())
		fmt.Fprintf(os.Stderr, "bench: %v (writing what was measured)\n", err)
	}
	return r.report(time.Since(start))
}

func (r *runner) say(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	fmt.Fprintf(os.Stderr, "bench: %s\n", msg)
	fmt.Fprintf(r.log, "%s %s\n", time.Now().Format(time.TimeOnly), msg)
}

func (r *runner) path(name string) string { return filepath.Join(r.bin, name) }

// command runs a command to completion and returns its stdout.
func (r *runner) command(name string, args ...string) ([]byte, error) {
	fmt.Fprintf(r.log, "$ %s %s\n", name, strings.Join(args, " "))
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r.log.Write(errb.Bytes())
	if err != nil {
		return out.Bytes(), fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, lastLine(errb.String()))
	}
	return out.Bytes(), nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// start starts a server and remembers it for stopAll.
func (r *runner) start(name string, args ...string) (*exec.Cmd, error) {
	fmt.Fprintf(r.log, "$ %s %s &\n", name, strings.Join(args, " "))
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r.procs = append(r.procs, cmd)
	return cmd, nil
}

func (r *runner) stop(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
	}
	r.procs = slices.DeleteFunc(r.procs, func(c *exec.Cmd) bool { return c == cmd })
}

func (r *runner) stopAll() {
	for len(r.procs) > 0 {
		r.stop(r.procs[len(r.procs)-1])
	}
}

// node is a started idresd.
type node struct {
	cmd    *exec.Cmd
	grpc   string
	dns    string
	handle string // Handle-protocol host:port, TCP and UDP
	dir    string
	token  string
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (r *runner) startNode(name string, extra ...string) (*node, error) {
	dir := filepath.Join(r.work, name)
	ready := filepath.Join(r.work, name+".ready")
	os.Remove(ready)
	n := &node{dir: dir, grpc: fmt.Sprintf("127.0.0.1:%d", freePort())}
	args := append([]string{"--data", dir, "--grpc", n.grpc, "--ready-file", ready, "--rate-limit", "0", "--log-level", "warn"}, extra...)
	cmd, err := r.start(r.path("idresd"), args...)
	if err != nil {
		return nil, err
	}
	n.cmd = cmd
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("idresd %s did not become ready (see %s)", name, r.log.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if tok, err := os.ReadFile(filepath.Join(dir, "admin.token")); err == nil {
		n.token = strings.TrimSpace(string(tok))
	}
	return n, nil
}

// idres runs the CLI against a node.
func (r *runner) idres(n *node, args ...string) ([]byte, error) {
	base := []string{"--server", n.grpc, "--timeout", "60s"}
	if n.token != "" {
		base = append(base, "--token", n.token)
	}
	return r.command(r.path("idres"), append(base, args...)...)
}

// benchOut is the part of `idres bench --json` the report uses.
type benchOut struct {
	PerSecond float64 `json:"per_second"`
	Ops       uint64  `json:"ops"`
	Errors    uint64  `json:"errors"`
	Lat       struct {
		P50  float64 `json:"p50"`
		P99  float64 `json:"p99"`
		P999 float64 `json:"p99_9"`
	} `json:"latency_ms"`
	Outcomes map[string]uint64 `json:"outcomes"`
}

func (r *runner) bench(server string, args ...string) (*benchOut, string, error) {
	return r.benchTok(server, "", args...)
}

func (r *runner) benchTok(server, token string, args ...string) (*benchOut, string, error) {
	full := []string{"--server", server, "--json"}
	if token != "" {
		full = append(full, "--token", token)
	}
	full = append(append(full, "bench"), args...)
	out, err := r.command(r.path("idres"), full...)
	if err != nil {
		return nil, "", err
	}
	var b benchOut
	if err := json.Unmarshal(out, &b); err != nil {
		return nil, "", fmt.Errorf("idres bench output: %w", err)
	}
	cmdline := "idres bench " + strings.Join(args, " ")
	fmt.Fprintf(r.log, "  -> %.0f/s p50 %.3f ms p99 %.3f ms, %d errors\n", b.PerSecond, b.Lat.P50, b.Lat.P99, b.Errors)
	return &b, cmdline, nil
}

func (r *runner) add(res *result) *result { r.results = append(r.results, res); return res }

func (r *runner) all() error {
	data := filepath.Join(r.work, "data.jsonl")
	queries := filepath.Join(r.work, "queries.txt")
	r.say("generating %d identifiers (shuffled) in %s", r.n, data)
	if _, err := r.command(r.path("idres"), "bench", "gen", "--ids", strconv.Itoa(r.n), "-o", data, "--dnsperf", queries, "--zone", "id.example."); err != nil {
		return err
	}
	dnsQueries, err := r.dnsQueryFile(queries)
	if err != nil {
		return err
	}

	// Import: each run into a fresh node, then the raw bbolt write of the
	// same records in the same order and batches, right after.
	imp := r.add(&result{Name: "import (durable)", System: "idres", Unit: "identifiers/s"})
	raw := r.add(&result{Name: "import (durable)", System: "raw bbolt", Unit: "identifiers/s"})
	var main *node
	dnsAddr := fmt.Sprintf("127.0.0.1:%d", freePort())
	handleAddr := fmt.Sprintf("127.0.0.1:%d", freePort())
	for i := range r.importRunCount() {
		os.RemoveAll(filepath.Join(r.work, "auth"))
		n, err := r.startNode("auth", "--dns", dnsAddr, "--dns-zone", "id.example.", "--handle", handleAddr)
		if err != nil {
			return err
		}
		n.dns, n.handle = dnsAddr, handleAddr
		if _, err := r.idres(n, "prefix", "create", "88.100"); err != nil {
			return err
		}
		r.say("import run %d/%d", i+1, r.importRunCount())
		b, cmdline, err := r.benchTok(n.grpc, n.token, "import", "--file", data, "--batch", strconv.Itoa(r.importBatch), "--sort-window", strconv.Itoa(r.sortWindow))
		if err != nil {
			return err
		}
		if b.Errors > 0 {
			return fmt.Errorf("import reported %d failed items", b.Errors)
		}
		imp.Runs = append(imp.Runs, b.PerSecond)
		imp.Command = cmdline
		out, err := r.command(r.path("idres-bench-ref"), "bbolt", "--batch", strconv.Itoa(r.importBatch), "--sort-window", strconv.Itoa(r.sortWindow), filepath.Join(r.work, "raw"), data)
		if err != nil {
			return err
		}
		var rb struct {
			PerSecond float64 `json:"per_second"`
		}
		json.Unmarshal(out, &rb)
		raw.Runs = append(raw.Runs, rb.PerSecond)
		raw.Command = fmt.Sprintf("idres-bench-ref bbolt --batch %d --sort-window %d DIR data.jsonl", r.importBatch, r.sortWindow)
		r.say("  import %.0f/s, raw bbolt %.0f/s", b.PerSecond, rb.PerSecond)
		r.sampleMem(fmt.Sprintf("after import run %d", i+1), "idresd", n.cmd)
		r.storeBytes = dirSize(n.dir)
		if i < r.importRunCount()-1 {
			r.stop(n.cmd)
		} else {
			main = n
		}
	}
	// CoreDNS serves the same records from a zone file, which `idresd
	// zonefile` reads offline from the stopped node's store.
	zonefile := ""
	if r.corednsBin != "" {
		r.stop(main.cmd)
		zonefile = filepath.Join(r.work, "id.example.zone")
		if err := r.exportZone(main.dir, dnsAddr, zonefile, dnsQueries); err != nil {
			r.notes = append(r.notes, "zone file export failed: "+err.Error())
			zonefile = ""
		}
		token := main.token
		restarted, err := r.startNode("auth", "--dns", dnsAddr, "--dns-zone", "id.example.", "--handle", handleAddr)
		if err != nil {
			return err
		}
		main = restarted
		main.dns, main.handle, main.token = dnsAddr, handleAddr, token
	}

	// Context: the same raw write with each batch sorted but the file
	// order otherwise kept, i.e. without the import's sort window.
	ctxN := min(r.n, contextIDs)
	if out, err := r.command(r.path("idres-bench-ref"), "bbolt", "--batch", strconv.Itoa(r.importBatch), "--limit", strconv.Itoa(ctxN), filepath.Join(r.work, "raw"), data); err == nil {
		var rb struct {
			PerSecond float64 `json:"per_second"`
		}
		json.Unmarshal(out, &rb)
		r.notes = append(r.notes, fmt.Sprintf("Raw bbolt with only each %d-record batch sorted (shuffled file order otherwise), first %d records: %.0f records/s, one run. "+
			"The import's sort window is what makes the difference on a file in random order.", r.importBatch, ctxN, rb.PerSecond))
	}
	os.RemoveAll(filepath.Join(r.work, "raw"))

	// Unary Resolve against the fixed-answer gRPC server, alternating.
	fixedAddr := fmt.Sprintf("127.0.0.1:%d", freePort())
	fixed, err := r.start(r.path("idres-bench-ref"), "grpc", fixedAddr)
	if err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	load := []string{"--conns", strconv.Itoa(r.conns), "--concurrency", strconv.Itoa(r.conc), "--duration", r.dur.String(), "--ids", strconv.Itoa(r.n)}
	un := r.add(&result{Name: "unary Resolve", System: "idres", Unit: "requests/s"})
	unRef := r.add(&result{Name: "unary Resolve", System: "bare grpc-go", Unit: "requests/s"})
	for i := range r.runs {
		r.say("unary Resolve run %d/%d", i+1, r.runs)
		b, cmdline, err := r.bench(main.grpc, append([]string{"resolve"}, load...)...)
		if err != nil {
			return err
		}
		if b.Outcomes["OK"] != b.Ops {
			return fmt.Errorf("unary load: %d of %d answers not OK: %v", b.Ops-b.Outcomes["OK"], b.Ops, b.Outcomes)
		}
		un.Runs, un.P50, un.P99, un.Command = append(un.Runs, b.PerSecond), append(un.P50, b.Lat.P50), append(un.P99, b.Lat.P99), cmdline
		f, cmdline, err := r.bench(fixedAddr, append([]string{"resolve"}, load...)...)
		if err != nil {
			return err
		}
		unRef.Runs, unRef.P50, unRef.P99, unRef.Command = append(unRef.Runs, f.PerSecond), append(unRef.P50, f.Lat.P50), append(unRef.P99, f.Lat.P99), cmdline
		r.say("  idres %.0f/s, bare grpc-go %.0f/s", b.PerSecond, f.PerSecond)
	}
	// Latency at half the peak rate each system reached.
	half := r.add(&result{Name: "unary Resolve at half peak", System: "idres", Unit: "requests/s"})
	halfRef := r.add(&result{Name: "unary Resolve at half peak", System: "bare grpc-go", Unit: "requests/s"})
	for _, h := range []struct {
		res  *result
		peak float64
		addr string
	}{{half, un.median(), main.grpc}, {halfRef, unRef.median(), fixedAddr}} {
		rate := fmt.Sprintf("%.0f", h.peak/2)
		for i := range r.runs {
			r.say("%s at %s/s run %d/%d", h.res.System, rate, i+1, r.runs)
			b, cmdline, err := r.bench(h.addr, append([]string{"resolve", "--rate", rate}, load...)...)
			if err != nil {
				return err
			}
			h.res.Runs, h.res.P50, h.res.P99, h.res.Command = append(h.res.Runs, b.PerSecond), append(h.res.P50, b.Lat.P50), append(h.res.P99, b.Lat.P99), cmdline
		}
	}
	r.stop(fixed)

	// ResolveStream.
	st := r.add(&result{Name: "ResolveStream", System: "idres", Unit: "identifiers/s"})
	for i := range r.runs {
		r.say("ResolveStream run %d/%d", i+1, r.runs)
		b, cmdline, err := r.bench(main.grpc, "stream", "--conns", "2", "--batch", "100", "--duration", r.dur.String(), "--ids", strconv.Itoa(r.n))
		if err != nil {
			return err
		}
		st.Runs, st.P50, st.P99, st.Command = append(st.Runs, b.PerSecond), append(st.P50, b.Lat.P50), append(st.P99, b.Lat.P99), cmdline
	}

	r.notes = append(r.notes, "ResolveStream: the load generator reads of each answer only its tag, which it checks against the request order, and its outcome; "+
		"decoding the whole records cost it more CPU than the node's work, on the same two cores. The unary runs decode whole answers, for idres and the bare server alike.")
	r.sampleMem("after the Resolve and ResolveStream runs", "idresd", main.cmd)
	if err := r.dnsCompare(main, zonefile, dnsQueries); err != nil {
		r.notes = append(r.notes, "DNS comparison not run: "+err.Error())
		r.say("DNS comparison skipped: %v", err)
	}
	if err := r.handleFrontEnd(main, data); err != nil {
		r.notes = append(r.notes, "Handle front end not measured: "+err.Error())
		r.say("Handle front end skipped: %v", err)
	}

	if err := r.recursive(main); err != nil {
		r.notes = append(r.notes, "recursive node not measured: "+err.Error())
	}
	r.sampleMem("at the end (after DNS and recursive runs)", "idresd", main.cmd)
	r.stop(main.cmd)
	return nil
}

// dnsCompare measures the DNS bridge and CoreDNS (file plugin, same
// records from `idresd zonefile`) with dnsperf, alternating.
func (r *runner) dnsCompare(main *node, zonefile, queries string) error {
	if r.dnsperfBin == "" || r.corednsBin == "" {
		return errors.New("dnsperf or CoreDNS not available (cmd/idres-bench-ref/bench.sh installs them)")
	}
	if zonefile == "" {
		return errors.New("no zone file: `idresd zonefile` failed, so CoreDNS cannot be given the same records")
	}
	corePort := freePort()
	corefile := filepath.Join(r.work, "Corefile")
	// The zone file's apex is the held prefix's zone (e.g.
	// 100.88.id.example.), which is what CoreDNS must serve.
	origin := "id.example."
	if zf, err := os.ReadFile(zonefile); err == nil {
		if m := zoneOrigin.FindSubmatch(zf); m != nil {
			origin = string(m[1])
		}
	}
	os.WriteFile(corefile, fmt.Appendf(nil, "%s:%d {\n  bind 127.0.0.1\n  file %s\n}\n", origin, corePort, zonefile), 0o644)
	core, err := r.start(r.corednsBin, "-conf", corefile)
	if err != nil {
		return err
	}
	defer r.stop(core)
	coreAddr := fmt.Sprintf("127.0.0.1:%d", corePort)
	if err := waitDNS(coreAddr, queries, 5*time.Minute); err != nil {
		return fmt.Errorf("CoreDNS: %w", err)
	}
	if err := waitDNS(main.dns, queries, time.Minute); err != nil {
		return fmt.Errorf("DNS bridge: %w", err)
	}
	bridge := r.add(&result{Name: "DNS TXT queries (dnsperf)", System: "idres DNS bridge", Unit: "queries/s"})
	coreRes := r.add(&result{Name: "DNS TXT queries (dnsperf)", System: "CoreDNS file", Unit: "queries/s"})
	secs := strconv.Itoa(max(1, int(r.dur.Seconds())))
	for i := range r.runs {
		for _, t := range []struct {
			res  *result
			addr string
		}{{bridge, main.dns}, {coreRes, coreAddr}} {
			host, port, _ := net.SplitHostPort(t.addr)
			args := []string{"-s", host, "-p", port, "-d", queries, "-l", secs, "-c", "4", "-T", "1", "-q", "200"}
			out, err := r.command(r.dnsperfBin, args...)
			if err != nil {
				return err
			}
			qps, avgMS, err := parseDnsperf(out)
			if err != nil {
				return err
			}
			t.res.Runs, t.res.P50, t.res.Command = append(t.res.Runs, qps), append(t.res.P50, avgMS), "dnsperf "+strings.Join(args, " ")
			r.say("DNS run %d/%d %s: %.0f qps", i+1, r.runs, t.res.System, qps)
		}
	}
	r.notes = append(r.notes, "dnsperf reports the mean latency, not percentiles; the dnsperf rows' p50 column holds that mean. "+
		"The `idres bench dns` rows (same query file, 4 sockets x 8 outstanding queries) give percentiles.")
	bridgeP := r.add(&result{Name: "DNS TXT queries (idres bench dns)", System: "idres DNS bridge", Unit: "queries/s"})
	coreP := r.add(&result{Name: "DNS TXT queries (idres bench dns)", System: "CoreDNS file", Unit: "queries/s"})
	for i := range r.runs {
		for _, t := range []struct {
			res  *result
			addr string
		}{{bridgeP, main.dns}, {coreP, coreAddr}} {
			b, cmdline, err := r.bench(main.grpc, "dns", "--dns-server", t.addr, "--file", queries, "--duration", r.dur.String(), "--conns", "4", "--concurrency", "8")
			if err != nil {
				return err
			}
			t.res.Runs, t.res.P50, t.res.P99, t.res.Command = append(t.res.Runs, b.PerSecond), append(t.res.P50, b.Lat.P50), append(t.res.P99, b.Lat.P99), cmdline
			r.say("DNS (idres bench dns) run %d/%d %s: %.0f qps", i+1, r.runs, t.res.System, b.PerSecond)
		}
	}
	r.sampleMem("after the DNS runs", "CoreDNS", core)
	return nil
}

var (
	zoneOrigin = regexp.MustCompile(`(?m)^\$ORIGIN\s+(\S+)`)
	dnsperfQPS = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	dnsperfAvg = regexp.MustCompile(`Average Latency \(s\):\s+([0-9.]+)`)
	dnsperfOK  = regexp.MustCompile(`Queries completed:\s+([0-9]+)`)
)

func parseDnsperf(out []byte) (qps, avgMS float64, err error) {
	m := dnsperfQPS.FindSubmatch(out)
	a := dnsperfAvg.FindSubmatch(out)
	if m == nil || a == nil {
		return 0, 0, fmt.Errorf("dnsperf output not understood: %s", lastLine(string(out)))
	}
	if c := dnsperfOK.FindSubmatch(out); c != nil && string(c[1]) == "0" {
		return 0, 0, errors.New("dnsperf: no query completed")
	}
	qps, _ = strconv.ParseFloat(string(m[1]), 64)
	avg, _ := strconv.ParseFloat(string(a[1]), 64)
	return qps, avg * 1000, nil
}

// recursive measures a recursive node in front of the authoritative one:
// cold (every identifier asked once, so every answer is fetched) and warm
// (the same identifiers again, from the cache).
func (r *runner) recursive(auth *node) error {
	rec, err := r.startNode("recursive", "--recursive", "--root", auth.grpc, "--cache-size", "200000")
	if err != nil {
		return err
	}
	defer r.stop(rec.cmd)
	k := min(r.n, 100000)
	args := []string{"resolve", "--recursive", "--seq", "--count", strconv.Itoa(k), "--ids", strconv.Itoa(k), "--duration", "10m",
		"--conns", strconv.Itoa(r.conns), "--concurrency", strconv.Itoa(r.conc)}
	cold := r.add(&result{Name: "recursive node", System: "cold cache", Unit: "requests/s"})
	warm := r.add(&result{Name: "recursive node", System: "warm cache", Unit: "requests/s"})
	for _, res := range []*result{cold, warm} {
		r.say("recursive node, %s", res.System)
		b, cmdline, err := r.bench(rec.grpc, args...)
		if err != nil {
			return err
		}
		if b.Outcomes["OK"] != b.Ops {
			return fmt.Errorf("recursive %s: %d of %d answers not OK: %v", res.System, b.Ops-b.Outcomes["OK"], b.Ops, b.Outcomes)
		}
		res.Runs, res.P50, res.P99, res.Command = []float64{b.PerSecond}, []float64{b.Lat.P50}, []float64{b.Lat.P99}, cmdline
	}
	r.sampleMem("after the warm run", "recursive idresd", rec.cmd)
	r.notes = append(r.notes, fmt.Sprintf("Recursive node: %d distinct identifiers asked once each (cold: every one fetched from the authoritative node), then the same again (warm); one run each.", k))
	return nil
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "?"
	}
	var kb int
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "MemTotal:") {
			fmt.Sscanf(strings.TrimPrefix(l, "MemTotal:"), "%d", &kb)
		}
	}
	return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// waitDNS asks addr the first query of the query file until it answers
// NOERROR: CoreDNS parses a large zone file before it serves it.
func waitDNS(addr, queries string, limit time.Duration) error {
	f, err := os.Open(queries)
	if err != nil {
		return err
	}
	var name string
	fmt.Fscan(f, &name)
	f.Close()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	c := &dns.Client{Timeout: time.Second}
	var last error
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		resp, _, err := c.Exchange(m, addr)
		if err == nil && resp.Rcode == dns.RcodeSuccess && len(resp.Answer) > 0 {
			return nil
		}
		last = err
		if err == nil {
			last = fmt.Errorf("%s answers %s with %d records", name, dns.RcodeToString[resp.Rcode], len(resp.Answer))
		}
	}
	return fmt.Errorf("not answering %s within %s: %v", addr, limit, last)
}
