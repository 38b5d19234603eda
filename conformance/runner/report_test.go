package runner_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idres/idres/conformance/runner"
)

func sampleResults() []runner.Result {
	a := &runner.Case{Area: "values", Name: "ok-case", Requirements: []string{"VAL-001"}, File: "cases/values.yaml", Line: 3}
	b := &runner.Case{Area: "values", Name: "bad-case", Requirements: []string{"VAL-002", "VAL-003"}, File: "cases/values.yaml", Line: 9}
	c := &runner.Case{Area: "dns", Name: "txt", Requirements: []string{"DNS-001"}, File: "cases/dns.yaml", Line: 4}
	return []runner.Result{
		{Case: a, Status: runner.Pass, Duration: time.Millisecond},
		{Case: b, Status: runner.Fail, Reason: "step 1, Resolve on server (values.yaml:11): outcome: got \"OUTCOME_OK\", want \"NOT_FOUND\" <&>"},
		{Case: c, Status: runner.Skip, Reason: "no --dns given"},
	}
}

func TestReporters(t *testing.T) {
	res := sampleResults()
	if got, want := runner.Line(res[2]), "skip  dns/txt [DNS-001]: no --dns given"; got != want {
		t.Errorf("Line: got %q, want %q", got, want)
	}
	if got := runner.Line(res[1]); !strings.HasPrefix(got, "fail  values/bad-case [VAL-002 VAL-003]: step 1") {
		t.Errorf("Line: got %q", got)
	}

	var js bytes.Buffer
	if err := runner.WriteJSON(&js, res, []runner.Requirement{{ID: "VAL-001", Level: "MUST"}, {ID: "VAL-002", Level: "MUST"}, {ID: "VAL-009", Level: "MAY"}}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []struct {
			Case, Status, Reason string
			Requirements         []string
		}
		Requirements []struct {
			ID, Status string
			Cases      int
		}
		Passed, Failed, Skipped int
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, js.String())
	}
	if doc.Passed != 1 || doc.Failed != 1 || doc.Skipped != 1 || len(doc.Results) != 3 || doc.Results[1].Case != "values/bad-case" || doc.Results[1].Status != "fail" {
		t.Errorf("JSON: %+v", doc)
	}
	// VAL-001 passed, VAL-002 failed, VAL-009 untested, then the ids the
	// spec lacks (VAL-003 failed with VAL-002's case, DNS-001 skipped).
	wantReq := []string{"VAL-001 pass 1", "VAL-002 fail 1", "VAL-009 untested 0", "VAL-003 fail 1", "DNS-001 skip 1"}
	var gotReq []string
	for _, r := range doc.Requirements {
		gotReq = append(gotReq, fmt.Sprintf("%s %s %d", r.ID, r.Status, r.Cases))
	}
	if strings.Join(gotReq, ", ") != strings.Join(wantReq, ", ") {
		t.Errorf("requirement verdicts: got %v, want %v", gotReq, wantReq)
	}

	var x bytes.Buffer
	if err := runner.WriteJUnit(&x, res); err != nil {
		t.Fatal(err)
	}
	var ju struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Tests int    `xml:"tests,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				Skipped *struct {
					Message string `xml:"message,attr"`
				} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(x.Bytes(), &ju); err != nil {
		t.Fatalf("JUnit: %v\n%s", err, x.String())
	}
	if ju.Tests != 3 || ju.Failures != 1 || ju.Skipped != 1 || len(ju.Suites) != 2 || ju.Suites[0].Name != "values" || ju.Suites[0].Tests != 2 {
		t.Errorf("JUnit totals: %+v", ju)
	}
	f := ju.Suites[0].Cases[1].Failure
	if f == nil || !strings.Contains(f.Text, "<&>") {
		t.Errorf("JUnit failure text not preserved: %+v", f)
	}
	if s := ju.Suites[1].Cases[0].Skipped; s == nil || s.Message != "no --dns given" {
		t.Errorf("JUnit skipped: %+v", s)
	}
}

func TestSummaryLine(t *testing.T) {
	var s runner.Summary
	for _, r := range sampleResults() {
		s.Add(r)
	}
	if got, want := s.String(), "1 passed, 1 failed, 1 skipped"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
