package runner

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Requirement is one requirement of SPEC.md.
type Requirement struct {
	ID    string
	Level string // "MUST", "SHOULD", "MAY" or "" (informative)
	// Local requirements are marked "[local]" in SPEC.md: they concern a
	// node's own files or processes, which the suite cannot observe over
	// the network; the implementation's own tests check them.
	Local bool
	Line  int
	Text  string
}

var (
	reqStart = regexp.MustCompile(`\*\*([A-Z]+-[0-9]{3})\*\*`)
	levelRE  = regexp.MustCompile(`\b(MUST|SHOULD|MAY)\b`)
)

// ParseSpec extracts the requirements of SPEC.md in order. A requirement
// runs from its bold id to the next id, heading or blank line; its level
// is the strongest RFC 2119 keyword in that text.
func ParseSpec(spec []byte) ([]Requirement, error) {
	var out []Requirement
	seen := map[string]int{}
	var cur *Requirement
	flush := func() {
		if cur == nil {
			return
		}
		for _, lv := range []string{"MUST", "SHOULD", "MAY"} {
			if strings.Contains(" "+strings.Join(levelRE.FindAllString(cur.Text, -1), " ")+" ", " "+lv+" ") {
				cur.Level = lv
				break
			}
		}
		cur.Local = strings.Contains(cur.Text, "[local]")
		out = append(out, *cur)
		cur = nil
	}
	sc := bufio.NewScanner(bytes.NewReader(spec))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if m := reqStart.FindStringSubmatchIndex(line); m != nil && (strings.HasPrefix(trimmed, "- **") || strings.HasPrefix(trimmed, "**")) {
			flush()
			id := line[m[2]:m[3]]
			if prev, dup := seen[id]; dup {
				return nil, fmt.Errorf("SPEC.md:%d: requirement %s already defined at line %d", n, id, prev)
			}
			seen[id] = n
			cur = &Requirement{ID: id, Line: n, Text: strings.TrimSpace(line[m[1]:])}
			continue
		}
		if cur == nil {
			continue
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, "- ") {
			flush()
			continue
		}
		cur.Text += " " + trimmed
	}
	flush()
	return out, sc.Err()
}

// CoverageRow is one requirement with the cases that name it.
type CoverageRow struct {
	Requirement
	Cases []string
}

// Coverage pairs every requirement with its cases, and lists the case
// requirement ids that SPEC.md does not define.
func Coverage(reqs []Requirement, cases []*Case) (rows []CoverageRow, unknown []string) {
	byID := map[string][]string{}
	for _, c := range cases {
		for _, id := range c.Requirements {
			byID[id] = append(byID[id], c.FullName())
		}
	}
	known := map[string]bool{}
	for _, r := range reqs {
		known[r.ID] = true
		rows = append(rows, CoverageRow{Requirement: r, Cases: byID[r.ID]})
	}
	for _, c := range cases {
		for _, id := range c.Requirements {
			if !known[id] {
				unknown = append(unknown, fmt.Sprintf("%s:%d: case %s names %s, which SPEC.md does not define", c.File, c.Line, c.FullName(), id))
			}
		}
	}
	return rows, unknown
}

// UncoveredMUSTs lists the MUST requirements (not [local]) without a case.
func UncoveredMUSTs(rows []CoverageRow) []string {
	var out []string
	for _, r := range rows {
		if r.Level == "MUST" && !r.Local && len(r.Cases) == 0 {
			out = append(out, r.ID)
		}
	}
	return out
}

// WriteCoverage prints one line per requirement: id, level, case count,
// and a mark on uncovered MUSTs.
func WriteCoverage(w io.Writer, rows []CoverageRow) {
	for _, r := range rows {
		level := r.Level
		if level == "" {
			level = "-"
		}
		note := ""
		switch {
		case r.Local:
			note = "  (local: checked by the implementation's tests)"
		case r.Level == "MUST" && len(r.Cases) == 0:
			note = "  UNCOVERED MUST"
		}
		fmt.Fprintf(w, "%-10s %-6s %3d case(s)%s\n", r.ID, level, len(r.Cases), note)
	}
}

// Verdict is the outcome for one requirement over the cases that name it:
// fail when any of them failed, pass when at least one passed and none
// failed, skip when all were skipped, and "untested" when no case ran.
type Verdict struct {
	ID     string `json:"id"`
	Level  string `json:"level,omitempty"`
	Status string `json:"status"`
	Cases  int    `json:"cases"`
}

// Verdicts rolls case results up to the requirements of SPEC.md, in its
// order; ids that cases name but SPEC.md lacks come last.
func Verdicts(reqs []Requirement, results []Result) []Verdict {
	type tally struct{ pass, fail, skip int }
	by := map[string]*tally{}
	var extra []string
	known := map[string]bool{}
	for _, r := range reqs {
		known[r.ID] = true
	}
	for _, res := range results {
		for _, id := range res.Case.Requirements {
			t := by[id]
			if t == nil {
				t = &tally{}
				by[id] = t
				if !known[id] {
					extra = append(extra, id)
				}
			}
			switch res.Status {
			case Pass:
				t.pass++
			case Fail:
				t.fail++
			case Skip:
				t.skip++
			}
		}
	}
	verdict := func(id, level string) Verdict {
		v := Verdict{ID: id, Level: level, Status: "untested"}
		if t := by[id]; t != nil {
			v.Cases = t.pass + t.fail + t.skip
			switch {
			case t.fail > 0:
				v.Status = string(Fail)
			case t.pass > 0:
				v.Status = string(Pass)
			default:
				v.Status = string(Skip)
			}
		}
		return v
	}
	var out []Verdict
	for _, r := range reqs {
		if r.Local {
			continue
		}
		out = append(out, verdict(r.ID, r.Level))
	}
	for _, id := range extra {
		out = append(out, verdict(id, ""))
	}
	return out
}

// WriteVerdicts prints one line per requirement: id, level, verdict and
// the number of cases behind it.
func WriteVerdicts(w io.Writer, vs []Verdict) {
	for _, v := range vs {
		level := v.Level
		if level == "" {
			level = "-"
		}
		fmt.Fprintf(w, "%-10s %-6s %-8s %d case(s)\n", v.ID, level, v.Status, v.Cases)
	}
}
