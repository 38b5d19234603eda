package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/client"
)

// TestSoak runs only under `make soak` (IDRES_SOAK=duration): a root node
// delegating 88.7 to a leaf node, a recursive node in front, and mixed load
// (recursive resolves, single registrations, imports) while the leaf is
// killed with SIGKILL and restarted every few seconds. It ends with a
// report, and fails if an acknowledged write is missing.
func TestSoak(t *testing.T) {
	raw := os.Getenv("IDRES_SOAK")
	if raw == "" {
		t.Skip("set IDRES_SOAK=10m (make soak) to run the soak")
	}
	total, err := time.ParseDuration(raw)
	if err != nil {
		t.Fatalf("IDRES_SOAK=%q: %v", raw, err)
	}
	bin := buildIdresd(t)
	rootDir, leafDir, recDir := t.TempDir(), t.TempDir(), t.TempDir()
	root, rootAddr := startIdresd(t, bin, rootDir)
	defer stopProc(root)
	leaf, leafAddr := startIdresd(t, bin, leafDir)
	rec, recAddr := startIdresd(t, bin, recDir, "--recursive", "--root", rootAddr, "--upstream-timeout", "500ms")
	defer stopProc(rec)
	rootTok, leafTok := readToken(t, rootDir), readToken(t, leafDir)

	ctx := context.Background()
	rc := dial(t, rootAddr, rootTok)
	lc := dial(t, leafAddr, leafTok)
	mustOK(t, func() error {
		_, err := rc.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: ""}})
		return err
	})
	mustOK(t, func() error {
		_, err := rc.SetDelegation(ctx, &idresv1.SetDelegationRequest{Delegation: &idresv1.Delegation{Prefix: "88.7", Grpc: []string{leafAddr}, Ttl: ptr(uint32(5))}})
		return err
	})
	mustOK(t, func() error {
		_, err := lc.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.7", NegativeTtl: ptr(uint32(5))}})
		return err
	})
	lc.Close()
	rssStart := map[string]int64{"root": rss(root.Process.Pid), "leaf": rss(leaf.Process.Pid), "recursive": rss(rec.Process.Pid)}

	var (
		mu       sync.Mutex
		acked    = map[string]bool{}
		requests atomic.Int64
		errs     sync.Map // kind -> *atomic.Int64
		kills    int
	)
	countErr := func(kind string, err error) {
		c, _ := errs.LoadOrStore(kind+" "+status.Code(err).String(), new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
	}
	deadline := time.Now().Add(total)
	done := make(chan struct{})
	var wg sync.WaitGroup
	worker := func(name string, f func(c *client.Client, i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr, opts := leafAddr, client.Options{Token: leafTok}
			if name == "resolve" { // anonymous, through the recursive node
				addr, opts = recAddr, client.Options{}
			}
			c, err := client.Dial(addr, opts)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				f(c, i)
			}
		}()
	}
	for w := range 2 {
		worker("resolve", func(c *client.Client, i int) {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			id := fmt.Sprintf("88.7/S%d-%d", w, rand.IntN(i+1))
			if i%5 == 0 {
				id = fmt.Sprintf("88.7/MISSING-%d", i)
			}
			requests.Add(1)
			resp, err := c.Resolve(cctx, &idresv1.ResolveRequest{Identifier: id, Recursive: true})
			if err != nil {
				countErr("resolve", err)
			} else if o := resp.GetOutcome(); o == idresv1.Outcome_OUTCOME_SERVER_FAILURE {
				countErr("resolve-outcome "+o.String(), nil)
			}
		})
		worker("register", func(c *client.Client, i int) {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			id := fmt.Sprintf("88.7/S%d-%d", w, i)
			requests.Add(1)
			_, err := c.CreateIdentifier(cctx, &idresv1.CreateIdentifierRequest{Identifier: id, Values: crashValues(id)})
			if err != nil {
				countErr("register", err)
				time.Sleep(50 * time.Millisecond) // the leaf may be down
				return
			}
			mu.Lock()
			acked[id] = true
			mu.Unlock()
		})
	}
	worker("import", func(c *client.Client, i int) {
		ids := importBatch(i, 200)
		requests.Add(1)
		n, err := importAll(ctx, c, ids)
		if err != nil {
			countErr("import", err)
			time.Sleep(50 * time.Millisecond)
		}
		mu.Lock()
		for _, id := range ids[:n] {
			acked[id] = true
		}
		mu.Unlock()
	})

	// The chaos: kill the leaf every 2-5 s and restart it on the same port.
	leafPort := leafAddr[strings.LastIndexByte(leafAddr, ':')+1:]
	for time.Now().Before(deadline) {
		time.Sleep(time.Duration(2000+rand.IntN(3000)) * time.Millisecond)
		if err := leaf.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		leaf.Wait()
		kills++
		if _, err := store.Verify(filepath.Join(leafDir, store.FileName)); err != nil {
			t.Fatalf("leaf store after SIGKILL %d: %v", kills, err)
		}
		leaf, _ = startIdresd(t, bin, leafDir, "--grpc", "127.0.0.1:"+leafPort)
	}
	close(done)
	wg.Wait()
	defer stopProc(leaf)

	// Every acknowledged write must be on the leaf, whole.
	lc = dial(t, leafAddr, leafTok)
	defer lc.Close()
	// Listed in pages, not fetched one by one: the node's per-credential
	// rate limit applies to the checker too.
	present := map[string]bool{}
	pageToken := ""
	for {
		resp, err := lc.ListIdentifiers(ctx, &idresv1.ListIdentifiersRequest{Prefix: "88.7", PageSize: 1000, PageToken: pageToken})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range resp.Identifiers {
			checkValues(t, id, id.Identifier)
			present[id.Identifier] = true
		}
		if pageToken = resp.NextPageToken; pageToken == "" {
			break
		}
	}
	missing := 0
	for id := range acked {
		if !present[id] {
			if missing++; missing <= 5 {
				t.Logf("missing %s", id)
			}
		}
	}
	rssEnd := map[string]int64{"root": rss(root.Process.Pid), "leaf": rss(leaf.Process.Pid), "recursive": rss(rec.Process.Pid)}
	var kinds []string
	errs.Range(func(k, v any) bool {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(kinds)
	report := fmt.Sprintf("soak %s: %d requests, %d leaf kills, %d acknowledged writes checked, %d missing\nerrors by kind: %s\nRSS KiB start: %v\nRSS KiB end:   %v (leaf restarted, so its figure is since the last restart)\n",
		total, requests.Load(), kills, len(acked), missing, strings.Join(kinds, " "), rssStart, rssEnd)
	t.Log("\n" + report)
	if p := os.Getenv("IDRES_SOAK_REPORT"); p != "" {
		os.WriteFile(p, []byte(report), 0o644)
	}
	if missing > 0 {
		t.Fatalf("%d acknowledged writes missing after %d kills", missing, kills)
	}
}

func importBatch(round, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("88.7/I%d-%d", round, i)
	}
	return ids
}

// importAll imports ids in batches of 50 and returns how many leading ids
// were acknowledged (their batch's answer arrived without item errors).
func importAll(ctx context.Context, c *client.Client, ids []string) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	stream, err := c.Import(cctx)
	if err != nil {
		return 0, err
	}
	req := &idresv1.ImportRequest{Options: &idresv1.ImportOptions{Mode: idresv1.ImportMode_IMPORT_MODE_CREATE_OR_REPLACE, BatchSize: 50}}
	for i, id := range ids {
		req.Items = append(req.Items, &idresv1.ImportItem{Sequence: uint64(i + 1), Identifier: id, Values: crashValues(id)})
	}
	if err := stream.Send(req); err != nil {
		return 0, err
	}
	if err := stream.CloseSend(); err != nil {
		return 0, err
	}
	acked := 0
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return acked, nil
		}
		if err != nil {
			return acked, err
		}
		if resp.Failed > 0 {
			return acked, fmt.Errorf("import batch %d: %d items failed: %v", resp.Batch, resp.Failed, resp.Errors)
		}
		acked += int(resp.Items)
	}
}

func stopProc(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

func readToken(t testing.TB, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(raw))
}

func dial(t testing.TB, addr, tok string) *client.Client {
	t.Helper()
	c, err := client.Dial(addr, client.Options{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustOK(t testing.TB, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// rss is a process's resident set in KiB, from /proc.
func rss(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return -1
}
