package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/idres/idres/resolver/dnsname"
)

// What `make bench N=10000000` needs beyond the 1M default: parts of the
// run whose cost grows with N faster than the figure is worth.

// defaultDNSIDs caps the identifiers CoreDNS is given: its file plugin
// holds the whole zone in memory (six records per identifier here), which
// at 10M identifiers would not fit in this machine's 24 GiB.
const defaultDNSIDs = 1000000

// bigImport is the data set size above which the import, and its raw
// bbolt reference, run once instead of --runs times: each run of 10M is
// minutes long, and a run takes the node's store from empty to full.
const bigImport = 2000000

// contextIDs caps the raw bbolt write in file order (only each batch
// sorted): its rate falls as the file grows, to a crawl at 10M.
const contextIDs = 1000000

func (r *runner) importRunCount() int {
	switch {
	case r.importRuns > 0:
		return r.importRuns
	case r.n > bigImport:
		return 1
	}
	return r.runs
}

// dnsQueryFile is the query file of the DNS comparison: all of queries,
// or, when the data set is larger than the cap, its first dnsIDs lines
// (a random sample, since the data set is shuffled). The bridge and
// CoreDNS answer the same queries; only CoreDNS's zone is smaller.
func (r *runner) dnsQueryFile(queries string) (string, error) {
	if r.dnsIDs <= 0 || r.n <= r.dnsIDs {
		return queries, nil
	}
	in, err := os.Open(queries)
	if err != nil {
		return "", err
	}
	defer in.Close()
	name := filepath.Join(r.work, "queries-dns.txt")
	out, err := os.Create(name)
	if err != nil {
		return "", err
	}
	defer out.Close()
	s := bufio.NewScanner(in)
	w := bufio.NewWriterSize(out, 1<<20)
	for k := 0; k < r.dnsIDs && s.Scan(); k++ {
		w.Write(s.Bytes())
		w.WriteByte('\n')
	}
	if err := s.Err(); err != nil {
		return "", fmt.Errorf("read %s: %w", queries, err)
	}
	if err := w.Flush(); err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	r.notes = append(r.notes, fmt.Sprintf("DNS comparison on %d of the %d identifiers: CoreDNS's file plugin holds its whole zone in memory "+
		"(six records per identifier here), which at this size would not fit the machine. Its zone file holds the records of the first %d "+
		"identifiers of the shuffled data set (a random sample); both servers answer the same queries for them, the DNS bridge from its full store.",
		r.dnsIDs, r.n, r.dnsIDs))
	return name, nil
}

// exportZone writes the zone file CoreDNS serves, `idresd zonefile` of
// the stopped node's store. Past the cap, the export is
// streamed through a filter that keeps the zone's own records and the
// identifiers asked in dnsQueries, so the full zone never lands on disk.
func (r *runner) exportZone(dir, dnsAddr, zonefile, dnsQueries string) error {
	args := []string{"zonefile", "--zone", "id.example.", "--data", dir, "--dns", dnsAddr, "-o", zonefile, "88.100"}
	if r.dnsIDs <= 0 || r.n <= r.dnsIDs {
		_, err := r.command(r.path("idresd"), args...)
		return err
	}
	keep, err := queryNames(dnsQueries)
	if err != nil {
		return err
	}
	args[len(args)-2] = "-"
	fmt.Fprintf(r.log, "$ %s %s | keep %d identifiers > %s\n", r.path("idresd"), strings.Join(args, " "), len(keep), zonefile)
	cmd := exec.Command(r.path("idresd"), args...)
	cmd.Stderr = r.log
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	out, err := os.Create(zonefile)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := cmd.Start(); err != nil {
		return err
	}
	kept, ferr := filterZone(out, pipe, keep)
	if ferr != nil {
		io.Copy(io.Discard, pipe)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("idres %s: %w", strings.Join(args, " "), err)
	}
	if ferr != nil {
		return ferr
	}
	if kept != len(keep) {
		return fmt.Errorf("zone file holds %d of the %d identifiers asked", kept, len(keep))
	}
	return nil
}

// queryNames reads the names of a dnsperf query file, in lower case.
func queryNames(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]bool{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if name, _, _ := strings.Cut(s.Text(), " "); name != "" {
			names[strings.ToLower(name)] = true
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return names, nil
}

// filterZone copies a zone file, dropping the records of identifiers
// (owners with an _id label) not in keep, and counts the identifiers kept.
// Records of one owner are consecutive in an export.
func filterZone(w io.Writer, zone io.Reader, keep map[string]bool) (int, error) {
	s := bufio.NewScanner(zone)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	bw := bufio.NewWriterSize(w, 1<<20)
	kept, last := 0, ""
	idLabel := "." + dnsname.IDLabel + "."
	for s.Scan() {
		line := s.Text()
		owner, _, _ := strings.Cut(line, "\t")
		owner = strings.ToLower(strings.TrimSpace(owner))
		if strings.Contains("."+owner, idLabel) && !strings.HasPrefix(owner, ";") {
			if !keep[owner] {
				continue
			}
			if owner != last {
				kept++
				last = owner
			}
		}
		bw.WriteString(line)
		bw.WriteByte('\n')
	}
	if err := s.Err(); err != nil {
		return kept, fmt.Errorf("read zone export: %w", err)
	}
	return kept, bw.Flush()
}

// memSample is a process's resident memory at one point of the run.
type memSample struct {
	When    string `json:"when"`
	Process string `json:"process"`
	RSSKiB  int64  `json:"vm_rss_kib"`
	HWMKiB  int64  `json:"vm_hwm_kib"`
	AnonKiB int64  `json:"rss_anon_kib"` // heap and stacks
	FileKiB int64  `json:"rss_file_kib"` // mapped files: bbolt's pages, the binary
}

// procMem reads VmRSS, VmHWM (peak RSS), RssAnon and RssFile of a
// process by PID.
func procMem(pid int) (m memSample, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.RSSKiB = n
		case "VmHWM":
			m.HWMKiB = n
		case "RssAnon":
			m.AnonKiB = n
		case "RssFile":
			m.FileKiB = n
		}
	}
	if m.RSSKiB == 0 {
		return m, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return m, nil
}

func (r *runner) sampleMem(when, process string, cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	m, err := procMem(cmd.Process.Pid)
	if err != nil {
		r.say("memory of %s %s: %v", process, when, err)
		return
	}
	m.When, m.Process = when, process
	r.mem = append(r.mem, m)
	r.say("memory of %s %s: RSS %d MiB (anon %d, file %d), peak %d MiB", process, when, m.RSSKiB>>10, m.AnonKiB>>10, m.FileKiB>>10, m.HWMKiB>>10)
}

// dirSize is the bytes of the files directly in dir (a node's store).
func dirSize(dir string) int64 {
	es, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range es {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			// Blocks, not the length: bbolt grows its file ahead of the
			// data, and that tail is sparse.
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			} else {
				n += fi.Size()
			}
		}
	}
	return n
}

// writeMemory adds the memory section to the report.
func (r *runner) writeMemory(b *strings.Builder) {
	if len(r.mem) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Memory\n\n| process | when | VmRSS MiB | of which anon (heap) | of which file (mmap) | VmHWM (peak) MiB |\n|---|---|---:|---:|---:|---:|\n")
	for _, m := range r.mem {
		fmt.Fprintf(b, "| %s | %s | %d | %d | %d | %d |\n", m.Process, m.When, m.RSSKiB>>10, m.AnonKiB>>10, m.FileKiB>>10, m.HWMKiB>>10)
	}
	fmt.Fprintf(b, "\nRead from /proc/PID/status of each server by its PID. idresd's RSS counts the pages of its bbolt file it has touched through the mmap "+
		"(RssFile: page cache shared with the kernel, given back under memory pressure), not only its heap (RssAnon). "+
		"With CoreDNS measured, the node is restarted after the import to export its zone file offline, so the later idresd rows are of the restarted process.")
	if r.storeBytes > 0 {
		fmt.Fprintf(b, " The store after the import: %.2f GiB on disk.", float64(r.storeBytes)/(1<<30))
	}
	b.WriteString("\n")
}

// writeJSON writes every figure as JSON beside the log, for comparing runs
// (e.g. N=100k against N=10M) without parsing Markdown.
func (r *runner) writeJSON() error {
	type row struct {
		Name    string    `json:"name"`
		System  string    `json:"system"`
		Unit    string    `json:"unit"`
		Median  float64   `json:"median"`
		Runs    []float64 `json:"runs"`
		P50     []float64 `json:"p50_ms,omitempty"`
		P99     []float64 `json:"p99_ms,omitempty"`
		P99Med  float64   `json:"p99_ms_median,omitempty"`
		Command string    `json:"command,omitempty"`
	}
	out := struct {
		N          int         `json:"n"`
		Runs       int         `json:"runs"`
		ImportRuns int         `json:"import_runs"`
		DNSIDs     int         `json:"dns_ids"`
		StoreBytes int64       `json:"store_bytes"`
		Results    []row       `json:"results"`
		Memory     []memSample `json:"memory"`
		Notes      []string    `json:"notes"`
	}{N: r.n, Runs: r.runs, ImportRuns: r.importRunCount(), DNSIDs: r.n, StoreBytes: r.storeBytes, Memory: r.mem, Notes: r.notes}
	if r.dnsIDs > 0 {
		out.DNSIDs = min(r.n, r.dnsIDs)
	}
	for _, x := range r.results {
		if len(x.Runs) == 0 {
			continue
		}
		out.Results = append(out.Results, row{x.Name, x.System, x.Unit, x.median(), x.Runs, x.P50, x.P99, x.p99Median(), x.Command})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	dir := r.work
	if dir == "" {
		dir = filepath.Dir(r.out)
	}
	return os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644)
}

// scaleNotes says in the report which parts ran fewer times than --runs.
func (r *runner) scaleNotes() {
	if k := r.importRunCount(); k != r.runs {
		r.notes = append(r.notes, fmt.Sprintf("Import and its raw bbolt reference: %d run(s), not %d: above %d identifiers each run takes minutes (idres-bench-ref run --import-runs sets it).", k, r.runs, bigImport))
	}
}

// scaleCompare is `idres-bench-ref scale`: the stores two `make bench`
// runs of different N left in their work directories, served side by side
// by the same idresd binary, with unary Resolve alternating between them,
// first unpaced (peak), then both at the same rate, half the lower peak.
// It answers whether latency holds as the store grows, on one machine in
// one session, without re-importing.
func scaleCompare(args []string) error {
	fs := flag.NewFlagSet("scale", flag.ExitOnError)
	bin := fs.String("bin", "bin", "directory holding idres and idresd")
	runs := fs.Int("runs", 5, "runs of each measurement, alternating between the stores")
	dur := fs.Duration("duration", 10*time.Second, "length of each run")
	conns := fs.Int("conns", 4, "gRPC connections")
	conc := fs.Int("concurrency", 16, "concurrent calls per connection")
	out := fs.String("out", "-", "Markdown report `file` (- for stdout)")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: idres-bench-ref scale [flags] N=WORKDIR N=WORKDIR  (work directories of make bench runs, each holding auth/)")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	type side struct {
		n          int
		r          *runner
		node       *node
		peak, half *result
		majflt     []float64 // major page faults of idresd in each same-rate run
		minflt     []float64 // and minor ones (first touch of a mapped page in memory)
	}
	var sides []*side
	for _, a := range fs.Args() {
		ns, dir, ok := strings.Cut(a, "=")
		n, err := strconv.Atoi(ns)
		if !ok || err != nil || n <= 0 {
			fs.Usage()
			return fmt.Errorf("want N=WORKDIR, got %q", a)
		}
		sides = append(sides, &side{n: n, r: &runner{bin: *bin, work: dir}})
	}
	if len(sides) != 2 {
		fs.Usage()
		return errors.New("want two stores")
	}
	logf, err := os.CreateTemp("", "idres-bench-scale-*.log")
	if err != nil {
		return err
	}
	defer logf.Close()
	for _, s := range sides {
		s.r.log = logf
		defer s.r.stopAll()
		if s.node, err = s.r.startNode("auth"); err != nil {
			return err
		}
		s.peak = &result{Name: "unary Resolve, unpaced", System: fmt.Sprintf("N=%d", s.n), Unit: "requests/s"}
		s.half = &result{Name: "unary Resolve, same rate", System: fmt.Sprintf("N=%d", s.n), Unit: "requests/s"}
	}
	load := func(s *side, extra ...string) []string {
		return append(append([]string{"resolve"}, extra...), "--conns", strconv.Itoa(*conns), "--concurrency", strconv.Itoa(*conc),
			"--duration", dur.String(), "--ids", strconv.Itoa(s.n))
	}
	measure := func(s *side, res *result, extra ...string) error {
		minBefore, before, _ := pageFaults(s.node.cmd.Process.Pid)
		b, cmdline, err := s.r.bench(s.node.grpc, load(s, extra...)...)
		if err != nil {
			return err
		}
		minAfter, after, _ := pageFaults(s.node.cmd.Process.Pid)
		if res == s.half {
			s.majflt = append(s.majflt, float64(after-before))
			s.minflt = append(s.minflt, float64(minAfter-minBefore))
		}
		if b.Outcomes["OK"] != b.Ops {
			return fmt.Errorf("N=%d: %d of %d answers not OK: %v", s.n, b.Ops-b.Outcomes["OK"], b.Ops, b.Outcomes)
		}
		res.Runs, res.P50, res.P99, res.Command = append(res.Runs, b.PerSecond), append(res.P50, b.Lat.P50), append(res.P99, b.Lat.P99), cmdline
		s.r.say("N=%d %s: %.0f/s p50 %.3f ms p99 %.3f ms, %d major and %d minor page faults", s.n, res.Name, b.PerSecond, b.Lat.P50, b.Lat.P99, after-before, minAfter-minBefore)
		return nil
	}
	for range *runs {
		for _, s := range sides {
			if err := measure(s, s.peak); err != nil {
				return err
			}
		}
	}
	rate := fmt.Sprintf("%.0f", min(sides[0].peak.median(), sides[1].peak.median())/2)
	for range *runs {
		for _, s := range sides {
			if err := measure(s, s.half, "--rate", rate); err != nil {
				return err
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| N | store on disk | unpaced requests/s (runs) | p99 ms unpaced | at %s/s: p50 ms | p99 ms (runs) | p99 ms median | idresd page faults per run, major / minor (medians) | idresd VmRSS / VmHWM MiB |\n|---:|---:|---|---:|---:|---|---:|---:|---|\n", rate)
	for _, s := range sides {
		s.r.sampleMem("after the runs", "idresd", s.node.cmd)
		mem := "?"
		if len(s.r.mem) > 0 {
			m := s.r.mem[0]
			mem = fmt.Sprintf("%d / %d (anon %d, file %d)", m.RSSKiB>>10, m.HWMKiB>>10, m.AnonKiB>>10, m.FileKiB>>10)
		}
		fmt.Fprintf(&b, "| %d | %.2f GiB | %.0f (%s) | %.2f | %.3f | %s | %.2f | %.0f / %.0f | %s |\n", s.n, float64(dirSize(s.node.dir))/(1<<30),
			s.peak.median(), joinRuns(s.peak.Runs, "%.0f"), s.peak.p99Median(), s.half.p50Median(), joinRuns(s.half.P99, "%.2f"), s.half.p99Median(), median(s.majflt), median(s.minflt), mem)
	}
	if p := sides[0].half.p99Median(); p > 0 {
		fmt.Fprintf(&b, "\np99 at %s/s, N=%d against N=%d: %.2f×. ", rate, sides[1].n, sides[0].n, sides[1].half.p99Median()/p)
	}
	fmt.Fprintf(&b, "%d runs of %s each, alternating between the two stores; medians. Command: `idres-bench-ref scale %s`; load: `idres bench %s`.\n",
		*runs, dur, strings.Join(args, " "), strings.Join(load(sides[0], "--rate", rate), " "))
	for _, s := range sides {
		s.r.stopAll()
	}
	if *out == "-" {
		_, err := os.Stdout.WriteString(b.String())
		return err
	}
	return os.WriteFile(*out, []byte(b.String()), 0o644)
}

func joinRuns(v []float64, format string) string {
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprintf(format, x))
	}
	return strings.Join(s, ", ")
}

// pageFaults reads a process's page fault counts from /proc/PID/stat:
// minor (a mapped page already in memory, touched first) and major (read
// from disk: bbolt pages the page cache had lost).
func pageFaults(pid int) (minor, major int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name, in parentheses, may hold spaces; fields follow it.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 10 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: not understood", pid)
	}
	// minflt and majflt are fields 10 and 12; f[0] is field 3.
	minor, err = strconv.ParseInt(f[7], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat minflt: %w", pid, err)
	}
	major, err = strconv.ParseInt(f[9], 10, 64)
	return minor, major, err
}
