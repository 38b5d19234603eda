package grpcserver_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/answer"
	"github.com/idres/idres/resolver/grpcserver"
)

// streamNode is a real store behind a real gRPC server on loopback.
type streamNode struct {
	svc    *grpcserver.Service
	client idresv1.ResolverClient
	store  *store.Store
}

func startStreamNode(t *testing.T, n int, readAhead int, opts ...grpc.ServerOption) *streamNode {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.Update(func(tx *store.Tx) error {
		if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: "88.100"}); err != nil {
			return err
		}
		items := make([]store.BulkItem, n)
		for i := range n {
			id, err := ident.Parse(fmt.Sprintf("88.100/item-%d", i))
			if err != nil {
				return err
			}
			ttl, pub := uint32(60), true
			items[i] = store.BulkItem{ID: id, Rec: &idresv1.Identifier{Values: []*idresv1.Value{
				{Index: 1, Type: "URL", Data: []byte(fmt.Sprintf("https://example.com/%d", i)), Ttl: &ttl, PublicRead: &pub}}}}
		}
		return tx.PutIdentifiers(items, false, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := grpcserver.NewService(&answer.Authority{Store: st})
	svc.ReadAhead = readAhead
	svc.Stats = &grpcserver.StreamStats{}
	srv := grpc.NewServer(append(opts, grpc.ChainUnaryInterceptor(grpcserver.StatusUnary()), grpc.ChainStreamInterceptor(grpcserver.StatusStream()))...)
	idresv1.RegisterResolverServer(srv, svc)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// A static window (no BDP growth) keeps what the transport buffers
		// small and fixed, so the backpressure test's bound is the node's.
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &streamNode{svc: svc, client: idresv1.NewResolverClient(conn), store: st}
}

// query is one request of the order test and the outcome it must get.
type query struct {
	id   string
	want idresv1.Outcome
}

func mixedQueries(r *rand.Rand, n, held int) []query {
	qs := make([]query, n)
	for i := range qs {
		switch r.IntN(4) {
		case 0:
			qs[i] = query{fmt.Sprintf("88.100/nope-%d", i), idresv1.Outcome_OUTCOME_NOT_FOUND}
		case 1:
			qs[i] = query{"bad prefix!/x", idresv1.Outcome_OUTCOME_INVALID_IDENTIFIER}
		default:
			qs[i] = query{fmt.Sprintf("88.100/ITEM-%d", r.IntN(held)), idresv1.Outcome_OUTCOME_OK}
		}
	}
	return qs
}

func TestResolveStreamOrderAndTags(t *testing.T) {
	const held = 300
	node := startStreamNode(t, held, 64)
	tests := []struct {
		name     string
		requests int
		maxBatch int
		streams  int
	}{
		{"one per message", 2000, 1, 1},
		{"batches of up to 50", 5000, 50, 1},
		{"large batches beyond read-ahead", 3000, 1000, 1},
		{"concurrent streams", 2000, 20, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var wg sync.WaitGroup
			for s := range tc.streams {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(s), 7))
					qs := mixedQueries(r, tc.requests, held)
					// Ids are unique but not monotone, so order is checked
					// against the sent order, not by sorting.
					ids := make([]uint64, len(qs))
					for i := range ids {
						ids[i] = r.Uint64()
					}
					if err := checkStream(node.client, qs, ids, r, tc.maxBatch); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
		})
	}
	if got := node.svc.Stats.InFlight(); got != 0 {
		t.Errorf("in flight after all streams ended = %d, want 0", got)
	}
}

func checkStream(c idresv1.ResolverClient, qs []query, ids []uint64, r *rand.Rand, maxBatch int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := c.ResolveStream(ctx)
	if err != nil {
		return err
	}
	sizes := []int{}
	for left := len(qs); left > 0; {
		n := min(1+r.IntN(maxBatch), left)
		sizes = append(sizes, n)
		left -= n
	}
	sendErr := make(chan error, 1)
	go func() {
		i := 0
		for _, n := range sizes {
			msg := &idresv1.ResolveStreamRequest{}
			for range n {
				msg.Requests = append(msg.Requests, &idresv1.TaggedResolveRequest{RequestId: ids[i], Request: &idresv1.ResolveRequest{Identifier: qs[i].id}})
				i++
			}
			if err := st.Send(msg); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- st.CloseSend()
	}()
	got := 0
	for {
		resp, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		for _, a := range resp.GetResponses() {
			if got >= len(qs) {
				return fmt.Errorf("more answers than requests")
			}
			if a.GetRequestId() != ids[got] {
				return fmt.Errorf("answer %d has request_id %d, want %d", got, a.GetRequestId(), ids[got])
			}
			if o := a.GetResponse().GetOutcome(); o != qs[got].want {
				return fmt.Errorf("answer %d (%s): outcome %s, want %s", got, qs[got].id, o, qs[got].want)
			}
			if qs[got].want == idresv1.Outcome_OUTCOME_OK {
				var i int
				fmt.Sscanf(qs[got].id, "88.100/ITEM-%d", &i)
				if d := string(a.GetResponse().GetValues()[0].GetData()); d != fmt.Sprintf("https://example.com/%d", i) {
					return fmt.Errorf("answer %d (%s): data %q belongs to another identifier", got, qs[got].id, d)
				}
			}
			got++
		}
	}
	if got != len(qs) {
		return fmt.Errorf("got %d answers, want %d", got, len(qs))
	}
	return <-sendErr
}

// TestResolveStreamBackpressure: a client that sends without reading must
// be stopped by flow control while the node holds at most its read-ahead.
func TestResolveStreamBackpressure(t *testing.T) {
	const readAhead = 64
	node := startStreamNode(t, 100, readAhead, grpc.InitialWindowSize(64<<10), grpc.InitialConnWindowSize(64<<10))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := node.client.ResolveStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Far more than the read-ahead plus both transports' windows can hold:
	// the answers (~100 bytes each) fill the node's send window long
	// before this is sent.
	const total = 30000
	var sent atomic.Int64
	sendDone := make(chan error, 1)
	go func() {
		for i := range total / 10 {
			msg := &idresv1.ResolveStreamRequest{}
			for j := range 10 {
				msg.Requests = append(msg.Requests, &idresv1.TaggedResolveRequest{
					RequestId: uint64(i*10 + j), Request: &idresv1.ResolveRequest{Identifier: fmt.Sprintf("88.100/item-%d", (i*10+j)%100)}})
			}
			if err := st.Send(msg); err != nil {
				sendDone <- err
				return
			}
			sent.Add(10)
		}
		sendDone <- st.CloseSend()
	}()
	// Wait until the sender has stalled: no progress across several polls.
	last, still := int64(-1), 0
	for deadline := time.Now().Add(20 * time.Second); still < 5; {
		if time.Now().After(deadline) {
			t.Fatalf("sender never stalled: sent %d of %d", sent.Load(), total)
		}
		time.Sleep(100 * time.Millisecond)
		if n := sent.Load(); n == last {
			still++
		} else {
			last, still = n, 0
		}
	}
	if sent.Load() >= total {
		t.Fatalf("client sent all %d requests without reading: no backpressure", total)
	}
	if in, peak := node.svc.Stats.InFlight(), node.svc.Stats.Peak(); peak > readAhead || in > readAhead {
		t.Fatalf("node holds %d requests (peak %d), more than its read-ahead %d", in, peak, readAhead)
	}
	// Reading again lets everything through, in order.
	next := uint64(0)
	for {
		resp, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range resp.GetResponses() {
			if a.GetRequestId() != next {
				t.Fatalf("answer for request %d, want %d", a.GetRequestId(), next)
			}
			next++
		}
	}
	if next != total {
		t.Fatalf("got %d answers, want %d", next, total)
	}
	if err := <-sendDone; err != nil {
		t.Fatal(err)
	}
	if peak := node.svc.Stats.Peak(); peak > readAhead {
		t.Fatalf("peak in flight %d, more than read-ahead %d", peak, readAhead)
	}
}

func TestResolveStreamMalformedRequestEndsStream(t *testing.T) {
	node := startStreamNode(t, 10, 0)
	tests := []struct {
		name string
		msg  *idresv1.ResolveStreamRequest
	}{
		{"index filter 0", &idresv1.ResolveStreamRequest{Requests: []*idresv1.TaggedResolveRequest{
			{RequestId: 7, Request: &idresv1.ResolveRequest{Identifier: "88.100/item-1", Indexes: []uint32{0}}}}}},
		{"too many in one message", &idresv1.ResolveStreamRequest{Requests: make([]*idresv1.TaggedResolveRequest, grpcserver.MaxStreamBatch+1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := node.client.ResolveStream(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Send(tc.msg); err != nil {
				t.Fatal(err)
			}
			_, err = st.Recv()
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("got %v, want InvalidArgument", err)
			}
		})
	}
}
