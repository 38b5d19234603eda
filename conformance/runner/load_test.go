package runner_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/idres/idres/conformance"
	"github.com/idres/idres/conformance/runner"
)

// TestParseErrors pins that a malformed case is reported at its file and
// line with a message saying what is wrong.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // each must appear in the error
	}{
		{"yaml syntax", "cases:\n  - name: a\n    steps: [\n", []string{"bad.yaml:3:"}},
		{"not a list", "cases: {}\n", []string{"bad.yaml:1: cases must be a list"}},
		{"unknown top key", "kases: []\n", []string{`bad.yaml:1: unknown key "kases"`, `missing key "cases"`}},
		{"missing requirements", "cases:\n  - name: a\n    steps:\n      - resolve: {identifier: x}\n        expect: {outcome: OK}\n",
			[]string{`bad.yaml:2: missing key "requirements"`}},
		{"bad requirement id", "cases:\n  - name: a\n    requirements: [id-1]\n    steps:\n      - resolve: {identifier: x}\n        expect: {outcome: OK}\n",
			[]string{`bad.yaml:3: requirement id "id-1"`}},
		{"unknown case key", "cases:\n  - name: a\n    requirements: [ID-001]\n    stpes: []\n",
			[]string{`bad.yaml:4: unknown key "stpes"`}},
		{"unknown method", "cases:\n  - name: a\n    requirements: [ID-001]\n    steps:\n      - CreateThing: {x: 1}\n        expect: {}\n",
			[]string{`bad.yaml:5: no method "CreateThing"`}},
		{"request field typo", "cases:\n  - name: a\n    requirements: [ID-001]\n    steps:\n      - resolve: {identifer: \"{P}/x\"}\n        expect: {outcome: OK}\n",
			[]string{"bad.yaml:5:", "identifer"}},
		{"expect field typo", "cases:\n  - name: a\n    requirements: [ID-001]\n    steps:\n      - resolve: {identifier: \"{P}/x\"}\n        expect:\n          outcom: OK\n",
			[]string{"bad.yaml:7:", `no field "outcom"`}},
		{"unknown code", "cases:\n  - name: a\n    requirements: [ID-001]\n    steps:\n      - resolve: {identifier: x}\n        expect: {code: Nope}\n",
			[]string{"bad.yaml:6:", `unknown gRPC code "Nope"`}},
		{"unknown operator", "cases:\n  - name: a\n    requirements: [ID-001]\n    steps:\n      - resolve: {identifier: x}\n        expect:\n          outcome: {$eq: OK}\n",
			[]string{"bad.yaml:7:", `unknown operator "$eq"`}},
		{"two queries", "cases:\n  - name: a\n    requirements: [ID-001]\n    steps:\n      - resolve: {identifier: x}\n        dns: {name: x}\n        expect: {}\n",
			[]string{"bad.yaml:6:", "a step has one query"}},
		{"no expect", "cases:\n  - name: a\n    requirements: [ID-001]\n    steps:\n      - resolve: {identifier: x}\n",
			[]string{"bad.yaml:5: step has no expect"}},
		{"bad node", "cases:\n  - name: a\n    requirements: [ID-001]\n    steps:\n      - resolve: {identifier: x}\n        node: leaf\n        expect: {}\n",
			[]string{"bad.yaml:6:", `node "leaf"`}},
		{"dns bad type", "cases:\n  - name: a\n    requirements: [ID-001]\n    steps:\n      - dns: {name: x, type: NOPE}\n        expect: {rcode: NOERROR}\n",
			[]string{"bad.yaml:5:", `unknown type "NOPE"`}},
		{"dns bad rcode", "cases:\n  - name: a\n    requirements: [ID-001]\n    steps:\n      - dns: {name: x}\n        expect: {rcode: NOPE}\n",
			[]string{"bad.yaml:6:", `unknown rcode "NOPE"`}},
		{"http bad key", "cases:\n  - name: a\n    requirements: [ID-001]\n    steps:\n      - http: {path: /x, verb: GET}\n        expect: {status: 200}\n",
			[]string{"bad.yaml:5:", `unknown key "verb"`}},
		{"bad case name", "cases:\n  - name: Big Name\n    requirements: [ID-001]\n    steps:\n      - resolve: {identifier: x}\n        expect: {}\n",
			[]string{"bad.yaml:2:", "lowercase"}},
		{"two errors reported", "cases:\n  - name: a\n    requirements: [X]\n    steps:\n      - resolve: {identifier: x}\n        expect: {}\n  - name: b\n    requirements: [ID-001]\n    steps: 3\n",
			[]string{"bad.yaml:3:", "bad.yaml:9:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runner.Parse("bad.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestDuplicateCaseNames(t *testing.T) {
	one := "cases:\n  - name: a\n    requirements: [ID-001]\n    steps:\n      - resolve: {identifier: x}\n        expect: {}\n"
	fsys := fstest.MapFS{
		"c/x.yaml": {Data: []byte("area: same\n" + one)},
		"c/y.yaml": {Data: []byte("area: same\n" + one)},
	}
	_, err := runner.LoadFS(fsys, "c")
	if err == nil || !strings.Contains(err.Error(), "c/y.yaml:3:") || !strings.Contains(err.Error(), "already defined at c/x.yaml:3") {
		t.Fatalf("got %v, want a duplicate error at c/y.yaml:3", err)
	}
}

// TestShippedCasesLoad keeps the embedded suite well-formed.
func TestShippedCasesLoad(t *testing.T) {
	cases := loadSuite(t)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
}

// TestEveryMUSTHasACase fails when SPEC.md has a MUST (not marked
// [local]) that no case names, or a case names an id SPEC.md lacks.
func TestEveryMUSTHasACase(t *testing.T) {
	spec, err := conformance.Files.ReadFile(conformance.SpecFile)
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := runner.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) < 20 {
		t.Fatalf("only %d requirements parsed from SPEC.md", len(reqs))
	}
	rows, unknown := runner.Coverage(reqs, loadSuite(t))
	for _, u := range unknown {
		t.Error(u)
	}
	for _, id := range runner.UncoveredMUSTs(rows) {
		t.Errorf("%s is a MUST with no case", id)
	}
}

func TestParseSpec(t *testing.T) {
	spec := []byte(`# T
## 1. X (X)

- **X-001** A node MUST do this,
  and MUST NOT do that.
- **X-002** A node SHOULD do this; it MAY do that.
- **X-003** Informative only.
- **X-004** Files MUST be synced. [local]

Paragraph mentioning **X-001** again is not a definition? It is not a bullet.
`)
	reqs, err := runner.ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id, level string
		local     bool
	}{{"X-001", "MUST", false}, {"X-002", "SHOULD", false}, {"X-003", "", false}, {"X-004", "MUST", true}}
	if len(reqs) != len(want) {
		t.Fatalf("got %d requirements: %+v", len(reqs), reqs)
	}
	for i, w := range want {
		if reqs[i].ID != w.id || reqs[i].Level != w.level || reqs[i].Local != w.local {
			t.Errorf("requirement %d: got %s %q local=%v, want %s %q local=%v", i, reqs[i].ID, reqs[i].Level, reqs[i].Local, w.id, w.level, w.local)
		}
	}
	if _, err := runner.ParseSpec([]byte("- **X-001** a\n- **X-001** b\n")); err == nil {
		t.Error("duplicate id not reported")
	}
}
