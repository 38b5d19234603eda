package store_test

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/idres/idres/registry/store"
)

// craft writes a bbolt file at dir/idres.db with the given buckets and keys,
// bypassing the store, as another program or a future idresd would.
func craft(t *testing.T, dir string, buckets map[string]map[string][]byte) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for name, kv := range buckets {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			for k, v := range kv {
				if err := b.Put([]byte(k), v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fingerprint identifies a file's state cheaply: size, modification time
// and its first 64 KiB, which hold bbolt's two meta pages, one of which
// every commit rewrites.
func fingerprint(t *testing.T, path string) string {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(f, head)
	return fmt.Sprintf("size %d, mtime %s, head %x", info.Size(), info.ModTime().Format(time.RFC3339Nano), sha256.Sum256(head[:n]))
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// withSchema makes a real store in dir, closes it, and overwrites its
// meta/schema with raw (deleting the key when raw is nil).
func withSchema(raw []byte) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		s, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		err = db.Update(func(tx *bolt.Tx) error {
			if raw == nil {
				return tx.Bucket([]byte("meta")).Delete([]byte("schema"))
			}
			return tx.Bucket([]byte("meta")).Put([]byte("schema"), raw)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func crafted(buckets map[string]map[string][]byte) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) { t.Helper(); craft(t, dir, buckets) }
}

func rawFile(content []byte) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, store.FileName), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSchemaRefused(t *testing.T) {
	fileOnly(t)
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantMsg string
	}{
		{"newer version", withSchema(u32(store.SchemaVersion + 1)), "newer than this idresd"},
		{"much newer version", withSchema(u32(1 << 31)), "newer than this idresd"},
		{"version 0", withSchema(u32(0)), "version 0"},
		{"garbage version", withSchema([]byte("garbage")), "schema version unreadable"},
		{"no version", withSchema(nil), "schema version unreadable"},
		{"foreign buckets", crafted(map[string]map[string][]byte{"users": {"alice": []byte("x")}, "zones": {}}), "not an idres store"},
		{"meta bucket only", crafted(map[string]map[string][]byte{"meta": {"schema": u32(store.SchemaVersion)}}), "bucket prefixes missing"},
		{"not a bbolt file", rawFile([]byte(strings.Repeat("this is not a database\n", 400))), "not a bbolt file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, store.FileName)
			tt.setup(t, dir)
			before := fingerprint(t, path)
			s, err := store.Open(dir, store.Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want ErrSchema")
			}
			if !errors.Is(err, store.ErrSchema) {
				t.Errorf("Open: err = %v, want ErrSchema", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.wantMsg) || !strings.Contains(msg, path) {
				t.Errorf("Open: message %q should name the file and say %q", msg, tt.wantMsg)
			}
			if after := fingerprint(t, path); after != before {
				t.Errorf("a refused Open changed the file: %s, was %s", after, before)
			}
		})
	}
}

func TestSchemaWrittenOnCreate(t *testing.T) {
	fileOnly(t)
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range []string{"meta", "prefixes", "delegations", "identifiers", "credentials", "templates", "audit"} {
			if tx.Bucket([]byte(name)) == nil {
				t.Errorf("new store has no bucket %q", name)
			}
		}
		if got := tx.Bucket([]byte("meta")).Get([]byte("schema")); string(got) != string(u32(store.SchemaVersion)) {
			t.Errorf("meta/schema = %x, want %x", got, u32(store.SchemaVersion))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("store file mode = %o, want 600", perm)
	}
}

// TestLocked pins STORE-002: a second Open of an open store fails with
// ErrLocked and a message that says what to check, and leaves the first
// store working.
func TestLocked(t *testing.T) {
	fileOnly(t)
	s, dir := openStore(t, nil)
	mustCreatePrefix(t, s, "88")

	s2, err := store.Open(dir, store.Options{LockTimeout: 20 * time.Millisecond})
	if err == nil {
		s2.Close()
		t.Fatal("second Open succeeded while the store is open")
	}
	if !errors.Is(err, store.ErrLocked) {
		t.Errorf("second Open: err = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "another idresd") || !strings.Contains(err.Error(), dir) {
		t.Errorf("second Open: message %q should name the directory and suggest another idresd", err)
	}
	mustCreatePrefix(t, s, "86")

	// Once the first closes, the lock is free.
	s.Close()
	s3, err := store.Open(dir, store.Options{LockTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	defer s3.Close()
	for _, p := range []string{"88", "86"} {
		if _, err := getPrefix(t, s3, p); err != nil {
			t.Errorf("Prefix(%q) after reopen: %v", p, err)
		}
	}
}
