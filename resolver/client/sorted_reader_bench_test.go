package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/bulkfile"
	"github.com/idres/idres/resolver/client"
)

// BenchmarkSortWindow reads a shuffled JSONL file of b.N identifiers
// (as make bench generates it) through one sort window: the time before
// ImportFrom can send its first item, then the decoding as it sends.
//
//	go test ./resolver/client -run '^$' -bench SortWindow -benchtime 200000x -count 5
func BenchmarkSortWindow(b *testing.B) {
	var file []byte
	for _, k := range rand.New(rand.NewPCG(1, 2)).Perm(b.N) {
		var err error
		if file, err = bulkfile.AppendJSONL(file, &idresv1.Identifier{Identifier: fmt.Sprintf("88.100/item-%d", k), Values: []*idresv1.Value{
			{Index: 1, Type: "URL", Data: fmt.Appendf(nil, "https://products.example.com/p/%08d", k)},
			{Index: 2, Type: "manufacturer", Data: []byte("Example Manufacturing Co., Ltd.")},
		}}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(file)) / int64(b.N))
	b.ResetTimer()
	rd, err := bulkfile.NewReader(bytes.NewReader(file), bulkfile.JSONL)
	if err != nil {
		b.Fatal(err)
	}
	s := client.NewSortedReader(rd, b.N)
	n := 0
	for {
		_, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	if n != b.N {
		b.Fatalf("read %d of %d", n, b.N)
	}
}
