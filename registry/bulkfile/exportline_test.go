package bulkfile

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// slowDecode is Decode by encoding/json alone.
func slowDecode(raw []byte) (*Item, error) {
	p := &Pending{Line: 7, raw: []byte("  " + string(raw))} // not the export shape: never the fast path
	return p.Decode()
}

func sameItem(a, b *Item) bool {
	if a.Line != b.Line || a.Identifier != b.Identifier || len(a.Values) != len(b.Values) {
		return false
	}
	for i := range a.Values {
		if !proto.Equal(a.Values[i], b.Values[i]) {
			return false
		}
	}
	return true
}

// TestExportLineAsEncodingJSON: a line the fast path takes decodes as
// encoding/json decodes it; a line it leaves is one encoding/json reads
// differently or refuses.
func TestExportLineAsEncodingJSON(t *testing.T) {
	lines := []string{
		`{"identifier":"88.100/a","values":[{"index":1,"type":"URL","data":"https://x"}]}`,
		`{"identifier":"88.100/a","values":[]}`,
		`{"identifier":"88.100/a","values":[{"index":1,"type":"URL","data":"x","ttl":0,"public_read":false},{"index":4294967295,"type":"t","data":"base64:AAE=","public_read":true}]}`,
		`{"identifier":"88.100/ü","values":[{"index":2,"type":"ünï","data":"日本"}]}`,
		// Left to encoding/json: escapes, spaces, other orders, odd numbers.
		`{"identifier":"88.100/a\u0041","values":[]}`,
		`{"identifier":"88.100/a","values":[{"index":1,"type":"URL","data":"a\"b"}]}`,
		`{"identifier": "88.100/a","values":[]}`,
		`{"values":[],"identifier":"88.100/a"}`,
		`{"identifier":"88.100/a","values":[{"type":"URL","index":1,"data":"x"}]}`,
		`{"identifier":"88.100/a","values":[{"index":01,"type":"URL","data":"x"}]}`,
		`{"identifier":"88.100/a","values":[{"index":1.0,"type":"URL","data":"x"}]}`,
		`{"identifier":"88.100/a","values":[{"index":4294967296,"type":"URL","data":"x"}]}`,
		`{"identifier":"88.100/a","values":[{"index":-1,"type":"URL","data":"x"}]}`,
		`{"identifier":"88.100/a","values":[{"index":1,"type":"URL","data":"base64:!!"}]}`,
		`{"identifier":"","values":[]}`,
		`{"identifier":"88.100/a","values":[]}x`,
		`{"identifier":"88.100/a","values":[],"extra":1}`,
		`{"identifier":"88.100/a","values":null}`,
		"{\"identifier\":\"88.100/\xff\",\"values\":[]}",
		"{\"identifier\":\"88.100/\x01\",\"values\":[]}",
		`{"identifier":"88.100/a","values":[{"index":1,"type":"URL","data":"x","public_read":nope}]}`,
		`{"identifier":"88.100/a","values":[{"index":1,"type":"URL","data":"x"},]}`,
	}
	fast := 0
	for _, l := range lines {
		got, ok := decodeExportLine([]byte(l), 7)
		want, err := slowDecode([]byte(l))
		if !ok {
			continue
		}
		fast++
		if err != nil {
			t.Errorf("%s: fast path accepted a line encoding/json refuses (%v)", l, err)
		} else if !sameItem(got, want) {
			t.Errorf("%s: fast %v, encoding/json %v", l, got, want)
		}
	}
	if fast != 4 {
		t.Errorf("fast path took %d lines, want the 4 in export shape", fast)
	}
}

// TestExportLineRoundTrip: what AppendJSONL writes, for random records,
// decodes through the fast path (when it takes the line) exactly as
// through encoding/json, and most of it does take the fast path.
func TestExportLineRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abcXYZ019/.-_ üß日<>&\"\\\t\n\x00\x7f")
	text := func(n int) string {
		var b bytes.Buffer
		for range r.IntN(n) {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	fast := 0
	for range 2000 {
		rec := &idresv1.Identifier{Identifier: "88.100/" + text(12) + "x"}
		for i := range r.IntN(5) {
			v := &idresv1.Value{Index: uint32(i + 1), Type: text(6) + "t", Data: []byte(text(20))}
			if r.IntN(4) == 0 {
				v.Data = []byte{0xff, byte(r.IntN(256))}
			}
			if r.IntN(2) == 0 {
				v.Ttl = proto.Uint32(r.Uint32())
			}
			if r.IntN(2) == 0 {
				v.PublicRead = proto.Bool(r.IntN(2) == 0)
			}
			rec.Values = append(rec.Values, v)
		}
		line, err := AppendJSONL(nil, rec)
		if err != nil {
			t.Fatal(err)
		}
		line = bytes.TrimSpace(line)
		want, err := slowDecode(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if got, ok := decodeExportLine(line, 7); ok {
			fast++
			if !sameItem(got, want) {
				t.Fatalf("%s: fast %v, encoding/json %v", line, got, want)
			}
		}
	}
	if fast < 100 {
		t.Errorf("fast path took only %d of 2000 export lines", fast)
	}
}
