package spawn

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// script writes an executable shell script standing in for idresd: it
// prints usage on -h and otherwise runs body.
func script(t *testing.T, usage, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "idresd")
	src := "#!/bin/sh\nif [ \"$1\" = -h ]; then\ncat >&2 <<'EOF'\n" + usage + "\nEOF\nexit 2\nfi\n" + body + "\n"
	if err := os.WriteFile(p, []byte(src), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

const usage = `Usage of idresd:
  -data string
    	data directory
  -dns string
    	DNS bridge address
  -grpc string
    	gRPC listen address (default "127.0.0.1:7420")
  -ready-file string
    	write bound addresses here`

func TestFlags(t *testing.T) {
	got, err := Flags(context.Background(), script(t, usage, "exit 0"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"data", "dns", "grpc", "ready-file"} {
		if !got[f] {
			t.Errorf("flag %s not found in %v", f, got)
		}
	}
	if got["http"] || got["recursive"] {
		t.Errorf("flags not in the usage reported: %v", got)
	}
	if _, err := Flags(context.Background(), script(t, "Usage of something:\n  -x int", "exit 0")); err == nil {
		t.Error("a binary without --grpc was taken for idresd")
	}
}

func TestStartRequiresReadyFile(t *testing.T) {
	bin := script(t, strings.ReplaceAll(usage, "-ready-file", "-other"), "exit 0")
	_, err := Start(context.Background(), Options{Binary: bin, Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "--ready-file") {
		t.Fatalf("got %v, want an error naming --ready-file", err)
	}
}

// TestStartReportsEarlyExit: a node that dies before it is ready makes
// Start fail with the end of that node's log, and leaves nothing running.
func TestStartReportsEarlyExit(t *testing.T) {
	bin := script(t, usage, "echo 'listen tcp: address already in use' >&2\nexit 1")
	h, err := Start(context.Background(), Options{Binary: bin, Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("got %v, want the early exit with the log's tail", err)
	}
	for _, p := range h.Procs() {
		select {
		case <-p.done:
		default:
			t.Errorf("%s (pid %d) still running after a failed Start", p.Name, p.PID())
		}
	}
}

// TestStartRetriesLostPortRace: a bind failure is retried with fresh
// directories (and ports), three times in all, then reported.
func TestStartRetriesLostPortRace(t *testing.T) {
	dir := t.TempDir()
	bin := script(t, usage, "echo 'listen tcp 127.0.0.1:1234: bind: address already in use' >&2\nexit 1")
	_, err := Start(context.Background(), Options{Binary: bin, Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("got %v, want the bind failure", err)
	}
	for _, try := range []string{"try1", "try2", "try3"} {
		if _, err := os.Stat(filepath.Join(dir, try)); err != nil {
			t.Errorf("attempt %s: %v", try, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "try4")); err == nil {
		t.Error("a fourth attempt was made")
	}
}
