package runner

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// Line formats one result for the terminal:
//
//	pass  identifiers/suffix-nfc [ID-004]
//	fail  outcomes/miss-in-band [OUT-001]: step 1, Resolve on server (outcomes.yaml:12): outcome: got ..., want ...
//	skip  dns/txt-values [DNS-004]: no --dns given
func Line(r Result) string {
	s := fmt.Sprintf("%-5s %s [%s]", r.Status, r.Case.FullName(), strings.Join(r.Case.Requirements, " "))
	if r.Reason != "" {
		s += ": " + r.Reason
	}
	return s
}

// WriteList prints every case with its requirement ids and summary.
func WriteList(w io.Writer, cases []*Case) {
	for _, c := range cases {
		fmt.Fprintf(w, "%-48s %-24s %s\n", c.FullName(), strings.Join(c.Requirements, ","), c.Summary)
	}
}

// jsonResult is the --json shape of a result.
type jsonResult struct {
	Case         string   `json:"case"`
	Area         string   `json:"area"`
	Requirements []string `json:"requirements"`
	Status       Status   `json:"status"`
	Reason       string   `json:"reason,omitempty"`
	File         string   `json:"file"`
	Line         int      `json:"line"`
	Seconds      float64  `json:"seconds"`
}

// WriteJSON writes the results and counts as one JSON document:
// {"results": [...], "requirements": [...], "passed": N, "failed": N,
// "skipped": N}. requirements (the verdict per requirement, see Verdicts)
// is present when reqs is given.
func WriteJSON(w io.Writer, results []Result, reqs []Requirement) error {
	var sum Summary
	out := struct {
		Results      []jsonResult `json:"results"`
		Requirements []Verdict    `json:"requirements,omitempty"`
		Passed       int          `json:"passed"`
		Failed       int          `json:"failed"`
		Skipped      int          `json:"skipped"`
	}{Results: []jsonResult{}}
	if reqs != nil {
		out.Requirements = Verdicts(reqs, results)
	}
	for _, r := range results {
		sum.Add(r)
		out.Results = append(out.Results, jsonResult{
			Case: r.Case.FullName(), Area: r.Case.Area, Requirements: r.Case.Requirements,
			Status: r.Status, Reason: r.Reason, File: r.Case.File, Line: r.Case.Line, Seconds: r.Duration.Seconds(),
		})
	}
	out.Passed, out.Failed, out.Skipped = sum.Passed, sum.Failed, sum.Skipped
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// JUnit XML, in the shape CI systems read (Jenkins, GitLab, GitHub
// reporters): one testsuite per area, one testcase per case, requirement
// ids as a property.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name       string        `xml:"name,attr"`
	Classname  string        `xml:"classname,attr"`
	Time       string        `xml:"time,attr"`
	Properties *junitProps   `xml:"properties,omitempty"`
	Failure    *junitMessage `xml:"failure,omitempty"`
	Skipped    *junitMessage `xml:"skipped,omitempty"`
}

type junitProps struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes results as JUnit XML.
func WriteJUnit(w io.Writer, results []Result) error {
	doc := junitSuites{Name: "idres conformance"}
	index := map[string]int{}
	var total time.Duration
	for _, r := range results {
		i, ok := index[r.Case.Area]
		if !ok {
			i = len(doc.Suites)
			index[r.Case.Area] = i
			doc.Suites = append(doc.Suites, junitSuite{Name: r.Case.Area})
		}
		s := &doc.Suites[i]
		jc := junitCase{
			Name: r.Case.Name, Classname: "conformance." + r.Case.Area, Time: secs(r.Duration),
			Properties: &junitProps{Props: []junitProp{
				{Name: "requirements", Value: strings.Join(r.Case.Requirements, " ")},
				{Name: "file", Value: fmt.Sprintf("%s:%d", r.Case.File, r.Case.Line)},
			}},
		}
		s.Tests++
		doc.Tests++
		switch r.Status {
		case Fail:
			jc.Failure = &junitMessage{Message: firstLine(r.Reason), Text: r.Reason}
			s.Failures++
			doc.Failures++
		case Skip:
			jc.Skipped = &junitMessage{Message: r.Reason}
			s.Skipped++
			doc.Skipped++
		}
		d, _ := time.ParseDuration(s.Time + "s")
		s.Time = secs(d + r.Duration)
		total += r.Duration
		s.Cases = append(s.Cases, jc)
	}
	doc.Time = secs(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
