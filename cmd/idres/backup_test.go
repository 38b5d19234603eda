package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// TestBackupWritesVerifiableFile: `idres backup --out FILE` writes the
// snapshot followed by the 72-byte trailer registry/backup's package doc
// states (read here independently of the code), prints the snapshot's
// SHA-256 that the trailer records, and `idres backup --verify FILE`
// accepts that file and refuses it damaged.
func TestBackupWritesVerifiableFile(t *testing.T) {
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	raw, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	as := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, nil, append([]string{"--server", n.GRPCAddr(), "--token", strings.TrimSpace(string(raw))}, args...)...)
	}
	for _, args := range [][]string{
		{"prefix", "create", "88.100.1"},
		{"create", "88.100.1/PUMP-0042", "URL=https://parts.example.com/88.100.1/PUMP-0042"},
	} {
		if code, _, errs := as(args...); code != exitOK {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	rev, err := n.Store().Revision()
	if err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "node.backup")
	code, stdout, stderr := as("backup", "--out", out)
	if code != exitOK {
		t.Fatalf("backup: exit %d: %s", code, stderr)
	}
	file, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	const trailerSize = 72
	if len(file) < trailerSize || string(file[len(file)-trailerSize:][:8]) != "IDRESBAK" {
		t.Fatalf("%s (%d bytes) does not end with an IDRESBAK trailer", out, len(file))
	}
	snap, tr := file[:len(file)-trailerSize], file[len(file)-trailerSize:]
	sum := sha256.Sum256(snap)
	if v := binary.BigEndian.Uint32(tr[8:]); v != 1 {
		t.Errorf("trailer format version %d, want 1", v)
	}
	if got := binary.BigEndian.Uint64(tr[16:]); got != rev {
		t.Errorf("trailer revision %d, store at %d", got, rev)
	}
	if got := binary.BigEndian.Uint64(tr[24:]); got != uint64(len(snap)) {
		t.Errorf("trailer length %d, snapshot of %d bytes", got, len(snap))
	}
	if string(tr[32:64]) != string(sum[:]) {
		t.Errorf("trailer digest %x, snapshot hashes to %x", tr[32:64], sum)
	}
	hexSum := fmt.Sprintf("%x", sum)
	if !strings.Contains(stdout, "sha256 "+hexSum) || !strings.Contains(stdout, fmt.Sprintf("revision %d", rev)) {
		t.Errorf("backup printed %q; want the snapshot's sha256 %s and revision %d", stdout, hexSum, rev)
	}

	code, stdout, stderr = runCLI(t, nil, "backup", "--verify", out)
	if code != exitOK || !strings.Contains(stdout, "sha256 "+hexSum) {
		t.Errorf("backup --verify of the good file: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for name, damaged := range map[string][]byte{
		"flipped":    append(append([]byte{}, file[:100]...), append([]byte{file[100] ^ 1}, file[101:]...)...),
		"truncated":  file[:len(file)-10],
		"no trailer": snap,
	} {
		bad := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(bad, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI(t, nil, "backup", "--verify", bad)
		if code != exitNegative || stdout != "" || !strings.HasPrefix(stderr, "idres: ") {
			t.Errorf("backup --verify of a %s file: exit %d, stdout %q, stderr %q; want exit %d and an error", name, code, stdout, stderr, exitNegative)
		}
	}
	if code, _, stderr := runCLI(t, nil, "backup", "--verify", out, "--out", out); code != exitUsage {
		t.Errorf("backup --verify with --out: exit %d (%s), want usage", code, stderr)
	}
}

// TestBackupFromNodeWithoutTrailer: a node of a version that streams a
// bare snapshot still yields a backup file that verifies, the CLI
// appending the trailer from the stream's checked size and digest.
func TestBackupFromNodeWithoutTrailer(t *testing.T) {
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	var snap bytes.Buffer
	_, rev, err := n.Store().Snapshot(&snap)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(snap.Bytes())
	f, err := os.Create(filepath.Join(t.TempDir(), "old-node.backup"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(snap.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := addTrailer(f, &idresv1.SnapshotTrailer{Size: uint64(snap.Len()), Sha256: sum[:], Revision: rev, SchemaVersion: 4}); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, nil, "backup", "--verify", f.Name())
	if code != exitOK || !strings.Contains(stdout, fmt.Sprintf("sha256 %x", sum)) || !strings.Contains(stdout, fmt.Sprintf("revision %d", rev)) {
		t.Errorf("backup --verify: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// The bare snapshot verifies only against the digest printed for it.
	bare := filepath.Join(t.TempDir(), "bare")
	if err := os.WriteFile(bare, snap.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, nil, "backup", "--verify", bare); code != exitNegative || !strings.Contains(stderr, "--sha256") {
		t.Errorf("backup --verify of a bare snapshot: exit %d, %q; want refused, naming --sha256", code, stderr)
	}
	if code, stdout, stderr := runCLI(t, nil, "backup", "--verify", bare, "--sha256", fmt.Sprintf("%x", sum)); code != exitOK || !strings.Contains(stdout, "old format") {
		t.Errorf("backup --verify --sha256 of a bare snapshot: exit %d, %q %q", code, stdout, stderr)
	}
}
