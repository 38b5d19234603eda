package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/client"
)

// The restore tests run `idresd restore` as a child process (this test
// binary, re-executed with childEnv set, runs main's run), so that a
// fault (SIGBUS, SIGSEGV) or a panic in the restore is seen as the crash it
// is and not as the end of the test binary.
const childEnv = "IDRESD_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(run(os.Args[1:]))
	}
	code := m.Run()
	if backupFixture.dir != "" {
		os.RemoveAll(backupFixture.dir)
	}
	os.Exit(code)
}

// The backup file format as registry/backup's package doc states it,
// written out here independently of the code: the snapshot, then a
// 72-byte trailer.
const (
	trailerSize  = 72
	trailerMagic = "IDRESBAK"
)

// appendTrailer is what a node appends to a snapshot of the given bytes.
func appendTrailer(snap []byte, schema uint32, revision uint64) []byte {
	tr := make([]byte, trailerSize)
	copy(tr, trailerMagic)
	binary.BigEndian.PutUint32(tr[8:], 1)
	binary.BigEndian.PutUint32(tr[12:], schema)
	binary.BigEndian.PutUint64(tr[16:], revision)
	binary.BigEndian.PutUint64(tr[24:], uint64(len(snap)))
	sum := sha256.Sum256(snap)
	copy(tr[32:64], sum[:])
	binary.BigEndian.PutUint32(tr[64:], crc32.Checksum(tr[:64], crc32.MakeTable(crc32.Castagnoli)))
	return append(slices.Clip(snap), tr...)
}

// backupFixture is one backup taken over gRPC from a node holding
// fixtureRecords identifiers, made once per test binary.
var backupFixture struct {
	once sync.Once
	dir  string
	file []byte // what the Backup service streamed: the backup file
	err  error
}

const fixtureRecords = 300

func fixtureID(i int) string { return fmt.Sprintf("88.100.1/PUMP-%04d", i) }

func fixtureURL(i int) string {
	return fmt.Sprintf("https://parts.example.com/88.100.1/PUMP-%04d", i)
}

func takeFixtureBackup() ([]byte, error) {
	dir := filepath.Join(backupFixture.dir, "source")
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		return nil, err
	}
	note := strings.Repeat("n", 200)
	err = st.Update(func(tx *store.Tx) error {
		if err := tx.CreatePrefix(&idresv1.Prefix{Prefix: "88.100.1"}); err != nil {
			return err
		}
		for i := range fixtureRecords {
			err := tx.CreateIdentifier(ident.MustParse(fixtureID(i)), &idresv1.Identifier{Values: []*idresv1.Value{
				{Index: 1, Type: "URL", Data: []byte(fixtureURL(i))},
				{Index: 2, Type: "note", Data: []byte(note)},
			}})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	n, err := node.Start(node.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	defer n.Stop(context.Background())
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(n.GRPCAddr(), client.Options{Token: strings.TrimSpace(string(tok))})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.SnapshotTo(ctx, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func fixture(t *testing.T) []byte {
	t.Helper()
	backupFixture.once.Do(func() {
		if backupFixture.dir, backupFixture.err = os.MkdirTemp("", "idresd-restore-"); backupFixture.err != nil {
			return
		}
		backupFixture.file, backupFixture.err = takeFixtureBackup()
	})
	if backupFixture.err != nil {
		t.Fatalf("fixture backup: %v", backupFixture.err)
	}
	return slices.Clone(backupFixture.file)
}

// snapshotOf is the bbolt snapshot inside a backup file: the file less its
// trailer.
func snapshotOf(t *testing.T, file []byte) []byte {
	t.Helper()
	if len(file) < trailerSize || string(file[len(file)-trailerSize:][:8]) != trailerMagic {
		t.Errorf("the backup file (%d bytes) does not end with a %q trailer", len(file), trailerMagic)
		return file
	}
	return file[:len(file)-trailerSize]
}

// bboltPages reads the page size from meta page 0 and lists the data
// pages of a snapshot by type (flags at offset 8 of each page header:
// 0x01 branch, 0x02 leaf).
func bboltPages(t *testing.T, snap []byte) (pageSize int, branches, leaves []int) {
	t.Helper()
	if len(snap) < 64 {
		t.Fatalf("snapshot of %d bytes", len(snap))
	}
	pageSize = int(binary.LittleEndian.Uint32(snap[24:]))
	if pageSize < 1024 || len(snap)%pageSize != 0 {
		t.Fatalf("page size %d, snapshot of %d bytes", pageSize, len(snap))
	}
	for id := 2; id < len(snap)/pageSize; id++ {
		p := snap[id*pageSize:]
		if binary.LittleEndian.Uint64(p) != uint64(id) {
			continue // an overflow page
		}
		switch binary.LittleEndian.Uint16(p[8:]) {
		case 0x01:
			branches = append(branches, id)
		case 0x02:
			leaves = append(leaves, id)
		}
	}
	if len(branches) == 0 || len(leaves) < 3 {
		t.Fatalf("the fixture has %d branch and %d leaf pages; it is meant to have a tree", len(branches), len(leaves))
	}
	return pageSize, branches, leaves
}

func flip(b []byte, off int) []byte {
	b = slices.Clone(b)
	if off < len(b) { // not so only when snapshotOf already failed
		b[off] ^= 0x10
	}
	return b
}

// child is one run of `idresd restore`.
type child struct {
	code           int
	stdout, stderr string
}

// restoreChild runs `idresd restore ARGS` in a child process. A crash (a
// signal, a Go panic or fault) or a hang is a test failure of its own.
func restoreChild(t *testing.T, args ...string) child {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"restore"}, args...)...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	c := child{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("idresd restore %v hung (killed after 10s)\n%s", args, c.stderr)
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("idresd restore %v crashed: %v\n%s", args, ws.Signal(), c.stderr)
		}
		c.code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	for _, crash := range []string{"panic:", "fatal error:", "unexpected fault address", "[signal "} {
		if strings.Contains(c.stderr, crash) {
			t.Fatalf("idresd restore %v crashed (exit %d):\n%s", args, c.code, firstLines(c.stderr, 6))
		}
	}
	return c
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// dataDir is a data directory holding a store file of its own, and what
// it holds, to compare after a refused restore.
type dataDir struct {
	path  string
	files map[string][]byte
}

func newDataDir(t *testing.T, storeBytes []byte) *dataDir {
	t.Helper()
	d := &dataDir{path: filepath.Join(t.TempDir(), "data")}
	if err := os.Mkdir(d.path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.path, store.FileName), storeBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	d.files = d.read(t)
	return d
}

func (d *dataDir) read(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(d.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(d.path, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func (d *dataDir) untouched(t *testing.T) {
	t.Helper()
	now := d.read(t)
	for name, b := range now {
		if before, ok := d.files[name]; !ok {
			t.Errorf("a refused restore left %s behind in the data directory", name)
		} else if !bytes.Equal(b, before) {
			t.Errorf("a refused restore changed %s", name)
		}
	}
	for name := range d.files {
		if _, ok := now[name]; !ok {
			t.Errorf("a refused restore removed %s", name)
		}
	}
}

// TestRestoreRefusesDamagedBackups: every damaged file is refused with an
// error that says what is wrong, without a crash, and the store in the
// data directory stays byte for byte what it was.
func TestRestoreRefusesDamagedBackups(t *testing.T) {
	good := fixture(t)
	snap := snapshotOf(t, good)
	n := len(snap)
	ps, branches, leaves := bboltPages(t, snap)
	valueAt := bytes.Index(snap, []byte(fixtureURL(123)))
	if valueAt < 0 {
		t.Fatal("the fixture's value is not in the snapshot")
	}
	// forged writes a correct trailer over a damaged snapshot: only the
	// check of the bbolt file itself can refuse it.
	forged := func(s []byte) []byte { return appendTrailer(s, store.SchemaVersion, 1) }
	setU16 := func(s []byte, off int, v uint16) []byte {
		s = slices.Clone(s)
		binary.LittleEndian.PutUint16(s[off:], v)
		return s
	}
	setU64 := func(s []byte, off int, v uint64) []byte {
		s = slices.Clone(s)
		binary.LittleEndian.PutUint64(s[off:], v)
		return s
	}
	leaf, branch := leaves[len(leaves)/2], branches[0]
	garbage := bytes.Repeat([]byte("not a backup "), 2000)
	zeroSum := strings.Repeat("0", 64)

	tests := []struct {
		name  string
		file  []byte   // the file to restore from
		path  string   // or a special file, when set
		extra []string // flags after --data and --from
		want  string   // in the one-line error
	}{
		{name: "zero-length", file: []byte{}, want: "empty"},
		{name: "truncated inside meta page 0", file: good[:100], want: "truncated"},
		{name: "truncated inside meta page 1", file: good[:ps+100], want: "truncated"},
		{name: "truncated inside the data pages", file: good[:3*ps+7], want: "truncated"},
		{name: "truncated at a page boundary", file: good[:n-ps], want: "truncated"},
		{name: "truncated inside the trailer", file: good[:n+30], want: "truncated"},
		{name: "truncated by its last byte", file: good[:len(good)-1], want: "truncated"},
		{name: "trailer cut off whole", file: good[:n], want: "no backup trailer"},
		{name: "bit flip in a value", file: flip(good, valueAt+3), want: "SHA-256 mismatch"},
		{name: "bit flip in a leaf page header", file: flip(good, leaf*ps+10), want: "SHA-256 mismatch"},
		{name: "bit flip in a branch element", file: flip(good, branch*ps+16+8), want: "SHA-256 mismatch"},
		{name: "bit flip in meta page 0", file: flip(good, 16+48), want: "SHA-256 mismatch"},
		{name: "bit flip in meta page 1", file: flip(good, ps+16+48), want: "SHA-256 mismatch"},
		{name: "bit flip in the trailer's magic", file: flip(good, n+2), want: "trailer is damaged"},
		{name: "bit flip in the trailer's length", file: flip(good, n+30), want: "trailer is damaged"},
		{name: "bit flip in the trailer's digest", file: flip(good, n+40), want: "trailer is damaged"},
		{name: "bit flip in the trailer's checksum", file: flip(good, n+66), want: "trailer is damaged"},
		{name: "garbage appended", file: append(slices.Clone(good), garbage[:100]...), want: "100 bytes after"},
		{name: "not a backup", file: garbage, want: "not an idres backup"},
		{name: "forged trailer over a truncated snapshot", file: forged(snap[:n-2*ps]), want: "meta page"},
		{name: "forged trailer over a page of impossible count", file: forged(setU16(snap, leaf*ps+10, 0xfff0)), want: "page"},
		{name: "forged trailer over a branch pointing past the end", file: forged(setU64(snap, branch*ps+16+8, 1<<40)), want: "page"},
		{name: "forged trailer over a branch pointing at a meta page", file: forged(setU64(snap, branch*ps+16+8, 1)), want: "page"},
		{name: "forged trailer over garbage", file: forged(garbage[:4*ps]), want: "meta page"},
		{name: "old format (no trailer)", file: snap, want: "--sha256"},
		{name: "old format, wrong --sha256", file: snap, extra: []string{"--sha256", zeroSum}, want: "SHA-256 mismatch"},
		{name: "wrong --sha256", file: good, extra: []string{"--sha256", zeroSum}, want: "SHA-256 mismatch"},
		{name: "a FIFO", path: "fifo", want: "not a regular file"},
		{name: "a directory", path: "dir", want: "not a regular file"},
		{name: "a device", path: "/dev/null", want: "not a regular file"},
		{name: "missing", path: "missing", want: "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := newDataDir(t, snap)
			from := filepath.Join(t.TempDir(), "backup")
			switch tc.path {
			case "":
				if err := os.WriteFile(from, tc.file, 0o600); err != nil {
					t.Fatal(err)
				}
			case "fifo":
				if err := syscall.Mkfifo(from, 0o600); err != nil {
					t.Fatal(err)
				}
			case "dir":
				if err := os.Mkdir(from, 0o700); err != nil {
					t.Fatal(err)
				}
			case "missing":
			default:
				from = tc.path
			}
			c := restoreChild(t, append([]string{"--data", data.path, "--from", from}, tc.extra...)...)
			if c.code != 1 {
				t.Errorf("exit %d, want 1 (refused)\nstdout: %s\nstderr: %s", c.code, c.stdout, c.stderr)
			}
			// The paths hold the test's name: match on the rest.
			msg := strings.NewReplacer(from, "FROM", data.path, "DATA").Replace(strings.TrimSuffix(c.stderr, "\n"))
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "idresd: restore") {
				t.Errorf("want one line \"idresd: restore ...\", got:\n%s", c.stderr)
			}
			t.Log(msg)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not say %q", msg, tc.want)
			}
			if c.stdout != "" {
				t.Errorf("a refused restore printed %q", c.stdout)
			}
			data.untouched(t)
		})
	}
}

// TestRestoreGoodBackup: a backup as the node streams it restores over an
// existing store, the old one is kept aside, and a node on the restored
// directory serves the backup's data. An old-format file (a snapshot with
// no trailer) restores only when the caller vouches for it.
func TestRestoreGoodBackup(t *testing.T) {
	good := fixture(t)
	snap := snapshotOf(t, good)
	sum := sha256.Sum256(snap)
	// The data directory holds another store: a fresh one, as a snapshot
	// (a store file as bbolt leaves it is mostly preallocated space).
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var fresh bytes.Buffer
	_, _, err = st.Snapshot(&fresh)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	other := newDataDir(t, fresh.Bytes()).path

	tests := []struct {
		name  string
		file  []byte
		extra []string
	}{
		{"backup file", good, nil},
		{"backup file, matching --sha256", good, []string{"--sha256", hex.EncodeToString(sum[:])}},
		{"old format, matching --sha256", snap, []string{"--sha256", hex.EncodeToString(sum[:])}},
		{"old format, --unverified", snap, []string{"--unverified"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.CopyFS(dir, os.DirFS(other)); err != nil {
				t.Fatal(err)
			}
			old, err := os.ReadFile(filepath.Join(dir, store.FileName))
			if err != nil {
				t.Fatal(err)
			}
			from := filepath.Join(t.TempDir(), "node.backup")
			if err := os.WriteFile(from, tc.file, 0o600); err != nil {
				t.Fatal(err)
			}
			c := restoreChild(t, append([]string{"--data", dir, "--from", from}, tc.extra...)...)
			if c.code != 0 {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", c.code, c.stdout, c.stderr)
			}
			if !strings.Contains(c.stdout, fmt.Sprintf("%d identifiers", fixtureRecords)) {
				t.Errorf("stdout %q does not report %d identifiers", c.stdout, fixtureRecords)
			}
			restored, err := os.ReadFile(filepath.Join(dir, store.FileName))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(restored, snap) {
				t.Errorf("the restored store (%d bytes) is not the snapshot (%d bytes)", len(restored), len(snap))
			}
			asides, _ := filepath.Glob(filepath.Join(dir, store.FileName+".before-restore-*"))
			if len(asides) != 1 {
				t.Fatalf("kept aside: %v, want the old store once", asides)
			}
			if b, err := os.ReadFile(asides[0]); err != nil || !bytes.Equal(b, old) {
				t.Errorf("the store kept aside is not the old one (%v)", err)
			}
			if i > 0 {
				return // one node start is enough to show the data is served
			}
			n, err := node.Start(node.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatalf("start a node on the restored directory: %v", err)
			}
			defer n.Stop(context.Background())
			cl, err := client.Dial(n.GRPCAddr(), client.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for _, i := range []int{0, 123, fixtureRecords - 1} {
				resp, err := cl.Resolve(ctx, &idresv1.ResolveRequest{Identifier: fixtureID(i)})
				if err != nil {
					t.Fatalf("resolve %s: %v", fixtureID(i), err)
				}
				if resp.Outcome != idresv1.Outcome_OUTCOME_OK || len(resp.Values) == 0 || string(resp.Values[0].Data) != fixtureURL(i) {
					t.Errorf("resolve %s on the restored node: %v", fixtureID(i), resp)
				}
			}
		})
	}
}

// TestRestoreUsage: flags that cannot go together are a usage error.
func TestRestoreUsage(t *testing.T) {
	from := filepath.Join(t.TempDir(), "x")
	for _, args := range [][]string{
		{"--data", t.TempDir()},
		{"--from", from, "extra"},
		{"--from", from, "--sha256", "abc"},
		{"--from", from, "--sha256", strings.Repeat("0", 64), "--unverified"},
	} {
		if c := restoreChild(t, args...); c.code != 2 {
			t.Errorf("restore %v: exit %d, want 2 (usage)\n%s", args, c.code, c.stderr)
		}
	}
}
