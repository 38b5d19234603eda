package bulkfile

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// drain reads everything, checking the reader's own contract: it ends,
// line numbers never go backwards, and an item's values are well formed.
func drain(t *testing.T, r Reader) []*Item {
	var items []*Item
	last := 0
	for range 1 << 20 {
		it, err := r.Next()
		if errors.Is(err, io.EOF) {
			return items
		}
		var le *LineError
		switch {
		case errors.As(err, &le):
			if le.Line < last {
				t.Fatalf("error line %d after line %d", le.Line, last)
			}
			last = le.Line
		case err != nil:
			return items
		default:
			if it.Line < last || it.Line < 1 {
				t.Fatalf("item line %d after line %d", it.Line, last)
			}
			last = it.Line
			for _, v := range it.Values {
				if v == nil {
					t.Fatal("nil value")
				}
			}
			items = append(items, it)
		}
	}
	t.Fatal("reader never ended")
	return nil
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("identifier,index,type,data\n88.1/a,1,URL,https://x\n88.1/a,2,EMAIL,a@b\n"))
	f.Add([]byte("identifier,index,type,data,ttl\n88.1/a,1,URL,u,60\n88.1/b,x,URL,v,\n"))
	f.Add([]byte("identifier,index,type,data\n88.1/a,1,NOTE,\"two\nlines\"\n\"88.1/b\",1,B,base64:AAE=\n"))
	f.Add([]byte("identifier,index,type,data\n88.1/a,1,URL,\"broken\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewReader(bytes.NewReader(in), CSV)
		if err != nil {
			return
		}
		drain(t, r)
	})
}

func FuzzJSONL(f *testing.F) {
	f.Add([]byte(`{"identifier":"88.1/a","values":[{"index":1,"type":"URL","data":"u","ttl":5,"public_read":false}]}` + "\n"))
	f.Add([]byte("{not json\n" + `{"identifier":"88.1/b","values":[{"index":2,"type":"B","data":"base64:AAE="}]}`))
	f.Add([]byte(`{"identifier":"x"} {"identifier":"y"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewReader(bytes.NewReader(in), JSONL)
		if err != nil {
			t.Fatal(err)
		}
		// The quick look at a line never disagrees with its decoding.
		dr := newJSONLReader(bytes.NewReader(in))
		for {
			p, err := dr.NextPending()
			if err != nil {
				break
			}
			it, err := p.Decode()
			if err == nil && p.Identifier != "" && utf8.ValidString(p.Identifier) && p.Identifier != it.Identifier {
				t.Fatalf("line %d: quick identifier %q, decoded %q", p.Line, p.Identifier, it.Identifier)
			}
		}
		r, err = NewReader(bytes.NewReader(in), JSONL)
		if err != nil {
			t.Fatal(err)
		}
		// Whatever was read must survive export and import unchanged.
		for _, it := range drain(t, r) {
			id := &idresv1.Identifier{Identifier: it.Identifier, Values: it.Values}
			line, err := AppendJSONL(nil, id)
			if err != nil {
				t.Fatal(err)
			}
			back, err := newJSONLReader(bytes.NewReader(line)).Next()
			if err != nil {
				t.Fatalf("re-reading %q: %v", line, err)
			}
			if got := (&idresv1.Identifier{Identifier: back.Identifier, Values: back.Values}); !proto.Equal(got, id) {
				t.Fatalf("round trip of %q: got %v, want %v", line, got, id)
			}
		}
	})
}
