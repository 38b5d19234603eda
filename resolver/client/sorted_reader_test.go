package client_test

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/idres/idres/registry/bulkfile"
	"github.com/idres/idres/resolver/client"
)

// TestSortedReader checks the sort window: each run comes out in key
// order (case-folded as the node stores keys), lines with the same key
// keep their file order (so the last one wins a create-or-replace), and
// a malformed line is still reported with its line number.
func TestSortedReader(t *testing.T) {
	line := func(id, data string) string {
		return `{"identifier":"` + id + `","values":[{"index":1,"type":"URL","data":"` + data + `"}]}` + "\n"
	}
	cases := []struct {
		name   string
		format bulkfile.Format
		in     string
		window int
		want   []string // identifier=data, or "error line N"
	}{
		{
			name:   "jsonl one window",
			format: bulkfile.JSONL,
			in:     line("88.1/c", "1") + line("88.1/A", "2") + line("88.1/b", "3") + line("88.1/a", "4") + line("88.1/B", "5"),
			window: 10,
			want:   []string{"88.1/A=2", "88.1/a=4", "88.1/b=3", "88.1/B=5", "88.1/c=1"},
		},
		{
			name:   "jsonl runs of two",
			format: bulkfile.JSONL,
			in:     line("88.1/d", "1") + line("88.1/c", "2") + line("88.1/b", "3") + line("88.1/a", "4") + line("88.1/e", "5"),
			window: 2,
			want:   []string{"88.1/c=2", "88.1/d=1", "88.1/a=4", "88.1/b=3", "88.1/e=5"},
		},
		{
			name:   "jsonl malformed line",
			format: bulkfile.JSONL,
			in:     line("88.1/b", "1") + "{not json\n" + line("88.1/a", "2"),
			window: 10,
			want:   []string{"error line 2", "88.1/a=2", "88.1/b=1"},
		},
		{
			name:   "csv",
			format: bulkfile.CSV,
			in:     "identifier,index,type,data\n88.1/b,1,URL,1\n88.1/a,1,URL,2\n88.1/b,2,URL,3\n",
			window: 10,
			// Rows of one identifier apart are two items, in file order.
			want: []string{"88.1/a=2", "88.1/b=1", "88.1/b=3"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rd, err := bulkfile.NewReader(strings.NewReader(tc.in), tc.format)
			if err != nil {
				t.Fatal(err)
			}
			s := client.NewSortedReader(rd, tc.window)
			var got []string
			for {
				it, err := s.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				var le *bulkfile.LineError
				if errors.As(err, &le) {
					got = append(got, "error line "+strconv.Itoa(le.Line))
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, it.Identifier+"="+string(it.Values[0].Data))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}
