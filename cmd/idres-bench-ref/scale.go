package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

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

// exportZone writes the zone file CoreDNS serves, `idres export
// --zonefile` of the stopped node's store. Past the cap, the export is
// streamed through a filter that keeps the zone's own records and the
// identifiers asked in dnsQueries, so the full zone never lands on disk.
func (r *runner) exportZone(dir, dnsAddr, zonefile, dnsQueries string) error {
	args := []string{"export", "--zonefile", "id.example.", "--data", dir, "--dns", dnsAddr, "-o", zonefile, "88.100"}
	if r.dnsIDs <= 0 || r.n <= r.dnsIDs {
		_, err := r.command(r.path("idres"), args...)
		return err
	}
	keep, err := queryNames(dnsQueries)
	if err != nil {
		return err
	}
	args[len(args)-2] = "-"
	fmt.Fprintf(r.log, "$ %s %s | keep %d identifiers > %s\n", r.path("idres"), strings.Join(args, " "), len(keep), zonefile)
	cmd := exec.Command(r.path("idres"), args...)
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
}

// procMem reads VmRSS and VmHWM (peak RSS) of a process by PID.
func procMem(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
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
		switch k {
		case "VmRSS":
			rss, _ = strconv.ParseInt(f[0], 10, 64)
		case "VmHWM":
			hwm, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return rss, hwm, nil
}

func (r *runner) sampleMem(when, process string, cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	rss, hwm, err := procMem(cmd.Process.Pid)
	if err != nil {
		r.say("memory of %s %s: %v", process, when, err)
		return
	}
	r.mem = append(r.mem, memSample{When: when, Process: process, RSSKiB: rss, HWMKiB: hwm})
	r.say("memory of %s %s: RSS %d MiB, peak %d MiB", process, when, rss>>10, hwm>>10)
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
			n += fi.Size()
		}
	}
	return n
}

// writeMemory adds the memory section to the report.
func (r *runner) writeMemory(b *strings.Builder) {
	if len(r.mem) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Memory\n\n| process | when | VmRSS MiB | VmHWM (peak) MiB |\n|---|---|---:|---:|\n")
	for _, m := range r.mem {
		fmt.Fprintf(b, "| %s | %s | %d | %d |\n", m.Process, m.When, m.RSSKiB>>10, m.HWMKiB>>10)
	}
	fmt.Fprintf(b, "\nRead from /proc/PID/status of each server by its PID. idresd's RSS counts the pages of its bbolt file it has touched through the mmap "+
		"(page cache shared with the kernel, given back under memory pressure), not only its heap. "+
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
	return os.WriteFile(filepath.Join(r.work, "results.json"), append(b, '\n'), 0o644)
}

// scaleNotes says in the report which parts ran fewer times than --runs.
func (r *runner) scaleNotes() {
	if k := r.importRunCount(); k != r.runs {
		r.notes = append(r.notes, fmt.Sprintf("Import and its raw bbolt reference: %d run(s), not %d: above %d identifiers each run takes minutes (idres-bench-ref run --import-runs sets it).", k, r.runs, bigImport))
	}
}
