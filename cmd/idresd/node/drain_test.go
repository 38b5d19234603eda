package node_test

import (
	"context"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

// TestStopDrainsAndSaysNotServing holds a stream open while the node
// stops: health watchers hear NOT_SERVING at once, the open stream still
// gets its answers, and Stop returns only after the stream ends.
func TestStopDrainsAndSaysNotServing(t *testing.T) {
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(n.GRPCAddr(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The watch is a stream too: it gets its own context so that it can
	// end, and not keep the drain waiting, once it has heard NOT_SERVING.
	watchCtx, endWatch := context.WithCancel(ctx)
	defer endWatch()
	watch, err := healthpb.NewHealthClient(c.Conn()).Watch(watchCtx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := watch.Recv(); err != nil || st.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("before stop: %v %v", st, err)
	}
	stream, err := c.ResolveStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ask := func(id uint64) {
		t.Helper()
		req := &idresv1.ResolveStreamRequest{Requests: []*idresv1.TaggedResolveRequest{{RequestId: id, Request: &idresv1.ResolveRequest{Identifier: "88/x"}}}}
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil || len(resp.Responses) != 1 || resp.Responses[0].RequestId != id {
			t.Fatalf("stream answer %d: %v %v", id, resp, err)
		}
	}
	ask(1)

	stopped := make(chan error, 1)
	go func() { stopped <- n.Stop(ctx) }()
	if st, err := watch.Recv(); err != nil || st.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("while stopping: %v %v, want NOT_SERVING", st, err)
	}
	endWatch()
	ask(2) // the in-flight stream is drained, not cut
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a stream was still open", err)
	default:
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err == nil {
		t.Fatal("stream did not end")
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
