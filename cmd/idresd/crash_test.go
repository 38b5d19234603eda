package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/client"
)

// crashRounds is 5 in `make test`; `make soak` sets IDRES_CRASH_ROUNDS=100.
func crashRounds(t *testing.T) int {
	if s := os.Getenv("IDRES_CRASH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("IDRES_CRASH_ROUNDS=%q: want a positive number", s)
		}
		return n
	}
	return 5
}

// buildIdresd compiles this command once per test binary.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func buildIdresd(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "idresd-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "idresd")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// startIdresd runs the binary on dir and waits for its ready file; extra
// flags come last, so they win over the defaults here.
func startIdresd(t testing.TB, bin, dir string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	ready := filepath.Join(dir, "ready.json")
	os.Remove(ready)
	args := append([]string{"--data", dir, "--grpc", "127.0.0.1:0", "--ready-file", ready, "--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		raw, err := os.ReadFile(ready)
		if err == nil {
			var eps map[string]string
			if err := json.Unmarshal(raw, &eps); err != nil {
				t.Fatalf("ready file: %v", err)
			}
			return cmd, eps["grpc"]
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("idresd did not become ready:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// crashValues is what every identifier of the test holds, derived from its
// name so that unacknowledged writes can be checked too.
func crashValues(name string) []*idresv1.Value {
	return []*idresv1.Value{
		{Index: 1, Type: "URL", Data: []byte("https://example.com/" + name)},
		{Index: 2, Type: "batch", Data: []byte("B-" + name)},
		{Index: 3, Type: "manufacturer", Data: bytes.Repeat([]byte(name), 20)},
	}
}

func checkValues(t *testing.T, id *idresv1.Identifier, name string) {
	t.Helper()
	want := crashValues(name)
	if len(id.Values) != len(want) {
		t.Fatalf("%s: %d values after crash, want %d (half-written?)", name, len(id.Values), len(want))
	}
	for i, v := range id.Values {
		if v.Index != want[i].Index || v.Type != want[i].Type || !bytes.Equal(v.Data, want[i].Data) {
			t.Fatalf("%s: value %d is %v after crash, want %v", name, i, v, want[i])
		}
	}
}

// TestCrashKeepsAcknowledgedWrites kills idresd with SIGKILL at random
// moments while clients write, restarts it, and checks that every
// acknowledged identifier is there with all its values, that nothing is
// half-written, and that bbolt's consistency check passes.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills idresd")
	}
	bin := buildIdresd(t)
	dir := t.TempDir()
	tok := ""
	acked := map[string]bool{}
	var mu sync.Mutex
	rounds := crashRounds(t)
	for round := range rounds {
		cmd, addr := startIdresd(t, bin, dir)
		if round == 0 {
			raw, err := os.ReadFile(filepath.Join(dir, "admin.token"))
			if err != nil {
				t.Fatal(err)
			}
			tok = strings.TrimSpace(string(raw))
		}
		c, err := client.Dial(addr, client.Options{Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if round == 0 {
			if _, err := c.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.9"}}); err != nil {
				t.Fatal(err)
			}
		}
		// Everything acknowledged so far must have survived the last crash.
		mu.Lock()
		for name := range acked {
			id, err := c.GetIdentifier(ctx, &idresv1.GetIdentifierRequest{Identifier: name})
			if err != nil {
				t.Fatalf("round %d: acknowledged %s lost: %v", round, name, err)
			}
			checkValues(t, id, name)
		}
		mu.Unlock()

		writeCtx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; writeCtx.Err() == nil; i++ {
					name := fmt.Sprintf("88.9/R%d-W%d-%d", round, w, i)
					_, err := c.CreateIdentifier(writeCtx, &idresv1.CreateIdentifierRequest{Identifier: name, Values: crashValues(name)})
					if err == nil {
						mu.Lock()
						acked[name] = true
						mu.Unlock()
					} else if status.Code(err) == codes.InvalidArgument || status.Code(err) == codes.AlreadyExists {
						t.Errorf("%s: %v", name, err)
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		cancel()
		wg.Wait()
		c.Close()

		info, err := store.Verify(filepath.Join(dir, store.FileName))
		if err != nil {
			t.Fatalf("round %d: store after SIGKILL: %v", round, err)
		}
		t.Logf("round %d: %d acknowledged so far, store holds %d identifiers at revision %d", round, len(acked), info.Identifiers, info.Revision)
		if info.Identifiers < len(acked) {
			t.Fatalf("round %d: store holds %d identifiers, %d were acknowledged", round, info.Identifiers, len(acked))
		}
	}

	// Last restart: every identifier present, acknowledged or not, is whole.
	cmd, addr := startIdresd(t, bin, dir)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	c, err := client.Dial(addr, client.Options{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seen := 0
	pageToken := ""
	for {
		resp, err := c.ListIdentifiers(context.Background(), &idresv1.ListIdentifiersRequest{Prefix: "88.9", PageSize: 1000, PageToken: pageToken})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range resp.Identifiers {
			checkValues(t, id, id.Identifier)
			seen++
		}
		if pageToken = resp.NextPageToken; pageToken == "" {
			break
		}
	}
	if seen < len(acked) {
		t.Fatalf("%d identifiers after %d crashes, %d acknowledged", seen, rounds, len(acked))
	}
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged in any round: the test checked nothing")
	}
}
