package bulkfile

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// result is what reading one item gave: the item's line and identifier
// and value count, or the line of its error.
type result struct {
	line   int
	id     string
	values int
	errAt  int // line of a *LineError, 0 for none
}

func readAll(t *testing.T, r Reader) ([]result, error) {
	t.Helper()
	var out []result
	for range 10000 {
		it, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		var le *LineError
		if errors.As(err, &le) {
			out = append(out, result{errAt: le.Line, id: le.Identifier})
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, result{line: it.Line, id: it.Identifier, values: len(it.Values)})
	}
	t.Fatal("reader never ended")
	return nil, nil
}

func TestCSV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []result
		wantErr string // of NewReader or a fatal Next
	}{
		{"one identifier two rows", "identifier,index,type,data\n88.1/a,1,URL,https://x\n88.1/a,2,EMAIL,a@b\n",
			[]result{{line: 2, id: "88.1/a", values: 2}}, ""},
		{"consecutive groups", "identifier,index,type,data,ttl\n88.1/a,1,URL,u,60\n88.1/b,1,URL,v,\n88.1/b,2,X,w,5\n88.1/c,1,URL,z,\n",
			[]result{{line: 2, id: "88.1/a", values: 1}, {line: 3, id: "88.1/b", values: 2}, {line: 5, id: "88.1/c", values: 1}}, ""},
		{"bad index fails its identifier only", "identifier,index,type,data\n88.1/a,1,URL,u\n88.1/a,zero,URL,u\n88.1/b,1,URL,v\n",
			[]result{{errAt: 3, id: "88.1/a"}, {line: 4, id: "88.1/b", values: 1}}, ""},
		{"index 0", "identifier,index,type,data\n88.1/a,0,URL,u\n", []result{{errAt: 2, id: "88.1/a"}}, ""},
		{"wrong field count", "identifier,index,type,data\n88.1/a,1,URL\n88.1/b,1,URL,v\n",
			[]result{{errAt: 2, id: "88.1/a"}, {line: 3, id: "88.1/b", values: 1}}, ""},
		{"bad ttl", "identifier,index,type,data,ttl\n88.1/a,1,URL,u,soon\n", []result{{errAt: 2, id: "88.1/a"}}, ""},
		{"bad base64", "identifier,index,type,data\n88.1/a,1,BIN,base64:!!\n", []result{{errAt: 2, id: "88.1/a"}}, ""},
		{"quoted newline counts lines", "identifier,index,type,data\n88.1/a,1,NOTE,\"two\nlines\"\n88.1/b,1,URL,v\n",
			[]result{{line: 2, id: "88.1/a", values: 1}, {line: 4, id: "88.1/b", values: 1}}, ""},
		{"blank lines skipped", "identifier,index,type,data\n\n88.1/a,1,URL,u\n\n", []result{{line: 3, id: "88.1/a", values: 1}}, ""},
		{"header with BOM and case", "\uFEFFIdentifier,Index,Type,Data\n88.1/a,1,URL,u\n", []result{{line: 2, id: "88.1/a", values: 1}}, ""},
		{"bad header", "id,index,type,data\n", nil, "line 1: header"},
		{"empty file", "", nil, "line 1: empty file"},
		{"broken quote stops with its line", "identifier,index,type,data\n88.1/a,1,URL,u\n88.1/b,1,URL,\"v\n", []result{{line: 2, id: "88.1/a", values: 1}}, "line 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tc.in), CSV)
			if err == nil {
				var got []result
				got, err = readAll(t, r)
				if !slices.Equal(got, tc.want) {
					t.Errorf("got %+v, want %+v", got, tc.want)
				}
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestJSONL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []result
	}{
		{"two lines", `{"identifier":"88.1/a","values":[{"index":1,"type":"URL","data":"u"}]}` + "\n" +
			`{"identifier":"88.1/b","values":[{"index":1,"type":"URL","data":"u","ttl":5},{"index":2,"type":"BIN","data":"base64:AAE="}]}`,
			[]result{{line: 1, id: "88.1/a", values: 1}, {line: 2, id: "88.1/b", values: 2}}},
		{"bad line between good ones", `{"identifier":"88.1/a","values":[]}` + "\n{not json\n" + `{"identifier":"88.1/c","values":[]}` + "\n",
			[]result{{line: 1, id: "88.1/a"}, {errAt: 2}, {line: 3, id: "88.1/c"}}},
		{"unknown field", `{"identifier":"88.1/a","valuez":[]}`, []result{{errAt: 1}}},
		{"missing identifier", `{"values":[]}`, []result{{errAt: 1}}},
		{"two values on a line", `{"identifier":"88.1/a"} {"identifier":"88.1/b"}`, []result{{errAt: 1, id: "88.1/a"}}},
		{"blank lines keep numbering", "\n\n" + `{"identifier":"88.1/a"}` + "\n", []result{{line: 3, id: "88.1/a"}}},
		{"bad base64", `{"identifier":"88.1/a","values":[{"index":1,"type":"B","data":"base64:%%"}]}`, []result{{errAt: 1, id: "88.1/a"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tc.in), "")
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, r)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestJSONLRoundTrip(t *testing.T) {
	ttl, pub, priv := uint32(60), true, false
	ids := []*idresv1.Identifier{
		{Identifier: "88.1/a", Values: []*idresv1.Value{{Index: 1, Type: "URL", Data: []byte("https://x/é"), Ttl: &ttl, PublicRead: &pub}}},
		{Identifier: "88.1/B/c d", Values: []*idresv1.Value{
			{Index: 2, Type: "BIN", Data: []byte{0, 1, 0xff}},
			{Index: 3, Type: "TEXT", Data: []byte("base64:looks encoded"), PublicRead: &priv},
			{Index: 4, Type: "NOTE", Data: []byte("line\nbreak\ttab")},
			{Index: 5, Type: "EMPTY", Data: nil},
		}},
	}
	var buf []byte
	for _, id := range ids {
		var err error
		if buf, err = AppendJSONL(buf, id); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewReader(strings.NewReader(string(buf)), JSONL)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range ids {
		it, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		got := &idresv1.Identifier{Identifier: it.Identifier, Values: it.Values}
		for _, v := range got.Values {
			if v.Data == nil {
				v.Data = nil
			}
		}
		if !proto.Equal(got, want) {
			t.Errorf("item %d: got %v, want %v", i, got, want)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after last item: %v, want EOF", err)
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]Format{"a.csv": CSV, "A.CSV": CSV, "x.jsonl": JSONL, "x.ndjson": JSONL, "x.json": JSONL, "x.txt": "", "-": ""} {
		if got := FormatOf(name); got != want {
			t.Errorf("FormatOf(%q) = %q, want %q", name, got, want)
		}
	}
}
