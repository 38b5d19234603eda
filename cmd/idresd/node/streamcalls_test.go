package node_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

// TestStreamCallsPerSource: one source network may hold at most
// MaxStreamCallsPerSource streaming calls open at once, over however many
// connections; the next is refused ResourceExhausted, and a call that
// ends gives its place back.
func TestStreamCallsPerSource(t *testing.T) {
	t.Parallel()
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: quietLog,
		Security: node.SecurityConfig{MaxStreamCallsPerSource: 3}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	open := func() (idresv1.Resolver_ResolveStreamClient, error) {
		c, err := client.Dial(n.GRPCAddr(), client.Options{}) // a connection each
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		st, err := c.ResolveStream(ctxT(t))
		if err != nil {
			return nil, err
		}
		if err := st.Send(&idresv1.ResolveStreamRequest{Requests: []*idresv1.TaggedResolveRequest{
			{RequestId: 1, Request: &idresv1.ResolveRequest{Identifier: "88.100/x"}}}}); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		_, err = st.Recv()
		return st, err
	}
	var held []idresv1.Resolver_ResolveStreamClient
	for i := range 3 {
		st, err := open()
		if err != nil {
			t.Fatalf("stream %d: %v", i+1, err)
		}
		held = append(held, st)
	}
	if _, err := open(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a 4th stream from one source: %v, want ResourceExhausted", err)
	}
	held[0].CloseSend()
	if _, err := held[0].Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("closing stream 1: %v", err)
	}
	if _, err := open(); err != nil {
		t.Fatalf("a stream after one ended: %v", err)
	}
}
