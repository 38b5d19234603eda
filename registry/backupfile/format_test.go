package backupfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/idres/idres/registry/store"
)

// goldenTrailer is the trailer of a 4096-byte snapshot of zero bytes,
// schema 4, revision 7, written out by hand from the package doc's table.
const goldenTrailer = "494452455342414b" + // "IDRESBAK"
	"00000001" + "00000004" + // format version 1, schema 4
	"0000000000000007" + // revision 7
	"0000000000001000" + // length 4096
	"ad7facb2586fc6e966c004d7d1d16b024f5805ff7cb47c7a85dabd8b48892ca7" + // SHA-256 of 4096 zero bytes
	"" // then the CRC-32C of the above, and 4 zero bytes

func TestTrailerEncoding(t *testing.T) {
	snap := make([]byte, 4096)
	tr := Trailer{SchemaVersion: 4, Revision: 7, Length: 4096, SHA256: sha256.Sum256(snap)}
	got := AppendTrailer(nil, tr)
	if len(got) != TrailerSize {
		t.Fatalf("trailer of %d bytes, want %d", len(got), TrailerSize)
	}
	wantPrefix, _ := hex.DecodeString(goldenTrailer)
	if !bytes.Equal(got[:64], wantPrefix) {
		t.Fatalf("trailer\n got %x\nwant %x", got[:64], wantPrefix)
	}
	if crc := crc32.Checksum(got[:64], crc32.MakeTable(crc32.Castagnoli)); binary.BigEndian.Uint32(got[64:]) != crc || binary.BigEndian.Uint32(got[68:]) != 0 {
		t.Fatalf("trailer ends %x, want CRC-32C %08x and 4 zero bytes", got[64:], crc)
	}
	if back, err := ParseTrailer(got); err != nil || back != tr {
		t.Fatalf("ParseTrailer(AppendTrailer(t)) = %+v, %v; want %+v", back, err, tr)
	}
	// One flipped bit anywhere is caught, as a damaged trailer or (in the
	// magic) as no trailer at all.
	for i := range TrailerSize * 8 {
		b := bytes.Clone(got)
		b[i/8] ^= 1 << (i % 8)
		_, err := ParseTrailer(b)
		if !errors.Is(err, ErrDamagedTrailer) && !errors.Is(err, ErrNoTrailer) {
			t.Errorf("bit %d flipped: %v, want a damaged trailer", i, err)
		}
	}
}

// FuzzParseTrailer: the decoder never panics, accepts only what the
// encoder writes (a decoded trailer encodes back to the same bytes), and
// refuses with one of its errors.
func FuzzParseTrailer(f *testing.F) {
	good := AppendTrailer(nil, Trailer{SchemaVersion: 4, Revision: 7, Length: 4096, SHA256: sha256.Sum256(nil)})
	f.Add(good)
	f.Add(good[:TrailerSize-1])
	f.Add(bytes.Repeat([]byte{0}, TrailerSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ParseTrailer(b)
		if err != nil {
			if !errors.Is(err, ErrDamagedTrailer) && !errors.Is(err, ErrNoTrailer) && !errors.Is(err, ErrFormatVersion) {
				t.Fatalf("ParseTrailer(%x): an error of no kind: %v", b, err)
			}
			return
		}
		if again := AppendTrailer(nil, tr); !bytes.Equal(again, b) {
			t.Fatalf("ParseTrailer accepted %x, which encodes back as %x", b, again)
		}
	})
}

// emptySnapshot is the snapshot of a fresh idres store.
func emptySnapshot(t testing.TB) []byte {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var buf bytes.Buffer
	if _, _, err := st.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzCheckBolt: checkBolt never panics on any bytes, and what it accepts
// bbolt opens and checks clean: the differential that makes checkBolt the
// guard in front of bbolt. A file checkBolt lets through that makes bbolt
// fault crashes the fuzzer, which is the point.
func FuzzCheckBolt(f *testing.F) {
	snap := emptySnapshot(f)
	f.Add(snap)
	f.Add(snap[:len(snap)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := checkBolt(bytes.NewReader(b), int64(len(b))); err != nil {
			return
		}
		path := filepath.Join(t.TempDir(), "db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
		if err != nil {
			t.Fatalf("checkBolt accepted a file bbolt does not open: %v", err)
		}
		defer db.Close()
		err = db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				t.Errorf("checkBolt accepted a file bbolt's check refuses: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestCheckBoltAcceptsSnapshots: a real snapshot, empty or not, passes.
func TestCheckBoltAcceptsSnapshots(t *testing.T) {
	snap := emptySnapshot(t)
	m, err := checkBolt(bytes.NewReader(snap), int64(len(snap)))
	if err != nil {
		t.Fatalf("checkBolt on a fresh store's snapshot: %v", err)
	}
	if int64(m.pgid)*int64(m.pageSize) != int64(len(snap)) {
		t.Errorf("meta records %d pages of %d bytes, snapshot of %d", m.pgid, m.pageSize, len(snap))
	}
}

// TestCheckBoltRefuses: damage bbolt trusts without checking, each
// refused by checkBolt before bbolt sees it.
func TestCheckBoltRefuses(t *testing.T) {
	snap := emptySnapshot(t)
	ps := int(binary.LittleEndian.Uint32(snap[24:]))
	le := binary.LittleEndian
	// meta rewrites both meta pages with f applied and their checksums
	// recomputed, as a forger would.
	meta := func(f func(m []byte)) []byte {
		b := bytes.Clone(snap)
		for _, off := range []int{16, ps + 16} {
			m := b[off : off+64]
			f(m)
			h := fnv.New64a()
			h.Write(m[:56])
			le.PutUint64(m[56:], h.Sum64())
		}
		return b
	}
	root := int(le.Uint64(snap[16+16:]))
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"meta page 1 calls itself another page", func() []byte { b := bytes.Clone(snap); b[ps] = 9; return b }(), "meta page 1 calls itself"},
		{"meta page 0 not flagged a meta page", func() []byte { b := bytes.Clone(snap); b[8] = flagLeaf; return b }(), "meta page 0 calls itself"},
		{"more pages than the file", meta(func(m []byte) { le.PutUint64(m[40:], uint64(len(snap)/ps+1)) }), "meta page 0 records"},
		{"no freelist", meta(func(m []byte) { le.PutUint64(m[32:], pgidNoFreelist) }), "no freelist"},
		{"root is the freelist", meta(func(m []byte) { le.PutUint64(m[16:], le.Uint64(m[32:])) }), "reached twice"},
		{"root is a meta page", meta(func(m []byte) { le.PutUint64(m[16:], 1) }), "root page 1"},
		{"root page calls itself another", func() []byte { b := bytes.Clone(snap); b[root*ps] ^= 0x40; return b }(), "calls itself"},
		{"cut to two pages", snap[:2*ps], "records"},
	}
	for _, tc := range tests {
		_, err := checkBolt(bytes.NewReader(tc.file), int64(len(tc.file)))
		if !errors.Is(err, ErrStructure) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrStructure saying %q", tc.name, err, tc.want)
		}
	}
}
