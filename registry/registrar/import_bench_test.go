package registrar

import (
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// BenchmarkImport imports b.N identifiers (sorted, as idres import sends
// them) through a real gRPC server into a real bbolt file.
func BenchmarkImport(b *testing.B) {
	n := startImportNode(b)
	var items []*idresv1.ImportItem
	for i := range b.N {
		items = append(items, item(0, fmt.Sprintf("88.100/item-%09d", i),
			"URL", fmt.Sprintf("https://products.example.com/p/%08d", i), "manufacturer", "Example Manufacturing Co., Ltd.",
			"batch", fmt.Sprintf("B-%06d", i/1000), "production_date", "2026-01-05"))
	}
	var msgs []*idresv1.ImportRequest
	for i := 0; i < len(items); i += 500 {
		msgs = append(msgs, &idresv1.ImportRequest{Items: items[i:min(i+500, len(items))]})
	}
	msgs = append([]*idresv1.ImportRequest{{Options: &idresv1.ImportOptions{BatchSize: 10000}}}, msgs...)
	b.ResetTimer()
	acks, err := runImport(b, n.client, n.admin, msgs...)
	if err != nil {
		b.Fatal(err)
	}
	var created uint32
	for _, a := range acks {
		created += a.Created
	}
	if int(created) != b.N {
		b.Fatalf("created %d of %d", created, b.N)
	}
	b.StopTimer()
	// The pages in use, not the file's length: the file grows ahead of
	// them in large steps.
	var size int64
	if err := n.store.DB().View(func(tx *bolt.Tx) error { size = tx.Size(); return nil }); err == nil {
		b.ReportMetric(float64(size)/float64(b.N), "file-B/id")
	}
}
