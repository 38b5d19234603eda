package grpcserver_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// bigRequests is a message of n requests of ~30 KB each (100 type filters
// of 255 bytes and an identifier of 5000, the most a request may carry),
// whose answers are ~5 KB (INVALID_IDENTIFIER, the identifier echoed), so
// that a client that does not read fills its window after a few.
func bigRequests(first, n int) *idresv1.ResolveStreamRequest {
	types := make([]string, 100)
	for i := range types {
		types[i] = strings.Repeat(string(rune('a'+i%26)), 255)
	}
	msg := &idresv1.ResolveStreamRequest{}
	for j := range n {
		msg.Requests = append(msg.Requests, &idresv1.TaggedResolveRequest{RequestId: uint64(first + j),
			Request: &idresv1.ResolveRequest{Identifier: fmt.Sprintf("88.100/%d-%s", first+j, strings.Repeat("x", 4990)), Types: types}})
	}
	return msg
}

// TestResolveStreamBoundsBytes: a client that sends large requests and
// never reads its answers makes the node hold at most its per-stream
// buffer (plus the one message being taken in), not its read-ahead of
// requests: 4096 requests of 25 KB each were 100 MB a stream.
func TestResolveStreamBoundsBytes(t *testing.T) {
	const buffer = 1 << 20
	node := startStreamNode(t, 10, 0, grpc.InitialWindowSize(64<<10), grpc.InitialConnWindowSize(64<<10))
	node.svc.Buffer = buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := node.client.ResolveStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	msgSize := proto.Size(bigRequests(0, 10))
	go func() {
		for i := 0; i < 200; i++ { // 50 MB unless the node stops reading
			if st.Send(bigRequests(i*10, 10)) != nil {
				return
			}
		}
	}()
	stats := node.svc.Stats
	for deadline := time.Now().Add(20 * time.Second); stats.Waiting() == 0; time.Sleep(time.Millisecond) {
		if b := stats.Bytes(); b > buffer+int64(msgSize) {
			t.Fatalf("the node holds %d bytes of one stream, more than its buffer %d and a message", b, buffer)
		}
		if time.Now().After(deadline) { // a hang, not a speed limit
			t.Fatalf("the stream's reader never waited for its answers to be read; it holds %d bytes", stats.Bytes())
		}
	}
	if peak := stats.PeakBytes(); peak > buffer+int64(msgSize) {
		t.Fatalf("peak %d bytes held, more than the buffer %d and one message (%d)", peak, buffer, msgSize)
	}
}

// TestResolveStreamNodeBuffer: the streams of a node share one buffer:
// several clients that do not read make it hold at most BufferTotal (and
// a message), not Buffer per stream.
func TestResolveStreamNodeBuffer(t *testing.T) {
	const total = 2 << 20
	node := startStreamNode(t, 10, 0, grpc.InitialWindowSize(64<<10), grpc.InitialConnWindowSize(64<<10))
	node.svc.Buffer, node.svc.BufferTotal = total, total
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgSize := proto.Size(bigRequests(0, 10))
	for range 4 {
		st, err := node.client.ResolveStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for i := 0; i < 200; i++ {
				if st.Send(bigRequests(i*10, 10)) != nil {
					return
				}
			}
		}()
	}
	stats := node.svc.Stats
	for deadline := time.Now().Add(20 * time.Second); stats.Waiting() < 4; time.Sleep(time.Millisecond) {
		if b := stats.Bytes(); b > total+int64(msgSize) {
			t.Fatalf("the node holds %d bytes, more than its buffer %d and a message", b, total)
		}
		if time.Now().After(deadline) { // a hang, not a speed limit
			t.Fatalf("%d of 4 stream readers wait; the node holds %d bytes", stats.Waiting(), stats.Bytes())
		}
	}
}

// TestIdleResolveStreamsAreCheap: a stream costs goroutines only for the
// work it has: 5000 idle streams were 64k goroutines (a pool of 32
// resolvers each, started when the stream opened).
func TestIdleResolveStreamsAreCheap(t *testing.T) {
	node := startStreamNode(t, 10, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := runtime.NumGoroutine()
	const streams = 50
	for i := range streams {
		st, err := node.client.ResolveStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// One answer: the stream's handler is running.
		if err := st.Send(&idresv1.ResolveStreamRequest{Requests: []*idresv1.TaggedResolveRequest{
			{RequestId: 1, Request: &idresv1.ResolveRequest{Identifier: fmt.Sprintf("88.100/item-%d", i%10)}}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	// Client and server side together: gRPC's own few per stream, and
	// the handler's reader, writer and one resolver.
	if per := float64(runtime.NumGoroutine()-before) / streams; per > 8 {
		t.Errorf("%.1f goroutines per idle stream; want a handful", per)
	}
}

// TestResolveStreamBoundsOneMessagesAnswers: one message asking a large
// record many times makes the node hold about its stream buffer, not the
// answers to the whole message (1000 requests for a 1 MiB record were a
// GiB), and the stream ends ResourceExhausted saying to send fewer
// requests per message; small answers keep being resolved together.
func TestResolveStreamBoundsOneMessagesAnswers(t *testing.T) {
	const buffer = 1 << 20
	node := startStreamNode(t, 10, 0)
	node.svc.Buffer = buffer
	big := bytes.Repeat([]byte("x"), 200<<10)
	err := node.store.Update(func(tx *store.Tx) error {
		id := ident.MustParse("88.100/BIG")
		ttl, pub := uint32(60), true
		return tx.PutIdentifiers([]store.BulkItem{{ID: id, Rec: &idresv1.Identifier{Values: []*idresv1.Value{
			{Index: 1, Type: "blob", Data: big, Ttl: &ttl, PublicRead: &pub}}}}}, false, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := node.client.ResolveStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	msg := &idresv1.ResolveStreamRequest{}
	for i := range 1000 {
		msg.Requests = append(msg.Requests, &idresv1.TaggedResolveRequest{RequestId: uint64(i), Request: &idresv1.ResolveRequest{Identifier: "88.100/BIG"}})
	}
	if err := st.Send(msg); err != nil {
		t.Fatal(err)
	}
	st.CloseSend()
	answered := 0
	for {
		resp, err := st.Recv()
		if err != nil {
			if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "fewer requests per message") {
				t.Fatalf("after %d answers: %v, want ResourceExhausted saying to send fewer requests", answered, err)
			}
			break
		}
		answered += len(resp.GetResponses())
	}
	// The budget is checked after each chunk: one chunk of the largest
	// answer may pass it (the first chunk is 16 requests).
	if peak := node.svc.Stats.PeakBytes(); peak > buffer+16*int64(len(big)+1024)+int64(proto.Size(msg)) {
		t.Fatalf("peak %d bytes held for one message's answers, want about the buffer %d", peak, buffer)
	}
	if answered >= 1000 {
		t.Fatalf("%d answers sent, want the stream to stop at its buffer", answered)
	}
}
