package node_test

import (
	"fmt"
	"io"
	"testing"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store/etcdkv/etcdtest"
)

// TestReplicaImport: an import batch far larger than one etcd transaction
// takes (etcd's default --max-txn-ops of 128) is committed in pieces and
// acknowledged once, whole; the other replica resolves every item, and
// the same import again replaces them all.
func TestReplicaImport(t *testing.T) {
	c := etcdtest.Start(t, 1)
	rs := startReplicas(t, c, "/idres/import", 0, 0)
	if _, err := rs[0].admin.CreatePrefix(ctxT(t), &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100"}}); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for _, tt := range []struct {
		mode                      idresv1.ImportMode
		wantCreated, wantReplaced uint32
	}{
		{idresv1.ImportMode_IMPORT_MODE_CREATE, n, 0},
		{idresv1.ImportMode_IMPORT_MODE_CREATE_OR_REPLACE, 0, n},
	} {
		stream, err := rs[0].admin.Import(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		req := &idresv1.ImportRequest{Options: &idresv1.ImportOptions{Mode: tt.mode, BatchSize: 1000}}
		for i := range n {
			req.Items = append(req.Items, &idresv1.ImportItem{Identifier: fmt.Sprintf("88.100/part-%03d", i),
				Values: []*idresv1.Value{{Index: 1, Type: "batch", Data: fmt.Appendf(nil, "B-%d", i%7)}}})
		}
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatal(err)
		}
		var acks []*idresv1.ImportResponse
		for {
			resp, err := stream.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%v import: %v", tt.mode, err)
			}
			acks = append(acks, resp)
		}
		if len(acks) != 1 || acks[0].Created != tt.wantCreated || acks[0].Replaced != tt.wantReplaced || acks[0].Failed != 0 {
			t.Fatalf("%v import acks: %v", tt.mode, acks)
		}
	}
	for _, i := range []int{0, 150, n - 1} {
		rs[1].waitResolves(t, fmt.Sprintf("88.100/part-%03d", i))
	}
}
