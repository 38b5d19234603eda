package node_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/client"
)

// feedReader is a Watch client as a mirror would write one: it keeps the
// last feed position and, when the stream breaks, watches again after it.
type feedReader struct {
	c      *client.Client
	prefix string
	from   *uint64
	last   uint64 // last_sequence received; 0 before the first response
	got    []*idresv1.Change
	// started, when set, is closed once the next read's stream has its
	// first response: the node's watch is then running.
	started chan struct{}
}

// read receives until want changes are held in total, or the stream
// fails; it returns the stream's error (nil when want was reached).
func (r *feedReader) read(ctx context.Context, want int) error {
	req := &idresv1.WatchRequest{Prefix: r.prefix, FromRevision: r.from}
	if r.last > 0 {
		req = &idresv1.WatchRequest{Prefix: r.prefix, AfterSequence: r.last}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := r.c.Watch(ctx, req)
	if err != nil {
		return err
	}
	for len(r.got) < want {
		resp, err := st.Recv()
		if err != nil {
			return err
		}
		if r.started != nil {
			close(r.started)
			r.started = nil
		}
		r.got = append(r.got, resp.GetChanges()...)
		r.last = resp.GetLastSequence()
	}
	return nil
}

// waitReady blocks until conn is connected, or ctx ends: after a node
// restarts, a retry before then would only fail again.
func waitReady(ctx context.Context, conn *grpc.ClientConn) {
	conn.Connect()
	for s := conn.GetState(); s != connectivity.Ready; s = conn.GetState() {
		if !conn.WaitForStateChange(ctx, s) {
			return
		}
	}
}

func names(cs []*idresv1.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = strings.ToLower(c.GetKind().String()) + " " + c.GetIdentifier()
	}
	return out
}

// TestWatchAcrossRestart pins FEED-008/FEED-009: a reader watching from
// revision R gets every change after R exactly once and in order: the
// backlog, live changes, and after the node stops and starts again on the
// same data directory, the rest, by resuming after its last sequence.
func TestWatchAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	n, err := node.Start(node.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0", Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	addr := n.GRPCAddr()
	running := n
	t.Cleanup(func() { running.Stop(context.Background()) })
	raw, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(raw))
	admin, err := client.Dial(addr, client.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	cl := admin // the writers' client
	ctx := ctxT(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	create := func(id string) {
		t.Helper()
		_, err := cl.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: id, Values: []*idresv1.Value{val(1, "batch", "B-1", 0)}})
		must(err)
	}
	for _, p := range []string{"88.100", "88.200"} {
		_, err := admin.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: p}})
		must(err)
	}
	create("88.100/old-1")
	create("88.100/old-2")
	from, err := n.Store().Revision()
	must(err)
	var want []string

	// Backlog: committed after R, before the watch starts.
	create("88.100/A")
	create("88.200/elsewhere")
	_, err = admin.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: "88.100/old-1", Add: []*idresv1.Value{val(2, "URL", "https://x", 0)}})
	must(err)
	want = append(want, "created 88.100/A", "updated 88.100/old-1")

	r := &feedReader{c: admin, prefix: "88.100", from: &from}
	must(r.read(ctx, len(want)))

	// Live: a writer races the reader; one import batch is one revision
	// of many changes.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 30 {
			create(fmt.Sprintf("88.100/live-%02d", i))
		}
	}()
	for i := range 30 {
		want = append(want, fmt.Sprintf("created 88.100/live-%02d", i))
	}
	imp, err := admin.Import(ctx)
	must(err)
	var items []*idresv1.ImportItem
	for i := range 5 {
		items = append(items, &idresv1.ImportItem{Sequence: uint64(i + 1), Identifier: fmt.Sprintf("88.100/imp-%d", i), Values: []*idresv1.Value{val(1, "batch", "B-2", 0)}})
	}
	must(imp.Send(&idresv1.ImportRequest{Options: &idresv1.ImportOptions{}, Items: items}))
	must(imp.CloseSend())
	if _, err := imp.Recv(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i := range 5 {
		want = append(want, fmt.Sprintf("created 88.100/imp-%d", i))
	}
	must(r.read(ctx, len(want)))

	// The node stops under the reader: its stream ends Unavailable.
	// Stop only once the watch runs, else this only tests reconnecting.
	streamErr := make(chan error, 1)
	started := make(chan struct{})
	r.started = started
	go func() { streamErr <- r.read(ctx, len(want)+1) }()
	select {
	case <-started:
	case err := <-streamErr:
		t.Fatalf("watch ended before the node stopped: %v", err)
	}
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	must(running.Stop(stopCtx))
	cancel()
	if err := <-streamErr; status.Code(err) != codes.Unavailable {
		t.Fatalf("stream of a stopping node ended with %v, want Unavailable", err)
	}

	// Started again on the same directory and address; writes happen both
	// before the reader is back (backlog) and after (live).
	running, err = node.Start(node.Config{DataDir: dir, GRPCAddr: addr, Logger: quietLog})
	must(err)
	// The writer dials afresh (the old connection backs off before it
	// reconnects); the reader keeps its connection and retries.
	writer, err := client.Dial(addr, client.Options{Token: token})
	must(err)
	defer writer.Close()
	cl = writer
	_, err = cl.DeleteIdentifier(ctx, &idresv1.DeleteIdentifierRequest{Identifier: "88.100/A"})
	must(err)
	want = append(want, "deleted 88.100/A")
	done := make(chan error, 1)
	go func() {
		for {
			err := r.read(ctx, len(want)+2)
			if status.Code(err) == codes.Unavailable && ctx.Err() == nil {
				waitReady(ctx, r.c.Conn())
				continue
			}
			done <- err
			return
		}
	}()
	_, err = cl.DeletePrefix(ctx, &idresv1.DeletePrefixRequest{Prefix: "88.200", Force: true})
	must(err)
	create("88.100/after-restart")
	_, err = cl.UpdateValues(ctx, &idresv1.UpdateValuesRequest{Identifier: "88.100/old-2", Remove: []uint32{1}, Add: []*idresv1.Value{val(3, "batch", "B-3", 0)}})
	must(err)
	_, err = cl.DeletePrefix(ctx, &idresv1.DeletePrefixRequest{Prefix: "88.100", Force: true})
	must(err)
	want = append(want, "created 88.100/after-restart", "updated 88.100/old-2")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The forced delete of 88.100: one change per identifier it held.
	for _, id := range []string{"after-restart", "imp-0", "imp-1", "imp-2", "imp-3", "imp-4"} {
		want = append(want, "deleted 88.100/"+id)
	}
	for i := range 30 {
		want = append(want, fmt.Sprintf("deleted 88.100/live-%02d", i))
	}
	want = append(want, "deleted 88.100/old-1", "deleted 88.100/old-2")
	if err := r.read(ctx, len(want)); err != nil {
		t.Fatal(err)
	}

	// Exactly the node's feed after R under 88.100: nothing twice, nothing
	// missing, in commit order.
	var feed []*idresv1.Change
	must(running.Store().View(func(tx *store.Tx) error {
		all, err := tx.Changes(0, 1<<20)
		for _, c := range all {
			if c.GetRevision() > from && strings.HasPrefix(c.GetIdentifier(), "88.100/") {
				feed = append(feed, c)
			}
		}
		return err
	}))
	if len(r.got) != len(feed) {
		t.Fatalf("reader got %d changes, the feed after revision %d holds %d:\n got %q\nfeed %q", len(r.got), from, len(feed), names(r.got), names(feed))
	}
	for i := range feed {
		if !proto.Equal(r.got[i], feed[i]) {
			t.Fatalf("change %d: got %v, the feed has %v", i, r.got[i], feed[i])
		}
	}
	// And the feed holds what was done: the same changes, with the racing
	// live writes and the import in some interleaving.
	got := names(r.got)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("changes (sorted):\n got %q\nwant %q", got, want)
	}
}

// TestWatchOutOfRange pins FEED-010: a position the node no longer
// retains, or one newer than the node, is OutOfRange with a message that
// says to resync; a retained one works.
func TestWatchOutOfRange(t *testing.T) {
	dir := t.TempDir()
	n, err := node.Start(node.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0", Logger: quietLog, FeedRetainChanges: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	raw, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := client.Dial(n.GRPCAddr(), client.Options{Token: strings.TrimSpace(string(raw))})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := ctxT(t)
	if _, err := admin.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := admin.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: fmt.Sprintf("88/p-%d", i), Values: []*idresv1.Value{val(1, "t", "x", 0)}}); err != nil {
			t.Fatal(err)
		}
	}
	rev, err := n.Store().Revision()
	if err != nil {
		t.Fatal(err)
	}
	u := func(v uint64) *uint64 { return &v }
	tests := []struct {
		name    string
		req     *idresv1.WatchRequest
		code    codes.Code
		changes int
	}{
		{"from revision 0", &idresv1.WatchRequest{Prefix: "88", FromRevision: u(0)}, codes.OutOfRange, 0},
		{"after a trimmed sequence", &idresv1.WatchRequest{Prefix: "88", AfterSequence: 6}, codes.OutOfRange, 0},
		{"after a future sequence", &idresv1.WatchRequest{Prefix: "88", AfterSequence: 11}, codes.OutOfRange, 0},
		{"from a future revision", &idresv1.WatchRequest{Prefix: "88", FromRevision: u(rev + 1)}, codes.OutOfRange, 0},
		{"after the oldest retained", &idresv1.WatchRequest{Prefix: "88", AfterSequence: 7}, codes.OK, 3},
		{"from the revision before the oldest retained", &idresv1.WatchRequest{Prefix: "88", FromRevision: u(rev - 3)}, codes.OK, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			st, err := admin.Watch(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			// The first response (or the error), then the changes.
			resp, err := st.Recv()
			got := len(resp.GetChanges())
			for err == nil && got < tt.changes {
				resp, err = st.Recv()
				got += len(resp.GetChanges())
			}
			if status.Code(err) != tt.code && !(tt.code == codes.OK && err == nil) {
				t.Fatalf("Watch: %v, want %v", err, tt.code)
			}
			if tt.code == codes.OutOfRange && !strings.Contains(status.Convert(err).Message(), "resync") && !strings.Contains(status.Convert(err).Message(), "newer") {
				t.Errorf("message %q says neither resync nor newer", status.Convert(err).Message())
			}
			if tt.code == codes.OK && got != tt.changes {
				t.Errorf("got %d changes, want %d", got, tt.changes)
			}
		})
	}
}
