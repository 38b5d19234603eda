package client_test

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/bulkfile"
	"github.com/idres/idres/resolver/client"
)

func jsonl(id, data string) string {
	return `{"identifier":"` + id + `","values":[{"index":1,"type":"URL","data":"` + data + `"}]}` + "\n"
}

// TestImportFrom runs the bulk load against a real node and checks what
// reached it: the order of items on the wire (sorted runs or file order),
// how they were framed into messages, how many batches the node
// acknowledged, and every failed item reported with its line and code.
func TestImportFrom(t *testing.T) {
	five := jsonl("88.100/e", "1") + jsonl("88.100/d", "2") + jsonl("88.100/c", "3") + jsonl("88.100/b", "4") + jsonl("88.100/a", "5")
	cases := []struct {
		name     string
		existing []string // identifiers created before the import
		in       string
		opts     client.ImportOptions
		wantSent []string // identifiers in the order the node received them
		wantMsgs []int    // items per message, the first carrying the options
		want     client.ImportTotals
		wantFail []string // "line identifier code"
		wantData map[string]string
	}{
		{
			name:     "file order",
			in:       five,
			opts:     client.ImportOptions{},
			wantSent: []string{"88.100/e", "88.100/d", "88.100/c", "88.100/b", "88.100/a"},
			wantMsgs: []int{5},
			want:     client.ImportTotals{Read: 5, Created: 5, Batches: 1},
		},
		{
			name:     "sorted in runs",
			in:       five,
			opts:     client.ImportOptions{SortWindow: 3},
			wantSent: []string{"88.100/c", "88.100/d", "88.100/e", "88.100/a", "88.100/b"},
			wantMsgs: []int{5},
			want:     client.ImportTotals{Read: 5, Created: 5, Batches: 1},
		},
		{
			name:     "framed and batched",
			in:       five,
			opts:     client.ImportOptions{PerMessage: 2, Batch: 2},
			wantSent: []string{"88.100/e", "88.100/d", "88.100/c", "88.100/b", "88.100/a"},
			wantMsgs: []int{2, 2, 1},
			want:     client.ImportTotals{Read: 5, Created: 5, Batches: 3},
		},
		{
			name:     "failures reported, the rest imported",
			existing: []string{"88.100/b"},
			in:       jsonl("88.100/a", "1") + "{not json\n" + jsonl("88.100/b", "2") + jsonl("99.9/x", "3"),
			opts:     client.ImportOptions{},
			wantSent: []string{"88.100/a", "88.100/b", "99.9/x"},
			wantMsgs: []int{3},
			want:     client.ImportTotals{Read: 4, Created: 1, Failed: 3, Batches: 1},
			wantFail: []string{"2 - InvalidArgument", "3 88.100/b AlreadyExists", "4 99.9/x NotFound"},
			wantData: map[string]string{"88.100/a": "1", "88.100/b": "existing"},
		},
		{
			name:     "replace",
			existing: []string{"88.100/b"},
			in:       jsonl("88.100/b", "new") + jsonl("88.100/a", "1"),
			opts:     client.ImportOptions{Replace: true, SortWindow: 10},
			wantSent: []string{"88.100/a", "88.100/b"},
			wantMsgs: []int{2},
			want:     client.ImportTotals{Read: 2, Created: 1, Replaced: 1, Batches: 1},
			wantData: map[string]string{"88.100/b": "new"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, nodeOptions{})
			c := dial(t, n.Addr, client.Options{Token: n.Admin})
			if _, err := c.CreatePrefix(ctxT(t), &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100"}}); err != nil {
				t.Fatal(err)
			}
			for _, id := range tc.existing {
				if _, err := c.CreateIdentifier(ctxT(t), &idresv1.CreateIdentifierRequest{Identifier: id,
					Values: []*idresv1.Value{{Index: 1, Type: "URL", Data: []byte("existing")}}}); err != nil {
					t.Fatal(err)
				}
			}
			rd, err := bulkfile.NewReader(strings.NewReader(tc.in), bulkfile.JSONL)
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			var progress []client.ImportTotals
			o := tc.opts
			o.Failed = func(ie *idresv1.ImportError) {
				id := ie.GetIdentifier()
				if id == "" {
					id = "-"
				}
				failed = append(failed, fmt.Sprintf("%d %s %s", ie.GetSequence(), id, ie.GetCode()))
			}
			o.Progress = func(t client.ImportTotals) { progress = append(progress, t) }
			got, err := c.ImportFrom(ctxT(t), rd, o)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("totals %+v, want %+v", got, tc.want)
			}
			if uint64(len(progress)) != got.Batches || (len(progress) > 0 && progress[len(progress)-1] != got) {
				t.Errorf("progress reported %v for totals %+v", progress, got)
			}
			if strings.Join(failed, "; ") != strings.Join(tc.wantFail, "; ") {
				t.Errorf("failed items\n got  %q\n want %q", failed, tc.wantFail)
			}
			var sent []string
			var msgs []int
			for i, m := range n.received() {
				if (m.GetOptions() != nil) != (i == 0) {
					t.Errorf("message %d carries options: %v", i, m.GetOptions() != nil)
				}
				msgs = append(msgs, len(m.GetItems()))
				for _, it := range m.GetItems() {
					sent = append(sent, it.GetIdentifier())
				}
			}
			if strings.Join(sent, " ") != strings.Join(tc.wantSent, " ") {
				t.Errorf("node received %v, want %v", sent, tc.wantSent)
			}
			if fmt.Sprint(msgs) != fmt.Sprint(tc.wantMsgs) {
				t.Errorf("items per message %v, want %v", msgs, tc.wantMsgs)
			}
			for id, data := range tc.wantData {
				resp, err := c.Resolve(ctxT(t), &idresv1.ResolveRequest{Identifier: id})
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.GetValues()) != 1 || string(resp.GetValues()[0].GetData()) != data {
					t.Errorf("%s holds %v, want data %q", id, resp.GetValues(), data)
				}
			}
		})
	}
}

// TestImportFromUnauthenticated: without a token the stream is refused
// as a whole, and the error says so rather than counting failed items.
func TestImportFromUnauthenticated(t *testing.T) {
	n := newNode(t, nodeOptions{})
	c := dial(t, n.Addr, client.Options{})
	rd, err := bulkfile.NewReader(strings.NewReader(jsonl("88.100/a", "1")), bulkfile.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	tot, err := c.ImportFrom(ctxT(t), rd, client.ImportOptions{})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("got %v (totals %+v), want Unauthenticated", err, tot)
	}
	if tot.Done() != 0 {
		t.Errorf("totals %+v for a refused import", tot)
	}
}
