package node_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/backup"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/client"
)

// startBackupNode starts a node on a fresh directory and returns it with a
// client holding the administrator token.
func startBackupNode(t *testing.T, dir string) (*node.Node, *client.Client, string) {
	t.Helper()
	n, err := node.Start(node.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	raw, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(raw))
	c, err := client.Dial(n.GRPCAddr(), client.Options{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return n, c, tok
}

func snapshot(t *testing.T, ctx context.Context, c *client.Client) ([]byte, *idresv1.SnapshotTrailer) {
	t.Helper()
	stream, err := idresv1.NewBackupClient(c.Conn()).Snapshot(ctx, &idresv1.SnapshotRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			t.Fatal("snapshot ended without a trailer")
		}
		if err != nil {
			t.Fatal(err)
		}
		if tr := chunk.GetTrailer(); tr != nil {
			if tr.Size != uint64(buf.Len()) {
				t.Fatalf("trailer says %d bytes, got %d", tr.Size, buf.Len())
			}
			return buf.Bytes(), tr
		}
		buf.Write(chunk.Data)
	}
}

// TestBackupUnderWritesRestores takes a snapshot while four writers create
// identifiers, restores it into a fresh data directory, and checks that the
// restored node holds exactly a consistent cut: every write acknowledged
// before the snapshot began, each writer's writes as an unbroken run, and
// every record equal to the original.
func TestBackupUnderWritesRestores(t *testing.T) {
	ctx := context.Background()
	_, a, tok := startBackupNode(t, t.TempDir())
	if _, err := a.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.1"}}); err != nil {
		t.Fatal(err)
	}
	const writers = 4
	var acked [writers]atomic.Int64
	stop := make(chan struct{})
	progress := make(chan struct{}) // a write was acknowledged
	failed := make(chan struct{})   // closed when a writer gives up
	var failOnce sync.Once
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, err := a.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{
					Identifier: fmt.Sprintf("88.1/W%d-%06d", w, i),
					Values:     []*idresv1.Value{{Index: 1, Type: "batch", Data: []byte(fmt.Sprintf("b-%d-%d", w, i))}},
				})
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					failOnce.Do(func() { close(failed) })
					return
				}
				acked[w].Store(int64(i + 1))
				select {
				case progress <- struct{}{}:
				default: // nobody waiting: the snapshot has begun
				}
			}
		}()
	}
	// The snapshot starts once every writer has had writes acknowledged,
	// so it is taken with all of them under way.
	for w := range writers {
		for acked[w].Load() < 20 {
			select {
			case <-failed:
				close(stop)
				wg.Wait()
				t.Fatal("a writer failed before the snapshot")
			case <-progress:
			}
		}
	}
	var before [writers]int64
	for w := range writers {
		before[w] = acked[w].Load()
	}
	data, trailer := snapshot(t, ctx, a)
	close(stop)
	wg.Wait()

	file := filepath.Join(t.TempDir(), "snap.db")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	restoredDir := t.TempDir()
	if _, info, err := backup.Restore(restoredDir, file, time.Now()); err != nil {
		t.Fatal(err)
	} else if info.Revision != trailer.Revision {
		t.Fatalf("restored revision %d, snapshot said %d", info.Revision, trailer.Revision)
	}
	bNode, err := node.Start(node.Config{DataDir: restoredDir, GRPCAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer bNode.Stop(ctx)
	b, err := client.Dial(bNode.GRPCAddr(), client.Options{Token: tok}) // credentials come back too
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	restored := listAll(t, ctx, b, "88.1")
	original := map[string]*idresv1.Identifier{}
	for _, id := range listAll(t, ctx, a, "88.1") {
		original[id.Identifier] = id
	}
	var count [writers]int64
	for _, id := range restored {
		var w, i int
		if _, err := fmt.Sscanf(id.Identifier, "88.1/W%d-%06d", &w, &i); err != nil {
			t.Fatalf("unexpected identifier %q", id.Identifier)
		}
		if int64(i) != count[w] {
			t.Fatalf("writer %d: restored holds %s but not all before it (want index %d)", w, id.Identifier, count[w])
		}
		count[w]++
		if !proto.Equal(id, original[id.Identifier]) {
			t.Fatalf("%s differs after restore:\n got %v\nwant %v", id.Identifier, id, original[id.Identifier])
		}
	}
	for w := range writers {
		if count[w] < before[w] {
			t.Errorf("writer %d: %d writes acknowledged before the snapshot, only %d restored", w, before[w], count[w])
		}
	}
	t.Logf("restored %d identifiers at revision %d (%d bytes)", len(restored), trailer.Revision, len(data))
}

func listAll(t *testing.T, ctx context.Context, c *client.Client, prefix string) []*idresv1.Identifier {
	t.Helper()
	var out []*idresv1.Identifier
	tok := ""
	for {
		resp, err := c.ListIdentifiers(ctx, &idresv1.ListIdentifiersRequest{Prefix: prefix, PageSize: 1000, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, resp.Identifiers...)
		if tok = resp.NextPageToken; tok == "" {
			return out
		}
	}
}

func TestBackupNeedsNodeAdmin(t *testing.T) {
	ctx := context.Background()
	n, _, _ := startBackupNode(t, t.TempDir())
	anon, err := client.Dial(n.GRPCAddr(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	stream, err := idresv1.NewBackupClient(anon.Conn()).Snapshot(ctx, &idresv1.SnapshotRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("anonymous snapshot: %v, want Unauthenticated", err)
	}
}

func TestRestoreRefusesBadFilesAndRunningNode(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a bbolt file "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := backup.Restore(dir, garbage, time.Now()); err == nil {
		t.Fatal("restore of a garbage file succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); !os.IsNotExist(err) {
		t.Fatalf("a refused restore left a store file behind (stat: %v)", err)
	}

	// A good snapshot, restored over a running node's directory: refused,
	// and the running node's file is untouched.
	n, c, _ := startBackupNode(t, dir)
	data, _ := snapshot(t, context.Background(), c)
	good := filepath.Join(t.TempDir(), "good.db")
	if err := os.WriteFile(good, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := backup.Restore(dir, good, time.Now()); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("restore over a running node: %v, want ErrLocked", err)
	}
	if err := n.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	aside, _, err := backup.Restore(dir, good, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(aside); err != nil {
		t.Fatalf("old store not kept aside: %v", err)
	}
}
