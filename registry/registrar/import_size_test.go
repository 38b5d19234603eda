package registrar

import (
	"strings"
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// TestImportRefusesOversizedItems: Import applies CreateIdentifier's
// total-size limit to each item (1 MiB by default), in band: the item is
// refused with InvalidArgument, the rest of the batch is stored.
func TestImportRefusesOversizedItems(t *testing.T) {
	n := startImportNode(t)
	big := &idresv1.ImportItem{Sequence: 2, Identifier: "88.100/big"}
	for i := range 17 {
		big.Values = append(big.Values, &idresv1.Value{Index: uint32(i + 1), Type: "t", Data: []byte(strings.Repeat("x", 64<<10))})
	}
	acks, err := runImport(t, n.client, n.admin, &idresv1.ImportRequest{Items: []*idresv1.ImportItem{
		item(1, "88.100/small", "URL", "https://example.com/"), big,
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := summarize(acks)
	want := []ackSummary{{batch: 1, items: 2, created: 1, failed: 1, errs: "2:InvalidArgument,"}}
	if len(got) != 1 || got[0] != want[0] {
		t.Fatalf("acks %+v, want %+v", got, want)
	}
	if msg := acks[0].Errors[0].Message; !strings.Contains(msg, "1048576") {
		t.Errorf("error %q does not name the limit", msg)
	}
}
