package main

import (
	"strings"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		yaml   bool
		fields int
		closed bool
		err    string
	}{
		{"yaml flow", "fields:\n  - {type: gtin, kind: gs1-gtin, required: true}\n", true, 1, false, ""},
		{"yaml block", "closed: true\nfields:\n  - type: colour\n    kind: enum\n    choices:\n      - red\n      - green\n    min_length: 1\n", true, 1, true, ""},
		{"json through yaml", `{"fields":[{"type":"a","kind":"int"},{"type":"b","kind":"url"}]}`, true, 2, false, ""},
		{"strict json", `{"fields":[{"type":"a","kind":"int","maxLength":3}]}`, false, 1, false, ""},
		{"unknown key", "fields:\n  - {type: a, kind: int, maxlen: 3}\n", true, 0, false, "maxlen"},
		{"yaml syntax", "fields: [\n", true, 0, false, "yaml"},
		{"not a template", "- 1\n- 2\n", true, 0, false, "unexpected token"},
		{"map with non-string keys", "fields:\n  - {1: a}\n", true, 0, false, "JSON-shaped"},
		{"json refused by strict json", "fields: []\n", false, 0, false, "syntax"},
	}
	for _, tc := range tests {
		tpl, err := parseTemplate([]byte(tc.doc), tc.yaml)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.err)) {
				t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case len(tpl.Fields) != tc.fields || tpl.Closed != tc.closed:
			t.Errorf("%s: %v", tc.name, tpl)
		}
	}
}

// FuzzParseTemplate: any document is decoded or refused, never a panic.
func FuzzParseTemplate(f *testing.F) {
	f.Add("fields:\n  - {type: gtin, kind: gs1-gtin, required: true}\n", true)
	f.Add(`{"closed":true,"fields":[{"type":"a","kind":"enum","choices":["x"]}]}`, false)
	f.Add("&a [*a]", true)
	f.Fuzz(func(t *testing.T, doc string, asYAML bool) {
		tpl, err := parseTemplate([]byte(doc), asYAML)
		if err == nil && tpl == nil {
			t.Fatal("nil template without an error")
		}
	})
}
