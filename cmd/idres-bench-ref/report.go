package main

import (
	"fmt"
	"html"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// target is one goal of issue 8, checked against the medians.
type target struct {
	goal   string
	check  func(r *runner) (got string, met, known bool)
	holder string
}

func (r *runner) find(name, system string) *result {
	for _, x := range r.results {
		if x.Name == name && x.System == system && len(x.Runs) > 0 {
			return x
		}
	}
	return nil
}

// ratioRuns is the median of the per-run ratios a/b (runs measured back
// to back), which is steadier than a ratio of medians on a busy machine.
func ratioRuns(a, b *result) float64 {
	var rs []float64
	for i := range min(len(a.Runs), len(b.Runs)) {
		if b.Runs[i] > 0 {
			rs = append(rs, a.Runs[i]/b.Runs[i])
		}
	}
	return median(rs)
}

var targets = []target{
	{goal: "unary Resolve ≥ 0.8× bare grpc-go", check: func(r *runner) (string, bool, bool) {
		a, b := r.find("unary Resolve", "idres"), r.find("unary Resolve", "bare grpc-go")
		if a == nil || b == nil {
			return "", false, false
		}
		x := ratioRuns(a, b)
		return fmt.Sprintf("%.2f×", x), x >= 0.8, true
	}},
	{goal: "ResolveStream ≥ 300,000 identifiers/s", check: func(r *runner) (string, bool, bool) {
		a := r.find("ResolveStream", "idres")
		if a == nil {
			return "", false, false
		}
		return fmt.Sprintf("%.0f/s", a.median()), a.median() >= 300000, true
	}},
	{goal: "import ≥ 150,000 identifiers/s durable", check: func(r *runner) (string, bool, bool) {
		a := r.find("import (durable)", "idres")
		if a == nil {
			return "", false, false
		}
		return fmt.Sprintf("%.0f/s", a.median()), a.median() >= 150000, true
	}},
	{goal: "import ≥ 0.7× raw bbolt", check: func(r *runner) (string, bool, bool) {
		a, b := r.find("import (durable)", "idres"), r.find("import (durable)", "raw bbolt")
		if a == nil || b == nil {
			return "", false, false
		}
		x := ratioRuns(a, b)
		return fmt.Sprintf("%.2f×", x), x >= 0.7, true
	}},
	{goal: "DNS bridge ≥ 1.2× CoreDNS queries/s", check: func(r *runner) (string, bool, bool) {
		a, b := r.find("DNS TXT queries (dnsperf)", "idres DNS bridge"), r.find("DNS TXT queries (dnsperf)", "CoreDNS file")
		if a == nil || b == nil {
			return "", false, false
		}
		x := ratioRuns(a, b)
		return fmt.Sprintf("%.2f×", x), x >= 1.2, true
	}},
	{goal: "Resolve p99 < 1 ms at half the peak rate", check: func(r *runner) (string, bool, bool) {
		a := r.find("unary Resolve at half peak", "idres")
		if a == nil {
			return "", false, false
		}
		return fmt.Sprintf("%.2f ms", a.p99Median()), a.p99Median() < 1, true
	}},
}

func (r *runner) report(took time.Duration) error {
	if err := os.MkdirAll(filepath.Dir(r.out), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	svgName := strings.TrimSuffix(filepath.Base(r.out), filepath.Ext(r.out)) + ".svg"
	fmt.Fprintf(&b, "# idres benchmark results\n\n")
	fmt.Fprintf(&b, "Written by `make bench` (cmd/idres-bench-ref/bench.sh → `idres-bench-ref run`) on %s; the run took %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second))
	fmt.Fprintf(&b, "- Machine: %d cores (%s), %s RAM, %s/%s, %s; load average (1, 5, 15 min) at the start %s, at the end %s: other work on the machine shares its cores, so compare systems only within one run\n", runtime.NumCPU(), cpuModel(), memTotal(), runtime.GOOS, runtime.GOARCH, runtime.Version(), r.loadStart, loadAvg())
	fmt.Fprintf(&b, "- Data set: %d identifiers with 4 values each (~200 bytes), shuffled (`idres bench gen`)\n", r.n)
	fmt.Fprintf(&b, "- Every server and load generator on this one machine over loopback; %d runs of each measurement, %s each where timed; figures are medians, ratios are medians of per-run ratios (the two systems measured back to back in each run)\n\n", r.runs, r.dur)
	fmt.Fprintf(&b, "![throughput and p99 per system](%s)\n\n", svgName)

	fmt.Fprintf(&b, "## Figures\n\n| measurement | system | median | runs | p50 ms | p99 ms |\n|---|---|---:|---|---:|---:|\n")
	for _, x := range r.results {
		if len(x.Runs) == 0 {
			continue
		}
		var runs []string
		for _, v := range x.Runs {
			runs = append(runs, fmt.Sprintf("%.0f", v))
		}
		p50, p99 := "–", "–"
		if len(x.P50) > 0 {
			p50 = fmt.Sprintf("%.3f", x.p50Median())
		}
		if len(x.P99) > 0 {
			p99 = fmt.Sprintf("%.3f", x.p99Median())
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f %s | %s | %s | %s |\n", x.Name, x.System, x.median(), x.Unit, strings.Join(runs, ", "), p50, p99)
	}

	r.writeServerCPU(&b)
	r.writeMemory(&b)
	r.scaleNotes()

	fmt.Fprintf(&b, "\n## Targets (issue 8)\n\n| target | measured | met |\n|---|---|---|\n")
	for _, t := range targets {
		got, met, known := t.check(r)
		switch {
		case !known:
			fmt.Fprintf(&b, "| %s | not measured | – |\n", t.goal)
		case met:
			fmt.Fprintf(&b, "| %s | %s | yes |\n", t.goal, got)
		default:
			fmt.Fprintf(&b, "| %s | %s | no |\n", t.goal, got)
		}
	}
	if len(r.notes) > 0 {
		fmt.Fprintf(&b, "\n## Notes\n\n")
		for _, n := range r.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	fmt.Fprintf(&b, "\n## Commands\n\n")
	seen := map[string]bool{}
	for _, x := range r.results {
		if x.Command != "" && !seen[x.Command] {
			seen[x.Command] = true
			fmt.Fprintf(&b, "- %s, %s: `%s`\n", x.Name, x.System, x.Command)
		}
	}
	fmt.Fprintf(&b, "\nThe full log, with every command line, is `%s`.\n", r.log.Name())
	if err := os.WriteFile(r.out, []byte(b.String()), 0o644); err != nil {
		return err
	}
	svg := filepath.Join(filepath.Dir(r.out), svgName)
	if err := os.WriteFile(svg, []byte(r.chart()), 0o644); err != nil {
		return err
	}
	if err := r.writeJSON(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s and %s\n", r.out, svg)
	return nil
}

// chart draws one panel per measurement: a bar per system for its median
// throughput, with its p99 written beside the bar, so systems compared in
// the same run sit next to each other.
func (r *runner) chart() string {
	type panel struct {
		name, unit string
		rows       []*result
	}
	var panels []*panel
	for _, x := range r.results {
		if len(x.Runs) == 0 {
			continue
		}
		if len(panels) == 0 || panels[len(panels)-1].name != x.Name {
			panels = append(panels, &panel{name: x.Name, unit: x.Unit})
		}
		p := panels[len(panels)-1]
		p.rows = append(p.rows, x)
	}
	const (
		width   = 820
		left    = 170
		barMax  = 420
		rowH    = 26
		headH   = 30
		gap     = 14
		palette = "#2b6cb0,#dd6b20,#38a169,#805ad5"
	)
	colors := strings.Split(palette, ",")
	height := 50
	for _, p := range panels {
		height += headH + len(p.rows)*rowH + gap
	}
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n", width, height, width, height)
	fmt.Fprintf(&s, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&s, `<text x="10" y="24" font-size="16" font-weight="bold">idres vs reference, %d identifiers, %d cores: median throughput (bar) and p99 latency</text>`+"\n", r.n, runtime.NumCPU())
	y := 50
	for _, p := range panels {
		top := 0.0
		for _, x := range p.rows {
			top = max(top, x.median())
		}
		fmt.Fprintf(&s, `<text x="10" y="%d" font-weight="bold">%s (%s)</text>`+"\n", y+18, html.EscapeString(p.name), html.EscapeString(p.unit))
		y += headH
		for i, x := range p.rows {
			w := 0.0
			if top > 0 {
				w = float64(barMax) * x.median() / top
			}
			fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+17, html.EscapeString(x.System))
			fmt.Fprintf(&s, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y+3, w, rowH-8, colors[i%len(colors)])
			label := humanRate(x.median())
			if len(x.P99) > 0 {
				label += fmt.Sprintf("   p99 %.2f ms", x.p99Median())
			} else if len(x.P50) > 0 {
				label += fmt.Sprintf("   mean %.2f ms", x.p50Median())
			}
			fmt.Fprintf(&s, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(left)+w+8, y+17, html.EscapeString(label))
			y += rowH
		}
		y += gap
	}
	s.WriteString("</svg>\n")
	return s.String()
}

func humanRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM/s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk/s", v/1e3)
	}
	return fmt.Sprintf("%.0f/s", v)
}

// writeServerCPU is the table of the rows whose server CPU was measured
// (the Handle rows: idresd and CNRI's server), with each system's
// throughput against the first system of the same measurement.
func (r *runner) writeServerCPU(b *strings.Builder) {
	var rows []*result
	for _, x := range r.results {
		if len(x.CPU) > 0 && len(x.Runs) > 0 {
			rows = append(rows, x)
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Server CPU per request\n\nThe user and system CPU time of the server's process over each timed run (`/proc/PID/stat`, "+
		"10 ms ticks), divided by the requests answered in the run; medians of the runs. The load generator shares the cores and is not counted. "+
		"The last column is the first system's throughput over this one's, the median of the per-run ratios.\n\n"+
		"| measurement | system | median | server CPU µs/request | runs | first system ÷ this |\n|---|---|---:|---:|---|---:|\n")
	for _, x := range rows {
		var runs []string
		for _, v := range x.CPU {
			runs = append(runs, fmt.Sprintf("%.0f", v))
		}
		ratio := "–"
		if first := r.firstOf(x.Name); first != nil && first != x {
			ratio = fmt.Sprintf("%.2f×", ratioRuns(first, x))
		}
		fmt.Fprintf(b, "| %s | %s | %.0f %s | %.0f | %s | %s |\n", x.Name, x.System, x.median(), x.Unit, median(x.CPU), strings.Join(runs, ", "), ratio)
	}
}

// firstOf is the first row measured of a measurement.
func (r *runner) firstOf(name string) *result {
	for _, x := range r.results {
		if x.Name == name && len(x.Runs) > 0 {
			return x
		}
	}
	return nil
}
