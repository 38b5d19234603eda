package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveStreamCommand(t *testing.T) {
	_, at := bulkNode(t)
	for i := range 5 {
		if code, _, errs := at("create", fmt.Sprintf("88.100/s%d", i), fmt.Sprintf("URL=https://s/%d", i)); code != 0 {
			t.Fatalf("create: %s", errs)
		}
	}
	ids := "88.100/s3\n\n88.100/S0\n88.100/missing\n# comment\n88.100/s4\n"
	f := filepath.Join(t.TempDir(), "ids.txt")
	os.WriteFile(f, []byte(ids), 0o600)
	code, out, errs := at("resolve", "--stream", "-f", f, "--batch", "2")
	if code != exitNegative {
		t.Errorf("exit %d, want %d (one NOT_FOUND); stderr %s", code, exitNegative, errs)
	}
	type line struct {
		RequestID string `json:"requestId"`
		Response  struct {
			Outcome    string `json:"outcome"`
			Identifier string `json:"identifier"`
		} `json:"response"`
	}
	want := []string{"1 OUTCOME_OK 88.100/s3", "3 OUTCOME_OK 88.100/s0", "4 OUTCOME_NOT_FOUND 88.100/missing", "6 OUTCOME_OK 88.100/s4"}
	var got []string
	s := bufio.NewScanner(strings.NewReader(out))
	for s.Scan() {
		var l line
		if err := json.Unmarshal(s.Bytes(), &l); err != nil {
			t.Fatalf("not a JSON line: %q: %v", s.Text(), err)
		}
		got = append(got, l.RequestID+" "+l.Response.Outcome+" "+l.Response.Identifier)
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestResolveStreamUsage(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"resolve", "--stream"}, "-f FILE"},
		{[]string{"resolve", "--stream", "-f", "x", "88.100/a"}, "not arguments"},
		{[]string{"resolve", "--stream", "-f", "x", "--batch", "0"}, "--batch"},
	} {
		code, _, errs := runCLI(t, nil, tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.wantErr) {
			t.Errorf("%v: exit %d stderr %q; want %d and %q", tc.args, code, errs, exitUsage, tc.wantErr)
		}
	}
}
